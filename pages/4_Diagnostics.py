"""Diagnostics: the paper's Appendix G checks on simulated or uploaded data.

A page script: ``app.py`` runs it through ``st.navigation`` inside the frame
(``ggmi_app.frame``: settings restored, URL written, page list, and after the page the
lecture switch, room and settings file). This file is the page's layout; its widgets,
cached calls and figures are the functions of ``ggmi_app.diagnostics_page``.
"""

import streamlit as st

from ggmi_app import diagnostics_page as page
from ggmi_app.frame import page_frame

with page_frame("diagnostics") as lecture:
    st.title("Diagnostics: how much do synthetic data depend on the anchor data?")
    if not lecture:
        st.markdown(
            "The paper checks real synthetic data with two statistics (its Appendix G.3): "
            "HSIC, the dependence of each synthetic sample on the anchor data behind its "
            "prompt (low dependence: the generator added information of its own), and "
            "semantic entropy, how widely the synthetic data spread over meanings. The first "
            "tab runs both on the Gaussian-mixture simulation, where the true values are "
            "known; the second runs them on embeddings you upload."
        )
    page.render_tabs(page.draw_controls(), lecture)
