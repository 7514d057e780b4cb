"""Fast batched Gaussian-mixture kernels shared by the EM fitter and the estimators.

The trick that makes everything a batched matrix product: a Gaussian log-density is a
quadratic form, so with the per-point feature vector

    f(x) = [x_i x_j for i <= j, x_1 .. x_d, 1]            (p = d(d+1)/2 + d + 1 entries)

the weighted component log-density log(w_j N(x; mu_j, Sigma_j)) equals ``theta_j . f(x)``
for a per-component "natural parameter" vector theta_j. Hence

* E-step / log-densities: ``theta (R, k, p) @ f(X)^T (R, p, n) -> (R, k, n)``;
* M-step sufficient statistics: ``resp (R, k, n) @ f(X) (R, n, p) -> (R, k, p)`` gives
  every per-component sum (second moments, first moments, counts) in one product.

Shapes follow the package convention: scenario axis first, components before points.
Log-densities are natural logs (nats).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

LOG_2PI = float(np.log(2.0 * np.pi))

# Largest (R, k, n) block evaluated at once by chunked log-density evaluation (doubles).
MAX_BLOCK_ELEMENTS = 4_000_000


def n_features(d: int) -> int:
    """Length p of the quadratic feature vector in dimension d."""
    return d * (d + 1) // 2 + d + 1


def quadratic_features(X: Array) -> Array:
    """Quadratic features of points, (R, n, p) for X of shape (R, n, d).

    Order: upper-triangle products x_i x_j (i <= j, row-major), then x_i, then 1.
    """
    r, n, d = X.shape
    F = np.empty((r, n, n_features(d)))
    col = 0
    for i in range(d):
        for j in range(i, d):
            np.multiply(X[:, :, i], X[:, :, j], out=F[:, :, col])
            col += 1
    F[:, :, col : col + d] = X
    F[:, :, -1] = 1.0
    return F


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


def logsumexp_components(log_comp: Array) -> Array:
    """log sum_j exp(log_comp[:, j, :]) over the component axis, (R, n) from (R, k, n)."""
    return _exp_and_total(log_comp)[1]


def responsibilities_and_logsumexp(log_comp: Array) -> tuple[Array, Array]:
    """Posterior component probabilities (R, k, n) and the log-normaliser (R, n)."""
    e, log_total, total = _exp_and_total(log_comp)
    e *= (1.0 / total)[:, None, :]
    return e, log_total


def unnormalised_responsibilities(log_comp: Array) -> tuple[Array, Array, Array]:
    """exp(log_comp) (R, k, n), the per-point normaliser (R, n) and its log (R, n).

    Responsibilities are the first divided by the second; callers that only need
    ``resp @ M`` can divide M's rows instead, which is cheaper when k is large.
    """
    e, log_total, total = _exp_and_total(log_comp)
    return e, total, log_total


# Component log-densities here are far below exp's overflow point (their covariances are
# floored), so exp is taken directly; only points where every component underflows (far
# outliers) need the max-shifted form, which is computed for those columns alone.
_SAFE_TOTAL = (1e-250, 1e250)


# exp of an argument below about -708 yields a subnormal number or 0, and takes a slow
# path in the math library (40x slower for subnormal results, 7x for 0); a fifth of the
# component log-densities of a typical batch lie there. Arguments are raised to this
# floor first: exp(-700) ~ 1e-304 is a normal number, and k of them cannot change a sum
# above _SAFE_TOTAL's lower bound (they are far below half its last bit), so every
# total, log-total and visible responsibility is unchanged. Columns whose sum falls below
# that bound are recomputed from the unclamped values below.
_EXP_FLOOR = -700.0


def _exp_and_total(log_comp: Array) -> tuple[Array, Array, Array]:
    """exp(log_comp) (R, k, n), log of its component sums (R, n), and the sums (R, n)."""
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        e = np.maximum(log_comp, _EXP_FLOOR)
        np.exp(e, out=e)
    total = e.sum(axis=1)
    low, high = _SAFE_TOTAL
    if total.min(initial=np.inf) > low and total.max(initial=0.0) < high:
        return e, np.log(total), total
    bad_r, bad_n = np.nonzero(~((total > low) & (total < high)))
    cols = log_comp[bad_r, :, bad_n]  # (m, k)
    top = cols.max(axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    shifted = np.exp(cols - top)
    sub_total = shifted.sum(axis=1)
    log_total = np.log(total, where=total > 0, out=np.full(total.shape, -np.inf))
    with np.errstate(divide="ignore"):
        log_total[bad_r, bad_n] = np.log(sub_total) + top[:, 0]
    # Rescaled so that e / total gives the right responsibilities in these columns.
    e[bad_r, :, bad_n] = shifted
    total[bad_r, bad_n] = sub_total
    return e, log_total, total


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
    r, n, _ = X.shape
    shift = mixtures[0][1].mean(axis=1)
    thetas, bounds = [], [0]
    for weights, means, covariances in mixtures:
        precisions, logdets = precision_and_logdet(covariances, floor)
        with np.errstate(divide="ignore"):
            log_w = np.log(weights)
        thetas.append(natural_parameters(log_w, means - shift[:, None, :], precisions, logdets))
        bounds.append(bounds[-1] + weights.shape[1])
    theta = thetas[0] if len(thetas) == 1 else np.concatenate(thetas, axis=1)
    k = bounds[-1]
    outs = [np.empty((r, n)) for _ in mixtures]
    rows = max(1, MAX_BLOCK_ELEMENTS // max(1, k * n))
    cols = n if rows > 1 else max(1, MAX_BLOCK_ELEMENTS // max(1, k))
    for start in range(0, r, rows):
        sl = slice(start, min(r, start + rows))
        for first in range(0, n, cols):
            pts = slice(first, min(n, first + cols))
            F = quadratic_features(X[sl, pts] - shift[sl, None, :])
            log_comp = theta[sl] @ F.transpose(0, 2, 1)
            for out, a, b in zip(outs, bounds[:-1], bounds[1:], strict=True):
                out[sl, pts] = logsumexp_components(log_comp[:, a:b])
    return outs


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


def sample_labels_batch(weights: Array, n: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """n component labels per row of ``weights`` (R, k) by inverse CDF, (R, n)."""
    cdf = np.cumsum(weights, axis=1)
    u = rng.random((weights.shape[0], n)) * cdf[:, -1:]
    labels = np.zeros(u.shape, dtype=np.int64)
    # k is small (<= ~100), so k vectorised comparisons beat a per-row searchsorted loop.
    for j in range(weights.shape[1] - 1):
        labels += u >= cdf[:, j : j + 1]
    return labels


def sample_mixture(
    weights: Array, means: Array, factors: Array, n: int, rng: np.random.Generator
) -> tuple[Array, NDArray[np.int64]]:
    """Draw n points from each of R mixtures: points (R, n, d) and labels (R, n).

    Points come grouped by component within each scenario (component counts are
    multinomial): the draws are i.i.d. as a set, which is all that Monte Carlo means and
    histograms need, and grouping replaces slow per-point gathers with ``np.repeat``.

    Args:
        weights: (R, k); means: (R, k, d); factors: (R, k, d, d) lower Cholesky factors.
    """
    r, k, d = means.shape
    probs = weights / weights.sum(axis=1, keepdims=True)
    counts = rng.multinomial(n, probs).ravel()  # (R * k,)
    labels = np.repeat(np.tile(np.arange(k), r), counts).reshape(r, n)
    z = rng.standard_normal((r * n, d))
    points = np.repeat(means.reshape(r * k, d), counts, axis=0)
    flat_factors = factors.reshape(r * k, d, d)
    for i in range(d):
        for j in range(i + 1):
            points[:, i] += np.repeat(flat_factors[:, i, j], counts) * z[:, j]
    return points.reshape(r, n, d), labels
