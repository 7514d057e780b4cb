"""The Distributions page's numbers: projections, enclosed-mass contours, divergence table."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.stats import chi2, multivariate_normal

from ggmi_core.config import ScenarioConfig
from ggmi_core.gmm import GMM
from ggmi_core.metrics import METRICS
from ggmi_core.pca import principal_axes
from ggmi_core.scenario_report import (
    MIXTURE_LAYERS,
    divergence_table,
    enclosed_mass,
    level_lines,
    make_projection,
    scenario_contours,
    view_from_result,
    view_projection,
)
from ggmi_core.simulation import simulate


def _view(dim: int = 2, seed: int = 0):
    result = simulate(ScenarioConfig(dim=dim, seed=seed), rounds=1, metric="js", n_mc=200)
    return view_from_result(result, 0)


def _mixture_moments(g: GMM) -> tuple[np.ndarray, np.ndarray]:
    mean = g.weights @ g.means
    second = np.einsum(
        "k,kij->ij", g.weights, g.covariances + np.einsum("ki,kj->kij", g.means, g.means)
    )
    return mean, second - np.outer(mean, mean)


# --------------------------------------------------------------------------- projection


def test_coordinate_projection_gives_the_exact_two_coordinate_marginal():
    view = _view(dim=5)
    proj = make_projection(5, "coordinates")
    g2 = proj.mixture(view.target)
    pts = np.random.default_rng(1).normal(0, 3, (50, 2))
    expected = sum(
        w * multivariate_normal(m[:2], c[:2, :2]).pdf(pts)
        for w, m, c in zip(
            view.target.weights, view.target.means, view.target.covariances, strict=True
        )
    )
    np.testing.assert_allclose(np.exp(g2.logpdf(pts)), expected, rtol=1e-9)
    assert "first two" in proj.description


def test_pca_projection_uses_the_covariance_eigenvectors_and_keeps_mixture_moments():
    view = _view(dim=4)
    proj = view_projection(view, "pca")
    pooled = view.pooled
    eigval, eigvec = np.linalg.eigh(np.cov(pooled, rowvar=False))
    top = eigvec[:, ::-1][:, :2]
    np.testing.assert_allclose(proj.basis.T @ proj.basis, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(np.abs(proj.basis.T @ top), np.eye(2), atol=1e-10)
    np.testing.assert_allclose(proj.explained, eigval[::-1][:2] / eigval.sum(), rtol=1e-10)
    # sign convention: each axis's largest loading is positive
    assert (proj.basis[np.argmax(np.abs(proj.basis), axis=0), [0, 1]] > 0).all()
    m, c = _mixture_moments(view.model)
    m2, c2 = _mixture_moments(proj.mixture(view.model))
    np.testing.assert_allclose(m2, (m - proj.center) @ proj.basis, atol=1e-10)
    np.testing.assert_allclose(c2, proj.basis.T @ c @ proj.basis, atol=1e-10)


def test_projected_samples_follow_the_projected_mixture():
    view = _view(dim=3)
    X = view.model.sample(40_000, np.random.default_rng(5))
    proj = make_projection(3, "pca", X[:500])
    shown = proj.points(X)
    m2, c2 = _mixture_moments(proj.mixture(view.model))
    np.testing.assert_allclose(shown.mean(axis=0), m2, atol=0.05)
    np.testing.assert_allclose(np.cov(shown, rowvar=False), c2, rtol=0.05, atol=0.05)


@pytest.mark.parametrize("shape", [(300, 6), (12, 40)])  # tall data, and fewer rows than columns
def test_principal_axes_match_the_gram_eigenvectors(shape):
    X = np.random.default_rng(2).normal(size=shape) * np.linspace(1, 3, shape[1])
    found = principal_axes(X, 2)
    centred = X - X.mean(axis=0)
    s = np.linalg.svd(centred, compute_uv=False)
    np.testing.assert_allclose(found.explained, s[:2] ** 2 / np.sum(s**2), rtol=1e-10)
    # each axis is an eigenvector of X^T X with its eigenvalue
    gram = centred.T @ centred
    np.testing.assert_allclose(found.axes @ gram, (s[:2] ** 2)[:, None] * found.axes, atol=1e-8)


def test_principal_axes_of_constant_or_one_column_data_pad_with_zeros():
    flat = principal_axes(np.ones((5, 3)), 2)
    assert not flat.axes.any() and not flat.explained.any()
    line = principal_axes(np.arange(10.0)[:, None], 2)
    np.testing.assert_allclose(line.axes, [[1.0], [0.0]])
    np.testing.assert_allclose(line.explained, [1.0, 0.0])


# ------------------------------------------------------------------------ mass contours


def test_enclosed_mass_matches_the_chi_square_law_for_a_standard_normal():
    g = GMM([1.0], np.zeros((1, 2)), np.eye(2)[None])
    radii = np.array([0.5, 1.0, 1.5, 2.0, 3.0])
    pts = np.stack([radii, np.zeros_like(radii)], axis=1)
    mass = enclosed_mass(g, pts, np.random.default_rng(0), n_mc=50_000)
    np.testing.assert_allclose(mass, chi2(df=2).cdf(radii**2), atol=0.01)


def test_enclosed_mass_ranks_as_the_mixtures_own_log_density_does():
    """The compiled log-density pass gives the ranks GMM.logpdf gives (a near-tie may
    move one rank: 1 / n_mc)."""
    rng = np.random.default_rng(7)
    k, n_mc = 4, 5_000
    A = rng.normal(size=(k, 2, 2))
    covariances = A @ A.swapaxes(1, 2) + 0.1 * np.eye(2)
    g = GMM(rng.dirichlet(np.ones(k)), rng.uniform(0, 10, (k, 2)), covariances)
    pts = rng.uniform(-3, 13, (2_000, 2))
    mass = enclosed_mass(g, pts, np.random.default_rng(3), n_mc=n_mc)
    draws = g.sample(n_mc, np.random.default_rng(3))
    expected = 1.0 - np.searchsorted(np.sort(g.logpdf(draws)), g.logpdf(pts)) / n_mc
    np.testing.assert_allclose(mass, expected, rtol=0, atol=1.0 / n_mc + 1e-15)
    assert np.mean(mass == expected) > 0.99


def test_scenario_contours_cover_the_asked_layers_and_repeat_exactly():
    view = _view(dim=3)
    layers = {"target", "fit_synthetic", "anchor_samples"}
    first = scenario_contours(view, layers, "pca")
    assert list(first.mass) == [k for k in MIXTURE_LAYERS if k in layers]
    again = scenario_contours(view, layers, "pca")
    for key in first.mass:
        np.testing.assert_array_equal(first.mass[key], again.mass[key])
        assert first.mass[key].shape == (len(first.ys), len(first.xs))
    np.testing.assert_allclose(first.anchor_2d, first.projection.points(view.anchor_X))


def test_contour_mass_of_a_single_gaussian_follows_its_mahalanobis_radius():
    view = _view()
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    single = GMM([1.0], np.zeros((1, 2)), cov[None])
    view = dataclasses.replace(view, target=single)
    shown = scenario_contours(view, {"target"}, "coordinates")
    gx, gy = np.meshgrid(shown.xs, shown.ys)
    pts = np.stack([gx, gy], axis=-1)
    maha = np.einsum("...i,ij,...j->...", pts, np.linalg.inv(cov), pts)
    np.testing.assert_allclose(shown.mass["target"], chi2(df=2).cdf(maha), atol=0.02)


def _hdr_radius(q: float, sigma: float = 1.0) -> float:
    """Radius of the circle holding the densest fraction q of an isotropic 2-D Gaussian:
    its squared Mahalanobis radius is chi-square(2), whose cdf is 1 - exp(-r^2 / 2)."""
    return sigma * np.sqrt(-2.0 * np.log(1.0 - q))


def _assert_whole_circles(
    lines: list[np.ndarray], centre, radius: float, atol: float, step: float
) -> None:
    """One closed loop on the circle, going all the way round without a gap.

    ``step``: the widest grid step; consecutive vertices share a cell, so they are at
    most a cell diagonal (sqrt(2) steps) apart.
    """
    (loop,) = lines
    np.testing.assert_array_equal(loop[0], loop[-1])
    offsets = loop - np.asarray(centre)
    np.testing.assert_allclose(np.hypot(offsets[:, 0], offsets[:, 1]), radius, atol=atol)
    angles = np.sort(np.arctan2(offsets[:, 1], offsets[:, 0]))
    widest_gap = np.max(np.diff(np.concatenate([angles, [angles[0] + 2 * np.pi]])))
    assert widest_gap * radius < 1.5 * step


def test_level_lines_of_the_exact_mass_of_a_gaussian_are_its_circles():
    sigma, centre = 1.5, (0.3, -0.2)
    xs, ys = np.linspace(-5.0, 5.5, 211), np.linspace(-5.5, 5.0, 190)
    gx, gy = np.meshgrid(xs, ys)
    surface = chi2(df=2).cdf(((gx - centre[0]) ** 2 + (gy - centre[1]) ** 2) / sigma**2)
    levels = (0.5, 0.9)
    h = max(np.diff(xs).max(), np.diff(ys).max())
    for q, lines in zip(levels, level_lines(xs, ys, surface, levels), strict=True):
        # Vertices are linear interpolations along cell edges: off by O(h^2), well
        # inside a tenth of a cell at this spacing.
        _assert_whole_circles(lines, centre, _hdr_radius(q, sigma), atol=0.1 * h, step=h)


def test_level_lines_of_a_drawn_gaussian_lie_on_its_circles_within_a_grid_step():
    sigma = 0.8
    single = GMM([1.0], [[1.0, 2.0]], (sigma**2 * np.eye(2))[None])
    view = dataclasses.replace(_view(), target=single)
    shown = scenario_contours(view, {"target"}, "coordinates")
    h = max(np.diff(shown.xs).max(), np.diff(shown.ys).max())
    lines = level_lines(shown.xs, shown.ys, shown.mass["target"], (0.5, 0.9))
    for q, at_q in zip((0.5, 0.9), lines, strict=True):
        # The surface is a Monte Carlo estimate (20 000 draws): its level set is off the
        # exact circle by about 0.01 sigma, a small part of a grid step (0.15 sigma here).
        _assert_whole_circles(at_q, (1.0, 2.0), _hdr_radius(q, sigma), atol=0.25 * h, step=h)


def test_level_lines_leave_a_line_cut_by_the_grid_edge_open_and_skip_absent_levels():
    xs = ys = np.linspace(0.0, 1.0, 41)
    gx, gy = np.meshgrid(xs, ys)
    ramp = gx + 0.0 * gy  # crosses 0.25 along one vertical line, never reaches 2
    at_quarter, at_two = level_lines(xs, ys, ramp, (0.25, 2.0))
    (line,) = at_quarter
    np.testing.assert_allclose(line[:, 0], 0.25, atol=1e-12)
    assert {line[0, 1], line[-1, 1]} == {0.0, 1.0}  # open, from edge to edge
    assert at_two == []
    assert level_lines(xs, ys, ramp.astype(np.float32), (0.25,))[0][0].dtype == np.float64


# ------------------------------------------------------------------- divergence table


def test_divergence_table_vanishes_when_a_fit_equals_the_target():
    view = _view()
    exact = dataclasses.replace(view, fit_anchor=view.target)
    rows = divergence_table(exact, np.random.default_rng(0), n_mc=2000)
    published = [m.label for m in METRICS.values() if m.published]
    assert (
        list(rows.divergence) == [m.label for m in METRICS.values() if not m.published] + published
    )
    exact_rows = rows[~rows.divergence.isin(published)]
    np.testing.assert_allclose(exact_rows.anchor_fit, 0.0, atol=1e-12)
    np.testing.assert_allclose(rows.gap, rows.anchor_fit - rows.synthetic_fit)
    assert set(rows.unit) == {"nats", "probability"}
    # the histogram estimator has a floor: not zero even for identical mixtures
    assert rows[rows.divergence.isin(published)].anchor_fit.iloc[0] > 0.5


def test_divergence_table_skips_the_histogram_above_two_dimensions():
    rows = divergence_table(_view(dim=3), np.random.default_rng(0), n_mc=500)
    assert len(rows) == 4 and not rows.divergence.str.contains("histogram").any()
    assert (rows.loc[rows.unit == "probability", ["anchor_fit", "synthetic_fit"]] <= 1).all().all()
