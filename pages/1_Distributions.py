"""Distributions: the paper's Figure 2, live, for one simulated scenario."""

from __future__ import annotations

import streamlit as st

from ggmi_app.cached import scenario_divergences, scenario_view
from ggmi_app.figures import cached_figures, show_figure
from ggmi_app.layout import error_boundary, page_setup, show_error
from ggmi_app.scenario_params import (
    DISPLAY_SCHEMA,
    FIGURE2_PRESETS,
    SCENARIO_SCHEMA,
    layer_selection,
    scenario_config,
)
from ggmi_app.state import preset_buttons, settings_io, sidebar_controls
from ggmi_viz.distributions import figure_data, projection_caption, scenario_figure

SCHEMA = (*SCENARIO_SCHEMA, *DISPLAY_SCHEMA)


lecture = page_setup("Distributions")
st.title("Distributions: one scenario, live (the paper's Figure 2)")
if not lecture:
    st.markdown(
        "The target G (the task), the model M (G's components plus task-irrelevant ones), "
        "and the two learners: a mixture fitted on the scarce anchor data and one fitted "
        "on the plentiful synthetic data. Points are coloured by the part of the mixture "
        "they came from. Change the letters in the sidebar and watch which parts of G each "
        "learner covers."
    )

with st.sidebar:
    st.subheader("Presets")
    preset_buttons(FIGURE2_PRESETS, SCHEMA)
    st.subheader("Scenario")
values = sidebar_controls(SCENARIO_SCHEMA)
st.sidebar.subheader("Display")
values |= sidebar_controls(DISPLAY_SCHEMA)
settings_io(SCHEMA, values, page="distributions")

try:
    config = scenario_config(values)
except ValueError as exc:
    show_error(f"These settings do not make a scenario: {exc}")
    st.stop()

with error_boundary("the scenario"):
    with st.spinner("Simulating and fitting..."):
        view = scenario_view(config.to_dict())
        layers = tuple(sorted(layer_selection(values)))
        projection = values["projection"]
        # The contour grids (highest-density regions by Monte Carlo) cost more than the
        # rest of a cached rerun together: a setting seen before reuses its figure.
        (fig,) = cached_figures(
            "figure2",
            (config.to_dict(), layers, projection),
            lecture,
            lambda: [
                scenario_figure(view, layers=set(layers), projection=projection, lecture=lecture)
            ],
        )
    show_figure(
        fig,
        f"figure2-K{config.K}-J{config.J}-L{config.L}-seed{config.seed}",
        figure_data(view, projection),
        lecture,
        key="figure2",
    )
    st.caption(
        f"{projection_caption(view, values['projection'])} Contour lines enclose the densest "
        "50% and 90% of each mixture's probability. Circles: anchor samples; crosses: "
        "synthetic samples; colour: anchor-sampled (blue), unsampled (orange), "
        "task-irrelevant (purple) part. Click legend entries to hide layers; hover for details."
    )

with error_boundary("the divergence table"):
    st.subheader("How far each learner is from the target, in this scenario")
    with st.spinner("Estimating divergences..."):
        table = scenario_divergences(config.to_dict())
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "divergence": st.column_config.TextColumn("divergence", width="medium"),
            "anchor_fit": st.column_config.NumberColumn("fit on anchor vs G", format="%.3f"),
            "anchor_fit_se": st.column_config.NumberColumn("± (MC error)", format="%.3f"),
            "synthetic_fit": st.column_config.NumberColumn("fit on synthetic vs G", format="%.3f"),
            "synthetic_fit_se": st.column_config.NumberColumn("± (MC error)", format="%.3f"),
            "gap": st.column_config.NumberColumn("gap (anchor - synthetic)", format="%.3f"),
            "gap_se": st.column_config.NumberColumn("± (MC error)", format="%.3f"),
        },
    )
    st.caption(
        "Gap > 0: the learner trained on synthetic data is closer to G than the one trained "
        "on anchor data. The paper's KL Gap is the last row (its histogram estimator); "
        "'exact' rows use Monte Carlo with exact log-densities. Divergences in nats; total "
        "variation is a probability. "
        "The errors are Monte Carlo errors of this one scenario; across scenarios the gap "
        "varies far more (see the KL Gap curves page)."
    )
