"""The map of the gap over two letters, with the line where synthetic data stop helping.

Two panels side by side: the J x L plane (K held) and the K x J plane (L held) of a map
table (``ggmi_core.gap_map``). Colour is the mean gap per cell on a diverging scale
centred at 0 (blue: synthetic data help; vermillion: they hurt; the Okabe-Ito pair reads
in colour-blind vision and in grey); the zero contour is drawn in black and labelled;
the paper's Figure 4 slices (one letter varied, the others at 2) are drawn as dashed
lines on the cells they pass through. No Streamlit here.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ggmi_core import gap_map as gm
from ggmi_core.metrics import METRICS
from ggmi_viz.gap_curves import metric_axis_title
from ggmi_viz.theme import OKABE_ITO, apply_theme

HELPS_COLOR: Final[str] = OKABE_ITO["blue"]
HURTS_COLOR: Final[str] = OKABE_ITO["vermillion"]
CONTOUR_COLOR: Final[str] = OKABE_ITO["black"]
SLICE_COLOR: Final[str] = "#555555"
#: Diverging scale: vermillion (hurts) through white (0) to blue (helps).
COLORSCALE: Final[list[list[float | str]]] = [
    [0.0, HURTS_COLOR], [0.5, "#FFFFFF"], [1.0, HELPS_COLOR],
]  # fmt: skip

#: Legend names (also how tests find the traces).
CONTOUR_NAME: Final[str] = "gap = 0: where synthetic data stop helping"
SLICE_NAME: Final[str] = "Figure 4 slices (other letters at 2)"
HELPS_LABEL: Final[str] = "helps"
HURTS_LABEL: Final[str] = "hurts"


#: Axis titles short enough for two panels side by side on a projector.
AXIS_TITLES: Final[dict[str, str]] = {
    "K": "K: anchor-sampled", "J": "J: unsampled", "L": "L: task-irrelevant",
}  # fmt: skip


def _letter(letter: str) -> str:
    return AXIS_TITLES.get(letter, letter)


def _ticks(values: np.ndarray, lecture: bool) -> list[int]:
    """Tick values: every grid value on a coarse grid, else every 2nd (3rd in lecture)."""
    step = 1 if len(values) <= 6 else (3 if lecture else 2)
    return [int(v) for v in values[::step]]


def _short(metric: str) -> str:
    return METRICS[metric].short if metric in METRICS else metric


def plane_title(table: pd.DataFrame, plane: str) -> str:
    """Panel heading, e.g. ``"J × L at K = 2"`` (the held letter's value from the table)."""
    rows = gm.plane_table(table, plane)
    held = gm.HELD[plane]
    x, y = gm.PLANES[plane]
    return f"{x} × {y} at {held} = {int(rows[held].iloc[0])}"


def gap_map_figure(
    table: pd.DataFrame,
    metric: str,
    lecture: bool = False,
    planes: tuple[str, ...] = tuple(gm.PLANES),
) -> go.Figure:
    """The mean gap over each plane of ``table`` (``ggmi_core.gap_map.MAP_COLUMNS``).

    Args:
        table: map rows (gaps in nats; ``tv``: a probability).
        metric: the divergence, for labels.
        lecture: lecture-mode theme.
        planes: which planes to draw, side by side.
    """
    if not planes:
        raise ValueError("gap_map_figure needs at least one plane")
    means = np.concatenate([gm.grid(table, p)[2].ravel() for p in planes])
    if not np.isfinite(means).any():
        raise ValueError("the map holds no finite gap")
    span = float(np.nanmax(np.abs(means))) or 1.0
    fig = make_subplots(
        rows=1, cols=len(planes), horizontal_spacing=0.14,
        subplot_titles=[plane_title(table, p) for p in planes],
    )  # fmt: skip
    for col, plane in enumerate(planes, start=1):
        _add_plane(fig, table, plane, metric, col, show_legend=col == 1, lecture=lecture)
    fig.update_layout(
        title={
            "text": f"The {_short(metric)} gap over two letters "
            f"({int(table['rounds'].min()):,} scenarios a cell)"
        },
        coloraxis={
            "colorscale": COLORSCALE, "cmin": -span, "cmax": span, "cmid": 0.0,
            "colorbar": {"title": {"text": metric_axis_title(metric), "side": "right"},
                         "thickness": 16, "len": 0.9},
        },
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0.0},
        height=620 if lecture else 520,
    )  # fmt: skip
    return apply_theme(fig, lecture)


def _add_plane(
    fig: go.Figure,
    table: pd.DataFrame,
    plane: str,
    metric: str,
    col: int,
    show_legend: bool,
    lecture: bool,
) -> None:
    x, y = gm.PLANES[plane]
    xs, ys, z = gm.grid(table, plane)
    _, _, sem = gm.grid(table, plane, "gap_sem")
    _, _, share = gm.grid(table, plane, "gap_positive_share")
    unit = "" if metric == "tv" else " nats"
    fig.add_trace(
        go.Heatmap(
            x=xs, y=ys, z=z, coloraxis="coloraxis", name=f"{x} × {y}",
            customdata=np.dstack([sem, share]),
            hovertemplate=(
                f"{x} = %{{x}}, {y} = %{{y}}<br>mean gap %{{z:.3f}}{unit} "
                "± %{customdata[0]:.3f} (standard error)<br>"
                "gap > 0 in %{customdata[1]:.0%} of scenarios<extra></extra>"
            ),
        ),
        row=1, col=col,
    )  # fmt: skip
    for i, line in enumerate(gm.zero_contour(xs, ys, z)):
        fig.add_trace(
            go.Scatter(
                x=line[:, 0], y=line[:, 1], mode="lines", name=CONTOUR_NAME,
                legendgroup="contour", showlegend=show_legend and i == 0,
                line={"color": CONTOUR_COLOR, "width": 3}, hoverinfo="skip",
            ),
            row=1, col=col,
        )  # fmt: skip
    for j, (swept, held, value) in enumerate(gm.figure4_slices(plane)):
        if value not in (xs if held == x else ys):
            continue
        along = xs if swept == x else ys
        line_x = along if swept == x else np.full(len(along), value)
        line_y = along if swept == y else np.full(len(along), value)
        fig.add_trace(
            go.Scatter(
                # markers only on a coarse grid: on 14 values they would crowd the cells
                x=line_x, y=line_y, mode="lines+markers" if len(along) <= 6 else "lines",
                name=SLICE_NAME,
                legendgroup="slices", showlegend=show_legend and j == 0,
                line={"color": SLICE_COLOR, "width": 2, "dash": "dash"},
                marker={"color": SLICE_COLOR, "size": 5, "symbol": "square-open"},
                hovertemplate=f"Figure 4 sweep of {swept} ({held} = {value})<extra></extra>",
            ),
            row=1, col=col,
        )  # fmt: skip
    _label_sides(fig, xs, ys, z, col)
    fig.update_xaxes(title_text=_letter(x), row=1, col=col, tickvals=_ticks(xs, lecture),
                     showgrid=False, range=[xs.min() - 0.5, xs.max() + 0.5])  # fmt: skip
    fig.update_yaxes(title_text=_letter(y), row=1, col=col, tickvals=_ticks(ys, lecture),
                     showgrid=False, range=[ys.min() - 0.5, ys.max() + 0.5])  # fmt: skip


def _label_sides(fig: go.Figure, xs: np.ndarray, ys: np.ndarray, z: np.ndarray, col: int) -> None:
    """'helps' on the cell with the largest gap, 'hurts' on the smallest, when each side
    exists (so a map entirely on one side names only that side)."""
    ref = "" if col == 1 else str(col)
    for label, pick, sign, color in (
        (HELPS_LABEL, np.nanargmax, 1, HELPS_COLOR),
        (HURTS_LABEL, np.nanargmin, -1, HURTS_COLOR),
    ):
        i, j = np.unravel_index(pick(z), z.shape)
        if not sign * z[i, j] > 0:
            continue
        # Anchored inwards at the grid's edges, so the label never covers tick labels.
        xanchor = "left" if j == 0 else "right" if j == len(xs) - 1 else "center"
        yanchor = "bottom" if i == 0 else "top" if i == len(ys) - 1 else "middle"
        fig.add_annotation(
            x=xs[j], y=ys[i], xref=f"x{ref}", yref=f"y{ref}", text=f"<b>{label}</b>",
            xanchor=xanchor, yanchor=yanchor, showarrow=False, font={"color": "#FFFFFF"},
            bgcolor=color, borderpad=3,
        )  # fmt: skip


def gap_map_data(table: pd.DataFrame) -> pd.DataFrame:
    """The rows behind ``gap_map_figure`` (its CSV): one per cell, ``MAP_COLUMNS``."""
    return table.loc[:, [c for c in gm.MAP_COLUMNS if c in table.columns]].reset_index(drop=True)
