"""Figure builders for the Distributions page: the paper's Figure 2, live.

What is drawn for one scenario (the recipe of Appendix B and the published code):

* density contours of the target G, the model M, the mixture fitted on the anchor data
  (K components) and the one fitted on the synthetic data (K+J+L components);
* the anchor and synthetic samples, coloured by the part of the mixture they came from
  (anchor-sampled / unsampled / task-irrelevant, ``ggmi_viz.theme.PART_COLORS``);
* optionally M's components as ellipses coloured by part.

Contours are drawn at *probability-mass* levels: the 50% line encloses the densest region
holding half of that mixture's probability, the 90% line nine tenths. Mass levels are
comparable between mixtures with very different peak heights, unlike raw density levels.

For d > 2 everything is shown on a 2-D linear projection (the first two coordinates, or
the two leading principal axes of the pooled samples). The contours are then exact
densities of the *projected* mixture: a linear map of a Gaussian mixture is again a
Gaussian mixture with means ``B^T (mu - c)`` and covariances ``B^T Sigma B``. For d = 1 the
figure is a density plot with the samples as rugs below the axis.

No Streamlit here; no LaTeX in any text (PNG export must not fetch MathJax).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from numpy.typing import NDArray

from ggmi_core.gmm import GMM
from ggmi_core.scenario_report import (
    ProjectionMethod,
    ScenarioContours,
    ScenarioView,
    grid_axes,
    level_lines,
    scenario_contours,
    view_projection,
)
from ggmi_viz.theme import (
    GREY,
    INTERACTIVE_HINT,
    PART_COLORS,
    PART_LEGEND_LABELS,
    ROLE_COLORS,
    ROLE_DASH,
    apply_theme,
    with_alpha,
)

Array = NDArray[np.float64]

#: Drawable layers with their toggle labels (in the order the toggles are listed).
LAYERS: Final[dict[str, str]] = {
    "target": "target G (contours)",
    "model": "model M (contours)",
    "gen": "law of a synthetic sample, D_gen (contours)",
    "fit_anchor": "fit on anchor data (contours)",
    "fit_synthetic": "fit on synthetic data (contours)",
    "components": "M's components by part (ellipses)",
    "anchor_samples": "anchor samples",
    "synthetic_samples": "synthetic samples",
}
DEFAULT_LAYERS: Final[frozenset[str]] = frozenset(
    {"target", "fit_anchor", "fit_synthetic", "anchor_samples", "synthetic_samples"}
)

#: Role key of each mixture layer in ``ggmi_viz.theme.ROLE_COLORS``.
_ROLE_OF_LAYER: Final[dict[str, str]] = {
    "target": "target G",
    "model": "model M",
    "gen": "D_gen",
    "fit_anchor": "fit on anchor",
    "fit_synthetic": "fit on synthetic",
}
_ROLE_HOVER: Final[dict[str, str]] = {
    "target": "the task distribution the post-trained model should learn",
    "model": "what the generator M can produce (G's parts plus extra, task-irrelevant ones)",
    "gen": "where synthetic points really come from: M reweighted by prompt adherence, "
    "widened by curation noise",
    "fit_anchor": "a K-component mixture fitted to the anchor data only",
    "fit_synthetic": "a (K+J+L)-component mixture fitted to the synthetic data",
}
_PART_HOVER: Final[dict[int, str]] = {
    0: "anchor-sampled part: G components the anchor data was drawn from",
    1: "unsampled part: G components the anchor data never showed",
    2: "task-irrelevant part: model components G does not have",
}

#: Role colours and dashes: the theme's, plus one for D_gen (equal to M unless curation
#: noise or prompt adherence is switched on).
_COLORS: Final[dict[str, str]] = {**ROLE_COLORS, "D_gen": GREY}
_DASHES: Final[dict[str, str]] = {**ROLE_DASH, "D_gen": "longdash"}

#: Probability-mass levels of the contour lines (fractions of each mixture's mass).
MASS_LEVELS: Final[tuple[float, float]] = (0.5, 0.9)
#: At most this many points per sample group are drawn (the rest are thinned evenly).
MAX_POINTS_PER_GROUP: Final[int] = 3000
_JITTER_SEED: Final[int] = 20_250_124  # fixed: the 1-D rugs must not jump between redraws
_ELLIPSE_SIGMAS: Final[float] = 2.0


def _synthetic_marker(part: int, size: int) -> dict[str, object]:
    """Thin crosses in the part's colour: synthetic samples in the 2-D and 1-D views.

    An ``x-thin`` symbol draws only its outline, so the line carries the colour.
    """
    color = PART_COLORS[part]
    line = {"color": color, "width": 1.5}
    return {"color": color, "symbol": "x-thin", "size": size, "line": line}


def _thin(idx: NDArray[np.int64], limit: int = MAX_POINTS_PER_GROUP) -> NDArray[np.int64]:
    if len(idx) <= limit:
        return idx
    return idx[np.linspace(0, len(idx) - 1, limit).round().astype(int)]


# ----------------------------------------------------------------------------- figures


def scenario_figure(
    view: ScenarioView,
    layers: Iterable[str] = DEFAULT_LAYERS,
    projection: ProjectionMethod = "coordinates",
    lecture: bool = False,
    title: str | None = None,
    contours: ScenarioContours | None = None,
) -> go.Figure:
    """The paper's Figure 2 for one scenario.

    Args:
        view: the scenario's mixtures and samples.
        layers: keys of ``LAYERS`` to draw.
        projection: for d > 2, ``"coordinates"`` or ``"pca"`` (see ``make_projection``).
        lecture: large type and thick lines.
        title: figure title; a default names K, J, L.
        contours: for d >= 2, ``ggmi_core.scenario_report.scenario_contours(view, layers,
            projection)`` computed by the caller; computed here when omitted.

    Returns:
        A themed figure. d >= 2: axes are the projection's axes, contours are
        probability-mass levels (MASS_LEVELS). d = 1: x is the data axis, y the density.
    """
    layers = set(layers)
    unknown = layers - set(LAYERS)
    if unknown:
        raise ValueError(f"unknown layer(s) {sorted(unknown)}; choose from {list(LAYERS)}")
    if view.dim == 1:
        fig = _figure_1d(view, layers)
    else:
        if contours is None:
            contours = scenario_contours(view, layers, projection)
        fig = _figure_2d(view, layers, contours)
    K = int(np.sum(view.model_part == 0))
    J = int(np.sum(view.model_part == 1))
    L = int(np.sum(view.model_part == 2))
    if lecture:
        # Large type: a legend beside the plot would squeeze it; put it underneath.
        default_title = f"One scenario: K = {K}, J = {J}, L = {L}"
        legend = {"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0.0}
    else:
        default_title = (
            f"One scenario: K = {K} anchor-sampled, J = {J} unsampled, "
            f"L = {L} task-irrelevant components"
        )
        legend = {"title": {"text": f"lines: densest 50% and 90%<br>{INTERACTIVE_HINT}"}}
    fig.update_layout(title=title or default_title, legend=legend, height=980 if lecture else 620)
    apply_theme(fig, lecture=lecture)
    return fig


def _figure_2d(view: ScenarioView, layers: set[str], contours: ScenarioContours) -> go.Figure:
    proj, xs, ys = contours.projection, contours.xs, contours.ys
    anchor_2d, synth_2d, model_2d = contours.anchor_2d, contours.synth_2d, contours.model_2d
    fig = go.Figure()
    # Drawing order: filled ellipses at the back, then the points, then the contour
    # lines on top, so dense point clouds cannot hide a fitted mixture's outline.
    if "components" in layers:
        for trace in _component_ellipses(model_2d, view.model_part):
            fig.add_trace(trace)
    if "anchor_samples" in layers:
        fig.add_trace(_anchor_scatter(anchor_2d, view.anchor_labels))
    if "synthetic_samples" in layers:
        for trace in _synthetic_scatters(synth_2d, view.synth_labels, view.model_part):
            fig.add_trace(trace)
    for key, mass in contours.mass.items():
        fig.add_trace(_mass_lines(key, xs, ys, mass))
        fig.add_trace(_contour_hover(key, xs, ys, mass))
    fig.update_xaxes(title=proj.axis_titles[0], range=[xs[0], xs[-1]])
    fig.update_yaxes(title=proj.axis_titles[1], range=[ys[0], ys[-1]])
    fig.update_layout(meta={"projection": proj.description})
    return fig


def _mass_lines(key: str, xs: Array, ys: Array, mass: Array) -> go.Scatter:
    """One mixture's contour lines at the MASS_LEVELS as a line trace (no hover: see
    _contour_hover).

    The lines are traced here (``level_lines``), so the browser draws finished paths
    instead of running marching squares on a grid it would first have to be sent. All
    pieces of both levels go in one trace, separated by NaN (a gap in the line), so the
    mixture keeps one legend entry; float32 coordinates keep the packed arrays small and
    are far finer than a pixel.
    """
    role = _ROLE_OF_LAYER[key]
    pieces = [line for lines in level_lines(xs, ys, mass, MASS_LEVELS) for line in lines]
    gap = np.full((1, 2), np.nan)
    xy = np.concatenate([part for line in pieces for part in (line, gap)] or [gap])
    xy = xy[:-1].astype(np.float32)  # no gap after the last piece
    return go.Scatter(
        x=xy[:, 0],
        y=xy[:, 1],
        mode="lines",
        name=role,
        legendgroup=key,
        showlegend=True,
        connectgaps=False,
        # A spline through the crossing points, as the grid contour was smoothed before.
        line={
            "color": _COLORS[role],
            "dash": _DASHES[role],
            "width": 2.5,
            "shape": "spline",
            "smoothing": 1.3,
        },
        hoverinfo="skip",
    )


def level_crossings(xs: Array, ys: Array, mass: Array, level: float) -> Array:
    """Points (m, 2) where ``mass`` (ny, nx) crosses ``level`` between grid neighbours.

    Linear interpolation along rows and columns: the points lie on the contour line.
    """
    points = []
    d = mass - level
    rows, cols = np.nonzero(d[:, :-1] * d[:, 1:] < 0)  # crossings between x neighbours
    t = d[rows, cols] / (d[rows, cols] - d[rows, cols + 1])
    points.append(np.stack([xs[cols] + t * (xs[cols + 1] - xs[cols]), ys[rows]], axis=1))
    rows, cols = np.nonzero(d[:-1, :] * d[1:, :] < 0)  # crossings between y neighbours
    t = d[rows, cols] / (d[rows, cols] - d[rows + 1, cols])
    points.append(np.stack([xs[cols], ys[rows] + t * (ys[rows + 1] - ys[rows])], axis=1))
    return np.concatenate(points)


def _contour_hover(key: str, xs: Array, ys: Array, mass: Array, max_points: int = 80) -> go.Scatter:
    """Invisible points along a mixture's contour lines that carry its hover text.

    Nothing is drawn for them (``mode="none"``) but they answer hovers
    (``hoveron="points"``): invisible markers (opacity 0) answered the same hovers, yet
    plotly.js built and styled an SVG element for each of their ~480 points, about 40% of
    Figure 2's drawing time in the browser on every slider move. The label keeps the
    mixture's colour, which plotly took from the marker before.
    """
    role = _ROLE_OF_LAYER[key]
    pts, texts = [], []
    for level in MASS_LEVELS:
        found = level_crossings(xs, ys, mass, level)
        found = found[_thin(np.arange(len(found)), max_points)]
        pts.append(found)
        texts += [f"{level:.0%}"] * len(found)
    xy = np.concatenate(pts) if pts else np.empty((0, 2))
    return go.Scatter(
        x=xy[:, 0],
        y=xy[:, 1],
        mode="none",
        hoveron="points",
        hoverlabel={"bgcolor": _COLORS[role]},
        name=f"{role} (hover)",
        legendgroup=key,
        showlegend=False,
        customdata=texts,
        hovertemplate=(
            f"<b>{role}</b>: {_ROLE_HOVER[key]}<br>"
            "this line encloses the densest %{customdata} of its probability<extra></extra>"
        ),
    )


def _ellipse(mean: Array, cov: Array, sigmas: float = _ELLIPSE_SIGMAS, n: int = 60) -> Array:
    """Points (n+1, 2) of the ellipse {x : (x-mu)^T cov^-1 (x-mu) = sigmas^2}."""
    eigval, eigvec = np.linalg.eigh(0.5 * (cov + cov.T))
    t = np.linspace(0.0, 2 * np.pi, n + 1)
    circle = np.stack([np.cos(t), np.sin(t)], axis=1)
    return mean + sigmas * (circle * np.sqrt(np.maximum(eigval, 0.0))) @ eigvec.T


def _component_ellipses(model_2d: GMM, model_part: NDArray[np.int64]) -> list[go.Scatter]:
    """One trace per part: M's components as 2-sigma ellipses, gaps (None) between them."""
    traces = []
    for part in (0, 1, 2):
        comps = np.flatnonzero(np.asarray(model_part) == part)
        if len(comps) == 0:
            continue
        xs: list[float | None] = []
        ys: list[float | None] = []
        texts: list[str | None] = []
        for j in comps:
            pts = _ellipse(model_2d.means[j], model_2d.covariances[j])
            text = (
                f"<b>M's component {j + 1}</b> ({PART_LEGEND_LABELS[part]})<br>"
                f"{_PART_HOVER[part]}<br>weight {model_2d.weights[j]:.3f}; "
                "the ellipse holds about 86% of this component (2 sd)"
            )
            xs += [*pts[:, 0], None]
            ys += [*pts[:, 1], None]
            texts += [text] * len(pts) + [None]
        traces.append(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": PART_COLORS[part], "width": 2},
                fill="toself",
                fillcolor=with_alpha(PART_COLORS[part], 0.08),
                name=f"M components: {PART_LEGEND_LABELS[part]}",
                legendgroup="components",
                hoveron="points",  # a hovered fill would hide the samples inside it
                hovertext=texts,
                hoverinfo="text",
            )
        )
    return traces


def _anchor_scatter(points_2d: Array, labels: NDArray[np.int64]) -> go.Scatter:
    idx = _thin(np.arange(len(points_2d)))
    return go.Scatter(
        x=points_2d[idx, 0],
        y=points_2d[idx, 1],
        mode="markers",
        name="anchor samples",
        legendgroup="anchor_samples",
        # Half-transparent: dense anchor clouds must not bury the fit-on-anchor lines
        # drawn over them (that fit sits right on its data).
        marker={
            "color": PART_COLORS[0],
            "symbol": "circle",
            "size": 6,
            "opacity": 0.45,
        },
        customdata=np.asarray(labels)[idx] + 1,
        hovertemplate=(
            "<b>anchor sample</b> (real data)<br>drawn from G's component %{customdata}, "
            "an anchor-sampled component<br>(%{x:.2f}, %{y:.2f})<extra></extra>"
        ),
    )


def _synthetic_scatters(
    points_2d: Array, labels: NDArray[np.int64], model_part: NDArray[np.int64]
) -> list[go.Scatter]:
    part = np.asarray(model_part)[np.asarray(labels)]
    traces = []
    for p in (0, 1, 2):
        idx = _thin(np.flatnonzero(part == p))
        if len(idx) == 0:
            continue
        traces.append(
            go.Scatter(
                x=points_2d[idx, 0],
                y=points_2d[idx, 1],
                mode="markers",
                name=f"synthetic: {PART_LEGEND_LABELS[p]}",
                legendgroup="synthetic_samples",
                marker=_synthetic_marker(p, size=8),
                customdata=np.asarray(labels)[idx] + 1,
                hovertemplate=(
                    "<b>synthetic sample</b> (made by M)<br>from M's component %{customdata}: "
                    f"{_PART_HOVER[p]}<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>"
                ),
            )
        )
    return traces


def _figure_1d(view: ScenarioView, layers: set[str]) -> go.Figure:
    mixtures = {
        key: g for key in _ROLE_OF_LAYER if key in layers and (g := view.mixture(key)) is not None
    }
    pooled = np.concatenate([view.anchor_X[:, 0], view.synth_X[:, 0]])
    (xs,) = grid_axes(pooled[:, None], [view.target, view.model], n=600)
    fig = go.Figure()
    peak = 0.0
    for key, g in mixtures.items():
        density = np.exp(g.logpdf(xs[:, None]))
        peak = max(peak, float(density.max()))
        role = _ROLE_OF_LAYER[key]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=density,
                mode="lines",
                name=role,
                legendgroup=key,
                line={"color": _COLORS[role], "dash": _DASHES[role], "width": 2.5},
                hovertemplate=(
                    f"<b>{role}</b>: {_ROLE_HOVER[key]}<br>x = %{{x:.2f}}, "
                    "density %{y:.3f} per data unit<extra></extra>"
                ),
            )
        )
    if "components" in layers:
        for part in (0, 1, 2):
            comps = np.flatnonzero(view.model_part == part)
            if len(comps) == 0:
                continue
            xs_c: list[float | None] = []
            ys_c: list[float | None] = []
            for j in comps:
                sub = GMM([1.0], view.model.means[j : j + 1], view.model.covariances[j : j + 1])
                dens = view.model.weights[j] * np.exp(sub.logpdf(xs[:, None]))
                xs_c += [*xs, None]
                ys_c += [*dens, None]
            fig.add_trace(
                go.Scatter(
                    x=xs_c,
                    y=ys_c,
                    mode="lines",
                    name=f"M components: {PART_LEGEND_LABELS[part]}",
                    legendgroup="components",
                    line={"color": PART_COLORS[part], "width": 1.5},
                    hovertemplate=f"{_PART_HOVER[part]}<extra>M component</extra>",
                )
            )
    peak = peak or 1.0
    rng = np.random.default_rng(_JITTER_SEED)  # jitter only spreads the rug vertically
    if "anchor_samples" in layers:
        idx = _thin(np.arange(len(view.anchor_X)))
        fig.add_trace(
            go.Scatter(
                x=view.anchor_X[idx, 0],
                y=-0.06 * peak + 0.015 * peak * rng.standard_normal(len(idx)),
                mode="markers",
                name="anchor samples",
                legendgroup="anchor_samples",
                marker={"color": PART_COLORS[0], "symbol": "circle", "size": 6},
                customdata=view.anchor_labels[idx] + 1,
                hovertemplate=(
                    "<b>anchor sample</b> (real data) from G's component %{customdata}<br>"
                    "x = %{x:.2f}; height below 0 is only jitter<extra></extra>"
                ),
            )
        )
    if "synthetic_samples" in layers:
        part = view.synth_part
        for p in (0, 1, 2):
            idx = _thin(np.flatnonzero(part == p))
            if len(idx) == 0:
                continue
            fig.add_trace(
                go.Scatter(
                    x=view.synth_X[idx, 0],
                    y=-0.16 * peak + 0.015 * peak * rng.standard_normal(len(idx)),
                    mode="markers",
                    name=f"synthetic: {PART_LEGEND_LABELS[p]}",
                    legendgroup="synthetic_samples",
                    marker=_synthetic_marker(p, size=7),
                    customdata=view.synth_labels[idx] + 1,
                    hovertemplate=(
                        "<b>synthetic sample</b> from M's component %{customdata}: "
                        f"{_PART_HOVER[p]}<br>x = %{{x:.2f}}; height below 0 is only jitter"
                        "<extra></extra>"
                    ),
                )
            )
    fig.update_xaxes(title="x (data units)", range=[xs[0], xs[-1]])
    fig.update_yaxes(title="density (per data unit)")
    fig.update_layout(meta={"projection": "Shown: the one data axis (d = 1)."})
    return fig


# ---------------------------------------------------------------------- figure data


def figure_data(view: ScenarioView, projection: ProjectionMethod = "coordinates") -> pd.DataFrame:
    """The samples behind the figure as a table (for CSV export).

    Columns: ``kind`` (anchor / synthetic), ``part`` (name), ``component`` (1-based index
    in G for anchor samples, in M for synthetic ones), ``x1..xd`` (data coordinates) and,
    for d >= 2, ``axis1, axis2`` (the displayed projection).
    """
    frames = []
    for kind, X, labels, parts in (
        ("anchor", view.anchor_X, view.anchor_labels, np.zeros(len(view.anchor_X), int)),
        ("synthetic", view.synth_X, view.synth_labels, view.synth_part),
    ):
        df = pd.DataFrame(X, columns=[f"x{i + 1}" for i in range(view.dim)])
        df.insert(0, "component", np.asarray(labels) + 1)
        df.insert(0, "part", [PART_LEGEND_LABELS[int(p)] for p in parts])
        df.insert(0, "kind", kind)
        frames.append(df)
    data = pd.concat(frames, ignore_index=True)
    if view.dim >= 2:
        shown = view_projection(view, projection).points(view.pooled)
        data["axis1"], data["axis2"] = shown[:, 0], shown[:, 1]
    return data


def projection_caption(view: ScenarioView, projection: ProjectionMethod = "coordinates") -> str:
    """A sentence saying which plane the figure shows (for the page caption)."""
    if view.dim == 1:
        return "Shown: the one data axis (d = 1); samples are rugs below zero."
    return view_projection(view, projection).description


#: Value and error column pairs of ``divergence_table`` with their slide headings.
_SLIDE_TABLE_PAIRS: Final[tuple[tuple[str, str, str], ...]] = (
    ("anchor_fit", "anchor_fit_se", "fit on anchor vs G"),
    ("synthetic_fit", "synthetic_fit_se", "fit on synthetic vs G"),
    ("gap", "gap_se", "gap (anchor − synthetic)"),
)


def slide_divergence_table(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """The divergence table with each value and its Monte Carlo error in one cell.

    ``table`` has the columns of ``ggmi_core.scenario_report.divergence_table``
    (divergence, unit, and value/error pairs). The result has five columns of text,
    e.g. ``"0.640 ± 0.005"`` (non-breaking spaces): narrow enough for a projector-sized
    table that wraps instead of scrolling sideways. Units stay (nats; TV a probability).
    """
    out = table[["divergence", "unit"]].copy()
    for value, error, heading in _SLIDE_TABLE_PAIRS:
        out[heading] = [
            f"{v:.{digits}f}\u00a0±\u00a0{e:.{digits}f}"  # no break inside a cell's number
            for v, e in zip(table[value], table[error], strict=True)
        ]
    return out.reset_index(drop=True)
