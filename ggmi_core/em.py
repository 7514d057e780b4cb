"""Batched expectation-maximisation for full-covariance Gaussian mixtures.

Fits R independent data sets at once (X of shape (R, n, d)), following scikit-learn's
``GaussianMixture`` defaults as the published code used them: k-means initialisation
(greedy k-means++ seeding, then Lloyd iterations, one start), then EM until the mean
log-likelihood per sample changes by less than ``tol``, adding ``reg`` to every
covariance diagonal, for at most ``max_iter`` iterations.

Speed comes from three things (see ``ggmi_core._kernels``): the E- and M-steps are
single batched matrix products over quadratic point features; 2x2 covariances are
inverted in closed form; and scenarios that have converged leave the working set.
Each data set is centred and scaled to unit spread before fitting (the fit is equivariant,
and this keeps the moment formulas well conditioned); results are mapped back.
Log-likelihoods are in nats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ggmi_core._kernels import (
    logsumexp_components,
    natural_parameters,
    precision_and_logdet,
    quadratic_features,
    unnormalised_responsibilities,
)
from ggmi_core.gmm import GMM, GMMBatch

Array = NDArray[np.float64]

# Eigenvalue floor (in units of the standardised data's variance) that applies when a
# covariance degenerates below the requested regularisation, e.g. when reg=0.
_MIN_RELATIVE_EIGENVALUE = 1e-10
# Guard that keeps empty components from dividing by zero (as scikit-learn does).
_TINY_COUNT = 10 * np.finfo(float).eps
_KMEANS_MAX_ITER = 100
_KMEANS_TOL = 1e-4


@dataclass(frozen=True, eq=False)
class EMResult:
    """Outcome of ``fit_gmm_batch``.

    Attributes:
        gmm: the fitted mixtures, weights (R, k), means (R, k, d), covariances (R, k, d, d).
        converged: (R,) whether the tolerance was met within ``max_iter`` iterations.
        n_iter: (R,) EM iterations used.
        mean_loglik: (R,) mean log-likelihood per sample of the fitted mixture on its
            data set, in nats.
    """

    gmm: GMMBatch
    converged: NDArray[np.bool_]
    n_iter: NDArray[np.int64]
    mean_loglik: Array


def fit_gmm(X: ArrayLike, n_components: int, rng: np.random.Generator) -> GMM:
    """Fit one full-covariance mixture with ``n_components`` components to X (n, d)."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n, d); got {X.shape}")
    return fit_gmm_batch(X[None], n_components, rng).gmm[0]


def fit_gmm_batch(
    X: ArrayLike,
    n_components: int,
    rng: np.random.Generator,
    tol: float = 1e-3,
    reg: float = 1e-6,
    max_iter: int = 100,
    init_labels: ArrayLike | None = None,
) -> EMResult:
    """Fit a k-component full-covariance mixture to each of R data sets.

    Args:
        X: (R, n, d) points; every data set needs n >= n_components finite points.
        n_components: k, components per mixture.
        rng: source of the k-means++ seeding.
        tol: convergence threshold on the change of mean log-likelihood per sample (nats).
        reg: added to every covariance diagonal (in the data's units).
        max_iter: maximum EM iterations.
        init_labels: optional (R, n) integer labels in [0, k) replacing the k-means
            initialisation (EM then starts from the per-cluster weights, means and
            covariances; used to check EM against scikit-learn from one start).

    Returns:
        ``EMResult`` with the mixtures and per-scenario diagnostics, all (R,).
    """
    X = _validated_points(X, n_components, tol, reg, max_iter)
    r, n, d = X.shape
    k = int(n_components)
    shift, scale = _standardisation(X)
    Z = (X - shift[:, None, :]) / scale[:, None, None]
    reg_z = reg / scale**2
    F = quadratic_features(Z)

    labels = (
        kmeans_labels(Z, k, rng) if init_labels is None else _checked_labels(init_labels, r, n, k)
    )
    resp = np.zeros((r, k, n))
    np.put_along_axis(resp, labels[:, None, :], 1.0, axis=1)
    params = _m_step(resp, F, reg_z)

    weights, means, covs, converged, n_iter = _em_loop(params, F, reg_z, tol, max_iter)
    theta = _theta(weights, means, covs, reg_z)
    log_comp = theta @ F.transpose(0, 2, 1)
    mean_loglik = logsumexp_components(log_comp).mean(axis=1)

    gmm = GMMBatch(
        weights,
        means * scale[:, None, None] + shift[:, None, :],
        covs * (scale**2)[:, None, None, None],
    )
    return EMResult(gmm, converged, n_iter, mean_loglik - d * np.log(scale))


def _validated_points(
    X: ArrayLike, n_components: int, tol: float, reg: float, max_iter: int
) -> Array:
    X = np.asarray(X, dtype=float)
    if X.ndim != 3:
        raise ValueError(f"X must have shape (R, n, d); got {X.shape}")
    if isinstance(n_components, bool) or int(n_components) != n_components or n_components < 1:
        raise ValueError(f"n_components must be an integer >= 1; got {n_components!r}")
    if X.shape[0] < 1 or X.shape[2] < 1:
        raise ValueError(f"X needs at least one data set and one dimension; got {X.shape}")
    if X.shape[1] < n_components:
        raise ValueError(
            f"each data set needs at least n_components={n_components} points; got n={X.shape[1]}"
        )
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinite values")
    if not tol > 0:
        raise ValueError(f"tol must be > 0; got {tol}")
    if not reg >= 0:
        raise ValueError(f"reg must be >= 0; got {reg}")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1; got {max_iter}")
    return X


def _checked_labels(labels: ArrayLike, r: int, n: int, k: int) -> NDArray[np.int64]:
    labels = np.asarray(labels)
    if labels.shape != (r, n) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"init_labels must be integers of shape ({r}, {n}); got {labels.shape}")
    if labels.min() < 0 or labels.max() >= k:
        raise ValueError(f"init_labels must lie in 0..{k - 1}")
    return labels.astype(np.int64)


def _standardisation(X: Array) -> tuple[Array, Array]:
    """Per-data-set centre (R, d) and isotropic scale (R,) (1 for constant data)."""
    shift = X.mean(axis=1)
    scale = np.sqrt(((X - shift[:, None, :]) ** 2).mean(axis=(1, 2)))
    return shift, np.where(scale > 0, scale, 1.0)


def _em_loop(
    params: tuple[Array, Array, Array],
    F: Array,
    reg: Array,
    tol: float,
    max_iter: int,
) -> tuple[Array, Array, Array, NDArray[np.bool_], NDArray[np.int64]]:
    """Run EM on standardised data, dropping scenarios from the working set as they converge.

    Returns final weights (R, k), means (R, k, d), covariances (R, k, d, d),
    converged (R,) and n_iter (R,).
    """
    weights, means, covs = (p.copy() for p in params)
    r = F.shape[0]
    converged = np.zeros(r, dtype=bool)
    n_iter = np.full(r, max_iter, dtype=np.int64)

    active = np.arange(r)
    F_w, Ft_w, reg_w = F, F.transpose(0, 2, 1).copy(), reg
    w_w, mu_w, cov_w = weights, means, covs
    previous = np.full(r, -np.inf)
    for iteration in range(1, max_iter + 1):
        log_comp = _theta(w_w, mu_w, cov_w, reg_w) @ Ft_w
        weighted, norm, log_norm = unnormalised_responsibilities(log_comp)
        mean_ll = log_norm.mean(axis=1)
        # resp @ F with resp = weighted / norm: scale the (n, p) features, not (k, n) weights.
        w_w, mu_w, cov_w = _m_step(weighted, F_w * (1.0 / norm)[:, :, None], reg_w)
        met = np.abs(mean_ll - previous) < tol
        previous = mean_ll
        done = met | (iteration == max_iter)
        if not done.any():
            continue
        idx = active[done]
        weights[idx], means[idx], covs[idx] = w_w[done], mu_w[done], cov_w[done]
        n_iter[idx] = iteration
        converged[idx] = met[done]
        keep = ~done
        if not keep.any():
            break
        active = active[keep]
        F_w, Ft_w, reg_w = F_w[keep], Ft_w[keep], reg_w[keep]
        w_w, mu_w, cov_w, previous = w_w[keep], mu_w[keep], cov_w[keep], previous[keep]
    return weights, means, covs, converged, n_iter


def _m_step(resp: Array, F: Array, reg: Array) -> tuple[Array, Array, Array]:
    """Weights (R, k), means (R, k, d), covariances (R, k, d, d) from responsibilities.

    One batched product ``resp (R, k, n) @ F (R, n, p)`` yields every weighted second
    moment, first moment and count; covariances follow as E[x x^T] - mu mu^T + reg I
    (well conditioned because the data are standardised).
    """
    r, k, _ = resp.shape
    d = _dim_from_features(F.shape[2])
    stats = resp @ F
    counts = stats[:, :, -1] + _TINY_COUNT
    weights = counts / counts.sum(axis=1, keepdims=True)
    means = stats[:, :, -1 - d : -1] / counts[:, :, None]
    second = np.empty((r, k, d, d))
    col = 0
    for i in range(d):
        for j in range(i, d):
            second[:, :, i, j] = second[:, :, j, i] = stats[:, :, col]
            col += 1
    covs = second / counts[:, :, None, None] - means[:, :, :, None] * means[:, :, None, :]
    covs += reg[:, None, None, None] * np.eye(d)
    return weights, means, covs


def _theta(weights: Array, means: Array, covs: Array, reg: Array) -> Array:
    """Natural parameters (R, k, p) of the current mixtures, flooring degenerate covariances.

    The floor only bites when round-off (or reg=0) leaves an eigenvalue below half the
    regularisation; EM covariances are otherwise positive definite by construction.
    """
    floor = np.maximum(0.5 * reg, _MIN_RELATIVE_EIGENVALUE)[:, None]
    precisions, logdets = precision_and_logdet(covs, floor)
    return natural_parameters(np.log(weights), means, precisions, logdets)


def _dim_from_features(p: int) -> int:
    d = 0
    while d * (d + 1) // 2 + d + 1 < p:
        d += 1
    return d


def kmeans_labels(Z: Array, k: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """Cluster labels (R, n) from greedy k-means++ seeding followed by Lloyd iterations.

    Mirrors scikit-learn's ``KMeans(n_init=1)`` as ``GaussianMixture`` uses it:
    2 + floor(log k) candidate centres per seeding step, keeping the one that lowers the
    potential most; Lloyd iterations until labels stop changing or the centres move
    less than a small tolerance; empty clusters are re-seeded at the worst-fit point.
    """
    centers = kmeans_plusplus(Z, k, rng)
    return _lloyd(Z, centers)


def kmeans_plusplus(Z: Array, k: int, rng: np.random.Generator) -> Array:
    """Greedy k-means++ centres (R, k, d) for points Z (R, n, d)."""
    r, n, d = Z.shape
    rows = np.arange(r)
    n_trials = 2 + int(np.log(k))
    sq_norms = (Z**2).sum(axis=2)  # (R, n)
    Zt = Z.transpose(0, 2, 1)
    centers = np.empty((r, k, d))
    first = rng.integers(n, size=r)
    centers[:, 0] = Z[rows, first]
    closest = _sq_distances(centers[:, :1], Zt, sq_norms)[:, 0]  # (R, n)
    for c in range(1, k):
        candidates = _d2_sample(closest, n_trials, rng)  # (R, t)
        cand_points = Z[rows[:, None], candidates]  # (R, t, d)
        dist = _sq_distances(cand_points, Zt, sq_norms)  # (R, t, n)
        np.minimum(dist, closest[:, None, :], out=dist)
        best = dist.sum(axis=2).argmin(axis=1)
        centers[:, c] = cand_points[rows, best]
        closest = dist[rows, best]
    return centers


def _sq_distances(points: Array, Zt: Array, sq_norms: Array) -> Array:
    """Squared distances (R, t, n) from points (R, t, d) to data Zt (R, d, n), >= 0."""
    dist = points @ Zt
    dist *= -2.0
    dist += (points**2).sum(axis=2)[:, :, None]
    dist += sq_norms[:, None, :]
    return np.maximum(dist, 0.0, out=dist)


def _d2_sample(weights: Array, n_draws: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """Indices (R, t) drawn with probability proportional to ``weights`` (R, n) per row.

    One ``searchsorted`` over all rows: each row's normalised cumulative sum lies in
    [0, 1], so adding the row number makes the flattened array non-decreasing.
    """
    r, n = weights.shape
    cumulative = np.cumsum(weights, axis=1)
    total = cumulative[:, -1:]
    uniform = np.where(total > 0, cumulative / np.where(total > 0, total, 1.0), 1.0)
    offsets = np.arange(r, dtype=float)[:, None]
    targets = rng.random((r, n_draws)) + offsets
    flat = np.searchsorted((uniform + offsets).ravel(), targets.ravel(), side="right")
    index = flat.reshape(r, n_draws) - np.arange(r)[:, None] * n
    return np.clip(index, 0, n - 1)


def _lloyd(Z: Array, centers: Array) -> NDArray[np.int64]:
    """Lloyd iterations from ``centers`` (R, k, d); returns labels (R, n)."""
    r, n, d = Z.shape
    k = centers.shape[1]
    aug = np.concatenate([Z, np.ones((r, n, 1))], axis=2)  # (R, n, d+1)
    aug_t = aug.transpose(0, 2, 1).copy()
    tol = _KMEANS_TOL * Z.var(axis=1).mean(axis=1)  # scikit-learn's data-scaled tolerance
    labels = np.full((r, n), -1, dtype=np.int64)
    final_centers = centers.copy()
    strict = np.zeros(r, dtype=bool)  # stopped because labels no longer change
    active = np.arange(r)
    C, A, At, T = centers.copy(), aug, aug_t, tol
    L = labels.copy()
    for _ in range(_KMEANS_MAX_ITER):
        new_labels = _nearest_center(C, At)
        onehot = np.zeros((len(active), k, n))
        np.put_along_axis(onehot, new_labels[:, None, :], 1.0, axis=1)
        sums = onehot @ A  # (A, k, d+1)
        counts = sums[:, :, -1]
        safe_counts = np.maximum(counts, 1.0)[:, :, None]
        new_C = np.where(counts[:, :, None] > 0, sums[:, :, :d] / safe_counts, C)
        if (counts == 0).any():
            _reseed_empty(Z[active], new_C, new_labels, counts)
        shift = ((new_C - C) ** 2).sum(axis=(1, 2))
        same = (new_labels == L).all(axis=1)
        done = same | (shift <= T)
        C, L = new_C, new_labels
        labels[active] = L
        final_centers[active] = C
        strict[active] = same
        if done.all():
            break
        keep = ~done
        active = active[keep]
        C, A, At, T, L = C[keep], A[keep], At[keep], T[keep], L[keep]
    return _relabel_loose(labels, final_centers, aug_t, ~strict)


def _nearest_center(C: Array, At: Array) -> NDArray[np.int64]:
    """Index of the nearest centre (R, n) for centres C (R, k, d) and points At (R, d+1, n)."""
    # argmin_j |x - c_j|^2 = argmin_j (|c_j|^2 - 2 c_j . x): one product with [x, 1].
    coef = np.concatenate([-2.0 * C, (C**2).sum(axis=2, keepdims=True)], axis=2)
    return (coef @ At).argmin(axis=1)


def _relabel_loose(
    labels: NDArray[np.int64], centers: Array, aug_t: Array, loose: NDArray[np.bool_]
) -> NDArray[np.int64]:
    """Assign points to the final centres where Lloyd stopped on the centre-shift tolerance
    (labels then lag one step behind the centres, as scikit-learn also corrects), unless
    that would leave a cluster empty."""
    if not loose.any():
        return labels
    rows = np.flatnonzero(loose)
    fresh = _nearest_center(centers[rows], aug_t[rows])
    k = centers.shape[1]
    full = np.array([np.bincount(f, minlength=k).min() > 0 for f in fresh])
    labels[rows[full]] = fresh[full]
    return labels


def _reseed_empty(Z: Array, centers: Array, labels: NDArray[np.int64], counts: Array) -> None:
    """Move each empty cluster's centre (in place) to the point farthest from its centre.

    Rare after k-means++ seeding, so a Python loop over the empty clusters is fine.
    """
    for r, j in zip(*np.nonzero(counts == 0), strict=True):
        gap = ((Z[r] - centers[r, labels[r]]) ** 2).sum(axis=1)
        far = int(gap.argmax())
        centers[r, j] = Z[r, far]
        labels[r, far] = j
