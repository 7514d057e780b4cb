"""KL Gap curves: the paper's Figure 4 (Section 4.4), as published and live.

A page script: ``app.py`` runs it through ``st.navigation`` inside the frame
(``ggmi_app.frame``: settings restored, URL written, page list, and after the page the
lecture switch, room and settings file). This file is the page's layout; its widgets,
cached calls and figures are the functions of ``ggmi_app.gap_curves_page``.
"""

import streamlit as st

from ggmi_app import gap_curves_page as page
from ggmi_app.frame import page_frame
from ggmi_app.prose import prose

with page_frame("gap-curves") as lecture:
    st.title("KL Gap curves (the paper's Figure 4)")
    if not lecture:
        st.markdown(prose(page.PAGE_TEXT, "intro"))
    values = page.draw_controls()
    page.show_figure4(lecture)
    page.gap_map_view(values, lecture)
    page.your_sweep(values, lecture)
