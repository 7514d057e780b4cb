"""Fast batched Gaussian-mixture kernels shared by the EM fitter and the estimators.

The trick that makes everything a batched matrix product: a Gaussian log-density is a
quadratic form, so with the per-point feature vector

    f(x) = [x_i x_j for i <= j, x_1 .. x_d, 1]            (p = d(d+1)/2 + d + 1 entries)

the weighted component log-density log(w_j N(x; mu_j, Sigma_j)) equals ``theta_j . f(x)``
for a per-component "natural parameter" vector theta_j. Hence

* E-step / log-densities: ``theta (R, k, p) @ f(X)^T (R, p, n) -> (R, k, n)``;
* M-step sufficient statistics: ``resp (R, k, n) @ f(X) (R, n, p) -> (R, k, p)`` gives
  every per-component sum (second moments, first moments, counts) in one product.

The products and the log-sum-exp over components run compiled, per scenario and per
block of points (``ggmi_core._jit``); the parameter algebra (precisions, natural
parameters, Cholesky factors) stays in numpy; the random draws are numpy's (the
multinomial counts drawn by numpy, the normals by the compiled sampler from the same
Generator with numpy's algorithm), in the numpy code's order, so the random stream is
the same.

Shapes follow the package convention: scenario axis first, components before points.
Log-densities are natural logs (nats).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ggmi_core import _jit

Array = NDArray[np.float64]

LOG_2PI = float(np.log(2.0 * np.pi))

# Largest (k, points) block of component log-densities held at once (doubles), and the
# most points per block: a block of k x POINT_BLOCK doubles stays in the core's cache.
MAX_BLOCK_ELEMENTS = 4_000_000
POINT_BLOCK = 512


def n_features(d: int) -> int:
    """Length p of the quadratic feature vector in dimension d."""
    return d * (d + 1) // 2 + d + 1


def precision_and_logdet(covariances: Array, floor: Array | float) -> tuple[Array, Array]:
    """Precision matrices and log-determinants, repairing near-singular covariances.

    Any eigenvalue below ``floor`` is raised to it (an exact eigen-shift for d <= 2,
    an eigenvalue clip otherwise), so degenerate covariances (collapsed EM components,
    near-singular targets of the published recipe) never make the inversion fail.

    Args:
        covariances: (..., d, d), symmetric up to round-off.
        floor: smallest allowed eigenvalue, a scalar or an array broadcastable to
            ``covariances.shape[:-2]``.

    Returns:
        precisions (..., d, d) and log-determinants (...,) of the repaired covariances.
    """
    d = covariances.shape[-1]
    floor = np.asarray(floor, dtype=float)
    if d == 1:
        var = np.maximum(covariances[..., 0, 0], floor)
        return (1.0 / var)[..., None, None], np.log(var)
    if d == 2:
        return _precision_2x2(covariances, floor)
    sym = 0.5 * (covariances + np.swapaxes(covariances, -1, -2))
    eigval, eigvec = np.linalg.eigh(sym)
    eigval = np.maximum(eigval, floor[..., None])
    precision = (eigvec / eigval[..., None, :]) @ np.swapaxes(eigvec, -1, -2)
    return precision, np.log(eigval).sum(axis=-1)


def _precision_2x2(covariances: Array, floor: Array) -> tuple[Array, Array]:
    """Closed-form 2x2 inverse and log-determinant (much faster than batched LAPACK)."""
    a = covariances[..., 0, 0]
    c = covariances[..., 1, 1]
    b = 0.5 * (covariances[..., 0, 1] + covariances[..., 1, 0])
    half_trace = 0.5 * (a + c)
    radius = np.hypot(0.5 * (a - c), b)
    lam_max = half_trace + radius
    det = a * c - b * b
    with np.errstate(divide="ignore", invalid="ignore"):
        lam_min = np.where(lam_max > 0, det / lam_max, half_trace - radius)
    # Shifting both diagonal entries by s raises both eigenvalues by s.
    shift = np.maximum(floor - lam_min, 0.0)
    if np.any(shift > 0):
        a = a + shift
        c = c + shift
        det = a * c - b * b
    precision = np.empty(covariances.shape)
    precision[..., 0, 0] = c / det
    precision[..., 1, 1] = a / det
    precision[..., 0, 1] = precision[..., 1, 0] = -b / det
    return precision, np.log(det)


def natural_parameters(
    log_weights: Array, means: Array, precisions: Array, logdets: Array
) -> Array:
    """theta (R, k, p) with theta . f(x) = log w + log N(x; mean, precision^-1).

    Args:
        log_weights: (R, k); means: (R, k, d); precisions: (R, k, d, d); logdets: (R, k).
    """
    r, k, d = means.shape
    theta = np.empty((r, k, n_features(d)))
    col = 0
    for i in range(d):
        theta[:, :, col] = -0.5 * precisions[:, :, i, i]
        col += 1
        for j in range(i + 1, d):
            theta[:, :, col] = -precisions[:, :, i, j]
            col += 1
    p_mu = np.einsum("rkij,rkj->rki", precisions, means)
    theta[:, :, col : col + d] = p_mu
    quad = np.einsum("rki,rki->rk", p_mu, means)
    theta[:, :, -1] = log_weights - 0.5 * (d * LOG_2PI + logdets + quad)
    return theta


def mixture_logpdf(
    weights: Array,
    means: Array,
    covariances: Array,
    X: Array,
    floor: float = 0.0,
) -> Array:
    """Mixture log-densities in nats, (R, n), for X (R, n, d); chunked to bound memory.

    Args:
        weights: (R, k); means: (R, k, d); covariances: (R, k, d, d).
        X: (R, n, d) points.
        floor: eigenvalue floor for degenerate covariances (0 keeps them as given;
            a singular covariance then gives -inf/inf log-densities).
    """
    return mixtures_logpdf([(weights, means, covariances)], X, floor)[0]


def mixtures_logpdf(
    mixtures: list[tuple[Array, Array, Array]], X: Array, floor: float = 0.0
) -> list[Array]:
    """Log-densities (R, n) of several mixtures at the same points X (R, n, d).

    The point features are built once and all mixtures share one matrix product. Points
    and means are shifted per scenario (by the first mixture's mean of component means)
    so the quadratic features stay well conditioned wherever the data sit.

    Args:
        mixtures: (weights (R, k_i), means (R, k_i, d), covariances (R, k_i, d, d)) each.
        X: (R, n, d) points.
        floor: eigenvalue floor for degenerate covariances.
    """
    X = np.ascontiguousarray(X, dtype=float)
    shift = np.ascontiguousarray(mixtures[0][1].mean(axis=1))
    bounds = np.cumsum([0] + [weights.shape[1] for weights, _, _ in mixtures])
    if X.shape[2] == 2:
        theta = _thetas_2x2(mixtures, shift, bounds, floor)
    else:
        thetas = []
        for weights, means, covariances in mixtures:
            precisions, logdets = precision_and_logdet(covariances, floor)
            with np.errstate(divide="ignore"):
                log_w = np.log(weights)
            thetas.append(
                natural_parameters(log_w, means - shift[:, None, :], precisions, logdets)
            )
        theta = thetas[0] if len(thetas) == 1 else np.concatenate(thetas, axis=1)
    k, n = int(bounds[-1]), X.shape[1]
    block = max(1, min(n, POINT_BLOCK, MAX_BLOCK_ELEMENTS // max(1, k)))
    out = _jit.mixtures_logsumexp(
        np.ascontiguousarray(theta), X, shift, bounds.astype(np.int64), block
    )
    return list(out)


def _thetas_2x2(
    mixtures: list[tuple[Array, Array, Array]], shift: Array, bounds: Array, floor: float
) -> Array:
    """theta (R, k, 6) of all the mixtures at d = 2, with the numbers ``natural_parameters``
    gives from ``precision_and_logdet`` (bit for bit): the algebra in one compiled pass
    (``_jit.natural_parameters_2x2``), the logs by numpy."""

    def joined(index: int) -> Array:
        parts = [np.asarray(mixture[index], dtype=float) for mixture in mixtures]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)

    weights = joined(0)
    theta, det = _jit.natural_parameters_2x2(
        np.ascontiguousarray(joined(1)),
        np.ascontiguousarray(joined(2)),
        shift,
        bounds.astype(np.int64),
        float(floor),
    )
    with np.errstate(divide="ignore"):
        log_w = np.log(weights)
    theta[:, :, -1] = log_w - 0.5 * (2 * LOG_2PI + np.log(det) + theta[:, :, -1])
    return theta


def cholesky_factors(covariances: Array) -> Array:
    """Lower Cholesky factors (..., d, d) of positive definite covariances.

    2x2 uses the closed form; other sizes batched LAPACK, with an eigenvalue floor of
    1e-12 times the largest eigenvalue when round-off makes a matrix indefinite.
    """
    d = covariances.shape[-1]
    if d == 1:
        return np.sqrt(np.maximum(covariances, 0.0))
    if d == 2:
        a = covariances[..., 0, 0]
        b = 0.5 * (covariances[..., 0, 1] + covariances[..., 1, 0])
        c = covariances[..., 1, 1]
        out = np.zeros(covariances.shape)
        out[..., 0, 0] = root_a = np.sqrt(np.maximum(a, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            lower = np.where(root_a > 0, b / root_a, 0.0)
        out[..., 1, 0] = lower
        out[..., 1, 1] = np.sqrt(np.maximum(c - lower * lower, 0.0))
        return out
    sym = 0.5 * (covariances + np.swapaxes(covariances, -1, -2))
    try:
        return np.linalg.cholesky(sym)
    except np.linalg.LinAlgError:
        eigval, eigvec = np.linalg.eigh(sym)
        floor = 1e-12 * np.maximum(eigval.max(axis=-1, keepdims=True), 1e-300)
        fixed = (eigvec * np.maximum(eigval, floor)[..., None, :]) @ np.swapaxes(eigvec, -1, -2)
        return np.linalg.cholesky(0.5 * (fixed + np.swapaxes(fixed, -1, -2)))


def sample_mixture(
    weights: Array, means: Array, factors: Array, n: int, rng: np.random.Generator
) -> tuple[Array, NDArray[np.int64]]:
    """Draw n points from each of R mixtures: points (R, n, d) and labels (R, n).

    Points come grouped by component within each scenario (component counts are
    multinomial): the draws are i.i.d. as a set, which is all that Monte Carlo means and
    histograms need, and grouping lets one compiled pass build every point.

    Args:
        weights: (R, k); means: (R, k, d); factors: (R, k, d, d) lower Cholesky factors.
    """
    points, counts = _grouped_draw(weights, means, factors, n, rng)
    r, k = weights.shape
    labels = np.repeat(np.tile(np.arange(k), r), counts).reshape(r, n)
    return points, labels


def sample_points(
    weights: Array, means: Array, factors: Array, n: int, rng: np.random.Generator
) -> Array:
    """The points of ``sample_mixture`` (same draws, same values) without the labels."""
    return _grouped_draw(weights, means, factors, n, rng)[0]


def _grouped_draw(
    weights: Array, means: Array, factors: Array, n: int, rng: np.random.Generator
) -> tuple[Array, NDArray[np.int64]]:
    """Points (R, n, d) grouped by component, and the component counts (R * k,)."""
    r, k, d = means.shape
    probs = weights / weights.sum(axis=1, keepdims=True)
    counts = rng.multinomial(n, probs).ravel().astype(np.int64)  # (R * k,)
    # The normals are drawn inside the kernel, as rng.standard_normal((r * n, d)) would
    # draw them; numpy holds the generator's lock while drawing and so do we (the core
    # makes one generator per chunk, but callers of the public functions pass their own).
    with rng.bit_generator.lock:
        points = _jit.draw_grouped_points(
            rng,
            np.ascontiguousarray(means.reshape(r * k, d), dtype=float),
            np.ascontiguousarray(factors.reshape(r * k, d, d), dtype=float),
            counts,
        )
    return points.reshape(r, n, d), counts
