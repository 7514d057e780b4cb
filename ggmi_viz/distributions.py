"""Figure builders for the Distributions page: the paper's Figure 2, live.

What is drawn for one scenario (see theory.md §3 for the recipe):

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
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from numpy.typing import NDArray

from ggmi_core.gmm import GMM
from ggmi_viz.theme import (
    GREY,
    INTERACTIVE_HINT,
    PART_COLORS,
    PART_LABELS,
    ROLE_COLORS,
    ROLE_DASH,
    apply_theme,
    with_alpha,
)

Array = NDArray[np.float64]
ProjectionMethod = Literal["coordinates", "pca"]

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
GRID_SIZE: Final[int] = 120
#: Most grid lines per axis after refining around thin components (bounds the payload).
MAX_GRID_SIZE: Final[int] = 240
#: Grid lines per standard deviation across a component (its thinnest direction along
#: the axis). Fewer and a thin component's 50% line breaks into beads.
_LINES_PER_SD: Final[float] = 2.5
_MASS_MC_SAMPLES: Final[int] = 20_000
_MASS_SEED: Final[int] = 20_250_124  # fixed: contour levels must not flicker between redraws
_ELLIPSE_SIGMAS: Final[float] = 2.0


@dataclass(frozen=True)
class ScenarioView:
    """One scenario's mixtures and samples, ready to draw (no batching).

    Attributes:
        target: G, K+J components.
        model: M, K+J+L components.
        fit_anchor: mixture fitted on the anchor samples (K components), or None.
        fit_synthetic: mixture fitted on the synthetic samples (K+J+L components), or None.
        anchor_X: anchor samples, (m, d).
        anchor_labels: G's component of each anchor sample, (m,).
        synth_X: synthetic samples, (n, d).
        synth_labels: M's component of each synthetic sample, (n,).
        model_part: part of each of M's components, (K+J+L,), 0/1/2 as in PART_COLORS.
        gen: D_gen, the law of a synthetic sample (M with noise and adherence), or None.
    """

    target: GMM
    model: GMM
    fit_anchor: GMM | None
    fit_synthetic: GMM | None
    anchor_X: Array
    anchor_labels: NDArray[np.int64]
    synth_X: Array
    synth_labels: NDArray[np.int64]
    model_part: NDArray[np.int64]
    gen: GMM | None = None

    @property
    def dim(self) -> int:
        return self.target.dim

    @property
    def synth_part(self) -> NDArray[np.int64]:
        """Part of the model component each synthetic sample came from, (n,)."""
        return np.asarray(self.model_part)[np.asarray(self.synth_labels)]

    def mixture(self, layer: str) -> GMM | None:
        """The mixture drawn by a contour layer (``"target"``, ``"model"``, ...)."""
        return {
            "target": self.target,
            "model": self.model,
            "gen": self.gen,
            "fit_anchor": self.fit_anchor,
            "fit_synthetic": self.fit_synthetic,
        }[layer]


def view_from_result(result: Any, r: int = 0) -> ScenarioView:
    """Scenario ``r`` of a ``ggmi_core.simulate.SimulationResult`` as a ``ScenarioView``."""
    sc = result.scenarios
    return ScenarioView(
        target=sc.target[r],
        model=sc.model[r],
        fit_anchor=result.fit_anchor[r],
        fit_synthetic=result.fit_synthetic[r],
        anchor_X=np.asarray(sc.anchor_X[r]),
        anchor_labels=np.asarray(sc.anchor_labels[r]),
        synth_X=np.asarray(sc.synth_X[r]),
        synth_labels=np.asarray(sc.synth_labels[r]),
        model_part=np.asarray(sc.model_part),
        gen=sc.gen[r],
    )


# --------------------------------------------------------------------------- projection


@dataclass(frozen=True)
class Projection:
    """An affine map x -> B^T (x - c) from R^d onto two display axes.

    Attributes:
        center: c, (d,).
        basis: B, (d, 2) with orthonormal columns.
        method: ``"coordinates"`` (first two axes) or ``"pca"``.
        axis_titles: display titles of the two axes.
        description: one sentence for the caption saying what is shown.
    """

    center: Array
    basis: Array
    method: ProjectionMethod
    axis_titles: tuple[str, str]
    description: str
    explained: tuple[float, float] | None = field(default=None)

    def points(self, X: Array) -> Array:
        """Projected points, (n, 2) for X of shape (n, d)."""
        return (np.asarray(X, dtype=float) - self.center) @ self.basis

    def mixture(self, gmm: GMM) -> GMM:
        """The exact law of the projected point when x ~ ``gmm``: a 2-D mixture."""
        means = (gmm.means - self.center) @ self.basis
        covs = np.einsum("da,kde,eb->kab", self.basis, gmm.covariances, self.basis)
        return GMM(gmm.weights, means, covs)


def make_projection(
    dim: int, method: ProjectionMethod = "coordinates", points: Array | None = None
) -> Projection:
    """The projection used for data of dimension ``dim`` >= 2.

    Args:
        dim: data dimension d.
        method: ``"coordinates"`` keeps x1 and x2; ``"pca"`` uses the two leading principal
            axes of ``points`` (needed then), centred on their mean. For d = 2 the data are
            shown as they are whatever the method.
        points: pooled samples (n, d), used by ``"pca"``.
    """
    if dim < 2:
        raise ValueError(f"dim must be at least 2 for a 2-D projection; got {dim}")
    if method not in ("coordinates", "pca"):
        raise ValueError(f"projection method must be 'coordinates' or 'pca'; got {method!r}")
    if dim == 2 or method == "coordinates":
        basis = np.eye(dim)[:, :2]
        what = (
            "the data space itself (d = 2)"
            if dim == 2
            else f"the first two of the {dim} coordinates (x1, x2); every contour is the "
            "exact density of that two-coordinate marginal"
        )
        return Projection(
            center=np.zeros(dim),
            basis=basis,
            method="coordinates",
            axis_titles=("x1 (data units)", "x2 (data units)"),
            description=f"Shown: {what}.",
        )
    if points is None or len(points) < 3:
        raise ValueError("the PCA projection needs at least 3 pooled sample points")
    X = np.asarray(points, dtype=float)
    center = X.mean(axis=0)
    eigval, eigvec = np.linalg.eigh(np.cov(X - center, rowvar=False))
    order = np.argsort(eigval)[::-1][:2]
    basis = eigvec[:, order]
    # eigh's sign is arbitrary: fix it so the same data always give the same picture
    signs = np.sign(basis[np.argmax(np.abs(basis), axis=0), [0, 1]])
    basis = basis * np.where(signs == 0, 1.0, signs)
    share = eigval[order] / max(eigval.sum(), 1e-300)
    return Projection(
        center=center,
        basis=basis,
        method="pca",
        axis_titles=(
            f"principal axis 1 ({share[0]:.0%} of variance)",
            f"principal axis 2 ({share[1]:.0%} of variance)",
        ),
        description=(
            f"Shown: the two leading principal axes of the pooled anchor and synthetic "
            f"samples ({share[0] + share[1]:.0%} of their variance in d = {dim}); every "
            "contour is the exact density of the projected mixture"
        )
        + ".",
        explained=(float(share[0]), float(share[1])),
    )


# ------------------------------------------------------------------------ mass contours


def enclosed_mass(gmm: GMM, X: Array, rng: np.random.Generator, n_mc: int = _MASS_MC_SAMPLES):
    """For each point x, the probability mass of the region where ``gmm`` is denser than at x.

    A contour of this function at level a encloses the densest region holding a fraction
    a of the mass (a highest-density region). Estimated by Monte Carlo from ``n_mc``
    draws of ``gmm``.

    Args:
        gmm: the mixture, dimension d.
        X: query points, (n, d).
        rng: generator for the Monte Carlo draws.

    Returns:
        Fractions in [0, 1], (n,).
    """
    draws = gmm.sample(n_mc, rng)
    sorted_logp = np.sort(gmm.logpdf(draws))
    below = np.searchsorted(sorted_logp, gmm.logpdf(X), side="left")
    return 1.0 - below / n_mc


def _grid_axes(points: Array, mixtures: Iterable[GMM], n: int = GRID_SIZE):
    """Evenly spaced grid axes covering the points and 3 sd around every component."""
    lows, highs = [], []
    if len(points):
        lows.append(points.min(axis=0))
        highs.append(points.max(axis=0))
    for g in mixtures:
        sd = np.sqrt(np.diagonal(g.covariances, axis1=-2, axis2=-1))
        lows.append((g.means - 3 * sd).min(axis=0))
        highs.append((g.means + 3 * sd).max(axis=0))
    low, high = np.min(lows, axis=0), np.max(highs, axis=0)
    pad = 0.05 * (high - low)
    return [np.linspace(lo - p, hi + p, n) for lo, hi, p in zip(low, high, pad, strict=True)]


def refine_grid_axes(xs: Array, ys: Array, mixtures: Iterable[GMM]) -> tuple[Array, Array]:
    """Re-space the grid axes so thin components of 2-D ``mixtures`` get more lines.

    A component only a grid cell or two thick has its contour drawn from too few samples
    and it breaks into beads. Within 3.5 sd of each component's mean, an axis asks for
    ``_LINES_PER_SD`` lines per conditional standard deviation (the component's
    thickness along that axis at a fixed value of the other coordinate); elsewhere the
    base spacing. Lines are placed by that local density, so the spacing changes
    smoothly, and each axis keeps its ends and holds at most ``MAX_GRID_SIZE`` lines.

    Args:
        xs, ys: evenly spaced base axes, (nx,) and (ny,).
        mixtures: 2-D mixtures whose contours are drawn on the grid.

    Returns:
        Sorted axes ``(xs, ys)`` spanning the same ranges, at least as fine everywhere
        as the base axes when the cap allows.
    """
    mixtures = list(mixtures)
    return _refined_axis(np.asarray(xs, float), mixtures, 0), _refined_axis(
        np.asarray(ys, float), mixtures, 1
    )


def _refined_axis(axis: Array, mixtures: list[GMM], a: int) -> Array:
    lo, hi = float(axis[0]), float(axis[-1])
    base_step = (hi - lo) / max(len(axis) - 1, 1)
    t = np.linspace(lo, hi, 4001)
    step = np.full_like(t, base_step)
    b = 1 - a
    for g in mixtures:
        for mean, cov in zip(g.means, g.covariances, strict=True):
            cond_var = cov[a, a] - cov[a, b] ** 2 / cov[b, b]
            wanted = np.sqrt(max(cond_var, 1e-12)) / _LINES_PER_SD
            near = np.abs(t - mean[a]) <= 3.5 * np.sqrt(cov[a, a])
            step[near] = np.minimum(step[near], wanted)
    if np.all(step >= base_step):
        return axis  # every component is wide enough for the base grid
    # Lines per unit length, integrated: equal steps of it place the lines.
    density = 1.0 / step
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(t))])
    count = int(min(max(np.ceil(cumulative[-1]) + 1, len(axis)), MAX_GRID_SIZE))
    return np.interp(np.linspace(0.0, cumulative[-1], count), cumulative, t)


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
) -> go.Figure:
    """The paper's Figure 2 for one scenario.

    Args:
        view: the scenario's mixtures and samples.
        layers: keys of ``LAYERS`` to draw.
        projection: for d > 2, ``"coordinates"`` or ``"pca"`` (see ``make_projection``).
        lecture: large type and thick lines.
        title: figure title; a default names K, J, L.

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
        fig = _figure_2d(view, layers, projection)
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


def _figure_2d(view: ScenarioView, layers: set[str], method: ProjectionMethod) -> go.Figure:
    pooled = np.vstack([view.anchor_X, view.synth_X])
    proj = make_projection(view.dim, method, pooled)
    anchor_2d, synth_2d = proj.points(view.anchor_X), proj.points(view.synth_X)
    mixtures = {
        key: proj.mixture(g)
        for key in _ROLE_OF_LAYER
        if key in layers and (g := view.mixture(key)) is not None
    }
    model_2d = proj.mixture(view.model)
    xs, ys = _grid_axes(np.vstack([anchor_2d, synth_2d]), [proj.mixture(view.target), model_2d])
    xs, ys = refine_grid_axes(xs, ys, mixtures.values())
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
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
    rng = np.random.default_rng(_MASS_SEED)
    for key, g in mixtures.items():
        # float32 halves the figure's size; contour levels need no more precision
        mass = enclosed_mass(g, grid, rng).reshape(len(ys), len(xs)).astype(np.float32)
        fig.add_trace(_mass_contour(key, xs, ys, mass))
        fig.add_trace(_contour_hover(key, xs, ys, mass))
    fig.update_xaxes(title=proj.axis_titles[0], range=[xs[0], xs[-1]])
    fig.update_yaxes(title=proj.axis_titles[1], range=[ys[0], ys[-1]])
    fig.update_layout(meta={"projection": proj.description})
    return fig


def _mass_contour(key: str, xs: Array, ys: Array, mass: Array) -> go.Contour:
    """Contour lines of one mixture at the MASS_LEVELS (no hover: see _contour_hover)."""
    role = _ROLE_OF_LAYER[key]
    color = _COLORS[role]
    lo, hi = MASS_LEVELS
    return go.Contour(
        x=xs,
        y=ys,
        z=mass,
        name=role,
        legendgroup=key,
        showlegend=True,
        showscale=False,
        colorscale=[[0.0, color], [1.0, color]],
        contours={
            "coloring": "lines",
            "start": lo,
            "end": hi,
            "size": hi - lo,
            "showlabels": False,
        },
        line={"dash": _DASHES[role], "width": 2.5, "smoothing": 1.3},
        # A contour trace answers hovers anywhere on its grid, which would hide the
        # samples' hover text; the lines get their own hover points instead.
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
    """Invisible markers along a mixture's contour lines that carry its hover text."""
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
        mode="markers",
        marker={"size": 8, "opacity": 0.0, "color": _COLORS[role]},
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
                f"<b>M's component {j + 1}</b> ({PART_LABELS[part]})<br>"
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
                name=f"M components: {PART_LABELS[part]}",
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
                name=f"synthetic: {PART_LABELS[p]}",
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
    (xs,) = _grid_axes(pooled[:, None], [view.target, view.model], n=600)
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
                    name=f"M components: {PART_LABELS[part]}",
                    legendgroup="components",
                    line={"color": PART_COLORS[part], "width": 1.5},
                    hovertemplate=f"{_PART_HOVER[part]}<extra>M component</extra>",
                )
            )
    peak = peak or 1.0
    rng = np.random.default_rng(_MASS_SEED)  # jitter only spreads the rug vertically
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
                    name=f"synthetic: {PART_LABELS[p]}",
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
        df.insert(0, "part", [PART_LABELS[int(p)] for p in parts])
        df.insert(0, "kind", kind)
        frames.append(df)
    data = pd.concat(frames, ignore_index=True)
    if view.dim >= 2:
        pooled = np.vstack([view.anchor_X, view.synth_X])
        proj = make_projection(view.dim, projection, pooled)
        shown = proj.points(pooled)
        data["axis1"], data["axis2"] = shown[:, 0], shown[:, 1]
    return data


def projection_caption(view: ScenarioView, projection: ProjectionMethod = "coordinates") -> str:
    """A sentence saying which plane the figure shows (for the page caption)."""
    if view.dim == 1:
        return "Shown: the one data axis (d = 1); samples are rugs below zero."
    pooled = np.vstack([view.anchor_X, view.synth_X])
    return make_projection(view.dim, projection, pooled).description


# ------------------------------------------------------------------- divergence table

#: Rows of the divergence table: key, display name, unit.
DIVERGENCE_ROWS: Final[tuple[tuple[str, str, str], ...]] = (
    ("kl", "KL(fit || G), exact", "nats"),
    ("kl_reverse", "KL(G || fit), exact", "nats"),
    ("js", "Jensen-Shannon, exact", "nats"),
    ("tv", "total variation, exact", "probability"),
    ("kl_published", "KL(fit || G), published histogram", "nats"),
)


def divergence_table(
    view: ScenarioView, rng: np.random.Generator, n_mc: int = 4000, histogram: bool = True
) -> pd.DataFrame:
    """Divergences of both fitted mixtures from the target G for this scenario.

    Args:
        view: the scenario; needs both fits.
        rng: generator for the Monte Carlo draws.
        n_mc: Monte Carlo draws per divergence.
        histogram: include the published histogram KL (only computed for d <= 2).

    Returns:
        One row per divergence with columns ``divergence, unit, anchor_fit, anchor_fit_se,
        synthetic_fit, synthetic_fit_se, gap, gap_se``; ``gap = anchor_fit - synthetic_fit``
        (positive: the synthetic data brought the learner closer to G); standard errors are
        Monte Carlo errors (the two fits use independent draws).
    """
    from ggmi_core import divergences as dv

    if view.fit_anchor is None or view.fit_synthetic is None:
        raise ValueError("the divergence table needs both fitted mixtures")
    g = view.target
    estimators = {
        "kl": lambda fit: dv.kl_divergence(fit, g, n_mc, rng),
        "kl_reverse": lambda fit: dv.kl_divergence(g, fit, n_mc, rng),
        "js": lambda fit: dv.js_divergence(fit, g, n_mc, rng),
        "tv": lambda fit: dv.total_variation(fit, g, n_mc, rng),
        "kl_published": lambda fit: dv.histogram_kl(fit, g, rng),
    }
    rows = []
    for key, name, unit in DIVERGENCE_ROWS:
        if key == "kl_published" and (not histogram or view.dim > 2):
            continue
        a = estimators[key](view.fit_anchor)
        s = estimators[key](view.fit_synthetic)
        rows.append(
            {
                "divergence": name,
                "unit": unit,
                "anchor_fit": float(a.value),
                "anchor_fit_se": float(a.stderr),
                "synthetic_fit": float(s.value),
                "synthetic_fit_se": float(s.stderr),
                "gap": float(a.value) - float(s.value),
                "gap_se": float(np.hypot(a.stderr, s.stderr)),
            }
        )
    return pd.DataFrame(rows)
