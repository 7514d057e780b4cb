"""Bound terms: the paper's bounds measured term by term.

A page script: ``app.py`` runs it through ``st.navigation`` inside the frame
(``ggmi_app.frame``: settings restored, URL written, page list, and after the page the
lecture switch, room and settings file). This file is the page's layout; its widgets,
cached calls and figures are the functions of ``ggmi_app.bounds_page``.
"""

import streamlit as st

from ggmi_app import bounds_page as page
from ggmi_app.frame import page_frame
from ggmi_app.messages import error_boundary, show_error
from ggmi_app.prose import prose

with page_frame("bounds") as lecture:
    st.title("Bound terms: the paper's inequalities, measured")
    if not lecture:
        st.markdown(prose(page.PAGE_TEXT, "intro"))
    values = page.draw_controls()
    try:
        config = page.scenario_config(values)
    except ValueError as exc:
        show_error(f"These settings do not form a valid scenario: {exc}")
        st.stop()
    # Only the open tab runs.
    breakdown, sweep, statements = st.tabs(page.TAB_LABELS, key=page.TAB_KEY, bind="query-params")
    with breakdown:
        if breakdown.open:
            with error_boundary("the bound terms"):
                terms = page.measure(values, config)
                page.render_breakdown(terms, lecture, page.terms_key(values, config))
    with sweep:
        if sweep.open:
            with error_boundary("the sweep"):
                page.render_sweep(values, config, lecture)
    with statements:
        if statements.open:
            with error_boundary("the paper's statements"):
                page.render_statements(page.measure(values, config))
