"""Distributions: the paper's Figure 2 (Section 3.2), live.

A page script: ``app.py`` runs it through ``st.navigation`` inside the frame
(``ggmi_app.frame``: settings restored, URL written, page list, and after the page the
lecture switch, room and settings file). This file is the page's layout; its widgets,
cached calls and figures are the functions of ``ggmi_app.distributions_page``.
"""

import streamlit as st

from ggmi_app import distributions_page as page
from ggmi_app.frame import page_frame
from ggmi_app.messages import error_boundary, show_error
from ggmi_app.prose import prose
from ggmi_app.scenario_params import scenario_config

with page_frame("distributions") as lecture:
    st.title("Distributions: one scenario, live (the paper's Figure 2)")
    if not lecture:
        st.markdown(prose(page.PAGE_TEXT, "intro"))
    values = page.draw_controls()
    try:
        config = scenario_config(values)
    except ValueError as exc:
        show_error(f"These settings do not make a scenario: {exc}")
        st.stop()
    with error_boundary("the scenario"):
        page.figure2(config, values, lecture)
    with error_boundary("the divergence table"):
        page.divergence_table(config, lecture)
