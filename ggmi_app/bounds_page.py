"""Bound terms page: the paper's bounds (Lemma 3.1, Section 4) measured term by term.

This module holds the page's own settings, its pool calls and the three tab sections:

* ``render_breakdown``: every measured term for the current sliders;
* ``render_sweep``: why J and L move the gap apart (Δ_I split by part, J/L contrast), every
  term against one swept parameter, and Lemma 4.8's n-against-m comparison;
* ``render_statements``: the paper's statements in LaTeX next to the measured stand-ins.

Its prose is in ``assets/content/bounds/`` (``page.md``, ``statements.md``), filled with
the measured numbers through ``ggmi_app.prose``. Page text may use LaTeX (``st.latex``,
``$...$``); figure text may not.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any, Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ggmi_app import scenario_params as shared
from ggmi_app.budget_sliders import budget_cap, budget_slider
from ggmi_app.figures import SharedFigure, cached_figures, show_figure
from ggmi_app.job_keys import Job
from ggmi_app.messages import WARNING_ICON, error_boundary, escape_markdown
from ggmi_app.page_settings import (
    BOUNDS_PREFIX,
    BOUNDS_SCHEMA,
    BOUNDS_SWEEP_PREFIX,
    BOUNDS_SWEEP_SCHEMA,
    PAGE_SETTINGS,
)
from ggmi_app.priced import run_priced, run_priced_table
from ggmi_app.prose import prose, show_prose
from ggmi_app.state import sidebar_controls
from ggmi_core.bounds import (
    CAP_WARN_SHARE,
    JL_GRID,
    LESSON_ROUNDS,
    N_GRID,
    BoundTerms,
    bound_crossing,
    bound_terms_without_scenarios,
    cap_saturation,
    default_sweep_values,
    estimate_bound_cost,
    estimate_bound_sweep_cost,
    fit_parameter_count,
    info_gain_parts_table,
    metric_short_name,
    sample_size_table,
    sweep_bound_terms,
)
from ggmi_core.config import ScenarioConfig
from ggmi_viz import bounds as figures

PREFIX: Final[str] = BOUNDS_PREFIX
TAB_LABELS: Final[tuple[str, str, str]] = ("Breakdown", "How terms move", "Statements")
TAB_KEY: Final[str] = f"{PREFIX}tab"

# ------------------------------------------------------------------------- schema

#: Loss cap and scenario count (keys ``bounds_<name>``) and the "How terms move" tab's
#: controls (keys ``bounds_move_<name>``), declared in ``ggmi_app.page_settings``.
BOUND_SCHEMA: Final = BOUNDS_SCHEMA
SWEEP_PREFIX: Final[str] = BOUNDS_SWEEP_PREFIX
SWEEP_SCHEMA: Final = BOUNDS_SWEEP_SCHEMA
#: This page's own settings (URL/store key -> param).
SETTINGS: Final = PAGE_SETTINGS["bounds"]


def _breakdown_cap(values: Mapping[str, Any]) -> int | None:
    """Scenarios the work budget allows for one ``bound_terms`` call (None: invalid settings)."""
    try:
        config = scenario_config(values)
    except ValueError:
        return None  # the page says what is wrong with the settings
    return budget_cap(estimate_bound_cost(config, 1, values["n_mc"], values["metric"]))


def draw_controls() -> dict[str, Any]:
    """Draw the sidebar controls (URL-backed) and return their values by name.

    The scenarios slider keeps its place in the sidebar but is drawn last: its maximum is
    what the work budget allows for the other settings, so they must be known first.
    """
    loss_cap, scenarios = BOUND_SCHEMA
    values = sidebar_controls(shared.SCENARIO_SCHEMA)
    values |= sidebar_controls([loss_cap], prefix=PREFIX)
    slot = st.sidebar.container()
    values |= sidebar_controls([shared.METRIC_PARAM, shared.N_MC_PARAM])
    values["scenarios"] = budget_slider(slot, scenarios, _breakdown_cap(values), prefix=PREFIX)
    return values


def scenario_config(values: Mapping[str, Any]) -> ScenarioConfig:
    """The ``ScenarioConfig`` of the sliders (``ValueError`` names a bad combination)."""
    return shared.scenario_config(values)


# ------------------------------------------------------------------ cached calls


def terms_key(values: Mapping[str, Any], config: ScenarioConfig) -> tuple[Any, ...]:
    """What the measured terms depend on (they key the cached figures)."""
    return (config.to_dict(), values["scenarios"], values["C"], values["n_mc"], values["metric"])


def measure(values: Mapping[str, Any], config: ScenarioConfig) -> BoundTerms:
    """Budget-checked ``bound_terms`` for the sidebar values, from the shared pool/cache."""
    rounds, n_mc, metric = values["scenarios"], values["n_mc"], values["metric"]
    job = Job.of(bound_terms_without_scenarios, config, rounds, values["C"], n_mc, metric)
    cost = estimate_bound_cost(config, rounds, n_mc, metric)
    (terms,) = run_priced([job], "Measuring the bound terms", cost=cost, what="This setting")
    return terms


# ------------------------------------------------------------------ breakdown tab


def _fmt(mean: float, se: float) -> str:
    return f"{mean:.3f} ± {se:.3f}"


#: The breakdown's figures by name, in the order they are shown.
_BREAKDOWN_FIGURES: Final[dict[str, Callable[[BoundTerms, bool], go.Figure]]] = {
    "lemma31": figures.lemma31_figure,
    "information": figures.information_figure,
    "gain": figures.gain_figure,
}


def _breakdown_figure(name: str, terms: BoundTerms, lecture: bool, key: Hashable) -> SharedFigure:
    """One figure of the breakdown, built once per ``key`` (``terms_key``) for all sessions.

    Each figure is built just before it is shown, not all three before the first: on a
    new setting the browser draws the Lemma 3.1 chart while the server builds the other
    two (~25 ms each), instead of waiting for all of them.
    """
    build = _BREAKDOWN_FIGURES[name]
    (fig,) = cached_figures(f"bounds-{name}", key, lecture, lambda: [build(terms, lecture)])
    return fig


def render_breakdown(terms: BoundTerms, lecture: bool, key: Hashable) -> None:
    """Headline numbers, the three figures and the table of every term.

    ``key`` determines ``terms`` (``terms_key``): the figures are cached on it, so a
    rerun on cached numbers does not rebuild them.
    """
    table = terms.summary().set_index("term")
    holds = terms.bound_holds
    # On a projector the chart comes first, whole on the screen (slide fit), and the
    # headline numbers follow it; its title names the lemma, so no heading above it.
    first, second = st.container(), st.container()
    numbers, chart = (second, first) if lecture else (first, second)
    with numbers:
        _headline_numbers(table, holds)
    with chart:
        _lemma31_chart(terms, _breakdown_figure("lemma31", terms, lecture, key), lecture)
        show_cap_saturation(terms)
    st.subheader("Information gain and entropy drop")
    st.markdown(prose(PAGE_TEXT, "information_intro"))
    st.markdown(_information_reading(terms))
    show_figure(
        _breakdown_figure("information", terms, lecture, key),
        "bounds-information",
        lambda: figures.information_data(terms),
        lecture,
    )
    st.subheader("Generalization gain, measured directly")
    gap_name = escape_markdown(metric_short_name(terms.metric))
    st.markdown(prose(PAGE_TEXT, "gain_intro", {"gap_name": gap_name}))
    show_figure(
        _breakdown_figure("gain", terms, lecture, key),
        "bounds-gain",
        lambda: figures.gain_data(terms),
        lecture,
    )
    st.markdown(_gain_bridge(terms))
    with st.expander(
        "Every term: symbol, value, meaning and the paper's remark", expanded=not lecture
    ):
        shown = terms.summary()
        shown["value (nats)"] = [
            _fmt(m, s) for m, s in zip(shown["mean"], shown["stderr"], strict=True)
        ]
        st.dataframe(
            shown[["symbol", "value (nats)", "meaning", "direction"]].rename(
                columns={"direction": "paper's remark"}
            ),
            hide_index=True,
            width="stretch",
        )
        st.caption(
            "Values are means over scenarios ± their standard error. 'share holding' is a "
            "fraction, not nats."
        )


def _headline_numbers(table: pd.DataFrame, holds: np.ndarray) -> None:
    """The four headline numbers of the breakdown, in a row."""
    cols = st.columns(4)
    # Units and counts go in the labels: a value with them wraps onto two lines on a
    # projector with the sidebar open.
    cols[0].metric("Lemma 3.1 holds (scenarios)", f"{int(holds.sum())} / {holds.size}")
    bound, err = table.loc["bound_total", "mean"], table.loc["err_synthetic", "mean"]
    cols[1].metric("Bound ÷ measured error", f"{bound / err:.1f}×" if err > 0 else "—")
    cols[2].metric("Information gain Δ_I (nats)", f"{table.loc['info_gain', 'mean']:.3f}")
    cols[3].metric("Entropy drop δ (nats)", f"{table.loc['entropy_drop', 'mean']:.3f}")


def _lemma31_chart(terms: BoundTerms, lemma31: Any, lecture: bool) -> None:
    """Lemma 3.1's chart with, in normal mode, its heading and how to read it."""
    if not lecture:
        st.caption(prose(PAGE_TEXT, "lemma31_caption"))
        st.subheader("Lemma 3.1: the bound, term by term, against the measured error")
        st.markdown(prose(PAGE_TEXT, "lemma31_reading"))
    show_figure(
        lemma31,
        "bounds-lemma31",
        lambda: figures.lemma31_data(terms),
        lecture,
    )


# ---------------------------------------------------------------------- sweep tab


def _sweep_cap(
    values: Mapping[str, Any], config: ScenarioConfig, param: str, points: int
) -> int | None:
    """Scenarios per value the work budget allows for this sweep (None: no valid grid).

    One scenario at every value of the grid is priced, so the cap is for the whole sweep.
    """
    try:
        grid = default_sweep_values(config, param, points)
    except ValueError:
        return None  # drawing the sweep raises the same error, with its message
    per_scenario = estimate_bound_sweep_cost(
        config, param, grid, 1, values["n_mc"], values["metric"]
    )
    return budget_cap(per_scenario)


def render_sweep(values: Mapping[str, Any], config: ScenarioConfig, lecture: bool) -> None:
    """Sweep one parameter, with a progress bar, and plot every term against it."""
    # Each section has its own boundary: one refused by the budget leaves the others.
    with error_boundary("J against L"):
        render_jl_contrast(values, config, lecture)
    st.subheader("Sweep any parameter")
    st.markdown(
        "Vary one parameter, keep the others at the sidebar's values, and watch every term."
    )
    box = st.container(horizontal=True, border=True)
    param_choice, points, scenarios = SWEEP_SCHEMA
    sweep = sidebar_controls([param_choice, points], prefix=SWEEP_PREFIX, container=box)
    param = sweep["param"]
    cap = _sweep_cap(values, config, param, sweep["points"])
    sweep["scenarios"] = budget_slider(box, scenarios, cap, prefix=SWEEP_PREFIX)
    grid = default_sweep_values(config, param, sweep["points"])
    rounds, n_mc, metric, cap = (
        sweep["scenarios"],
        values["n_mc"],
        values["metric"],
        values["C"],
    )
    st.caption(
        escape_markdown(
            f"{figures.param_short_label(param)}: {', '.join(f'{v:g}' for v in grid)}; "
            f"{rounds} scenarios per value."
        )
    )
    jobs = [
        Job.of(sweep_bound_terms, config, param, [value], rounds, cap, n_mc, metric)
        for value in grid
    ]
    table = run_priced_table(
        jobs,
        f"Sweeping {param} over {len(grid)} values",
        cost=estimate_bound_sweep_cost(config, param, grid, rounds, n_mc, metric),
        what="This sweep",
    )
    # One figure per panel: each keeps its own legend readable and exports as one slide.
    # The sweep's inputs determine the table, so they key the cached figures.
    panels = cached_figures(
        "bounds-sweep",
        (config.to_dict(), param, sweep["points"], rounds, cap, n_mc, metric),
        lecture,
        lambda: [
            figures.sweep_figure(table, param, metric=metric, panels=[panel], lecture=lecture)
            for panel in figures.SWEEP_PANELS
        ],
    )
    for stem, panel, fig in zip(
        figures.SWEEP_PANEL_NAMES, figures.SWEEP_PANELS, panels, strict=True
    ):
        show_figure(
            fig,
            f"bounds-sweep-{param}-{stem}",
            lambda table=table, column=panel[1]: figures.sweep_data(table, column),
            lecture,
        )
    with error_boundary("synthetic count against anchor count"):
        render_sample_size(values, config, lecture)


# ------------------------------------------------- teaching sections of the sweep tab

# JL_GRID, N_GRID and LESSON_ROUNDS (ggmi_core.bounds): the other letters stay at the
# sidebar's values; the scenarios per value are the sidebar's count, capped.

#: The page's prose (``assets/content/bounds/page.md``) and its Statements tab's.
PAGE_TEXT: Final[str] = "bounds/page"
STATEMENTS_TEXT: Final[str] = "bounds/statements"


def render_jl_contrast(values: Mapping[str, Any], config: ScenarioConfig, lecture: bool) -> None:
    """J and L side by side (Δ_I, task divergence, gap) and Δ_I split by part of M."""
    st.subheader("J against L: the same information gain, different task terms")
    st.markdown(prose(PAGE_TEXT, "jl_text"))
    rounds = min(int(values["scenarios"]), LESSON_ROUNDS)
    n_mc, metric, cap = values["n_mc"], values["metric"], values["C"]
    grids = {p: default_grid(config, p, JL_GRID) for p in ("J", "L")}
    jobs = [
        Job.of(sweep_bound_terms, config, p, [v], rounds, cap, n_mc, metric)
        for p, grid in grids.items()
        for v in grid
    ]
    cost = sum(
        estimate_bound_sweep_cost(config, p, g, rounds, n_mc, metric) for p, g in grids.items()
    )
    parts = run_priced(jobs, "Sweeping J and L", cost=cost, what="The J/L comparison")
    sizes = [len(g) for g in grids.values()]
    sweeps = {
        "J": pd.concat(parts[: sizes[0]], ignore_index=True),
        "L": pd.concat(parts[sizes[0] :], ignore_index=True),
    }
    (contrast,) = cached_figures(
        "bounds-jl",
        (config.to_dict(), rounds, cap, n_mc, metric),
        lecture,
        lambda: [figures.jl_contrast_figure(sweeps, metric=metric, lecture=lecture)],
    )
    st.caption(
        escape_markdown(
            f"J and L each over {', '.join(map(str, JL_GRID))} with the other letters at the "
            f"sidebar's values; {rounds} scenarios per value; loss cap C = {cap:g}."
        )
    )
    show_figure(contrast, "bounds-jl-contrast", lambda: figures.jl_contrast_data(sweeps), lecture)
    st.markdown(prose(PAGE_TEXT, "parts_text"))
    table = pd.concat(
        [info_gain_parts_table(config, p, range(min(g), max(g) + 1)) for p, g in grids.items()],
        ignore_index=True,
    )
    (split,) = cached_figures(
        "bounds-parts",
        (config.to_dict(),),
        lecture,
        lambda: [figures.info_gain_parts_figure(table, lecture=lecture)],
    )
    show_figure(split, "bounds-info-gain-parts", table, lecture)


def default_grid(config: ScenarioConfig, param: str, grid: tuple[int, ...]) -> list[int]:
    """The values of ``grid`` that form a valid configuration with ``config``."""
    valid = [v for v in grid if _valid(config, param, v)]
    if not valid:
        raise ValueError(f"no value of {param} in {grid} is valid with these settings")
    return valid


def _valid(config: ScenarioConfig, param: str, value: int) -> bool:
    try:
        config.replace(**{param: value})
    except ValueError:
        return False
    return True


def sample_size_text(config: ScenarioConfig) -> str:
    """What the Lemma 4.8 comparison measures, what is a stand-in, where it departs."""
    m = config.K * config.n_anchor_per_component
    p_gen = fit_parameter_count(config.K + config.J + config.L, config.dim)
    p_anchor = fit_parameter_count(config.K, config.dim)
    crossing = bound_crossing(config)
    cross = (
        prose(PAGE_TEXT, "sample_size_crossing", {"n": crossing})
        if crossing > 0
        else prose(PAGE_TEXT, "sample_size_no_crossing")
    )
    values = {"m": m, "p_gen": p_gen, "p_anchor": p_anchor, "crossing": cross}
    return prose(PAGE_TEXT, "sample_size", values)


def render_sample_size(values: Mapping[str, Any], config: ScenarioConfig, lecture: bool) -> None:
    """Lemma 4.8 against Lemma 4.6: measured errors and stand-in bounds as n passes m."""
    st.subheader("Lemma 4.8: m anchor samples against n synthetic samples")
    rounds = min(int(values["scenarios"]), LESSON_ROUNDS)
    n_mc, metric, cap = values["n_mc"], values["metric"], values["C"]
    grid = [n for n in N_GRID if n >= config.K + config.J + config.L]
    jobs = [
        Job.of(sweep_bound_terms, config, "n_synthetic", [n], rounds, cap, n_mc, metric)
        for n in grid
    ]
    sweep = run_priced_table(
        jobs,
        "Sweeping the synthetic sample size n",
        cost=estimate_bound_sweep_cost(config, "n_synthetic", grid, rounds, n_mc, metric),
        what="The n-against-m comparison",
    )
    table = sample_size_table(config, sweep)
    (fig,) = cached_figures(
        "bounds-sample-size",
        (config.to_dict(), rounds, cap, n_mc, metric),
        lecture,
        lambda: [figures.sample_size_figure(table, lecture=lecture)],
    )
    st.markdown(sample_size_text(config))
    show_figure(fig, "bounds-lemma48-n-vs-m", table, lecture)


# --------------------------------------------------------- breakdown reading aids

def cap_saturation_text(terms: BoundTerms) -> tuple[str, bool] | None:
    """The loss-cap sentence and whether to warn (share under π_gen above
    ``CAP_WARN_SHARE``), or None for terms stored without the shares."""
    shares = cap_saturation(terms)
    if shares is None:
        return None
    synthetic, anchor = shares
    values = {"synthetic": synthetic, "anchor": anchor, "cap": terms.loss_cap}
    if synthetic > CAP_WARN_SHARE:  # the warning names the share under π_gen only
        warning = {"synthetic": synthetic, "cap": terms.loss_cap, "limit": CAP_WARN_SHARE}
        return prose(PAGE_TEXT, "cap_warning", warning), True
    return prose(PAGE_TEXT, "cap_text", values), False


def show_cap_saturation(terms: BoundTerms) -> None:
    """Beside the Lemma 3.1 figure: the share of target points at the loss cap."""
    found = cap_saturation_text(terms)
    if found is None:
        return
    text, warn = found
    if warn:
        st.warning(escape_markdown(text), icon=WARNING_ICON)
    else:
        st.caption(escape_markdown(text))


def _information_reading(terms: BoundTerms) -> str:
    """Why H(e_M) and Δ_I carry different arrows, and why δ is negative (with numbers)."""
    t = terms.summary().set_index("term")
    b = terms.config.adherence
    if b == 0:
        gain = {"info_gain": _value(t, "info_gain")}
        equal = prose(PAGE_TEXT, "information_adherence_zero", gain)
    else:
        equal = prose(
            PAGE_TEXT,
            "information_adherence",
            {"b": b} | {k: _value(t, k) for k in ("H_eM", "info_gain", "I_eM_ep")},
        )
    values = {"adherence_sentence": equal, "entropy_drop": _value(t, "entropy_drop")}
    return prose(PAGE_TEXT, "information_reading", values)


def _gain_bridge(terms: BoundTerms) -> str:
    """Why a gain of whole nats sits beside a gap of hundredths (with numbers)."""
    t = terms.summary().set_index("term")
    ex = terms.extras
    risk_a = float(np.mean(ex["risk_target_anchor"]))
    risk_g = float(np.mean(ex["risk_target_synthetic"]))
    emp_a = float(np.mean(ex["empirical_anchor"]))
    emp_g = float(np.mean(ex["empirical_synthetic"]))
    both = float(
        np.mean(
            (np.asarray(ex["risk_target_anchor"]) >= np.asarray(ex["empirical_anchor"]))
            & (np.asarray(ex["risk_target_synthetic"]) >= np.asarray(ex["empirical_synthetic"]))
        )
    )
    name = escape_markdown(metric_short_name(terms.metric))
    bounded = " " + prose(PAGE_TEXT, "gain_bridge_js_bound") if terms.metric == "js" else ""
    values = {
        "err_gain": _value(t, "err_gain"),
        "metric_gap": _value(t, "metric_gap"),
        "gap_name": name,
        "cap": terms.loss_cap,
        "risk_anchor": risk_a,
        "risk_synthetic": risk_g,
        "empirical_anchor": emp_a,
        "empirical_synthetic": emp_g,
        "both_above": 100 * both,
        "js_bound": bounded,
    }
    return prose(PAGE_TEXT, "gain_bridge", values)


# ------------------------------------------------------------------ statements tab

def _value(table: pd.DataFrame, key: str) -> str:
    return _fmt(table.loc[key, "mean"], table.loc[key, "stderr"])


def render_statements(terms: BoundTerms) -> None:
    """Each statement in LaTeX, its measured stand-ins, and what cannot be measured
    (``assets/content/bounds/statements.md``, one section per statement)."""
    t = terms.summary().set_index("term")
    measured = {
        key: _value(t, key)
        for key in (
            "task_term", "generation_term", "sampling_term", "bound_total", "err_synthetic",
            "err_anchor", "info_gain", "H_eM", "I_eM_ep", "entropy_drop", "h_anchor",
            "h_synthetic", "err_gain", "metric_gap",
        )
    }  # fmt: skip
    gap_name = escape_markdown(metric_short_name(terms.metric))
    lemma31 = {"cap": terms.loss_cap, "holds": int(terms.bound_holds.sum()), "rounds": terms.rounds}
    # The values each section quotes (the loader refuses a value a section does not use).
    quotes: dict[str, dict[str, Any]] = {
        "lemma31": lemma31
        | _pick(measured, "task_term generation_term sampling_term bound_total err_synthetic"),
        "lemma44": _pick(measured, "err_synthetic"),
        "lemma45": _pick(measured, "info_gain H_eM I_eM_ep"),
        "theorem47": _pick(measured, "task_term generation_term sampling_term"),
        "lemma48": _pick(measured, "err_anchor err_synthetic"),
        "definition49": _pick(measured, "entropy_drop h_anchor h_synthetic err_gain metric_gap")
        | {"gap_name": gap_name},
        "theorem410": _pick(measured, "info_gain entropy_drop"),
    }
    st.markdown(prose(STATEMENTS_TEXT, "intro"))
    st.info(prose(STATEMENTS_TEXT, "not_measured"))
    for part, values in quotes.items():
        show_prose(prose(STATEMENTS_TEXT, part, values))
        if part == "lemma31":
            show_cap_saturation(terms)


def _pick(values: Mapping[str, str], names: str) -> dict[str, str]:
    """The entries of ``values`` named in the space-separated ``names``."""
    return {name: values[name] for name in names.split()}
