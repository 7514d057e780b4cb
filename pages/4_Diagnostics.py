"""Diagnostics: the paper's Appendix G checks on simulated or uploaded data.

A page script: ``app.py`` runs it through ``st.navigation`` inside the frame
(``ggmi_app.frame``: settings restored, URL written, page list, and after the page the
lecture switch, room and settings file). This file is the page's layout; its widgets,
cached calls and figures are the functions of ``ggmi_app.diagnostics_page``.
"""

import streamlit as st

from ggmi_app import diagnostics_page as page
from ggmi_app.frame import page_frame
from ggmi_app.prose import prose

with page_frame("diagnostics") as lecture:
    st.title("Diagnostics: how much do synthetic data depend on the anchor data?")
    if not lecture:
        st.markdown(prose(page.PAGE_TEXT, "intro"))
    page.render_tabs(page.draw_controls(), lecture)
