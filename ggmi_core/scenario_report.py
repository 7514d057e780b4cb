"""The numbers behind the Distributions page (the paper's Figure 2) for one scenario.

* ``ScenarioView``: one scenario's mixtures and samples (no batch axis);
* ``make_projection``: a 2-D view of d-dimensional data (two coordinates, or the two
  leading principal axes of the pooled samples); a linear map of a Gaussian mixture is
  again one, with means ``B^T (mu - c)`` and covariances ``B^T Sigma B``, so projected
  contours are exact densities of the projected mixture;
* ``enclosed_mass`` / ``scenario_contours``: for grid points, the probability mass of the
  region where a mixture is denser (a contour at level a encloses the densest fraction a);
* ``level_lines``: the contour lines of such a surface as polylines in data coordinates
  (marching squares on the server, so a browser gets lines, not grids to contour);
* ``divergence_table``: every metric of ``ggmi_core.metrics`` for both fits against G.

Figures in ``ggmi_viz.distributions`` draw these results. Divergences are in nats, total
variation is a probability.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import contourpy
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ggmi_core.divergences import log_density
from ggmi_core.gmm import GMM
from ggmi_core.metrics import METRICS
from ggmi_core.pca import principal_axes

Array = NDArray[np.float64]
ProjectionMethod = Literal["coordinates", "pca"]

#: Mixture layers in drawing order (their Monte Carlo draws come in this order too).
MIXTURE_LAYERS: tuple[str, ...] = ("target", "model", "gen", "fit_anchor", "fit_synthetic")
#: Grid points per axis of the 2-D contour grid.
GRID_SIZE = 120
#: Most grid lines per axis after refining around thin components (bounds the payload).
MAX_GRID_SIZE = 240
#: Grid lines per standard deviation across a component (its thinnest direction along
#: the axis). Fewer and a thin component's 50% line breaks into beads.
LINES_PER_SD = 2.5
#: Monte Carlo draws per mixture for the enclosed-mass levels.
MASS_MC_SAMPLES = 20_000
#: Fixed seed of those draws: contour levels must not flicker between redraws.
MASS_SEED = 20_250_124


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
        model_part: part of each of M's components, (K+J+L,), 0 anchor-sampled,
            1 unsampled, 2 task-irrelevant.
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

    @property
    def pooled(self) -> Array:
        """Anchor then synthetic samples, (m + n, d)."""
        return np.vstack([self.anchor_X, self.synth_X])

    def mixture(self, layer: str) -> GMM | None:
        """The mixture of a layer (one of ``MIXTURE_LAYERS``)."""
        return {
            "target": self.target,
            "model": self.model,
            "gen": self.gen,
            "fit_anchor": self.fit_anchor,
            "fit_synthetic": self.fit_synthetic,
        }[layer]


def view_from_result(result: Any, r: int = 0) -> ScenarioView:
    """Scenario ``r`` of a ``ggmi_core.simulation.SimulationResult`` as a ``ScenarioView``."""
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
        explained: for ``"pca"``, the fraction of the pooled variance along each axis.
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
        what = (
            "the data space itself (d = 2)"
            if dim == 2
            else f"the first two of the {dim} coordinates (x1, x2); every contour is the "
            "exact density of that two-coordinate marginal"
        )
        return Projection(
            center=np.zeros(dim),
            basis=np.eye(dim)[:, :2],
            method="coordinates",
            axis_titles=("x1 (data units)", "x2 (data units)"),
            description=f"Shown: {what}.",
        )
    if points is None or len(points) < 3:
        raise ValueError("the PCA projection needs at least 3 pooled sample points")
    found = principal_axes(np.asarray(points, dtype=float), 2)
    share = found.explained
    return Projection(
        center=found.mean,
        basis=found.axes.T,
        method="pca",
        axis_titles=(
            f"principal axis 1 ({share[0]:.0%} of variance)",
            f"principal axis 2 ({share[1]:.0%} of variance)",
        ),
        description=(
            f"Shown: the two leading principal axes of the pooled anchor and synthetic "
            f"samples ({share[0] + share[1]:.0%} of their variance in d = {dim}); every "
            "contour is the exact density of the projected mixture."
        ),
        explained=(float(share[0]), float(share[1])),
    )


def view_projection(view: ScenarioView, method: ProjectionMethod = "coordinates") -> Projection:
    """``make_projection`` of a scenario (principal axes of its pooled samples)."""
    return make_projection(view.dim, method, view.pooled)


# ------------------------------------------------------------------------ mass contours


def enclosed_mass(
    gmm: GMM, X: Array, rng: np.random.Generator, n_mc: int = MASS_MC_SAMPLES
) -> Array:
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
    X = np.asarray(X, dtype=float).reshape(-1, gmm.dim)
    # One compiled log-density pass over draws and grid together (the simulation's
    # kernel; the whitened numpy form of ``GMM.logpdf`` took ~40 ms of a redraw).
    logp = log_density(gmm.as_batch(), np.concatenate([draws, X])[None])[0]
    sorted_logp = np.sort(logp[:n_mc])
    below = np.searchsorted(sorted_logp, logp[n_mc:], side="left")
    return 1.0 - below / n_mc


def grid_axes(points: Array, mixtures: Iterable[GMM], n: int = GRID_SIZE) -> list[Array]:
    """Evenly spaced grid axes (one (n,) array per dimension) covering the points (m, d)
    and 3 standard deviations around every component of the mixtures."""
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
    ``LINES_PER_SD`` lines per conditional standard deviation (the component's thickness
    along that axis at a fixed value of the other coordinate); elsewhere the base
    spacing. Lines are placed by that local density, so the spacing changes smoothly, and
    each axis keeps its ends and holds at most ``MAX_GRID_SIZE`` lines.

    Args:
        xs, ys: evenly spaced base axes, (nx,) and (ny,).
        mixtures: 2-D mixtures whose contours are drawn on the grid.

    Returns:
        Sorted axes ``(xs, ys)`` spanning the same ranges, at least as fine everywhere as
        the base axes when the cap allows.
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
            wanted = np.sqrt(max(cond_var, 1e-12)) / LINES_PER_SD
            near = np.abs(t - mean[a]) <= 3.5 * np.sqrt(cov[a, a])
            step[near] = np.minimum(step[near], wanted)
    if np.all(step >= base_step):
        return axis  # every component is wide enough for the base grid
    # Lines per unit length, integrated: equal steps of it place the lines.
    density = 1.0 / step
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(t))])
    count = int(min(max(np.ceil(cumulative[-1]) + 1, len(axis)), MAX_GRID_SIZE))
    return np.interp(np.linspace(0.0, cumulative[-1], count), cumulative, t)


@dataclass(frozen=True)
class ScenarioContours:
    """A scenario shown on a plane (d >= 2): projected samples and mixtures, and the
    enclosed-mass surfaces the contour lines are drawn from.

    Attributes:
        projection: the plane.
        anchor_2d, synth_2d: projected samples, (m, 2) and (n, 2).
        model_2d: M's projected mixture (its components are drawn as ellipses).
        xs, ys: grid axes, (nx,) and (ny,).
        mass: layer key -> enclosed-mass fractions on the grid, (ny, nx), for the mixture
            layers asked for (in ``MIXTURE_LAYERS`` order).
    """

    projection: Projection
    anchor_2d: Array
    synth_2d: Array
    model_2d: GMM
    xs: Array
    ys: Array
    mass: dict[str, Array]


def scenario_contours(
    view: ScenarioView,
    layers: Iterable[str],
    method: ProjectionMethod = "coordinates",
    n_mc: int = MASS_MC_SAMPLES,
) -> ScenarioContours:
    """Project the scenario and compute the enclosed mass of each asked mixture layer.

    The Monte Carlo draws come from ``MASS_SEED``, so the same view gives the same
    contours on every redraw.
    """
    wanted = set(layers)
    proj = view_projection(view, method)
    anchor_2d, synth_2d = proj.points(view.anchor_X), proj.points(view.synth_X)
    model_2d = proj.mixture(view.model)
    shown = {
        key: proj.mixture(g)
        for key in MIXTURE_LAYERS
        if key in wanted and (g := view.mixture(key)) is not None
    }
    xs, ys = grid_axes(np.vstack([anchor_2d, synth_2d]), [proj.mixture(view.target), model_2d])
    xs, ys = refine_grid_axes(xs, ys, shown.values())
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    rng = np.random.default_rng(MASS_SEED)
    # float32 halves the figure's size; contour levels need no more precision
    mass = {
        key: enclosed_mass(g, grid, rng, n_mc).reshape(len(ys), len(xs)).astype(np.float32)
        for key, g in shown.items()
    }
    return ScenarioContours(proj, anchor_2d, synth_2d, model_2d, xs, ys, mass)


def level_lines(
    xs: Array, ys: Array, surface: NDArray[np.floating], levels: Iterable[float]
) -> list[list[Array]]:
    """The contour lines of a gridded surface at the given levels, as polylines.

    Marching squares with linear interpolation along grid edges (contourpy's serial
    algorithm), so every vertex lies on a grid edge where the surface crosses the level.
    A float32 surface is widened to float64 exactly, so the lines are those of the
    surface as stored.

    Args:
        xs, ys: increasing grid axes, (nx,) and (ny,), in data units.
        surface: values on the grid, (ny, nx) (``surface[i, j]`` at ``(xs[j], ys[i])``).
        levels: the levels to trace.

    Returns:
        One list per level (in the order given) of polylines, each (n_i, 2) float64 with
        columns (x, y) in data units. A closed loop repeats its first point at its end; a
        line cut by the edge of the grid is left open there. A level the surface never
        crosses gives an empty list.
    """
    generator = contourpy.contour_generator(
        np.asarray(xs, dtype=np.float64),
        np.asarray(ys, dtype=np.float64),
        np.asarray(surface, dtype=np.float64),
        line_type=contourpy.LineType.Separate,
    )
    return [[np.asarray(line) for line in generator.lines(float(level))] for level in levels]


# ------------------------------------------------------------------- divergence table


def divergence_table(
    view: ScenarioView, rng: np.random.Generator, n_mc: int = 4000, histogram: bool = True
) -> pd.DataFrame:
    """Every metric of ``METRICS`` for both fitted mixtures against the target G.

    Args:
        view: the scenario; needs both fits.
        rng: generator for the Monte Carlo draws.
        n_mc: Monte Carlo draws per divergence (metrics with fixed samples ignore it).
        histogram: include metrics limited to low dimension (the published histogram KL)
            where the dimension allows.

    Returns:
        One row per metric, the published estimator last, with columns ``divergence,
        unit, anchor_fit, anchor_fit_se, synthetic_fit, synthetic_fit_se, gap, gap_se``;
        ``gap = anchor_fit - synthetic_fit`` (positive: the synthetic data brought the
        learner closer to G). Standard errors are Monte Carlo errors (the two fits use
        independent draws).
    """
    if view.fit_anchor is None or view.fit_synthetic is None:
        raise ValueError("the divergence table needs both fitted mixtures")
    rows = []
    for metric in sorted(METRICS.values(), key=lambda m: m.published):
        if metric.max_dim is not None and (not histogram or view.dim > metric.max_dim):
            continue
        a = metric.divergence(view.fit_anchor, view.target, n_mc, rng)
        s = metric.divergence(view.fit_synthetic, view.target, n_mc, rng)
        rows.append(
            {
                "divergence": metric.label,
                "unit": metric.unit,
                "anchor_fit": float(a.value),
                "anchor_fit_se": float(a.stderr),
                "synthetic_fit": float(s.value),
                "synthetic_fit_se": float(s.stderr),
                "gap": float(a.value) - float(s.value),
                "gap_se": float(np.hypot(a.stderr, s.stderr)),
            }
        )
    return pd.DataFrame(rows)
