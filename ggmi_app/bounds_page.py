"""Controls, cached calls and sections of the Bound-terms page (``pages/3_Bound_terms.py``).

The page file stays a short script; this module holds its URL schema, the cached
``ggmi_core.bounds`` calls and the three tab sections:

* ``render_breakdown``: every measured term for the current sliders;
* ``render_sweep``: every term against one swept parameter, with a progress bar;
* ``render_statements``: the paper's statements in LaTeX next to the measured stand-ins.

Page text may use LaTeX (``st.latex``, ``$...$``); figure text may not.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, Final

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ggmi_app import scenario_params as shared
from ggmi_app.cached import budget_cap, budget_capped
from ggmi_app.compute import Job
from ggmi_app.figures import cached_figures, show_figure
from ggmi_app.layout import escape_markdown, run_jobs
from ggmi_app.params import ChoiceParam, FloatParam, IntParam, Param
from ggmi_app.state import sidebar_controls
from ggmi_core.bounds import (
    BOUND_SWEEP_PARAMS,
    DEFAULT_LOSS_CAP,
    TERM_INFO,
    BoundTerms,
    bound_terms_without_scenarios,
    default_sweep_values,
    estimate_bound_cost,
    estimate_bound_sweep_cost,
    metric_label,
    sweep_bound_terms,
)
from ggmi_core.budget import check_budget
from ggmi_core.config import ScenarioConfig
from ggmi_viz import bounds as figures

PAGE_TITLE: Final[str] = "Bound terms"
TAB_LABELS: Final[tuple[str, str, str]] = ("Breakdown", "How terms move", "Statements")
TAB_KEY: Final[str] = "tab"

# ------------------------------------------------------------------------- schema

#: Loss cap and scenario count of this page; the scenario letters, the metric and the
#: Monte Carlo size are the shared params of ``ggmi_app.scenario_params`` (same URL and
#: widget keys as the other pages, so a setting carries over).
BOUND_SCHEMA: Final[tuple[Param, ...]] = (
    FloatParam(
        "C", "C: loss cap (nats)", DEFAULT_LOSS_CAP, 0.5, 50.0, 0.5,
        help="The loss is min(C, max(0, −log π(x))); Lemma 3.1 needs a bounded loss.",
    ),
    IntParam(
        "scenarios", "Scenarios", 50, 5, 200, step=5,
        help="Independent scenarios averaged for each number. The largest value offered is "
        "what this server's work budget allows for the other settings.",
    ),
)  # fmt: skip

_SHARED = {p.name: p for p in shared.SWEEP_SCHEMA}
SIDEBAR_SCHEMA: Final[tuple[Param, ...]] = (
    *shared.SCENARIO_SCHEMA,
    *BOUND_SCHEMA,
    _SHARED["metric"],
    _SHARED["n_mc"],
)

SWEEP_PREFIX: Final[str] = "move_"
#: Sweep controls; URL and widget keys carry ``SWEEP_PREFIX`` (``move_param`` ...), apart
#: from the gap-curve page's ``sweep*`` keys.
SWEEP_SCHEMA: Final[tuple[Param, ...]] = (
    ChoiceParam(
        "param",
        "Parameter to sweep",
        "L",
        BOUND_SWEEP_PARAMS,
        labels={p: figures.param_label(p) for p in BOUND_SWEEP_PARAMS},
    ),
    IntParam("points", "Values", 6, 3, 10),
    IntParam(
        "scenarios",
        "Scenarios per value",
        20,
        5,
        100,
        step=5,
        help="The largest value offered is what this server's work budget allows for this sweep.",
    ),
)


def _split_at(
    schema: tuple[Param, ...], name: str
) -> tuple[tuple[Param, ...], Param, tuple[Param, ...]]:
    """``schema`` as (params before ``name``, the param ``name``, params after it)."""
    i = [p.name for p in schema].index(name)
    return schema[:i], schema[i], schema[i + 1 :]


def _breakdown_cap(values: Mapping[str, Any]) -> int | None:
    """Scenarios the work budget allows for one ``bound_terms`` call (None: invalid settings)."""
    try:
        config = scenario_config(values)
    except ValueError:
        return None  # the page says what is wrong with the settings
    return budget_cap(estimate_bound_cost(config, 1, values["n_mc"], values["metric"]))


def draw_controls() -> dict[str, Any]:
    """Draw the sidebar controls (URL-backed) and return their values.

    The scenarios slider keeps its place in the sidebar but is drawn last, into a slot:
    its maximum is what the work budget allows for the other settings, so they must be
    known first.
    """
    before, scenarios, after = _split_at(SIDEBAR_SCHEMA, "scenarios")
    values = sidebar_controls(before)
    slot = st.sidebar.container()
    values |= sidebar_controls(after)
    capped = budget_capped(scenarios, _breakdown_cap(values))
    return values | sidebar_controls([capped], container=slot)


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
    check_budget(estimate_bound_cost(config, rounds, n_mc, metric), what="This setting")
    job = Job.of(bound_terms_without_scenarios, config, rounds, values["C"], n_mc, metric)
    (terms,) = run_jobs([job], "Measuring the bound terms")
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
    cols = st.columns(4)
    cols[0].metric("Lemma 3.1 holds", f"{int(holds.sum())} / {holds.size} scenarios")
    bound, err = table.loc["bound_total", "mean"], table.loc["err_synthetic", "mean"]
    cols[1].metric("Bound ÷ measured error", f"{bound / err:.1f}×" if err > 0 else "—")
    cols[2].metric("Information gain Δ_I", f"{table.loc['info_gain', 'mean']:.3f} nats")
    cols[3].metric("Entropy drop δ", f"{table.loc['entropy_drop', 'mean']:.3f} nats")

    if not lecture:
        st.caption(
            "Measured here, per scenario: total variations, risks under the capped log-loss, "
            "the information terms of the synthetic factors and differential entropies. Not "
            "measurable in any simulation of this kind: mutual information with the trained "
            "parameters $W$, the bottleneck $B_{e_p}$ and $H(S\\mid W)$ (see the Statements tab)."
        )
    st.subheader("Lemma 3.1: the bound, term by term, against the measured error")
    if not lecture:
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
        figures.lemma31_data(terms),
        lecture,
    )
    st.subheader("Information gain and entropy drop")
    st.markdown(
        "Left: exact sums over the synthetic factors ($e_p$ = the anchor component the prompt "
        "names, $e_M$ = the model component that answers). Right: differential entropies "
        "per sample by Monte Carlo. Theorem 4.10 says a larger $\\Delta_I$ (diversity) and a "
        "larger $\\delta$ (faithfulness) both raise the GGMI bound; ↑ and ↓ in the labels show "
        "the paper's preferred direction."
    )
    show_figure(
        information,
        "bounds-information",
        figures.information_data(terms),
        lecture,
    )
    st.subheader("Generalization gain, measured directly")
    st.markdown(
        "The same loss measures how far each fit's training loss is from its loss on the "
        f"task distribution. Their difference is a direct stand-in for GGMI; the "
        f"{escape_markdown(metric_label(terms.metric))} gap of the same fits sits beside it. "
        "Positive values mean training on synthetic data generalized better."
    )
    show_figure(gain, "bounds-gain", figures.gain_data(terms), lecture)
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
    st.markdown(
        "Vary one parameter, keep the others at the sidebar's values, and watch every term. "
        "A lecture classic: sweep **L**. More task-irrelevant components raise "
        "$\\Delta_I = \\log(K+J+L)$ (at zero adherence) but make the synthetic data more "
        "spread out, so the entropy drop $\\delta$ shrinks: the trade-off the paper uses to "
        "explain why the KL Gap falls as L grows."
    )
    box = st.container(horizontal=True, border=True)
    head, scenarios, _ = _split_at(SWEEP_SCHEMA, "scenarios")
    sweep = sidebar_controls(head, prefix=SWEEP_PREFIX, container=box)
    param = sweep["param"]
    capped = budget_capped(
        scenarios, _sweep_cap(values, config, param, sweep["points"]), prefix=SWEEP_PREFIX
    )
    sweep |= sidebar_controls([capped], prefix=SWEEP_PREFIX, container=box)
    grid = default_sweep_values(config, param, sweep["points"])
    rounds, n_mc, metric, cap = (
        sweep["scenarios"],
        values["n_mc"],
        values["metric"],
        values["C"],
    )
    st.caption(
        escape_markdown(
            f"{figures.param_label(param)}: {', '.join(f'{v:g}' for v in grid)}; "
            f"{rounds} scenarios per value."
        )
    )
    check_budget(
        estimate_bound_sweep_cost(config, param, grid, rounds, n_mc, metric), what="This sweep"
    )
    jobs = [
        Job.of(sweep_bound_terms, config, param, [value], rounds, cap, n_mc, metric)
        for value in grid
    ]
    parts = run_jobs(jobs, f"Sweeping {param} over {len(grid)} values")
    table = pd.concat(parts, ignore_index=True)
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
            figures.sweep_data(table, panel[1]),
            lecture,
        )


# ------------------------------------------------------------------ statements tab

_NOT_MEASURED: Final[str] = (
    "**What the simulation cannot measure.** Every quantity that treats the trained "
    "parameters $W$ as a random variable: $I(S;W)$, $I(S_{\\mathrm{gen}};W_{\\mathrm{gen}})$, "
    "the compression bottleneck $B_{e_p} = I(e_p;W)$ and the conditional entropies "
    "$H(S\\mid W)$. Here $W$ is a mixture fitted by EM, an (almost) deterministic function of "
    "a continuous sample, so these mutual informations are not finite numbers one could "
    "estimate. The curation/prompting efficiency $\\delta_{\\epsilon,p}$, the compression "
    "coefficient $\\alpha$ and the network constants ($L$ contraction layers, factor "
    "$\\eta$, sub-Gaussian $\\sigma$) have no counterpart in a mixture fit either."
)


def _value(table: pd.DataFrame, key: str) -> str:
    return _fmt(table.loc[key, "mean"], table.loc[key, "stderr"])


def render_statements(terms: BoundTerms) -> None:
    """Each statement in LaTeX, its measured stand-ins, and what cannot be measured."""
    t = terms.summary().set_index("term")
    gap_name = metric_label(terms.metric)
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
        f"{_value(t, 'I_eM_ep')}. Adherence raises $I(e_M;e_p)$ and lowers $\\Delta_I$. "
        "Not measurable: $B_{e_p}$ and $\\delta_{\\epsilon,p}$."
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

    st.subheader("Definition 4.9 — GGMI")
    st.latex(
        r"\mathrm{GGMI}=I(S_{\mathrm{anchor}};W_{\mathrm{anchor}})-I(S_{\mathrm{gen}};"
        r"W_{\mathrm{gen}})=\delta_{S_{\mathrm{anchor}},S_{\mathrm{gen}}}-H(S_{\mathrm{anchor}}"
        r"\mid W_{\mathrm{anchor}})+H(S_{\mathrm{gen}}\mid W_{\mathrm{gen}}),\quad"
        r"\delta_{S_{\mathrm{anchor}},S_{\mathrm{gen}}}=H(S_{\mathrm{anchor}})-H(S_{\mathrm{gen}})"
    )
    st.markdown(
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
        f"{_value(t, 'entropy_drop')} (faithfulness). The sweep tab shows them pulling in "
        "opposite directions as L grows. Not measurable: the two conditional entropies given "
        "$W$ and $\\alpha$."
    )


def term_symbols() -> dict[str, str]:
    """Symbol of every term (for tests and captions)."""
    return {k: v.symbol for k, v in TERM_INFO.items()}
