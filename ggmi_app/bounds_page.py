"""Bound terms page: the paper's bounds (Lemma 3.1, Section 4) measured term by term.

This module holds the page's own settings, its pool calls and the three tab sections:

* ``render_breakdown``: every measured term for the current sliders;
* ``render_sweep``: why J and L move the gap apart (Δ_I split by part, J/L contrast), every
  term against one swept parameter, and Lemma 4.8's n-against-m comparison;
* ``render_statements``: the paper's statements in LaTeX next to the measured stand-ins.

Page text may use LaTeX (``st.latex``, ``$...$``); figure text may not.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ggmi_app import scenario_params as shared
from ggmi_app.cached import budget_cap, budget_slider
from ggmi_app.compute import Job
from ggmi_app.figures import cached_figures, show_figure
from ggmi_app.messages import WARNING_ICON, error_boundary, escape_markdown, show_error
from ggmi_app.page_settings import (
    BOUNDS_PREFIX,
    BOUNDS_SCHEMA,
    BOUNDS_SWEEP_PREFIX,
    BOUNDS_SWEEP_SCHEMA,
    PAGE_SETTINGS,
)
from ggmi_app.priced import run_priced, run_priced_table
from ggmi_app.state import sidebar_controls
from ggmi_core.bounds import (
    CAP_WARN_SHARE,
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


def _breakdown_figures(terms: BoundTerms, lecture: bool) -> list[go.Figure]:
    """The Lemma 3.1, information and gain figures, in the order they are shown."""
    return [
        figures.lemma31_figure(terms, lecture),
        figures.information_figure(terms, lecture),
        figures.gain_figure(terms, lecture),
    ]


def render_breakdown(terms: BoundTerms, lecture: bool, key: Hashable) -> None:
    """Headline numbers, the three figures and the table of every term.

    ``key`` determines ``terms`` (``terms_key``): the figures are cached on it, so a
    rerun on cached numbers does not rebuild them.
    """
    lemma31, information, gain = cached_figures(
        "bounds-breakdown", key, lecture, lambda: _breakdown_figures(terms, lecture)
    )
    table = terms.summary().set_index("term")
    holds = terms.bound_holds
    # On a projector the chart comes first, whole on the screen (slide fit), and the
    # headline numbers follow it; its title names the lemma, so no heading above it.
    first, second = st.container(), st.container()
    numbers, chart = (second, first) if lecture else (first, second)
    with numbers:
        _headline_numbers(table, holds)
    with chart:
        _lemma31_chart(terms, lemma31, lecture)
        show_cap_saturation(terms)
    st.subheader("Information gain and entropy drop")
    st.markdown(
        INFORMATION_INTRO
    )
    st.markdown(_information_reading(terms))
    show_figure(
        information,
        "bounds-information",
        lambda: figures.information_data(terms),
        lecture,
    )
    st.subheader("Generalization gain, measured directly")
    st.markdown(
        "The same loss measures how far each fit's training loss is from its loss on the "
        f"task distribution. Their difference is a direct stand-in for GGMI; the "
        f"{escape_markdown(metric_short_name(terms.metric))} gap of the same fits sits beside it. "
        "Positive values mean training on synthetic data generalized better."
    )
    show_figure(gain, "bounds-gain", lambda: figures.gain_data(terms), lecture)
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
        st.caption(
            "Measured here, per scenario: total variations, risks under the capped log-loss, "
            "the information terms of the synthetic factors and differential entropies. Not "
            "measurable in any simulation of this kind: mutual information between a "
            "continuous sample and the trained parameters $W$, and $H(S\\mid W)$; the "
            "bottleneck $B_{e_p}$ is finite but not computed (see the Statements tab)."
        )
        st.subheader("Lemma 3.1: the bound, term by term, against the measured error")
        st.markdown(
            "The bar on the left stacks the three terms of the lemma; the bar beside it is the "
            "error actually measured for the mixture fitted to the synthetic data. On the right, "
            "every scenario is a point: the lemma holds for points on or above the dashed line. "
            "Curation noise and prompt adherence move the generation term; with neither, "
            "$\\mathcal D_{\\mathrm{gen}} = \\mathcal D_M$ and that term is exactly 0."
        )
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

#: J and L values of the contrast (the other letters stay at the sidebar's values).
JL_GRID: Final[tuple[int, ...]] = (2, 5, 8, 11, 15)
#: Synthetic sample sizes n of the Lemma 4.8 comparison.
N_GRID: Final[tuple[int, ...]] = (50, 100, 200, 400, 800, 1600)
#: Most scenarios per value these two sections use (the sidebar's count, capped).
LESSON_ROUNDS: Final[int] = 20

INFORMATION_INTRO: Final[str] = (
    "Left: exact sums over the synthetic factors of Definition 4.1 ($e_p$ = the anchor "
    "component the prompt names, $e_M$ = the model component that answers), with "
    "$\\Delta_I = H(e_M\\mid e_p)$ as in Definition 4.2; the prompt channel "
    "$P(e_M=j\\mid e_p=k) = b[j=k] + (1-b)w_j$ is this simulation's, not the paper's. "
    "Right: differential entropies per sample by Monte Carlo. Which arrows are the paper's: "
    "↑ on $\\Delta_I$ (Lemma 4.6 Remark 1, Theorem 4.10 Remark 1) and ↑ on $\\delta$ "
    "(Theorem 4.10 Remark 3). The ↓ on $I(e_M;e_p)$ is this app's reading of Lemma 4.5, "
    "not a remark of the paper; $H(e_M)$ carries no arrow here although Lemma 4.6 Remark 3 "
    "asks for a smaller $H(e_M)$ with $\\Delta_I$ held fixed (why: below)."
)

JL_TEXT: Final[str] = (
    "At adherence $b=0$ the information gain is $\\Delta_I = \\log(K+J+L)$ (Definition 4.2 "
    "with the prompt channel $P(e_M=j\\mid e_p=k) = b[j=k] + (1-b)w_j$): one more unsampled "
    "component (J) or one more task-irrelevant component (L) raises it by exactly the same "
    "amount, and the entropy drop $\\delta$ falls with both. Yet the gap rises with J and "
    "falls with L (Figure 4, Section 4.4). Among Lemma 3.1's terms, the one that tells them "
    "apart is the task divergence $C\\,D_{\\mathrm{TV}}(\\mathcal D, \\mathcal D_M)$: "
    "J adds components the task G has, so M moves towards G; L adds components G lacks, so M moves "
    "away. That term bounds only the synthetic learner's error "
    "$\\mathrm{Err}(\\pi^{\\mathrm{gen}})$; the gap also depends on the anchor learner, "
    "and the paper does not claim that the gap follows the task term: along K the task "
    "term falls, a tighter bound, and the gap falls too. "
    "What holds: J and L raise $\\Delta_I$ alike, and Lemma 3.1's task term tells them "
    "apart in the bound on $\\mathrm{Err}(\\pi^{\\mathrm{gen}})$.\n\n"
    "Section 4.4 reads the L trend as a trade-off: $\\Delta_I$ up, $\\delta$ down. The J "
    "sweep moves $\\Delta_I$ and $\\delta$ the same way while the gap goes the other way, "
    "so that reading does not explain this simulation: $\\Delta_I$ counts the model's "
    "components and cannot tell task-relevant from task-irrelevant diversity. $\\Delta_I$ "
    "also rises with K while the gap falls; there the anchor fit itself improves, because "
    "the anchor data cover K of the K + J target components (Appendix B's set-up)."
)

PARTS_TEXT: Final[str] = (
    "Where $\\Delta_I$ comes from, exactly. Let $Z$ be the part of M that answered "
    "(anchor-sampled, unsampled, task-irrelevant); $Z$ is a function of $e_M$, so the chain "
    "rule gives $H(e_M\\mid e_p) = H(Z\\mid e_p) + \\sum_z P(Z=z)\\,H(e_M\\mid Z=z, "
    "e_p)$ (the second sum taken jointly over $e_p$). At $b=0$ with equal weights and "
    "$n_z$ components in part $z$ out of $N=K+J+L$ this is "
    "$H(Z) + \\sum_z \\tfrac{n_z}{N}\\log n_z = \\log N$. Growing J widens the unsampled "
    "slice, growing L the task-irrelevant one, and the totals are identical."
)


def render_jl_contrast(values: Mapping[str, Any], config: ScenarioConfig, lecture: bool) -> None:
    """J and L side by side (Δ_I, task divergence, gap) and Δ_I split by part of M."""
    st.subheader("J against L: the same information gain, different task terms")
    st.markdown(JL_TEXT)
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
    st.markdown(PARTS_TEXT)
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
        f"with these stand-ins the synthetic shape drops below the anchor's from n = {crossing}"
        if crossing > 0
        else "with these stand-ins the synthetic shape never drops below the anchor's"
    )
    return (
        "Lemma 4.8 (Section 4.3) bounds the error of the model trained on the "
        f"$m = K N_k = {m}$ anchor samples by Lemma 4.4's term with "
        "$I(S_{\\mathrm{anchor}};W_{\\mathrm{anchor}})$ and $m$ in place of "
        "$I(S_{\\mathrm{gen}};W_{\\mathrm{gen}})$ and $n$. The paper's argument: since "
        "usually $n \\gg m$, Lemma 4.8 is \"a less stringent upper bound compared to "
        "Lemma 4.4\" (Section 4.3). Lemma 4.4 is the generic bound both rest on, so this is "
        "evidently a slip for the synthetic-data bound (Lemma 4.6, Theorem 4.7): many "
        "synthetic samples can win.\n\n"
        "**Measured** (left): $\\mathrm{Err}(\\pi^{\\mathrm{gen}})$ as $n$ grows and "
        "$\\mathrm{Err}(\\pi^{\\mathrm{anchor}})$ at the fixed $m$, with the capped log-loss "
        "of Lemma 3.1. **Stand-in** (right): $\\sqrt{I/\\text{size}}$ with "
        "$I = \\tfrac p2 \\log(\\text{size})$, $p$ the fitted mixture's free parameters "
        f"({p_gen} for the K+J+L-component synthetic fit, {p_anchor} for the K-component anchor "
        "fit). This description-length count is not from the paper: $I(S;W)$ has no finite "
        "value for a mixture fitted by EM. The prefactor "
        "$\\exp(-\\tfrac L2\\log\\tfrac1\\eta)\\sqrt{2\\sigma^2}$ is left out; Section 4.3 "
        "warns it differs between the two trainings, so only the trend in $n$ is meaningful; "
        f"{cross}.\n\n"
        "**Where Lemma 4.8's assumption and the paper's own simulation differ.** Lemma 4.8 "
        "assumes $S_{\\mathrm{anchor}}$ is drawn from the task distribution $\\mathcal D$; "
        "in the paper's Appendix B set-up, which this simulation reproduces, it covers only K "
        "of the K + J target components, so $\\mathrm{Err}(\\pi^{\\mathrm{anchor}})$ stays "
        "large at any $m$ "
        "(it is mostly that shift, not sampling error), and "
        "$\\mathrm{Err}(\\pi^{\\mathrm{gen}})$ includes Lemma 3.1's task divergence, which "
        "Lemma 4.4 alone leaves out."
    )


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

CAP_TEXT: Final[str] = (
    "Loss cap: {synthetic:.1%} of the target points drawn from G have a log-loss at the cap "
    "C = {cap:g} nats under the synthetic fit π_gen ({anchor:.1%} under the anchor fit "
    "π_anchor). A capped point adds exactly C to the risk whatever the fit does there."
)
CAP_WARNING: Final[str] = (
    "{synthetic:.1%} of the target points hit the loss cap C = {cap:g} under π_gen (more "
    "than {limit:.0%}). Where many points are capped, Lemma 3.1 becomes close to trivially "
    "true: the loss no longer tells good fits from bad ones there. Raise C in the sidebar "
    "(small caps saturate most with curation noise or in higher dimensions)."
)


def cap_saturation_text(terms: BoundTerms) -> tuple[str, bool] | None:
    """The loss-cap sentence and whether to warn (share under π_gen above
    ``CAP_WARN_SHARE``), or None for terms stored without the shares."""
    shares = cap_saturation(terms)
    if shares is None:
        return None
    synthetic, anchor = shares
    values = {"synthetic": synthetic, "anchor": anchor, "cap": terms.loss_cap}
    if synthetic > CAP_WARN_SHARE:
        return CAP_WARNING.format(**values, limit=CAP_WARN_SHARE), True
    return CAP_TEXT.format(**values), False


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
    equal = (
        f"At adherence $b = 0$ the prompt does not steer the model, so $I(e_M;e_p) = 0$ and "
        f"$H(e_M) = \\Delta_I$ = {_value(t, 'info_gain')}: one number. "
        if b == 0
        else f"At adherence $b = {b:g}$, $H(e_M)$ = {_value(t, 'H_eM')} exceeds "
        f"$\\Delta_I$ = {_value(t, 'info_gain')} by $I(e_M;e_p)$ = {_value(t, 'I_eM_ep')}. "
    )
    return (
        "**Reading these numbers.** "
        + equal
        + "Lemma 4.6's Remarks 1 and 3 ask for a larger $\\Delta_I$ and a smaller $H(e_M)$, "
        "each with the other held fixed: Lemma 4.5 bounds $I(S_{\\mathrm{gen}};W)$ by "
        "$-\\Delta_I + B_{e_p} + H(e_M) + \\delta_{\\epsilon,p}$, and "
        "$-\\Delta_I + H(e_M) = I(e_M;e_p)$ (Definition 4.2), so the bound sees the two only "
        "through $I(e_M;e_p)$. Hence $I(e_M;e_p)$ carries ↓ and $H(e_M)$ no arrow.\n\n"
        f"The entropy drop $\\delta$ = {_value(t, 'entropy_drop')} is negative. The paper's "
        "$\\delta_{S_{\\mathrm{anchor}},S_{\\mathrm{gen}}} = H(S_{\\mathrm{anchor}}) - "
        "H(S_{\\mathrm{gen}})$ (introduced in the statement of Theorem 4.10; Remark 3) is "
        "the entropy of whole "
        "data sets (Appendix G estimates it by the semantic entropy of generated texts). Here "
        "it is the differential entropy of one anchor sample (G's first K components) minus "
        "that of one synthetic sample ($\\mathcal D_{\\mathrm{gen}}$). At $b = 0$, "
        "$\\mathcal D_{\\mathrm{gen}} = \\mathcal D_M$ holds components near the anchor ones "
        "plus J + L more, so synthetic samples are more spread out and $\\delta < 0$ in every "
        "setting measured; adherence pulls $\\mathcal D_{\\mathrm{gen}}$ towards the anchor "
        "components and raises $\\delta$ (sweep b in the 'How terms move' tab to see how "
        "far). "
        "The ↑ is the paper's "
        "direction; without adherence the simulation does not deliver the entropy decrease "
        "the paper's faithfulness argument assumes."
    )


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
    bounded = (
        " It is bounded by $\\log 2 \\approx 0.69$ nats for any pair of distributions, so "
        "its gap is small by construction."
        if terms.metric == "js"
        else ""
    )
    return (
        f"**Why the gain is {_value(t, 'err_gain')} nats while the {name} gap is "
        f"{_value(t, 'metric_gap')}.** They are different quantities. The gain compares "
        "generalization errors $|R_{\\mathcal D}(\\pi) - \\widehat R_S(\\pi)|$ under the "
        f"log-loss capped at $C = {terms.loss_cap:g}$ (Lemma 3.1), so it lies in $[-C, C]$. "
        f"Here the population risks are {risk_a:.2f} (anchor fit) and {risk_g:.2f} (synthetic "
        f"fit), the training losses {emp_a:.2f} and {emp_g:.2f}; in {100 * both:.0f}% of "
        "scenarios both fits lose more on G than on their own data, and there the gain is the "
        "difference of population risks minus the difference of training losses. Without the "
        "cap, $R_G(\\pi) = h(G) + \\mathrm{KL}(G\\,\\|\\,\\pi)$, so the population-risk "
        "difference is the KL(G ‖ fit) gap, clipped at C: the anchor fit never saw the J "
        f"unsampled components and pays close to the cap there. The {name} gap is a divergence "
        f"between each fit and G.{bounded} Both are stand-ins for GGMI (Definition 4.9), not "
        "GGMI itself: compare their signs and trends, not their sizes."
    )


# ------------------------------------------------------------------ statements tab

_NOT_MEASURED: Final[str] = (
    "**What the simulation cannot measure.** The quantities that pair a continuous sample "
    "with the trained parameters $W$: $I(S;W)$, $I(S_{\\mathrm{gen}};W_{\\mathrm{gen}})$ "
    "and the conditional entropies $H(S\\mid W)$. Here $W$ is a mixture fitted by EM, an "
    "(almost) deterministic function of a continuous sample, so these are not finite numbers "
    "one could estimate. The compression bottleneck $B_{e_p} = I(e_p;W)$ (Definition 4.3) "
    "is different: $e_p$ is discrete, so $0 \\le I(e_p;W) \\le H(e_p) = \\log K$ is "
    "finite, and at adherence $b = 0$ the synthetic data ignore $e_p$, so it is exactly 0. "
    "For $b > 0$ it is finite but not computed here. The curation/prompting efficiency "
    "$\\delta_{\\epsilon,p}$, the compression coefficient $\\alpha$ and the network "
    "constants ($L$ contraction layers, factor $\\eta$, sub-Gaussian $\\sigma$) "
    "have no counterpart in a mixture fit either."
)


def _value(table: pd.DataFrame, key: str) -> str:
    return _fmt(table.loc[key, "mean"], table.loc[key, "stderr"])


def render_statements(terms: BoundTerms) -> None:
    """Each statement in LaTeX, its measured stand-ins, and what cannot be measured."""
    t = terms.summary().set_index("term")
    gap_name = metric_short_name(terms.metric)
    st.markdown(
        "The paper's statements, restated, each beside the numbers this simulation measures "
        "for the current sidebar setting (means over scenarios ± standard error, nats). "
        "Letters follow the simulation (K, J, L); $\\mathcal D$ is the target G."
    )
    st.info(_NOT_MEASURED)

    st.subheader("Lemma 3.1 — generalization error on synthetic data")
    st.latex(
        r"\mathrm{Err}(\pi^{\mathrm{gen}})=\bigl|R_{\mathcal D}(\pi^{\mathrm{gen}})"
        r"-\widehat R_{S_{\mathrm{gen}}}(\pi^{\mathrm{gen}})\bigr|"
        r"\le C\,D_{\mathrm{TV}}(\mathcal D,\mathcal D_M)+C\,D_{\mathrm{TV}}(\mathcal D_M,"
        r"\mathcal D_{\mathrm{gen}})+\bigl|R_{\mathcal D_{\mathrm{gen}}}(\pi^{\mathrm{gen}})"
        r"-\widehat R_{S_{\mathrm{gen}}}(\pi^{\mathrm{gen}})\bigr|"
    )
    st.markdown(
        f"Measured (loss capped at $C = {terms.loss_cap:g}$): task term {_value(t, 'task_term')}, "
        f"generation term {_value(t, 'generation_term')}, sampling term "
        f"{_value(t, 'sampling_term')}; their sum {_value(t, 'bound_total')} against the "
        f"error {_value(t, 'err_synthetic')}. It holds in "
        f"{int(terms.bound_holds.sum())} of {terms.rounds} scenarios. "
        "The paper puts a constant times $C$ before each divergence; with "
        "$D_{\\mathrm{TV}} = \\sup_A |P(A)-Q(A)|$ and a loss in $[0, C]$ that constant is "
        "exactly $C$, the form checked here."
    )
    show_cap_saturation(terms)

    st.subheader("Lemma 4.4 — error bounded by mutual information (Zhang et al., 2018)")
    st.latex(
        r"\mathbb E\bigl[R_{\mathcal D}(\pi)-\widehat R_S(\pi)\bigr]\le"
        r"\exp\!\Bigl(-\tfrac{L}{2}\log\tfrac{1}{\eta}\Bigr)\sqrt{\frac{2\sigma^2}{n}\,I(S;W)}"
    )
    st.markdown(
        "Here $L$ counts contraction layers of a deep network (not the simulation's L), "
        "$\\eta<1$ is their contraction factor, the loss is $\\sigma$-sub-Gaussian and $n$ is "
        "the sample size. Measured stand-in for the left side: "
        f"Err(π_gen) = {_value(t, 'err_synthetic')}. The right side needs $I(S;W)$: not "
        "measurable here."
    )

    st.subheader("Lemma 4.5 — information-flow bound")
    st.latex(r"I(S_{\mathrm{gen}};W)\le-\Delta_I+B_{e_p}+H(e_M)+\delta_{\epsilon,p}")
    st.markdown(
        f"Measured exactly: $\\Delta_I = H(e_M\\mid e_p)$ = {_value(t, 'info_gain')}, "
        f"$H(e_M)$ = {_value(t, 'H_eM')}, so $-\\Delta_I + H(e_M) = I(e_M;e_p)$ = "
        f"{_value(t, 'I_eM_ep')}. So the bound depends on $\\Delta_I$ and $H(e_M)$ only "
        "through $I(e_M;e_p)$: at adherence 0 they are equal and cancel. Adherence raises "
        "$I(e_M;e_p)$ and lowers $\\Delta_I$. Not measurable: $B_{e_p}$ and "
        "$\\delta_{\\epsilon,p}$."
    )

    st.subheader("Theorem 4.7 — synthetic-data post-training bound")
    st.latex(
        r"\mathbb E\,\mathrm{Err}(\pi^{\mathrm{gen}})\le C\,D_{\mathrm{TV}}(\mathcal D,"
        r"\mathcal D_M)+C\,D_{\mathrm{TV}}(\mathcal D_M,\mathcal D_{\mathrm{gen}})"
        r"+\exp\!\Bigl(-\tfrac{L}{2}\log\tfrac{1}{\eta}\Bigr)\sqrt{\frac{2\sigma^2}{n}"
        r"\bigl(-\Delta_I+B_{e_p}+H(e_M)+\delta_{\epsilon,p}\bigr)}"
    )
    st.markdown(
        "Lemma 4.5 inside Lemma 4.4, plus the two divergences of Lemma 3.1 (written with the "
        "constant $C$ as above). Measured: both divergence terms "
        f"({_value(t, 'task_term')} and {_value(t, 'generation_term')}), $\\Delta_I$ and "
        "$H(e_M)$. The square-root part replaces the sampling term "
        f"({_value(t, 'sampling_term')} measured); its constants and $B_{{e_p}}$ are out of reach."
    )

    st.subheader("Lemma 4.8 — anchor-data post-training bound")
    st.latex(
        r"\mathbb E\,\mathrm{Err}(\pi^{\mathrm{anchor}})\le"
        r"\exp\!\Bigl(-\tfrac{L}{2}\log\tfrac{1}{\eta}\Bigr)\sqrt{\frac{2\sigma^2}{m}\,"
        r"I(S_{\mathrm{anchor}};W_{\mathrm{anchor}})}"
    )
    st.markdown(
        "Lemma 4.4 for the model trained on the $m = K N_k$ anchor samples, which Section 4.3 "
        "assumes are drawn from $\\mathcal D$. With $n \\gg m$ the paper calls it \"less "
        "stringent ... compared to Lemma 4.4\", evidently meaning the synthetic-data bound "
        "(Lemma 4.6, Theorem 4.7). Measured stand-in for the left side: "
        f"Err(π_anchor) = {_value(t, 'err_anchor')}, against Err(π_gen) = "
        f"{_value(t, 'err_synthetic')}. $I(S_{{\\mathrm{{anchor}}}};W_{{\\mathrm{{anchor}}}})$ "
        "is not measurable; the 'How terms move' tab compares the two bounds' dependence on "
        "$n$ and $m$ with a labelled stand-in. Here the anchor data cover only K of the K + J "
        "target components, as in the paper's own Appendix B set-up, so Lemma 4.8's "
        "assumption does not hold in that experiment either."
    )

    st.subheader("Definition 4.9 — GGMI")
    st.latex(
        r"\mathrm{GGMI}=I(S_{\mathrm{anchor}};W_{\mathrm{anchor}})-I(S_{\mathrm{gen}};"
        r"W_{\mathrm{gen}})=\delta_{S_{\mathrm{anchor}},S_{\mathrm{gen}}}-H(S_{\mathrm{anchor}}"
        r"\mid W_{\mathrm{anchor}})+H(S_{\mathrm{gen}}\mid W_{\mathrm{gen}}),\quad"
        r"\delta_{S_{\mathrm{anchor}},S_{\mathrm{gen}}}=H(S_{\mathrm{anchor}})-H(S_{\mathrm{gen}})"
    )
    st.markdown(
        "The entropy drop $\\delta$ is introduced in the statement of Theorem 4.10; "
        "Definition 4.9 defines GGMI only. "
        f"Measured: $\\delta$ per sample = {_value(t, 'entropy_drop')} "
        f"($H(S_{{\\mathrm{{anchor}}}})$ = {_value(t, 'h_anchor')}, "
        f"$H(S_{{\\mathrm{{gen}}}})$ = {_value(t, 'h_synthetic')}). GGMI itself is not "
        "measurable; two stand-ins are: the measured gain "
        f"Err(π_anchor) − Err(π_gen) = {_value(t, 'err_gain')} and the "
        f"{escape_markdown(gap_name)} gap = {_value(t, 'metric_gap')}."
    )

    st.subheader("Theorem 4.10 — upper bound of GGMI (by its directions)")
    st.latex(
        r"\overline{\mathrm{GGMI}}\ \text{grows when}\ \ \Delta_I\uparrow,\ \ "
        r"\delta_{S_{\mathrm{anchor}},S_{\mathrm{gen}}}\uparrow,\ \ "
        r"H(S_{\mathrm{anchor}}\mid W_{\mathrm{anchor}})\downarrow,\ \ "
        r"H(S_{\mathrm{gen}}\mid W_{\mathrm{gen}})\uparrow,\ \ \alpha\uparrow"
    )
    st.markdown(
        "The theorem's exact form has constants (and a compression coefficient $\\alpha$) "
        "that this page does not reproduce; only the directions of its remarks are shown. "
        f"Measured: $\\Delta_I$ = {_value(t, 'info_gain')} (diversity), $\\delta$ = "
        f"{_value(t, 'entropy_drop')} (faithfulness, per sample; negative at adherence 0, see "
        "the Breakdown tab). Section 4.4 reads the L trend of Figure 4 as $\\Delta_I$ rising "
        "while $\\delta$ falls; J moves both the same way and the gap the opposite way, so "
        "this trade-off does not separate J from L here. In the bound on "
        "$\\mathrm{Err}(\\pi^{\\mathrm{gen}})$ the task term of Lemma 3.1 does (the 'How "
        "terms move' tab). Not measurable: the two conditional entropies given $W$ and "
        "$\\alpha$."
    )


def main(lecture: bool) -> None:
    """The page: title, controls and the three tabs (only the open one runs)."""
    st.title("Bound terms: the paper's inequalities, measured")
    if not lecture:
        st.markdown(
            "The paper bounds the error of a model post-trained on synthetic data (Lemma "
            "3.1, Theorem 4.7) and the gain over training on the anchor data alone "
            "(Theorem 4.10), but never evaluates its bounds. In the Gaussian-mixture "
            "simulation most terms become numbers: divergences, risks and entropies are "
            "exact or Monte Carlo with exact densities. Move the sliders and see which terms "
            "move; the Statements tab says which quantities no simulation of this kind can "
            "measure."
        )
    values = draw_controls()
    try:
        config = scenario_config(values)
    except ValueError as exc:
        show_error(f"These settings do not form a valid scenario: {exc}")
        st.stop()
    breakdown, sweep, statements = st.tabs(TAB_LABELS, key=TAB_KEY, bind="query-params")
    with breakdown:
        if breakdown.open:
            with error_boundary("the bound terms"):
                terms = measure(values, config)
                render_breakdown(terms, lecture, terms_key(values, config))
    with sweep:
        if sweep.open:
            with error_boundary("the sweep"):
                render_sweep(values, config, lecture)
    with statements:
        if statements.open:
            with error_boundary("the paper's statements"):
                render_statements(measure(values, config))
