"""KL Gap curves page: the paper's Figure 4 (Section 4.4), as published and live."""

from __future__ import annotations

from typing import Any, Final

import pandas as pd
import streamlit as st

from ggmi_app.cached import (
    STORED_POINTS,
    budget_capped,
    figure4_tables,
    max_rounds,
    run_gap_sweep,
    stored_sweep,
    sweep_cost,
)
from ggmi_app.figures import cached_figures, show_figure
from ggmi_app.messages import INFO_ICON, error_boundary, show_error
from ggmi_app.params import BoolParam, ChoiceParam, FloatParam, IntParam, Param
from ggmi_app.scenario_params import (
    METRIC_PARAM,
    N_MC_PARAM,
    PUBLISHED_SCENARIO,
    ROUNDS_DEFAULT,
    SCENARIO_SCHEMA,
    SHARED_SCHEMA,
    SWEEP_DEFAULT_RANGES,
    SWEEP_PARAMS,
    rounds_param,
    scenario_config,
    sweep_values,
    swept_out,
)
from ggmi_app.state import apply_preset, keyed, preset_buttons, sidebar_controls
from ggmi_core.budget import check_budget, work_budget
from ggmi_core.config import DEFAULT_N_MC
from ggmi_viz.gap_curves import (
    ESTIMATOR_NOTE,
    FIGURE4_CAPTION,
    PARAM_LABELS,
    figure4_data,
    figure4_figure,
    gap_curve_figure,
    metric_label,
    param_label,
)

PREFIX: Final[str] = "gap_"

#: The sweep of this page (keys ``gap_<name>``); the letters held fixed are shared.
SWEEP_SCHEMA: Final[tuple[Param, ...]] = (
    ChoiceParam("sweep", "Sweep", "K", SWEEP_PARAMS, labels=PARAM_LABELS),
    FloatParam("sweep_from", "from", 2.0, 0.0, 5000.0, 1.0, widget="number", format="%g"),
    FloatParam("sweep_to", "to", 15.0, 0.0, 5000.0, 1.0, widget="number", format="%g"),
    IntParam("sweep_points", "values in the range", 14, 2, 20),
    rounds_param(),
    ChoiceParam("band", "Summary", "std", ("std", "quantile", "both"),
                labels={"std": "mean +- 1 std (as published)",
                        "quantile": "median and 10-90% band",
                        "both": "both"}),
    BoolParam("boxes", "Show every scenario (box plots)", True),
    BoolParam("robust_y", "Clip the y axis to the central scenarios", True),
)  # fmt: skip
SETTINGS: Final = keyed(SWEEP_SCHEMA, PREFIX)
RANGE_NAMES: Final[tuple[str, ...]] = ("sweep_from", "sweep_to", "sweep_points")
_LAST_SWEEP: Final[str] = "_gap_page_last_sweep"


def range_settings(param: str) -> dict[str, Any]:
    """The range offered when ``param`` becomes the swept setting (keys ``gap_*``)."""
    start, stop, points = SWEEP_DEFAULT_RANGES[param]
    return {
        f"{PREFIX}sweep_from": start,
        f"{PREFIX}sweep_to": stop,
        f"{PREFIX}sweep_points": points,
    }


def figure4_preset(letter: str, metric: str = "kl_published") -> dict[str, Any]:
    """Settings of one column of the paper's Figure 4: sweep ``letter`` over 2..15."""
    # Seed, Monte Carlo draws and scenario count are fixed too: with them the preset
    # names one exact setting, whose points are stored (every divergence), so a click or
    # a switch of divergence shows stored numbers at once (``cached.stored_sweep``).
    return {
        **PUBLISHED_SCENARIO, "metric": metric, "n_mc": DEFAULT_N_MC,
        f"{PREFIX}sweep": letter, **range_settings(letter),
        f"{PREFIX}rounds": ROUNDS_DEFAULT, f"{PREFIX}band": "std",
    }  # fmt: skip


PRESETS: Final[dict[str, dict[str, Any]]] = {
    f"Paper Figure 4: sweep {letter}": figure4_preset(letter) for letter in ("K", "J", "L")
} | {"Figure 4 sweep of K, exact JS": figure4_preset("K", "js")}


def _budget_rounds_param(values: dict[str, Any]) -> IntParam:
    """The scenarios slider capped by the work budget (uncapped if settings are invalid)."""
    try:
        config = scenario_config(values)
        xs = sweep_values(
            values["sweep"], values["sweep_from"], values["sweep_to"], values["sweep_points"]
        )
        cap = max_rounds(config.to_dict(), values["sweep"], xs, values["metric"], values["n_mc"])
    except ValueError:
        cap = None  # the sweep section explains what is wrong
    return budget_capped(rounds_param(), cap, prefix=PREFIX)


def _offer_range_for_new_sweep(swept: str) -> None:
    """When only the swept setting changed, give it a sensible range (K's 2..15 means
    nothing for b); a preset or a loaded file brings its own range and is left alone."""
    current_range = tuple(st.session_state.get(PREFIX + name) for name in RANGE_NAMES)
    previous = st.session_state.get(_LAST_SWEEP)
    if previous is not None and previous[0] != swept and previous[1:] == current_range:
        apply_preset(range_settings(swept), SETTINGS)


def draw_controls() -> dict[str, Any]:
    """Presets, the sweep, the shared divergence and the letters held fixed."""
    with st.sidebar:
        st.subheader("Presets")
        preset_buttons(PRESETS, keyed(SHARED_SCHEMA) | SETTINGS)
        st.subheader("Your sweep")
    by_name = {p.name: p for p in SWEEP_SCHEMA}
    values = sidebar_controls([by_name["sweep"]], prefix=PREFIX)
    _offer_range_for_new_sweep(values["sweep"])
    values |= sidebar_controls([by_name[name] for name in RANGE_NAMES], prefix=PREFIX)
    st.session_state[_LAST_SWEEP] = (values["sweep"], *(values[n] for n in RANGE_NAMES))
    # The scenarios slider sits here but is drawn last: its maximum depends on the other
    # settings (the work budget), so they must be known first.
    rounds_slot = st.sidebar.container()
    values |= sidebar_controls([METRIC_PARAM, N_MC_PARAM])
    values |= sidebar_controls(
        [by_name[name] for name in ("band", "boxes", "robust_y")], prefix=PREFIX
    )
    st.sidebar.subheader("Settings held fixed")
    values |= sidebar_controls([swept_out(p, values["sweep"]) for p in SCENARIO_SCHEMA])
    return values | sidebar_controls(
        [_budget_rounds_param(values)], prefix=PREFIX, container=rounds_slot
    )


def main(lecture: bool) -> None:
    """The page: Figure 4 as published beside exact JS, then the visitor's own sweep."""
    st.title("KL Gap curves (the paper's Figure 4)")
    if not lecture:
        st.markdown(
            "The gap is how much closer to the target G the learner trained on synthetic "
            "data gets than the one trained on anchor data: divergence(fit on anchor, G) "
            "minus divergence(fit on synthetic, G), the paper's empirical stand-in for GGMI "
            "(Section 4.4). Positive means the synthetic data helped. Each point summarises "
            "many independent scenarios."
        )
    values = draw_controls()
    _figure4(lecture)
    _your_sweep(values, lecture)


def _figure4(lecture: bool) -> None:
    st.header("Figure 4 as published, beside an exact divergence")
    with error_boundary("Figure 4"):
        stored = {metric: figure4_tables(metric) for metric in ("kl_published", "js")}
        tables = {metric: found.tables for metric, found in stored.items()}
        notes = [f"{metric_label(metric)}: {found.note}." for metric, found in stored.items()]
        # The tables alone fix the figure, so their content keys its cache. (A file's
        # name is not enough: an asset replaced in place must show its new numbers.)
        (figure4,) = cached_figures(
            "gap-figure4",
            tuple((metric, found.key) for metric, found in stored.items()),
            lecture,
            lambda: [figure4_figure(tables, lecture=lecture)],
        )
        show_figure(
            figure4,
            "figure4-published-and-js",
            lambda: figure4_data(tables),
            lecture,
            key="figure4",
        )
        st.caption(
            "Top row: the published estimator, reproducing the paper's curves. Bottom row: "
            "the same sweeps with the exact Jensen-Shannon divergence (not in the paper). "
            f"{FIGURE4_CAPTION} Sources: " + " ".join(notes)
        )
        st.info(ESTIMATOR_NOTE, icon=INFO_ICON)


STORED_NOTE: Final[str] = (
    "Stored results: these exact settings (seed included) were computed ahead of time with "
    f"this code and are read from assets/{STORED_POINTS}; nothing was computed now."
)


def _sweep_results(args: tuple) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """``(summary, per_scenario, source note)``: stored points when these exact settings
    were computed ahead (the Figure-4 presets), else a live, budget-checked sweep."""
    stored = stored_sweep(*args)
    if stored is not None:
        return (*stored, STORED_NOTE)
    settings, swept, xs, rounds, metric, n_mc = args
    per_round = sweep_cost(settings, swept, xs, 1, metric, n_mc)
    check_budget(
        sweep_cost(*args),
        what=f"This sweep ({len(xs)} values x {rounds} scenarios; at most "
        f"{int(work_budget() // per_round)} scenarios per value fit)",
    )
    return (*run_gap_sweep(*args), "Computed live on this server.")


def _your_sweep(values: dict[str, Any], lecture: bool) -> None:
    swept = values["sweep"]
    st.header(f"Your sweep: {param_label(swept)}")
    try:
        config = scenario_config(values)
        xs = sweep_values(swept, values["sweep_from"], values["sweep_to"], values["sweep_points"])
        for x in xs:  # every swept value must make a valid scenario with the fixed ones
            config.replace(**{swept: x})
    except ValueError as exc:
        show_error(f"These settings do not make a sweep: {exc}")
        return
    settings = config.to_dict()
    args = (settings, swept, xs, values["rounds"], values["metric"], values["n_mc"])
    with error_boundary("your sweep"):
        summary, per_scenario, source = _sweep_results(args)
        bands = ("std", "quantile") if values["band"] == "both" else (values["band"],)
        fixed = ", ".join(f"{p} = {settings[p]}" for p in ("K", "J", "L") if p != swept)
        # ``args`` determine the cached sweep; with the display toggles they fix the figure.
        (fig,) = cached_figures(
            "gap-sweep",
            (args, bands, values["boxes"], values["robust_y"]),
            lecture,
            lambda: [
                gap_curve_figure(
                    summary,
                    swept,
                    values["metric"],
                    per_scenario=per_scenario if values["boxes"] else None,
                    bands=bands,
                    robust_range=values["robust_y"],
                    fixed=fixed,
                    lecture=lecture,
                )
            ],
        )
        show_figure(
            fig,
            f"gap-{values['metric']}-sweep-{swept}",
            lambda: per_scenario.merge(summary.drop(columns=["param"]), on="value", how="left"),
            lecture,
            key="sweep",
        )
        st.caption(
            f"{metric_label(values['metric'])}; {values['rounds']} scenarios per value, seed "
            f"{config.seed}. Boxes show every scenario (middle half in the box, outliers as "
            "dots) because single gaps are heavy-tailed: the mean and its +- 1 std band can be "
            f"pulled far by a few scenarios, the median and 10-90% band cannot. {source}"
        )
        with st.expander("Numbers behind the curve"):
            st.dataframe(summary, hide_index=True, width="stretch")
