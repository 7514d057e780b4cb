"""Figure builders for the Diagnostics page (Appendix G: HSIC and entropies).

Simulation figures take the per-scenario table of ``ggmi_core.diagnostics.diagnostics_sweep``
and its ``summarise_sweep`` summary:

* ``hsic_sweep_figure``: HSIC between synthetic samples and their anchor partners, every
  scenario as a dot, the mean with a +-1 std band, and the share of significant tests;
* ``entropy_sweep_figure``: differential entropy (kNN estimate against the exact value)
  and cluster entropy (the semantic-entropy analogue), synthetic beside anchor.

Uploaded-data figures take a ``ggmi_core.diagnostics.EmbeddingReport``:
``projection_figure`` (2-D PCA of both sets) and ``hsic_null_figure`` (the permutation null
with the observed statistic). ``paper_results_table`` holds the paper's own LLM numbers,
which are shown as a table and never drawn on our axes.

All entropies are in nats. No LaTeX in figure text; no Streamlit here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ggmi_core.config import FIELD_LIMITS
from ggmi_core.diagnostics import DIAGNOSTIC_SWEEP_PARAMS, EmbeddingReport, HSICResult
from ggmi_viz.theme import GREY, OKABE_ITO, ROLE_COLORS, apply_theme, with_alpha

ANCHOR_COLOR: Final[str] = ROLE_COLORS["fit on anchor"]
SYNTHETIC_COLOR: Final[str] = ROLE_COLORS["fit on synthetic"]
HSIC_COLOR: Final[str] = OKABE_ITO["blue"]
REJECT_COLOR: Final[str] = OKABE_ITO["vermillion"]

#: Axis titles of the swept parameters (records in ``ggmi_core.config.FIELD_LIMITS``).
SWEEP_AXIS_TITLES: Final[dict[str, str]] = {
    p: f"{FIELD_LIMITS[p].symbol}: {FIELD_LIMITS[p].meaning}"
    + (f" ({FIELD_LIMITS[p].analogue} analogue)" if FIELD_LIMITS[p].analogue else "")
    for p in DIAGNOSTIC_SWEEP_PARAMS
}

#: Significance level whose rejection rate the HSIC figure shows.
ALPHA: Final[float] = 0.05


#: Short axis titles for the two-panel entropy figure.
PARAM_SHORT: Final[dict[str, str]] = {
    p: FIELD_LIMITS[p].short_label for p in DIAGNOSTIC_SWEEP_PARAMS
}

#: Parameters whose sweep values span orders of magnitude get a logarithmic axis.
LOG_AXIS_PARAMS: Final[frozenset[str]] = frozenset({"n_anchor_per_component"})


def param_label_with_analogue(param: str) -> str:
    """Axis title for a swept parameter."""
    return SWEEP_AXIS_TITLES.get(param, param)


def _x_axis(param: str, values: Iterable[float], short: bool = False) -> dict[str, object]:
    """x-axis settings of a sweep figure: title, and a log scale for N_k (3 to 200).

    On the log scale the ticks sit at the swept values: plotly's own minor labels ("2",
    "3" between decades) would read as N_k = 2 or 3.
    """
    title = PARAM_SHORT.get(param, param) if short else param_label_with_analogue(param)
    axis: dict[str, object] = {"title_text": title}
    if param in LOG_AXIS_PARAMS:
        ticks = sorted({float(v) for v in values})
        axis |= {"type": "log", "tickvals": ticks, "ticktext": [f"{v:g}" for v in ticks]}
    return axis


def _check_columns(df: pd.DataFrame, needed: Iterable[str], what: str) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {', '.join(missing)}")


# --------------------------------------------------------------------------- simulation


def hsic_sweep_figure(
    per_scenario: pd.DataFrame, summary: pd.DataFrame, param: str, lecture: bool = False
) -> go.Figure:
    """HSIC against ``param``: scenario dots, mean +-1 std band, and rejection rate.

    Args:
        per_scenario: rows of ``diagnostics_sweep`` (``value``, ``hsic``, ``hsic_p_value``).
        summary: ``summarise_sweep`` of it (``value``, ``hsic_mean``, ``hsic_std``,
            ``hsic_reject_rate``).
        param: the swept parameter (axis title).
        lecture: larger type and thicker lines.
    """
    _check_columns(per_scenario, ("value", "hsic", "hsic_p_value"), "the scenario table")
    _check_columns(summary, ("value", "hsic_mean", "hsic_std", "hsic_reject_rate"), "the summary")
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    x = summary["value"].to_numpy(float)
    mean = summary["hsic_mean"].to_numpy(float)
    std = summary["hsic_std"].to_numpy(float)
    fig.add_trace(
        go.Scatter(
            x=np.concatenate([x, x[::-1]]),
            y=np.concatenate([mean + std, (mean - std)[::-1]]),
            fill="toself",
            fillcolor=with_alpha(HSIC_COLOR, 0.15),
            mode="lines",
            line={"width": 0},
            hoverinfo="skip",
            name="mean ± 1 std",
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=per_scenario["value"],
            y=per_scenario["hsic"],
            mode="markers",
            marker={"color": with_alpha(HSIC_COLOR, 0.35), "size": 5},
            name="one scenario",
            customdata=per_scenario["hsic_p_value"],
            hovertemplate="value %{x}<br>HSIC %{y:.4g}<br>p-value %{customdata:.3f}<extra></extra>",
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=mean,
            mode="lines+markers",
            line={"color": HSIC_COLOR},
            name="mean HSIC",
            hovertemplate="value %{x}<br>mean HSIC %{y:.4g}<extra></extra>",
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=summary["hsic_reject_rate"],
            mode="lines+markers",
            line={"color": REJECT_COLOR, "dash": "dash"},
            marker={"symbol": "diamond"},
            name=f"share of scenarios with p ≤ {ALPHA:g}",
            hovertemplate="value %{x}<br>dependent in %{y:.0%} of scenarios<extra></extra>",
        ),
        secondary_y=True,
    )
    fig.update_xaxes(**_x_axis(param, summary["value"]))
    # Short: a long title on a projected chart is shrunk to fit its height; the figure's
    # title says what is paired with what.
    fig.update_yaxes(title_text="HSIC", secondary_y=False)
    fig.update_yaxes(
        title_text=f"share with p ≤ {ALPHA:g}",
        range=[-0.02, 1.02],
        tickvals=[0, 0.25, 0.5, 0.75, 1.0],
        tickformat=".0%",
        showgrid=False,
        secondary_y=True,
    )
    fig.update_layout(
        title="Dependence of synthetic samples on their anchor partners",
        legend={"orientation": "h", "y": -0.25, "x": 0},
    )
    return apply_theme(fig, lecture)


_ENTROPY_SERIES: Final[tuple[tuple[str, str, str, str], ...]] = (
    # column stem, legend name, colour, dash
    ("synthetic_exact_entropy", "synthetic: exact (D_gen)", SYNTHETIC_COLOR, "solid"),
    ("synthetic_knn_entropy", "synthetic: kNN estimate", SYNTHETIC_COLOR, "dot"),
    ("anchor_exact_entropy", "anchor: exact", ANCHOR_COLOR, "solid"),
    ("anchor_knn_entropy", "anchor: kNN estimate", ANCHOR_COLOR, "dot"),
)
_CLUSTER_SERIES: Final[tuple[tuple[str, str, str, str], ...]] = (
    ("synthetic_cluster_entropy", "synthetic: cluster entropy", SYNTHETIC_COLOR, "solid"),
    ("anchor_cluster_entropy", "anchor: cluster entropy", ANCHOR_COLOR, "solid"),
)


def entropy_sweep_figure(
    summary: pd.DataFrame,
    param: str,
    n_anchor_components: int,
    n_target_components: int,
    lecture: bool = False,
) -> go.Figure:
    """Differential and cluster entropies (nats) against ``param``, with +-1 s.e. bars.

    Args:
        summary: ``summarise_sweep`` output (``<column>_mean`` and ``<column>_sem``).
        param: the swept parameter.
        n_anchor_components: K, for the reference line log K (anchor data spread evenly
            over K clusters).
        n_target_components: K + J, for the reference line log(K + J) (all of G's clusters).
        lecture: larger type and thicker lines.
    """
    needed = [f"{c}_{s}" for c, *_ in _ENTROPY_SERIES + _CLUSTER_SERIES for s in ("mean", "sem")]
    _check_columns(summary, ["value", *needed], "the summary")
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(
            "Differential entropy: kNN estimate vs exact",
            "Cluster entropy over G's components",
        ),
        horizontal_spacing=0.12,
    )
    x = summary["value"]
    for col, series in ((1, _ENTROPY_SERIES), (2, _CLUSTER_SERIES)):
        for stem, name, color, dash in series:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=summary[f"{stem}_mean"],
                    error_y={"type": "data", "array": summary[f"{stem}_sem"], "visible": True},
                    mode="lines+markers",
                    line={"color": color, "dash": dash},
                    name=name,
                    hovertemplate=f"{name}<br>value %{{x}}<br>%{{y:.3f}} nats<extra></extra>",
                ),
                row=1,
                col=col,
            )
    for level, label in (
        (np.log(n_anchor_components), f"log K = {np.log(n_anchor_components):.2f}"),
        (np.log(n_target_components), f"log(K+J) = {np.log(n_target_components):.2f}"),
    ):
        fig.add_hline(
            y=level,
            line={"color": GREY, "dash": "dash", "width": 1.5},
            annotation_text=label,
            annotation_position="top left",
            row=1,
            col=2,
        )
    fig.update_xaxes(**_x_axis(param, summary["value"], short=True))
    fig.update_yaxes(title_text="nats", row=1, col=1)
    fig.update_yaxes(title_text="nats", row=1, col=2)
    fig.update_layout(
        title="Entropy of synthetic and anchor data",
        legend={"orientation": "h", "y": -0.25, "x": 0},
    )
    return apply_theme(fig, lecture)


def sweep_data(summary: pd.DataFrame, param: str) -> pd.DataFrame:
    """The summary as exported: the swept value renamed to the parameter's name."""
    return summary.rename(columns={"value": param})


# --------------------------------------------------------------------------- paper


def paper_results_table() -> pd.DataFrame:
    """The paper's own Appendix G numbers (LLM text, not this simulation).

    GPT-4o generated the synthetic data from Dolly-15K with 3, 10 or 20 in-context
    instances (Tables 2 and 3); Table 4 compares generators at 3 instances. Their HSIC
    (synthetic data against the benchmark's training set, Appendix G.3.1) and semantic
    entropy (over meaning clusters) are measured on text, so their scale is not comparable
    with the simulation's numbers.
    """
    rows = [
        ("Tables 2-3", "GPT-4o", 3, 7.8703, 1.0739),
        ("Tables 2-3", "GPT-4o", 10, 7.8668, 1.0503),
        ("Tables 2-3", "GPT-4o", 20, 7.8502, 1.0005),
        ("Table 4", "GPT-4o", 3, 7.8703, 1.0739),
        ("Table 4", "Llama-3.2-3B-Instruct", 3, 11.4306, 2.9427),
        ("Table 4", "Llama-3.2-1B-Instruct (no usable output)", 3, np.nan, np.nan),
    ]
    return pd.DataFrame(
        rows,
        columns=["paper table", "generator", "in-context instances", "HSIC", "semantic entropy"],
    )


# --------------------------------------------------------------------------- uploads


def projection_figure(
    report: EmbeddingReport,
    names: tuple[str, str] = ("anchor", "synthetic"),
    lecture: bool = False,
) -> go.Figure:
    """Both sets on the first two principal axes of their union."""
    fig = go.Figure()
    for coords, name, color, symbol in zip(
        report.projection.coords,
        names,
        (ANCHOR_COLOR, SYNTHETIC_COLOR),
        ("circle", "x"),
        strict=True,
    ):
        fig.add_trace(
            go.Scatter(
                x=coords[:, 0],
                y=coords[:, 1],
                mode="markers",
                marker={"color": with_alpha(color, 0.7), "size": 6, "symbol": symbol},
                name=f"{name} ({coords.shape[0]:,})",
                customdata=np.arange(1, coords.shape[0] + 1),
                hovertemplate=(
                    f"{name} row %{{customdata}}<br>PC1 %{{x:.3g}}<br>PC2 %{{y:.3g}}<extra></extra>"
                ),
            )
        )
    explained = report.projection.explained
    fig.update_xaxes(title_text=f"PC1 ({explained[0]:.0%} of variance)")
    fig.update_yaxes(title_text=f"PC2 ({explained[1]:.0%} of variance)")
    fig.update_layout(title=f"Principal-component projection of {report.dim}-D embeddings")
    return apply_theme(fig, lecture)


def projection_data(report: EmbeddingReport, names: tuple[str, str] = ("anchor", "synthetic")):
    """Long table behind ``projection_figure``: set, row (1-based), pc1, pc2."""
    frames = [
        pd.DataFrame(
            {"set": name, "row": np.arange(1, c.shape[0] + 1), "pc1": c[:, 0], "pc2": c[:, 1]}
        )
        for c, name in zip(report.projection.coords, names, strict=True)
    ]
    return pd.concat(frames, ignore_index=True)


def hsic_null_figure(result: HSICResult, lecture: bool = False) -> go.Figure:
    """Histogram of HSIC under shuffled pairings, with the observed HSIC marked."""
    if not result.null:
        raise ValueError("the HSIC result has no stored null distribution")
    fig = go.Figure(
        go.Histogram(
            x=list(result.null),
            nbinsx=min(40, max(10, len(result.null) // 5)),
            marker={"color": with_alpha(GREY, 0.6)},
            name="HSIC with shuffled pairs",
            hovertemplate="HSIC %{x:.4g}<br>%{y} permutations<extra></extra>",
        )
    )
    fig.add_vline(
        x=result.statistic,
        line={"color": HSIC_COLOR, "width": 3},
        annotation_text=f"observed {result.statistic:.4g} (p = {result.p_value:.3g})",
        annotation_position="top",
    )
    fig.update_xaxes(title_text="HSIC")
    fig.update_yaxes(title_text="permutations")
    fig.update_layout(
        title="Is the pairing special? Observed HSIC against shuffled pairings",
        showlegend=False,
        bargap=0.05,
    )
    return apply_theme(fig, lecture)


def hsic_null_data(result: HSICResult) -> pd.DataFrame:
    """The permutation null and the observed statistic as a table."""
    return pd.DataFrame(
        {
            "kind": ["observed"] + ["permutation"] * len(result.null),
            "hsic": [result.statistic, *result.null],
        }
    )


def report_table(report: EmbeddingReport) -> pd.DataFrame:
    """One row per number of an ``EmbeddingReport``: quantity, value, ± (s.e.), reading."""
    rows: list[tuple[str, float, float, str]] = []
    if report.hsic is not None:
        rows += [
            (
                "HSIC (row i with row i)",
                report.hsic.statistic,
                np.nan,
                "dependence of synthetic rows on their anchor rows; lower = more new "
                "information (paper's reading)",
            ),
            (
                "HSIC permutation p-value",
                report.hsic.p_value,
                np.nan,
                f"share of {report.hsic.n_permutations} shuffled pairings with HSIC at least "
                "as large (+1 correction)",
            ),
            (
                "HSIC under shuffling (mean)",
                report.hsic.null_mean,
                report.hsic.null_std,
                "± is the std",
            ),
        ]
    rows += [
        (
            "entropy of anchor (kNN, nats)",
            float(report.anchor_entropy.value),
            float(report.anchor_entropy.stderr),
            f"Kozachenko-Leonenko, k = {report.k}",
        ),
        (
            "entropy of synthetic (kNN, nats)",
            float(report.synthetic_entropy.value),
            float(report.synthetic_entropy.stderr),
            f"Kozachenko-Leonenko, k = {report.k}",
        ),
        (
            "entropy drop: anchor - synthetic (nats)",
            report.entropy_drop,
            float(np.hypot(report.anchor_entropy.stderr, report.synthetic_entropy.stderr)),
            "the paper's delta; > 0 means the synthetic data are less spread out",
        ),
        (
            "KL(synthetic || anchor) (kNN, nats)",
            report.kl_synthetic_anchor,
            np.nan,
            "synthetic mass where the anchor data have little; can be slightly < 0 by chance",
        ),
        (
            "KL(anchor || synthetic) (kNN, nats)",
            report.kl_anchor_synthetic,
            np.nan,
            "anchor regions the synthetic data miss",
        ),
        (
            "synthetic rows copying an anchor row",
            float(report.shared_rows),
            np.nan,
            "exact duplicates across the sets (verbatim copies)",
        ),
        (
            "repeated rows (anchor / synthetic)",
            float(report.anchor_duplicates + report.synthetic_duplicates),
            np.nan,
            f"{report.anchor_duplicates} / {report.synthetic_duplicates}; dropped by the kNN "
            "estimators",
        ),
    ]
    return pd.DataFrame(rows, columns=["quantity", "value", "±", "reading"])
