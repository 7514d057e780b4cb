"""Distributions page: the paper's Figure 2 (Section 3.2; set-up in Appendix B), live."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import streamlit as st

from ggmi_app.cached import scenario_divergences, scenario_view
from ggmi_app.figures import SharedFigure, cached_figures, show_figure
from ggmi_app.flipbook import check_flipbook_budget, flip_window, flipbook_chart
from ggmi_app.layout import viewer_is_phone
from ggmi_app.messages import show_error
from ggmi_app.page_settings import DIST_DISPLAY_SCHEMA, DIST_PREFIX, PAGE_SETTINGS
from ggmi_app.prose import prose
from ggmi_app.scenario_params import (
    PUBLISHED_SCENARIO,
    SCENARIO_SCHEMA,
    SHARED_SCHEMA,
)
from ggmi_app.state import keyed, preset_buttons, sidebar_controls
from ggmi_core.budget import BudgetExceeded
from ggmi_viz.distributions import (
    DEFAULT_LAYERS,
    LAYERS,
    MASS_LEVELS,
    figure_data,
    projection_caption,
    scenario_figure,
    slide_divergence_table,
)
from ggmi_viz.flipbook import is_flipbook

PREFIX: Final[str] = DIST_PREFIX
#: Figure-2 display settings (declared in ``ggmi_app.page_settings``), keys ``dist_<name>``.
DISPLAY_SCHEMA: Final = DIST_DISPLAY_SCHEMA
#: This page's own settings (URL/store key -> param).
SETTINGS: Final = PAGE_SETTINGS["distributions"]
#: The page's prose (``assets/content/distributions/page.md``).
PAGE_TEXT: Final[str] = "distributions/page"

PRESETS: Final[dict[str, dict[str, Any]]] = {
    # every scenario setting back to its record's default (the published recipe)
    "Paper Figure 2 (published settings)": dict(PUBLISHED_SCENARIO),
    "Curation noise and prompt adherence": {
        "noise_std": 0.5, "adherence": 0.6, "dim": 2,
    },
    "Five dimensions, principal axes": {"dim": 5, f"{PREFIX}projection": "pca"},
}  # fmt: skip

_DIVERGENCE_COLUMNS: Final[dict[str, Any]] = {
    "divergence": st.column_config.TextColumn("divergence", width="medium"),
    "anchor_fit": st.column_config.NumberColumn("fit on anchor vs G", format="%.3f"),
    "anchor_fit_se": st.column_config.NumberColumn("± (MC error)", format="%.3f"),
    "synthetic_fit": st.column_config.NumberColumn("fit on synthetic vs G", format="%.3f"),
    "synthetic_fit_se": st.column_config.NumberColumn("± (MC error)", format="%.3f"),
    "gap": st.column_config.NumberColumn("gap (anchor - synthetic)", format="%.3f"),
    "gap_se": st.column_config.NumberColumn("± (MC error)", format="%.3f"),
}


def layer_selection(values: Mapping[str, Any]) -> set[str]:
    """The figure layers switched on in ``values`` (``show_<layer>`` booleans)."""
    return {key for key in LAYERS if values.get(f"show_{key}", key in DEFAULT_LAYERS)}


def draw_controls() -> dict[str, Any]:
    """The scenario letters, the display toggles and the presets; their values by name."""
    st.sidebar.subheader("Scenario")
    values = sidebar_controls(SCENARIO_SCHEMA)
    st.sidebar.subheader("Display")
    values |= sidebar_controls(DISPLAY_SCHEMA, prefix=PREFIX)
    presets = st.sidebar.expander("Presets", icon=":material/bookmarks:")
    preset_buttons(PRESETS, keyed(SHARED_SCHEMA) | SETTINGS, container=presets)
    return values


def figure2(config: Any, values: Mapping[str, Any], lecture: bool) -> None:
    with st.spinner("Simulating and fitting..."):
        view = scenario_view(config.to_dict())
        layers = tuple(sorted(layer_selection(values)))
        projection = values["projection"]
        fig = _flipbook(values, layers, lecture)
        if fig is None:
            # The contour grids (highest-density regions by Monte Carlo) cost more than
            # the rest of a cached rerun together: a setting seen before reuses its figure.
            (fig,) = cached_figures(
                "figure2",
                (config.to_dict(), layers, projection),
                lecture,
                lambda: [
                    scenario_figure(
                        view, layers=set(layers), projection=projection, lecture=lecture
                    )
                ],
            )
    show_figure(
        fig,
        f"figure2-K{config.K}-J{config.J}-L{config.L}-seed{config.seed}",
        lambda: figure_data(view, projection),
        lecture,
        key="figure2",
    )
    inner, outer = MASS_LEVELS
    st.caption(
        prose(
            PAGE_TEXT,
            "figure_caption",
            {
                "projection": projection_caption(view, projection),
                "inner_mass": inner,
                "outer_mass": outer,
            },
        )
    )
    if isinstance(fig, SharedFigure) and is_flipbook(fig.figure):
        letter = values["flip"]
        st.caption(
            prose(PAGE_TEXT, "flipbook_caption", {"letter": letter, "value": values[letter]})
        )


def _flipbook(values: Mapping[str, Any], layers: tuple[str, ...], lecture: bool) -> Any:
    """The flip-book chart when it is switched on (not on a phone), else None.

    A flip-book over the work budget shows the usual message and leaves the plain chart.
    """
    letter = values["flip"]
    if letter == "off" or viewer_is_phone():  # a phone gets the plain frame anyway
        return None
    window = flip_window(values, letter)
    try:
        check_flipbook_budget(window)
    except BudgetExceeded as exc:
        show_error(f"Cannot show the flip-book: {exc} Or switch the flip-book off.")
        return None
    with st.spinner(f"Computing Figure 2 for {len(window.values)} values of {letter}..."):
        return flipbook_chart(window, layers, values["projection"], lecture)


def divergence_table(config: Any, lecture: bool) -> None:
    st.subheader("How far each learner is from the target, in this scenario")
    with st.spinner("Estimating divergences..."):
        table = scenario_divergences(config.to_dict())
    if lecture:  # a wrapping table with value ± error cells: no sideways scroll on a projector
        st.table(slide_divergence_table(table), hide_index=True)
    else:
        st.dataframe(table, hide_index=True, width="stretch", column_config=_DIVERGENCE_COLUMNS)
    st.caption(prose(PAGE_TEXT, "divergence_caption"))
