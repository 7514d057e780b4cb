"""Figure builders for the KL Gap curves page: the paper's Figure 4, live.

The gap for one scenario is ``D(fit on anchor, G) - D(fit on synthetic, G)`` for a
divergence D; positive means the synthetic data brought the learner closer to the
target. A sweep changes one setting over a range and repeats many scenarios per value.

Per-scenario gaps are heavy-tailed (exact KL between mixtures is dominated by tails),
so besides the published "mean +- 1 std" band the builders show the median with a
10-90% quantile band and box plots of the individual scenarios.

Inputs are pandas tables:

* a *summary* table, one row per swept value, with columns ``value, gap_mean, gap_std``
  and, for the quantile view, ``gap_median, gap_q10, gap_q90`` (``ggmi_core.sweep``);
* optionally a *per-scenario* table with columns ``value, gap`` (one row per scenario).

No Streamlit; no LaTeX in any text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ggmi_core.config import PARAM_LABELS
from ggmi_core.metrics import METRIC_LABELS, METRIC_UNITS, METRICS
from ggmi_viz.theme import COLORWAY, OKABE_ITO, apply_theme, with_alpha

Band = Literal["std", "sem", "quantile"]

#: Titles of the divergences' gaps in figures (from ``ggmi_core.metrics``; the long
#: names and units are ``ggmi_core.metrics.METRIC_LABELS`` and ``METRIC_UNITS``).
METRIC_GAP_TITLES: Final[dict[str, str]] = {key: m.gap_title for key, m in METRICS.items()}

_MEAN_COLOR: Final[str] = COLORWAY[0]
_MEDIAN_COLOR: Final[str] = OKABE_ITO["vermillion"]
_BOX_COLOR: Final[str] = OKABE_ITO["black"]
_ZERO_COLOR: Final[str] = "#888888"
#: Robust y-range: the axis shows this inner quantile range of the per-scenario gaps
#: (widened to include the curves), so one extreme scenario cannot flatten the plot.
_ROBUST_QUANTILES: Final[tuple[float, float]] = (0.02, 0.98)


def metric_label(metric: str) -> str:
    """Long display name of ``metric`` (the key itself when unknown)."""
    return METRIC_LABELS.get(metric, metric)


def metric_axis_title(metric: str) -> str:
    """Y-axis title with the unit, e.g. ``"JS gap (nats)"``."""
    short = METRIC_GAP_TITLES.get(metric, f"{metric} gap")
    return f"{short} ({METRIC_UNITS.get(metric, 'nats')})"


def param_label(param: str) -> str:
    """Axis title of a swept setting."""
    return PARAM_LABELS.get(param, param)


def _check_columns(df: pd.DataFrame, needed: Iterable[str], what: str) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {', '.join(missing)}")


def _band_traces(
    summary: pd.DataFrame,
    band: Band,
    metric: str,
    name_suffix: str = "",
    legend: bool = True,
    centre_line: bool = True,
) -> list[go.Scatter]:
    """The shaded band for one summary table and (with ``centre_line``) its centre line.

    ``"sem"`` is mean +- the standard error of the mean (``gap_sem``): how well the mean
    itself is known, unlike ``"std"``, the spread of single scenarios.
    """
    x = summary["value"].to_numpy(dtype=float)
    unit = METRIC_UNITS.get(metric, "nats")
    if band == "std":
        centre = summary["gap_mean"].to_numpy(dtype=float)
        spread = summary["gap_std"].to_numpy(dtype=float)
        low, high = centre - spread, centre + spread
        color, centre_name, band_name = _MEAN_COLOR, "mean", "mean +- 1 std (as published)"
        hover = (
            "value %{x}<br>mean gap %{y:.3f} " + unit + "<br>band: mean +- 1 standard deviation"
            " over scenarios<extra></extra>"
        )
    elif band == "sem":
        _check_columns(summary, ("gap_sem",), "summary table")
        centre = summary["gap_mean"].to_numpy(dtype=float)
        spread = summary["gap_sem"].to_numpy(dtype=float)
        low, high = centre - spread, centre + spread
        color, centre_name, band_name = _MEAN_COLOR, "mean", "mean +- 1 standard error"
        hover = (
            "value %{x}<br>mean gap %{y:.3f} " + unit + "<br>band: mean +- 1 standard error"
            " of the mean<extra></extra>"
        )
    elif band == "quantile":
        _check_columns(summary, ("gap_median", "gap_q10", "gap_q90"), "summary table")
        centre = summary["gap_median"].to_numpy(dtype=float)
        low = summary["gap_q10"].to_numpy(dtype=float)
        high = summary["gap_q90"].to_numpy(dtype=float)
        color, centre_name, band_name = _MEDIAN_COLOR, "median", "10% to 90% of scenarios"
        hover = (
            "value %{x}<br>median gap %{y:.3f} " + unit + "<br>band: middle 80% of scenarios"
            "<extra></extra>"
        )
    else:
        raise ValueError(f"band must be 'std', 'sem' or 'quantile'; got {band!r}")
    group = f"{band}{name_suffix}"
    traces = [
        go.Scatter(
            x=np.concatenate([x, x[::-1]]),
            y=np.concatenate([high, low[::-1]]),
            mode="lines",  # plotly would add markers to a short trace by default
            fill="toself",
            fillcolor=with_alpha(color, 0.45 if band == "sem" else 0.18),
            line={"width": 0},
            name=band_name + name_suffix,
            legendgroup=group,
            showlegend=legend,
            hoverinfo="skip",
        ),
        go.Scatter(
            x=x,
            y=centre,
            mode="lines+markers",
            line={"color": color, "dash": "solid" if band == "std" else "dash"},
            name=centre_name + name_suffix,
            legendgroup=group,
            showlegend=legend,
            hovertemplate=hover,
        ),
    ]
    return traces if centre_line else traces[:1]


def _box_trace(per_scenario: pd.DataFrame, metric: str, legend: bool = True) -> go.Box:
    unit = METRIC_UNITS.get(metric, "nats")
    return go.Box(
        x=per_scenario["value"].to_numpy(dtype=float),
        y=per_scenario["gap"].to_numpy(dtype=float),
        name="each scenario (box: middle half; dots: outliers)",
        legendgroup="boxes",
        showlegend=legend,
        marker={"color": _BOX_COLOR, "size": 4, "opacity": 0.6},
        line={"color": _BOX_COLOR, "width": 1.2},
        fillcolor="rgba(0,0,0,0)",
        boxpoints="outliers",
        hovertemplate=f"value %{{x}}<br>gap %{{y:.3f}} {unit}<extra>scenarios</extra>",
    )


def _robust_range(
    per_scenario: pd.DataFrame | None, curves: Sequence[np.ndarray]
) -> tuple[list[float] | None, int]:
    """Y-range covering the inner quantiles of the scenarios and the centre lines.

    Centre lines (mean, median) always stay in view, even when a few extreme scenarios
    drag the mean far out; shaded bands may be cut, since one exploding scenario makes
    a standard deviation useless anyway. Returns the range (None when it would clip
    nothing) and how many scenario values fall outside it.
    """
    if per_scenario is None or per_scenario.empty:
        return None, 0
    gaps = per_scenario["gap"].to_numpy(dtype=float)
    gaps = gaps[np.isfinite(gaps)]
    if gaps.size == 0:
        return None, 0
    lo, hi = (float(q) for q in np.quantile(gaps, _ROBUST_QUANTILES))
    for curve in curves:
        finite = np.asarray(curve, dtype=float)
        finite = finite[np.isfinite(finite)]
        if finite.size:
            lo = max(min(lo, float(finite.min())), float(gaps.min()))
            hi = min(max(hi, float(finite.max())), float(gaps.max()))
    pad = 0.05 * max(hi - lo, 1e-9)
    lo, hi = lo - pad, hi + pad
    outside = int(np.sum((gaps < lo) | (gaps > hi)))
    if outside == 0:
        return None, 0
    return [lo, hi], outside


def _integer_ticks(values: pd.Series) -> dict:
    """Axis settings that keep whole-number settings (K, n, ...) on whole-number ticks."""
    v = values.to_numpy(dtype=float)
    if v.size == 0 or not np.all(np.isfinite(v)) or not np.all(v == np.round(v)):
        return {}
    span = float(v.max() - v.min())
    return {"tick0": float(v.min()), "dtick": max(1, round(span / 8)), "tickformat": "d"}


def gap_curve_figure(
    summary: pd.DataFrame,
    param: str,
    metric: str,
    *,
    per_scenario: pd.DataFrame | None = None,
    bands: Sequence[Band] = ("std", "quantile"),
    robust_range: bool = True,
    fixed: str = "",
    lecture: bool = False,
) -> go.Figure:
    """Gap against one swept setting: bands, centre lines and per-scenario boxes.

    Args:
        summary: one row per value (``value, gap_mean, gap_std[, gap_median, gap_q10,
            gap_q90]``), gaps in the metric's unit (nats except TV).
        param: the swept ``ScenarioConfig`` field (x axis).
        metric: key of ``METRIC_LABELS``.
        per_scenario: optional ``value, gap`` rows, one per scenario, drawn as boxes.
        bands: which summaries to draw: ``"std"`` (mean +- 1 std, as published) and/or
            ``"quantile"`` (median, 10-90% band).
        robust_range: clip the y axis to the central 96% of scenarios (plus the centre lines)
            and say how many values lie outside.
        fixed: text naming the settings held fixed, for the title.
        lecture: large type and thick lines.
    """
    _check_columns(summary, ("value", "gap_mean", "gap_std"), "summary table")
    summary = summary.sort_values("value")
    fig = go.Figure()
    if per_scenario is not None:
        _check_columns(per_scenario, ("value", "gap"), "per-scenario table")
        fig.add_trace(_box_trace(per_scenario, metric))
    centres: list[np.ndarray] = []
    for band in bands:
        for trace in _band_traces(summary, band, metric):
            fig.add_trace(trace)
            if trace.fill != "toself":
                centres.append(np.asarray(trace.y, dtype=float))
    fig.add_hline(y=0.0, line={"color": _ZERO_COLOR, "width": 1, "dash": "dot"})
    fig.update_xaxes(title=param_label(param), **_integer_ticks(summary["value"]))
    fig.update_yaxes(title=metric_axis_title(metric))
    title = f"{METRIC_GAP_TITLES.get(metric, metric)} as {param} grows"
    if fixed:
        title += f" ({fixed})"
    fig.update_layout(
        title=title,
        # below the x-axis title, further down when lecture type is larger
        legend={"orientation": "h", "yanchor": "top", "y": -0.34 if lecture else -0.2, "x": 0.0},
        height=680 if lecture else 540,
        boxmode="overlay",
    )
    if robust_range:
        yrange, outside = _robust_range(per_scenario, centres)
        if yrange is not None:
            fig.update_yaxes(range=yrange)
            fig.add_annotation(
                text=f"y axis clipped to the central scenarios: {outside} scenario value(s) "
                "lie outside (see CSV)",
                xref="paper",
                yref="paper",
                x=1.0,
                y=1.0,
                xanchor="right",
                yanchor="bottom",
                showarrow=False,
                font={"size": 18 if lecture else 12, "color": "#555555"},
            )
    apply_theme(fig, lecture=lecture)
    return fig


FIGURE4_PARAMS: Final[tuple[str, ...]] = ("K", "J", "L")
#: Row titles of the Figure-4 grid (on each row's y axis, above the unit).
FIGURE4_ROW_TITLES: Final[dict[str, str]] = METRIC_GAP_TITLES


def with_standard_error(summary: pd.DataFrame) -> pd.DataFrame:
    """``summary`` with ``gap_sem`` = ``gap_std / sqrt(rounds)`` where it lacks that column.

    Tables stored before the standard-error band existed carry the scenario count
    (``rounds``) but not the standard error; without either, ``summary`` is returned as is.
    """
    if "gap_sem" in summary or "rounds" not in summary:
        return summary
    return summary.assign(gap_sem=summary["gap_std"] / np.sqrt(summary["rounds"]))


def figure4_figure(
    tables: Mapping[str, Mapping[str, pd.DataFrame]],
    *,
    band: Band = "std",
    bands: Sequence[Band] | None = ("std", "sem"),
    lecture: bool = False,
    title: str | None = None,
    row_titles: Mapping[str, str] | None = None,
) -> go.Figure:
    """The paper's Figure 4 as a grid: one row per metric, one column per swept letter.

    Args:
        tables: ``{metric: {param: summary}}`` with params among K, J, L; summary as in
            ``gap_curve_figure``. Rows keep the mapping's order.
        band: the single band drawn when ``bands`` is None: ``"std"`` (published),
            ``"sem"`` or ``"quantile"``.
        bands: bands drawn together (default: the published +- 1 std and, darker inside
            it, +- 1 standard error of the mean); their centre line is drawn once.
        lecture: large type and thick lines.
        title: figure title; the default names the letters and what line and band show.
        row_titles: y-axis title per metric (default: the metric's gap title and unit);
            shorter ones keep a multi-row figure's titles large where the title already
            says which row is which.
    """
    metrics = list(tables)
    if not metrics:
        raise ValueError("figure4_figure needs at least one metric")
    params = [p for p in FIGURE4_PARAMS if any(p in tables[m] for m in metrics)]
    fixed = {"K": "J = L = 2", "J": "K = L = 2", "L": "K = J = 2"}
    chosen: list[Band] = list(bands) if bands else [band]
    # the shaded bands go first so the mean line stays on top of the darker one
    chosen.sort(key=lambda b: {"std": 0, "quantile": 1, "sem": 2}[b])
    fig = make_subplots(
        rows=len(metrics),
        cols=len(params),
        shared_yaxes="rows",
        horizontal_spacing=0.04,
        vertical_spacing=0.14,
        # column headings on the first row only; each row names its metric on its y axis
        subplot_titles=[f"vary {p} ({fixed[p]})" for p in params]
        + [""] * (len(params) * (len(metrics) - 1)),
    )
    for row, metric in enumerate(metrics, start=1):
        for col, param in enumerate(params, start=1):
            summary = tables[metric].get(param)
            if summary is None:
                continue
            _check_columns(summary, ("value", "gap_mean", "gap_std"), f"{metric}/{param}")
            summary = with_standard_error(summary)
            legend = row == 1 and col == 1
            drawn: set[str] = set()
            for b in chosen:
                centre = "median" if b == "quantile" else "mean"
                traces = _band_traces(
                    summary.sort_values("value"),
                    b,
                    metric,
                    legend=legend,
                    centre_line=centre not in drawn,
                )
                drawn.add(centre)
                for trace in traces:
                    fig.add_trace(trace, row=row, col=col)
            fig.add_hline(
                y=0.0, line={"color": _ZERO_COLOR, "width": 1, "dash": "dot"}, row=row, col=col
            )
            fig.update_xaxes(title_text=param, row=row, col=col)
        default_title = (
            f"{FIGURE4_ROW_TITLES.get(metric, metric)}<br>({METRIC_UNITS.get(metric, 'nats')})"
        )
        fig.update_yaxes(
            title_text=(row_titles or {}).get(metric, default_title), row=row, col=1
        )
    what = "; ".join(_BAND_WORDS[b] for b in chosen)
    fig.update_layout(
        # The title names line and band, so no legend competes with it for space.
        title=title or f"Figure 4: the gap as K, J or L grows ({what})",
        showlegend=False,
        height=(420 if lecture else 330) * len(metrics) + 120,
    )
    apply_theme(fig, lecture=lecture)
    if not lecture:
        # subplot titles are annotations: size them with the theme's type (the lecture
        # theme sizes and wraps them itself, so the column headings never run together)
        for ann in fig.layout.annotations:
            if ann.text and ann.text.startswith("vary"):
                ann.font = {"size": 14}
    return fig


_BAND_WORDS: Final[dict[str, str]] = {
    # Short enough to stay on one lecture line with the sidebar open at 1280 px.
    "std": "line: mean, light: +- 1 std",
    "sem": "dark: +- 1 standard error",
    "quantile": "median, 10-90% band",
}


def figure4_data(tables: Mapping[str, Mapping[str, pd.DataFrame]]) -> pd.DataFrame:
    """The numbers behind ``figure4_figure`` as one long table (for CSV export).

    Columns: ``metric``, ``param`` and the summary columns of each table.
    """
    frames = [
        summary.drop(columns=["param", "metric"], errors="ignore").assign(metric=metric, param=p)
        for metric, by_param in tables.items()
        for p, summary in by_param.items()
    ]
    if not frames:
        return pd.DataFrame(columns=["metric", "param", "value", "gap_mean", "gap_std"])
    data = pd.concat(frames, ignore_index=True)
    return data[["metric", "param", *[c for c in data.columns if c not in ("metric", "param")]]]


def tables_by_letter(long: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Split a stored Figure-4 table (column ``param`` plus summary columns) by letter.

    Raises:
        ValueError: when the table lacks ``param``/``value``/``gap_mean``/``gap_std``.
    """
    _check_columns(long, ("param", "value", "gap_mean", "gap_std"), "Figure 4 table")
    return {
        str(param): group.drop(columns="param").sort_values("value").reset_index(drop=True)
        for param, group in long.groupby("param", sort=False)
    }


def per_scenario_table(values: Sequence[float], gaps: Sequence[np.ndarray]) -> pd.DataFrame:
    """Long table ``value, scenario, gap`` from one gap array (R,) per swept value."""
    frames = [
        pd.DataFrame({"value": value, "scenario": np.arange(len(g)), "gap": np.asarray(g)})
        for value, g in zip(values, gaps, strict=True)
    ]
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["value", "scenario", "gap"])
    )
