"""The numpy implementation of the simulation core's kernels: the tests' oracle only.

This is the code ``ggmi_core`` ran before its loops were compiled (``ggmi_core._jit``):
batched numpy passes over quadratic point features for mixture log-densities, EM with a
k-means++ start; its normal draws are numpy's own (``Generator.standard_normal``), not
the compiled samplers', so it checks their random stream too. It is not imported by
anything at run time; ``test_jit_oracle.py`` checks the compiled kernels against it (and
both against a long-double reference).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ggmi_core._kernels import (
    MAX_BLOCK_ELEMENTS,
    cholesky_factors,
    n_features,
    natural_parameters,
    precision_and_logdet,
)
from ggmi_core.divergences import HIST_CLIP, _log_count_table
from ggmi_core.em import (
    _KMEANS_MAX_ITER,
    _KMEANS_TOL,
    _MIN_RELATIVE_EIGENVALUE,
    EMResult,
    _checked_labels,
    _validated_points,
)
from ggmi_core.gmm import GMMBatch
from ggmi_core.scenario import ANCHOR_COV_JITTER

Array = NDArray[np.float64]
_TINY_COUNT = 10 * np.finfo(float).eps


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


def mixtures_logpdf_numpy(
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


def fit_gmm_batch_numpy(
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


def _standardisation(X: Array) -> tuple[Array, Array]:
    """Per-data-set centre (R, d) and isotropic scale (R,) (1 for constant data)."""
    shift = X.mean(axis=1)
    scale = np.sqrt(((X - shift[:, None, :]) ** 2).mean(axis=(1, 2)))
    return shift, np.where(scale > 0, scale, 1.0)


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


def sample_mixture_numpy(
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


def sample_components_numpy(
    rng: np.random.Generator, means: Array, covs: Array, labels: NDArray[np.int64]
) -> Array:
    """``scenario._sample_components`` as numpy code: one draw from component
    ``labels[r, i]`` of scenario r for every entry, (R, n, d), numpy's own normals."""
    factors = cholesky_factors(covs)
    rows = np.arange(means.shape[0])[:, None]
    z = rng.standard_normal((*labels.shape, means.shape[-1]))
    return means[rows, labels] + np.einsum("rnij,rnj->rni", factors[rows, labels], z)


def anchor_cluster_estimates_numpy(anchor_X: Array, K: int, n_k: int) -> tuple[Array, Array]:
    """``scenario._anchor_cluster_estimates`` as numpy code: sample means (R, K, d) and
    sample covariances + 1e-6 I (R, K, d, d), ddof=1."""
    rounds, _, d = anchor_X.shape
    clusters = anchor_X.reshape(rounds, K, n_k, d)
    means = clusters.mean(axis=2)
    centred = clusters - means[:, :, None, :]
    covs = np.einsum("rkni,rknj->rkij", centred, centred) / (n_k - 1)
    return means, covs + ANCHOR_COV_JITTER * np.eye(d)


def js_summands_numpy(log_own: Array, log_other: Array) -> Array:
    """log(2p / (p + q)) = log 2 - log(1 + q/p) with numpy's logaddexp (the code before
    the compiled kernels)."""
    return np.log(2.0) - np.logaddexp(0.0, log_other - log_own)


def js_gap_moments_numpy(
    log_g_y: Array,
    log_a_y: Array,
    log_s_y: Array,
    log_a_x: Array,
    log_g_xa: Array,
    log_s_x: Array,
    log_g_xs: Array,
) -> tuple[Array, Array]:
    """``divergences.js_gap_moments`` as numpy passes: means and standard errors (R, 5)."""
    fx_a = js_summands_numpy(log_a_x, log_g_xa)
    fy_a = js_summands_numpy(log_g_y, log_a_y)
    fx_s = js_summands_numpy(log_s_x, log_g_xs)
    fy_s = js_summands_numpy(log_g_y, log_s_y)
    columns = (fx_a, fy_a, fx_s, fy_s, fy_a - fy_s)
    means = np.stack([c.mean(axis=1) for c in columns], axis=1)
    ses = np.stack([c.std(axis=1, ddof=1) / np.sqrt(c.shape[1]) for c in columns], axis=1)
    return means, ses


@contextmanager
def numpy_kernels() -> Iterator[None]:
    """Inside the block, ``simulate`` and the divergences run this numpy code (the
    implementation before the compiled kernels), for side-by-side comparisons."""
    from ggmi_core import divergences, scenario, simulation

    def one_logpdf(weights, means, covariances, X, floor=0.0):
        return mixtures_logpdf_numpy([(weights, means, covariances)], X, floor)[0]

    def points(weights, means, factors, n, rng):
        return sample_mixture_numpy(weights, means, factors, n, rng)[0]

    saved = {
        (simulation, "fit_gmm_batch"): simulation.fit_gmm_batch,
        (divergences, "mixtures_logpdf"): divergences.mixtures_logpdf,
        (divergences, "mixture_logpdf"): divergences.mixture_logpdf,
        (divergences, "sample_points"): divergences.sample_points,
        (divergences, "js_summands"): divergences.js_summands,
        (divergences, "js_gap_moments"): divergences.js_gap_moments,
        (scenario, "_sample_components"): scenario._sample_components,
        (scenario, "_anchor_cluster_estimates"): scenario._anchor_cluster_estimates,
    }
    replacement = {
        "fit_gmm_batch": fit_gmm_batch_numpy,
        "mixtures_logpdf": mixtures_logpdf_numpy,
        "mixture_logpdf": one_logpdf,
        "sample_points": points,
        "js_summands": js_summands_numpy,
        "js_gap_moments": js_gap_moments_numpy,
        "_sample_components": sample_components_numpy,
        "_anchor_cluster_estimates": anchor_cluster_estimates_numpy,
    }
    try:
        for module, name in saved:
            setattr(module, name, replacement[name])
        yield
    finally:
        for (module, name), value in saved.items():
            setattr(module, name, value)


def histogram_kl_from_samples_numpy(Xp: Array, Xq: Array, bins: int = 50) -> Array:
    """Published histogram KL for B pairs of sample sets Xp, Xq (B, n, d) -> (B,) nats.

    Per pair: densities c = max(count / (n * bin volume), 1e-10) on each set's own grid,
    P = c_p / sum(c_p), Q = c_q / sum(c_q), KL = sum P log(P / Q) over the cell indices
    (as ``scipy.stats.entropy`` of the two clipped ``histogramdd(density=True)`` arrays).
    """
    n = Xp.shape[1]
    # log(count) by table look-up: far cheaper than a log over every (mostly empty) cell.
    log_count = _log_count_table(max(n, Xq.shape[1]))
    c_p, log_c_p = _clipped_densities(Xp, bins, log_count)
    c_q, log_c_q = _clipped_densities(Xq, bins, log_count)
    z_p = c_p.sum(axis=1)
    z_q = c_q.sum(axis=1)
    log_c_p -= log_c_q
    cross = np.einsum("bi,bi->b", c_p, log_c_p)
    return cross / z_p - np.log(z_p) + np.log(z_q)


def _clipped_densities(X: Array, bins: int, log_count: Array) -> tuple[Array, Array]:
    """Clipped histogram densities and their logs, each (B, bins^d), for X (B, n, d)."""
    counts, volume = _histogram_counts(X, bins)
    scale = 1.0 / (X.shape[1] * volume)  # (B,)
    dens = counts * scale[:, None]
    np.maximum(dens, HIST_CLIP, out=dens)
    log_dens = log_count[counts]
    log_dens += np.log(scale)[:, None]
    np.maximum(log_dens, np.log(HIST_CLIP), out=log_dens)
    return dens, log_dens


def _histogram_counts(X: Array, bins: int) -> tuple[NDArray[np.int64], Array]:
    """Cell counts (B, bins^d) and cell volumes (B,) of B sample sets X (B, n, d).

    Matches ``numpy.histogramdd(x, bins)``: each set on its own per-axis range
    [min, max] (widened by 0.5 each side when degenerate), last bin closed on the right.
    """
    b, _, d = X.shape
    Xt = np.ascontiguousarray(X.transpose(0, 2, 1))  # (B, d, n): fast per-axis reductions
    lo = Xt.min(axis=2)
    hi = Xt.max(axis=2)
    flat = lo == hi
    lo = np.where(flat, lo - 0.5, lo)
    hi = np.where(flat, hi + 0.5, hi)
    width = (hi - lo) / bins  # (B, d)
    # Bin coordinates stay in floating point until one final cast (fewer passes).
    Xt -= lo[:, :, None]
    Xt /= width[:, :, None]
    np.floor(Xt, out=Xt)
    np.clip(Xt, 0, bins - 1, out=Xt)
    cell = Xt[:, 0].copy()
    for axis in range(1, d):
        cell *= bins
        cell += Xt[:, axis]
    n_bins = bins**d
    cell += (np.arange(b) * float(n_bins))[:, None]
    counts = np.bincount(cell.astype(np.int64).ravel(), minlength=b * n_bins)
    return counts.reshape(b, n_bins), np.prod(width, axis=1)
