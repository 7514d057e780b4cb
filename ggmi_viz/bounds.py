"""Figure builders for the Bound-terms page: every measured term of the paper's bounds.

Builders take a ``ggmi_core.bounds.BoundTerms`` (one setting) or the long table of
``ggmi_core.bounds.sweep_bound_terms`` (one parameter varied) and return plotly figures:

* ``lemma31_figure``: the Lemma 3.1 bound stacked from its three terms beside the measured
  error, and every scenario's bound against its error (points under the diagonal would be
  violations);
* ``information_figure``: the exact information terms of the synthetic factors and the
  differential entropies behind the entropy drop;
* ``gain_figure``: both fits' measured generalization errors and, per scenario, the
  measured gain beside the chosen metric's gap;
* ``sweep_figure``: every term against one swept parameter;
* ``info_gain_parts_figure``: Δ_I split exactly (chain rule) by the part of M that answers,
  as J and as L grow;
* ``jl_contrast_figure``: J and L one above the other: Δ_I, the task divergence and the gap;
* ``sample_size_figure``: Lemma 4.8 against Lemma 4.6 as the synthetic count n grows past
  the anchor count m, measured errors beside stand-in bound shapes.

Tick labels carry the paper's symbols in plain Unicode with an arrow for the paper's
remark (↑ higher is better, ↓ lower is better); hover text gives the one-line meaning.
No LaTeX anywhere (PNG export must not fetch MathJax). No Streamlit here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ggmi_core.bounds import LEMMA31_TERMS, TERM_INFO, BoundTerms, metric_short_name
from ggmi_core.config import FIELD_LIMITS, PART_LABELS
from ggmi_viz.theme import GREY, OKABE_ITO, PART_COLORS, apply_theme, with_alpha, wrap_label

#: Colour of each term, shared by every figure on the page.
TERM_COLORS: Final[dict[str, str]] = {
    "task_term": OKABE_ITO["blue"],
    "generation_term": OKABE_ITO["orange"],
    "sampling_term": OKABE_ITO["bluish_green"],
    "bound_total": OKABE_ITO["black"],
    "err_synthetic": OKABE_ITO["vermillion"],
    "bound_slack": GREY,
    "H_eM": OKABE_ITO["sky_blue"],
    "I_eM_ep": OKABE_ITO["reddish_purple"],
    "info_gain": OKABE_ITO["blue"],
    "h_anchor": OKABE_ITO["sky_blue"],
    "h_synthetic": OKABE_ITO["bluish_green"],
    "entropy_drop": OKABE_ITO["vermillion"],
    "err_anchor": OKABE_ITO["orange"],
    "err_gain": OKABE_ITO["blue"],
    "metric_gap": OKABE_ITO["reddish_purple"],
}

_ARROWS: Final[dict[str, str]] = {"higher": " ↑", "lower": " ↓", "": ""}

#: The trade-off panel: Section 4.4 reads Figure 4's L trend as Δ_I rising while the
#: entropy drop δ falls (Theorem 4.10's directions); the title says whose reading it is.
TRADE_OFF_TITLE: Final[str] = "Trade-off (Section 4.4's reading of L): Δ_I vs entropy drop δ"
TRADE_OFF_TERMS: Final[tuple[str, str]] = ("info_gain", "entropy_drop")
#: Subtitle of the trade-off panel on any other sweep than L.
TRADE_OFF_NOT_L: Final[str] = (
    "Section 4.4's reading is about L; for J it fails (the gap rises while δ falls)"
)

#: Panels of the sweep figure: title and the terms drawn in it (trade-off first: it is
#: the paper's lesson).
SWEEP_PANELS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    (TRADE_OFF_TITLE, TRADE_OFF_TERMS),
    (
        "Lemma 3.1 terms vs measured error",
        ("task_term", "generation_term", "sampling_term", "bound_total", "err_synthetic"),
    ),
    ("Entropies behind them", ("H_eM", "I_eM_ep", "h_anchor", "h_synthetic")),
    ("Generalization gain", ("err_anchor", "err_gain", "metric_gap")),
)
#: File-name stems of the panels, same order as ``SWEEP_PANELS``.
SWEEP_PANEL_NAMES: Final[tuple[str, ...]] = ("tradeoff", "lemma31", "entropies", "gain")

_PARAM_SHORT: Final[dict[str, str]] = {p: limit.short for p, limit in FIELD_LIMITS.items()}


def param_short_label(param: str) -> str:
    """Axis label for a swept parameter, e.g. ``"L (task-irrelevant model components)"``."""
    short = _PARAM_SHORT.get(param, param)
    limit = FIELD_LIMITS.get(param)
    return f"{short} ({limit.meaning})" if limit else short


def term_label(
    key: str,
    terms: BoundTerms | None = None,
    metric: str | None = None,
    *,
    two_lines: bool = False,
) -> str:
    """Plain-Unicode label of a term: its symbol plus the paper's direction arrow.

    With ``two_lines`` a defining formula moves to a second line (``"Δ_I ↑<br>= H(...)"``),
    which keeps bar tick labels narrow.
    """
    info = TERM_INFO[key]
    if key == "metric_gap":
        name = metric_short_name(terms.metric if terms is not None else (metric or "js"))
        symbol = f"{name} gap"
    else:
        symbol = info.symbol
    arrow = _ARROWS[info.better]
    if two_lines and " = " in symbol:
        head, tail = symbol.split(" = ", 1)
        return f"{head}{arrow}<br>= {tail}"
    return symbol + arrow


def tick_label(key: str, terms: BoundTerms | None = None, lecture: bool = False) -> str:
    """Narrow category label for a bar or box: the symbol, its definition on a second line.

    In lecture mode the definition stays (on a slide it is what the bar means: Δ_I is
    H(e_M | e_p), δ is H(S_anchor) − H(S_gen)) but is wrapped to a few characters per
    line and set a little smaller than the symbol, so neighbouring labels stay apart.
    """
    if key == "err_gain":
        return "Err(π_anchor)<br>− Err(π_gen)" + _ARROWS[TERM_INFO[key].better]
    label = term_label(key, terms, two_lines=True)
    if not lecture or "<br>" not in label:
        return label
    head, definition = label.split("<br>", 1)
    lines = wrap_label(definition, _LECTURE_TICK_CHARS).split("<br>")
    small = [f"<span style='font-size:{_LECTURE_DEFINITION_PX}px'>{line}</span>" for line in lines]
    return "<br>".join([head, *small])


#: Lecture-mode bar labels: type size of the symbol (CSS px), of its definition, and the
#: characters per definition line (three bars share a panel about 300 px wide).
_LECTURE_TICK_PX: Final[int] = 18
_LECTURE_DEFINITION_PX: Final[int] = 16
_LECTURE_TICK_CHARS: Final[int] = 14


def _term_bar(terms: BoundTerms, key: str, lecture: bool, *, error_bar: bool) -> go.Bar:
    """One term's mean over scenarios as a bar (nats), with its standard error if asked."""
    mean, se = _mean_se(terms, key)
    return go.Bar(
        x=[tick_label(key, terms, lecture)],
        y=[mean],
        name=term_label(key),
        marker_color=TERM_COLORS[key],
        showlegend=False,
        error_y={"type": "data", "array": [se], "visible": True} if error_bar else None,
        hovertemplate=f"%{{x}}: %{{y:.3f}} nats<br>{_hover(key)}<extra></extra>",
    )


def _nats_panels_with_zero_line(fig: go.Figure, lecture: bool) -> None:
    """Axes of a two-panel figure in nats, a zero line on the right panel (where values
    may be negative), and room for the subtitle."""
    fig.add_hline(y=0.0, line={"color": "#444444", "width": 1}, row=1, col=2)
    fig.update_yaxes(title_text="nats")
    fig.update_xaxes(tickangle=0)
    _leave_room_for_subtitle(fig, lecture)


def _leave_room_for_subtitle(fig: go.Figure, lecture: bool) -> None:
    """Lower the plot areas and their subplot titles so the figure subtitle stays clear."""
    top = 0.84 if lecture else 0.88
    fig.update_yaxes(domain=[0.0, top])
    for note in fig.layout.annotations:
        note.update(y=top + 0.01, yanchor="bottom")
    if lecture:
        # Category labels of three bars share a narrow panel; large type would collide.
        fig.update_xaxes(tickfont={"size": _LECTURE_TICK_PX})


def _hover(key: str) -> str:
    info = TERM_INFO[key]
    direction = f"<br>paper: {info.direction}" if info.direction else ""
    return f"{info.meaning}{direction}"


def _mean_se(terms: BoundTerms, key: str) -> tuple[float, float]:
    row = terms.summary().set_index("term").loc[key]
    return float(row["mean"]), float(row["stderr"])


# ----------------------------------------------------------------------- Lemma 3.1


def lemma31_figure(terms: BoundTerms, lecture: bool = False) -> go.Figure:
    """Stacked Lemma 3.1 bound beside the measured error, and bound vs error per scenario.

    Left: scenario means (error bars: standard error across scenarios) of the task,
    generation and sampling terms stacked into the bound, next to ``Err(π_gen)``.
    Right: one point per scenario, the bound against the measured error with the line
    bound = error; the lemma holds for points on or above it.
    """
    summary = terms.summary().set_index("term")
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.45, 0.55],
        horizontal_spacing=0.12,
    )
    bound_x, err_x = "Lemma 3.1<br>bound", "measured<br>Err(π_gen)"
    parts = ("task_term", "generation_term", "sampling_term")
    total_se = float(summary.loc["bound_total", "stderr"])
    for i, key in enumerate(parts):
        mean = float(summary.loc[key, "mean"])
        fig.add_trace(
            go.Bar(
                x=[bound_x],
                y=[mean],
                name=term_label(key),
                marker_color=TERM_COLORS[key],
                legendgroup="bound",
                error_y=(
                    {"type": "data", "array": [total_se], "visible": True}
                    if i == len(parts) - 1
                    else None
                ),
                hovertemplate=f"{term_label(key)}: %{{y:.3f}} nats<br>{_hover(key)}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    err_mean, err_se = (float(v) for v in summary.loc["err_synthetic", ["mean", "stderr"]])
    fig.add_trace(
        go.Bar(
            x=[err_x],
            y=[err_mean],
            name=term_label("err_synthetic"),
            marker_color=TERM_COLORS["err_synthetic"],
            error_y={"type": "data", "array": [err_se], "visible": True},
            hovertemplate=(
                f"Err(π_gen): %{{y:.3f}} nats<br>{_hover('err_synthetic')}<extra></extra>"
            ),
        ),
        row=1,
        col=1,
    )
    _add_scenario_scatter(fig, terms)
    fig.update_layout(
        barmode="stack",
        title={"text": lemma31_headline(terms), "subtitle": {"text": lemma31_looseness(terms)}},
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0.0},
        height=760 if lecture else 560,
    )
    fig.update_yaxes(title_text=f"nats (loss cap C = {terms.loss_cap:g})", row=1, col=1)
    fig.update_xaxes(title_text="measured Err(π_gen), nats", row=1, col=2)
    fig.update_yaxes(title_text="Lemma 3.1 bound, nats", row=1, col=2)
    return apply_theme(fig, lecture)


def _add_scenario_scatter(fig: go.Figure, terms: BoundTerms) -> None:
    err = np.asarray(terms.err_synthetic.value, dtype=float)
    bound = np.asarray(terms.bound_total.value, dtype=float)
    holds = terms.bound_holds
    top = float(np.nanmax(np.concatenate([err, bound, [1e-9]])) * 1.05)
    fig.add_trace(
        go.Scatter(
            x=[0.0, top],
            y=[0.0, top],
            mode="lines",
            name="bound = error",
            line={"color": GREY, "dash": "dash", "width": 1.5},
            hoverinfo="skip",
        ),
        row=1,
        col=2,
    )
    for flag, name, color, symbol in (
        (True, "scenario: bound holds", OKABE_ITO["blue"], "circle"),
        (False, "scenario: bound violated", OKABE_ITO["vermillion"], "x"),
    ):
        idx = np.flatnonzero(holds == flag)
        if flag is False and idx.size == 0:
            continue
        fig.add_trace(
            go.Scatter(
                x=err[idx],
                y=bound[idx],
                mode="markers",
                name=name,
                marker={"color": with_alpha(color, 0.75), "symbol": symbol, "size": 8},
                customdata=idx,
                hovertemplate=(
                    "scenario %{customdata}<br>Err(π_gen) = %{x:.3f}<br>"
                    "bound = %{y:.3f}<extra></extra>"
                ),
            ),
            row=1,
            col=2,
        )


def lemma31_headline(terms: BoundTerms) -> str:
    """Plain text: in how many scenarios Lemma 3.1 holds."""
    holds = terms.bound_holds
    return f"Lemma 3.1 holds in {int(holds.sum())} of {holds.size} scenarios"


def lemma31_looseness(terms: BoundTerms) -> str:
    """Plain text: how loose the bound is on average."""
    bound, _ = _mean_se(terms, "bound_total")
    err, _ = _mean_se(terms, "err_synthetic")
    ratio = f" ({bound / err:.1f}× the error)" if err > 0 else ""
    return f"bound {bound:.2f} vs measured error {err:.2f} nats{ratio}"


def lemma31_data(terms: BoundTerms) -> pd.DataFrame:
    """Per-scenario numbers behind ``lemma31_figure`` (nats), for CSV export."""
    table = terms.per_scenario()
    out = table[["scenario", *LEMMA31_TERMS]].copy()
    out["bound_holds"] = out["bound_holds"].astype(bool)
    out["loss_cap"] = terms.loss_cap
    return out


# ------------------------------------------------------------------ information


def information_figure(terms: BoundTerms, lecture: bool = False) -> go.Figure:
    """Information terms (exact) and differential entropies (Monte Carlo), in nats.

    Left: ``H(e_M)``, ``I(e_M; e_p)`` and ``Δ_I = H(e_M | e_p)`` (identical in every
    scenario, so no error bars). Right: ``H(S_anchor)``, ``H(S_gen)`` and the entropy drop
    ``δ`` with standard errors across scenarios.
    """
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.16 if lecture else 0.12,
        subplot_titles=(
            "Synthetic factors (exact)",
            "Entropy per sample (Monte Carlo)",
        ),
    )
    for col, keys in ((1, ("H_eM", "I_eM_ep", "info_gain")), (2, _ENTROPY_KEYS)):
        for key in keys:
            exact = TERM_INFO[key].group == "information"
            bar = _term_bar(terms, key, lecture, error_bar=not exact)
            bar.update(
                text=[f"{bar.y[0]:.2f}"],
                # error bars would cross a label above the bar; exact bars have none
                textposition="outside" if exact else "inside",
                insidetextanchor="middle",
                cliponaxis=False,
            )
            fig.add_trace(bar, row=1, col=col)
    _nats_panels_with_zero_line(fig, lecture)
    fig.update_layout(
        title={
            "text": "Information gain Δ_I and entropy drop δ",
            "subtitle": {
                "text": "at adherence 0, H(e_M) = Δ_I and I(e_M; e_p) = 0; δ is per sample"
                " (Theorem 4.10 wants it ↑, the simulation keeps it negative)"
            },
        },
        height=680 if lecture else 500,
        bargap=0.35,
    )
    return apply_theme(fig, lecture)


_ENTROPY_KEYS: Final[tuple[str, ...]] = ("h_anchor", "h_synthetic", "entropy_drop")


def information_data(terms: BoundTerms) -> pd.DataFrame:
    """Per-scenario information and entropy terms (nats), for CSV export."""
    keys = ["H_eM", "I_eM_ep", "info_gain", *_ENTROPY_KEYS]
    table = terms.per_scenario()[["scenario", *keys]].copy()
    table["adherence"] = terms.config.adherence
    return table


# ------------------------------------------------------------------------ gain


def gain_figure(terms: BoundTerms, lecture: bool = False) -> go.Figure:
    """Measured generalization errors of both fits, and the per-scenario gains.

    Left: scenario means (± standard error) of ``Err(π_anchor)`` and ``Err(π_gen)``.
    Right: the distribution over scenarios (box with mean, every point shown) of the
    measured gain ``Err(π_anchor) − Err(π_gen)`` beside the chosen metric's gap; both are
    positive when training on synthetic data generalized better.
    """
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.16 if lecture else 0.12,
        subplot_titles=("Error of each fit", "Gain per scenario"),
    )
    for key in ("err_anchor", "err_synthetic"):
        fig.add_trace(_term_bar(terms, key, lecture, error_bar=True), row=1, col=1)
    for key in ("err_gain", "metric_gap"):
        values = np.asarray(terms.term(key).value, dtype=float)
        fig.add_trace(
            go.Box(
                y=values,
                x0=tick_label(key, terms, lecture),
                name=term_label(key, terms),
                marker_color=TERM_COLORS[key],
                boxmean=True,
                boxpoints="all",
                jitter=0.4,
                pointpos=0.0,
                showlegend=False,
                hovertemplate=f"%{{y:.3f}} nats<br>{_hover(key)}<extra></extra>",
            ),
            row=1,
            col=2,
        )
    _nats_panels_with_zero_line(fig, lecture)
    fig.update_layout(
        title={
            "text": "Generalization gain from synthetic data, measured",
            "subtitle": {
                "text": f"loss capped at C = {terms.loss_cap:g}; gain > 0: synthetic data helped"
            },
        },
        height=680 if lecture else 500,
    )
    return apply_theme(fig, lecture)


def gain_data(terms: BoundTerms) -> pd.DataFrame:
    """Per-scenario errors, gain and metric gap (nats), for CSV export."""
    table = terms.per_scenario()[
        ["scenario", "err_anchor", "err_synthetic", "err_gain", "metric_gap"]
    ].copy()
    table["metric"] = terms.metric
    return table


# ------------------------------------------------------------------------ sweep


def sweep_figure(
    table: pd.DataFrame,
    param: str,
    metric: str = "js",
    panels: Sequence[tuple[str, Sequence[str]]] = SWEEP_PANELS,
    lecture: bool = False,
) -> go.Figure:
    """Every term's scenario mean (± standard error) against a swept parameter.

    Several panels are laid out two per row with one legend grouped by panel; a single
    panel (see ``SWEEP_PANELS``) becomes a full-width figure with its legend below, which
    stays readable in lecture mode and exports as one slide.

    Args:
        table: ``sweep_bound_terms`` output (columns value, term, mean, stderr).
        param: the swept ``ScenarioConfig`` field (for the axis label).
        metric: the divergence metric of the gap (for its label).
        panels: (title, term keys) per subplot.
        lecture: lecture-mode theme.
    """
    missing = {"value", "term", "mean", "stderr"} - set(table.columns)
    if missing:
        raise ValueError(f"sweep table lacks columns: {', '.join(sorted(missing))}")
    if not panels:
        raise ValueError("sweep_figure needs at least one panel")
    single = len(panels) == 1
    cols = 1 if single else 2
    rows = (len(panels) + cols - 1) // cols
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=None if single else [title for title, _ in panels],
        horizontal_spacing=0.1,
        vertical_spacing=0.16,
    )
    short = _PARAM_SHORT.get(param, param)
    for i, (title, keys) in enumerate(panels):
        row, col = i // cols + 1, i % cols + 1
        for key in keys:
            sub = table[table["term"] == key].sort_values("value")
            if sub.empty:
                continue
            label = term_label(key, metric=metric)
            group = {} if single else {"legendgroup": title, "legendgrouptitle_text": title}
            fig.add_trace(
                go.Scatter(
                    x=sub["value"],
                    y=sub["mean"],
                    error_y={"type": "data", "array": sub["stderr"].fillna(0.0), "visible": True},
                    mode="lines+markers",
                    name=label,
                    line={"color": TERM_COLORS[key], "dash": _DASH.get(key, "solid")},
                    marker={"color": TERM_COLORS[key]},
                    hovertemplate=(
                        f"{label}<br>{short} = %{{x}}<br>%{{y:.3f}} nats<extra></extra>"
                    ),
                    **group,
                ),
                row=row,
                col=col,
            )
        fig.update_xaxes(title_text=param_short_label(param), row=row, col=col)
        fig.update_yaxes(title_text="nats", row=row, col=col)
    if single:
        fig.update_layout(
            title={"text": panels[0][0], "subtitle": {"text": _sweep_subtitle(panels[0], param)}},
            height=640 if lecture else 480,
            legend={
                "orientation": "h",
                "yanchor": "top",
                "y": -0.3 if lecture else -0.22,
                "x": 0.0,
            },
        )
    else:
        fig.update_layout(
            title=f"How the terms move with {short}",
            height=430 * rows,
            legend={"groupclick": "toggleitem", "tracegroupgap": 18},
        )
    return apply_theme(fig, lecture)


def _sweep_subtitle(panel: tuple[str, Sequence[str]], param: str) -> str:
    """'as X varies', and on the trade-off panel of a sweep other than L, whose reading it is."""
    short = _PARAM_SHORT.get(param, param)
    if tuple(panel[1]) == TRADE_OFF_TERMS and param != "L":
        return f"as {short} varies. {TRADE_OFF_NOT_L}"
    return f"as {short} varies"


_DASH: Final[dict[str, str]] = {
    "bound_total": "dash",
    "err_synthetic": "solid",
    "h_anchor": "dot",
    "h_synthetic": "dashdot",
    "metric_gap": "dot",
}


def sweep_data(table: pd.DataFrame, terms: Sequence[str] | None = None) -> pd.DataFrame:
    """The sweep table in wide form: one row per value, mean and stderr per term.

    ``terms`` keeps only those terms (e.g. one panel's); by default all.
    """
    if terms is not None:
        table = table[table["term"].isin(list(terms))]
    wide = table.pivot_table(index="value", columns="term", values=["mean", "stderr"])
    wide.columns = [f"{term}_{stat}" for stat, term in wide.columns]
    return wide.reset_index()


# --------------------------------------------------------- Δ_I split by part of M

#: Colours of the chain-rule pieces of Δ_I: "which part" grey, then each part's colour.
PARTS_PIECE_COLORS: Final[dict[str, str]] = {
    "which part": GREY,
    **{f"within {name}": PART_COLORS[i] for i, name in enumerate(PART_LABELS)},
}
_PIECE_HOVER: Final[dict[str, str]] = {
    "which part": "H(Z | e_p): uncertainty about which part of M answers",
    **{
        f"within {name}": f"P(Z = {name}) H(e_M | Z = {name}, e_p): which {name} component"
        for name in PART_LABELS
    },
}


def info_gain_parts_figure(table: pd.DataFrame, lecture: bool = False) -> go.Figure:
    """Δ_I stacked from its exact chain-rule pieces, one panel per swept letter.

    ``Δ_I = H(e_M | e_p) = H(Z | e_p) + Σ_z P(Z = z) H(e_M | Z = z, e_p)`` with Z the part of
    M (anchor-sampled, unsampled, task-irrelevant) that answered.

    Args:
        table: ``ggmi_core.bounds.info_gain_parts_table`` rows for one or more letters
            (columns ``param, value, component, nats``), e.g. J and L concatenated.
        lecture: lecture-mode theme.
    """
    missing = {"param", "value", "component", "nats"} - set(table.columns)
    if missing:
        raise ValueError(f"parts table lacks columns: {', '.join(sorted(missing))}")
    params = list(dict.fromkeys(table["param"]))
    fig = make_subplots(
        rows=1,
        cols=len(params),
        shared_yaxes=True,
        horizontal_spacing=0.06,
        subplot_titles=[f"vary {_PARAM_SHORT.get(p, p)}" for p in params],
    )
    for col, param in enumerate(params, start=1):
        sub = table[table["param"] == param]
        for piece, color in PARTS_PIECE_COLORS.items():
            rows = sub[sub["component"] == piece].sort_values("value")
            fig.add_trace(
                go.Bar(
                    x=rows["value"],
                    y=rows["nats"],
                    name=piece,
                    marker_color=color,
                    legendgroup=piece,
                    showlegend=col == 1,
                    hovertemplate=(
                        f"{_PARAM_SHORT.get(param, param)} = %{{x}}<br>%{{y:.3f}} nats<br>"
                        f"{_PIECE_HOVER[piece]}<extra></extra>"
                    ),
                ),
                row=1,
                col=col,
            )
        total = sub[sub["component"] == "total"].sort_values("value")
        fig.add_trace(
            go.Scatter(
                x=total["value"],
                y=total["nats"],
                mode="lines+markers",
                name="Δ_I = H(e_M | e_p) (sum)",
                line={"color": OKABE_ITO["black"], "dash": "dot"},
                legendgroup="total",
                showlegend=col == 1,
                hovertemplate="Δ_I = %{y:.3f} nats<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(title_text=param_short_label(param), row=1, col=col)
    fig.update_yaxes(title_text="nats", row=1, col=1)
    fig.update_layout(
        barmode="stack",
        title={
            "text": "Where the information gain Δ_I comes from (exact, chain rule)",
            "subtitle": {"text": "same total for J and L; only the part that supplies it differs"},
        },
        legend={"orientation": "h", "yanchor": "top", "y": -0.25 if lecture else -0.2, "x": 0.0},
        height=680 if lecture else 500,
    )
    _leave_room_for_subtitle(fig, lecture)
    return apply_theme(fig, lecture)


# ------------------------------------------------------------ J and L side by side

#: Columns of the J/L contrast: (short y-axis title, terms drawn). Short titles keep
#: them on one line at projector sizes; the legend gives each term's full symbol.
JL_COLUMNS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("Δ_I, nats", ("info_gain",)),
    ("C·TV, nats", ("task_term",)),
    ("gap", ("metric_gap",)),
)


#: Subtitle of the J/L contrast: what Lemma 3.1 says, and no more (the gap also depends
#: on the anchor learner, which the task term does not bound).
JL_SUBTITLE: Final[str] = "in Lemma 3.1 the task term C·TV(D, D_M) bounds Err(π_gen) only"

#: Distinct colours for the three quantities (Δ_I and the task term share blue elsewhere).
_JL_COLORS: Final[dict[str, str]] = {
    "info_gain": OKABE_ITO["blue"],
    "task_term": OKABE_ITO["vermillion"],
    "metric_gap": OKABE_ITO["reddish_purple"],
}


def jl_contrast_figure(
    sweeps: dict[str, pd.DataFrame], metric: str = "js", lecture: bool = False
) -> go.Figure:
    """J and L one above the other: Δ_I, the task divergence C·TV(D, D_M) and the gap.

    One row per letter (its x-axis: that letter), one column per quantity (its y-axis
    shared down the column, so J and L compare on one scale). Two rows of panels, not
    three, so the chart keeps its size on a 16:9 projector in lecture mode.

    Both letters raise Δ_I = log(K + J + L) identically (at adherence 0); Lemma 3.1's task
    term tells them apart in the bound on Err(π_gen). The gap is shown beside it, not
    claimed to follow it (the gap also depends on the anchor learner).

    Args:
        sweeps: ``{letter: sweep_bound_terms table}`` for the letters to compare (J and L).
        metric: the gap's divergence metric (for its label).
        lecture: lecture-mode theme.
    """
    if not sweeps:
        raise ValueError("jl_contrast_figure needs at least one sweep")
    params = list(sweeps)
    cols = len(JL_COLUMNS)
    fig = make_subplots(
        rows=len(params),
        cols=cols,
        horizontal_spacing=0.09,
        vertical_spacing=0.2 if lecture else 0.16,
    )
    for row, param in enumerate(params, start=1):
        table = sweeps[param]
        missing = {"value", "term", "mean", "stderr"} - set(table.columns)
        if missing:
            raise ValueError(f"sweep over {param} lacks columns: {', '.join(sorted(missing))}")
        short = _PARAM_SHORT.get(param, param)
        for col, (_, keys) in enumerate(JL_COLUMNS, start=1):
            for key in keys:
                sub = table[table["term"] == key].sort_values("value")
                label = term_label(key, metric=metric)
                fig.add_trace(
                    go.Scatter(
                        x=sub["value"],
                        y=sub["mean"],
                        error_y={
                            "type": "data",
                            "array": sub["stderr"].fillna(0.0),
                            "visible": True,
                        },
                        mode="lines+markers",
                        name=label,
                        legendgroup=key,
                        showlegend=row == 1,
                        line={"color": _JL_COLORS[key]},
                        marker={"color": _JL_COLORS[key]},
                        hovertemplate=(
                            f"{label}<br>{short} = %{{x}}<br>"
                            f"%{{y:.3f}}<br>{_hover(key)}<extra></extra>"
                        ),
                    ),
                    row=row,
                    col=col,
                )
            if keys == ("metric_gap",):
                fig.add_hline(y=0.0, line={"color": "#444444", "width": 1}, row=row, col=col)
            fig.update_xaxes(title_text=f"vary {short}", row=row, col=col)
    for col, (title, _) in enumerate(JL_COLUMNS, start=1):
        if title == "gap":
            title = f"{metric_short_name(metric)} gap, nats"
        fig.update_yaxes(title_text=title, row=1, col=col)
        fig.update_yaxes(title_text=title, row=len(params), col=col)
        # One scale down each column: J and L compare at a glance.
        first = fig.get_subplot(1, col).yaxis.plotly_name.replace("yaxis", "y")
        for row in range(2, len(params) + 1):
            fig.update_yaxes(matches=first, row=row, col=col)
    fig.update_layout(
        title={
            "text": "J and L raise Δ_I alike; only J lowers the task divergence",
            "subtitle": {"text": JL_SUBTITLE},
        },
        legend={"orientation": "h", "yanchor": "top", "y": -0.16 if lecture else -0.12, "x": 0.0},
        # In lecture mode no taller than its least clean height (about 640 px): a taller
        # figure is scaled down whole on a 1280 x 720 projector (slide fit).
        height=640 if lecture else 620,
    )
    return apply_theme(fig, lecture)


def jl_contrast_data(sweeps: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows behind ``jl_contrast_figure`` (param, value, term, mean, stderr), for CSV."""
    keys = [k for _, terms in JL_COLUMNS for k in terms]
    frames = [
        t[t["term"].isin(keys)][["value", "term", "mean", "stderr"]].assign(param=p)
        for p, t in sweeps.items()
    ]
    data = pd.concat(frames, ignore_index=True)
    return data[["param", "value", "term", "mean", "stderr"]]


# ------------------------------------------------------------- Lemma 4.8: n vs m

_ANCHOR_COLOR: Final[str] = OKABE_ITO["orange"]
_SYNTH_COLOR: Final[str] = OKABE_ITO["blue"]


def sample_size_figure(table: pd.DataFrame, lecture: bool = False) -> go.Figure:
    """Lemma 4.8 (anchor, m samples) against Lemma 4.6 (synthetic, n samples) as n grows.

    Left: measured ``Err(π_gen)`` against n and ``Err(π_anchor)`` at the fixed m (nats,
    ± standard error). Right: the stand-in bound shapes ``sqrt(I/n)`` and ``sqrt(I/m)``
    (sqrt(nats); prefactor left out, I a stand-in: see ``ggmi_core.bounds``). A dotted
    line marks n = m.

    Args:
        table: ``ggmi_core.bounds.sample_size_table`` output.
        lecture: lecture-mode theme.
    """
    missing = {"n", "m", "err_synthetic", "err_anchor", "bound_shape_synthetic"} - set(
        table.columns
    )
    if missing:
        raise ValueError(f"sample-size table lacks columns: {', '.join(sorted(missing))}")
    table = table.sort_values("n")
    m = int(table["m"].iloc[0])
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.12,
        subplot_titles=(
            "Measured error (capped log-loss)",
            "Bound shape sqrt(I / size), stand-in",
        ),
    )
    n = table["n"].to_numpy(dtype=float)
    for col, (gen_col, anchor_col, unit) in enumerate(
        (
            ("err_synthetic", "err_anchor", "nats"),
            ("bound_shape_synthetic", "bound_shape_anchor", "sqrt(nats)"),
        ),
        start=1,
    ):
        gen_se = table.get(f"{gen_col}_stderr")
        anchor_se = table.get(f"{anchor_col}_stderr")
        fig.add_trace(
            go.Scatter(
                x=n,
                y=table[gen_col],
                error_y=None
                if gen_se is None
                else {"type": "data", "array": gen_se.fillna(0.0), "visible": True},
                mode="lines+markers",
                name="synthetic fit (K+J+L components, n samples)",
                legendgroup="synthetic",
                showlegend=col == 1,
                line={"color": _SYNTH_COLOR},
                hovertemplate=f"n = %{{x}}<br>%{{y:.3f}} {unit}<extra>synthetic</extra>",
            ),
            row=1,
            col=col,
        )
        fig.add_trace(
            go.Scatter(
                x=n,
                y=table[anchor_col],
                error_y=None
                if anchor_se is None
                else {"type": "data", "array": anchor_se.fillna(0.0), "visible": True},
                mode="lines+markers",
                name=f"anchor fit (K components, m = {m} samples, fixed)",
                legendgroup="anchor",
                showlegend=col == 1,
                line={"color": _ANCHOR_COLOR, "dash": "dash"},
                hovertemplate=f"m = {m}<br>%{{y:.3f}} {unit}<extra>anchor</extra>",
            ),
            row=1,
            col=col,
        )
        fig.add_vline(x=m, line={"color": GREY, "dash": "dot", "width": 1.5}, row=1, col=col)
        fig.update_xaxes(
            type="log",
            title_text="n, synthetic samples (dotted: n = m)",
            tickvals=n,
            ticktext=[f"{v:g}" for v in n],
            row=1,
            col=col,
        )
    fig.update_yaxes(title_text="Err, nats", row=1, col=1)
    fig.update_yaxes(title_text="sqrt(nats)", row=1, col=2)
    fig.update_layout(
        title={
            "text": "Lemma 4.8 vs Lemma 4.6: m anchor samples against n synthetic samples",
            "subtitle": {
                "text": "right: stand-in I = (p/2) log(size), prefactor 1; not from the paper"
            },
        },
        legend={"orientation": "h", "yanchor": "top", "y": -0.25 if lecture else -0.2, "x": 0.0},
        height=680 if lecture else 500,
    )
    _leave_room_for_subtitle(fig, lecture)
    return apply_theme(fig, lecture)
