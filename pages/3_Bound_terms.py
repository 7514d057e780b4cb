"""Bound terms: every term of the paper's bounds measured live, beside its statements."""

from __future__ import annotations

import streamlit as st

from ggmi_app import bounds_page as bp
from ggmi_app.layout import error_boundary, page_setup, show_error
from ggmi_app.state import settings_io

lecture = page_setup(bp.PAGE_TITLE, icon="📐")
st.title("Bound terms: the paper's inequalities, measured")
if not lecture:
    st.markdown(
        "The paper bounds the error of a model post-trained on synthetic data, and the gain "
        "over training on the anchor data alone, but never evaluates its bounds. In the "
        "Gaussian-mixture simulation most terms become numbers: divergences, risks and "
        "entropies are exact or Monte Carlo with exact densities. Move the sliders and see "
        "which terms move; the last tab says which quantities no simulation of this kind "
        "can measure."
    )

values = bp.draw_controls()
settings_io(bp.SIDEBAR_SCHEMA, values, page="bounds")

try:
    config = bp.scenario_config(values)
except ValueError as exc:
    show_error(f"These settings do not form a valid scenario: {exc}")
    st.stop()

breakdown, sweep, statements = st.tabs(bp.TAB_LABELS, key=bp.TAB_KEY, bind="query-params")
with breakdown:
    if breakdown.open:
        with error_boundary("the bound terms"):
            terms = bp.measure(values, config)
            bp.render_breakdown(terms, lecture, bp.terms_key(values, config))
with sweep:
    if sweep.open:
        with error_boundary("the sweep"):
            bp.render_sweep(values, config, lecture)
with statements:
    if statements.open:
        with error_boundary("the paper's statements"):
            bp.render_statements(bp.measure(values, config))
