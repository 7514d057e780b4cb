"""Divergences and entropies between Gaussian mixtures, in nats, with standard errors.

The default estimators are Monte Carlo averages with exact log-densities:

* ``kl_divergence(p, q)``   KL(P || Q) = E_P[log p - log q]
* ``js_divergence(p, q)``   JS = (KL(P || M) + KL(Q || M)) / 2 with M = (P + Q) / 2,
  half of the samples from each side; every summand is at most log 2
* ``total_variation(p, q)`` TV = E_P[(1 - q/p)_+]  (in [0, 1])
* ``entropy(p)``            h(P) = -E_P[log p]

Each takes ``GMM`` (returns a scalar ``Estimate``) or ``GMMBatch`` (returns an
``Estimate`` of arrays (R,)); a single ``GMM`` paired with a batch is broadcast.
The standard error is that of the Monte Carlo mean (ddof=1), not of any modelling choice.

``histogram_kl`` is the estimator of the published code, kept to reproduce Figure 4:
50-bin-per-axis histograms of 1,000 samples from each side, each on its own data range,
densities clipped at 1e-10 and renormalised, averaged over resamplings. It is biased
(clearly positive on two identical mixtures) and only defined here for d <= 2.
Closed forms for single Gaussians (``gaussian_kl``, ``gaussian_entropy``,
``gaussian_tv_1d``) serve the tests and the app's explanations.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import erf

from ggmi_core import _jit
from ggmi_core._kernels import (
    cholesky_factors,
    mixture_logpdf,
    mixtures_logpdf,
    sample_points,
)
from ggmi_core.estimate import Estimate, mean_and_stderr
from ggmi_core.gmm import GMM, GMMBatch

Array = NDArray[np.float64]
Mixture = GMM | GMMBatch

LOG2 = math.log(2.0)
HIST_CLIP = 1e-10
# Points per histogram block (scenarios x resamplings x samples) to bound memory.
_HIST_BLOCK_POINTS = 2_000_000


# ---------------------------------------------------------------- mixtures as batches


def as_batch_pair(p: Mixture, q: Mixture) -> tuple[GMMBatch, GMMBatch, bool]:
    """Both mixtures as batches with the same R (a single GMM is repeated).

    Returns the two batches and whether the inputs were both single mixtures.
    """
    single = isinstance(p, GMM) and isinstance(q, GMM)
    pb, qb = _to_batch(p), _to_batch(q)
    if pb.dim != qb.dim:
        raise ValueError(f"mixtures differ in dimension: {pb.dim} vs {qb.dim}")
    r = max(pb.n_scenarios, qb.n_scenarios)
    return _repeat(pb, r), _repeat(qb, r), single


def log_density(mixture: GMMBatch, X: Array) -> Array:
    """Mixture log-density in nats, (R, n), for points X (R, n, d) (fast batched path)."""
    return mixture_logpdf(mixture.weights, mixture.means, mixture.covariances, X)


def log_densities(mixtures: list[GMMBatch], X: Array) -> list[Array]:
    """Log-densities (R, n) of several batches at the same points X (R, n, d), sharing
    the point features and one matrix product (cheaper than separate calls)."""
    params = [(m.weights, m.means, m.covariances) for m in mixtures]
    return mixtures_logpdf(params, X)


def draw(mixture: GMMBatch, n: int, rng: np.random.Generator) -> Array:
    """n i.i.d. points from each mixture of the batch, (R, n, d), for Monte Carlo.

    Within a scenario the points come grouped by component (see
    ``_kernels.sample_mixture``): fine for averages and histograms, but take
    ``GMMBatch.sample`` when the order matters (e.g. splitting one draw into sub-samples).
    """
    factors = cholesky_factors(mixture.covariances)
    return sample_points(mixture.weights, mixture.means, factors, n, rng)


def _to_batch(m: Mixture) -> GMMBatch:
    if isinstance(m, GMM):
        return m.as_batch()
    if isinstance(m, GMMBatch):
        return m
    raise TypeError(f"expected a GMM or GMMBatch; got {type(m).__name__}")


def _repeat(b: GMMBatch, r: int) -> GMMBatch:
    if b.n_scenarios == r:
        return b
    if b.n_scenarios != 1:
        raise ValueError(f"batches differ in scenario count: {b.n_scenarios} vs {r}")
    return GMMBatch(
        np.repeat(b.weights, r, axis=0),
        np.repeat(b.means, r, axis=0),
        np.repeat(b.covariances, r, axis=0),
    )


def _checked_samples(n_samples: int, minimum: int = 2) -> int:
    if isinstance(n_samples, bool) or int(n_samples) != n_samples or n_samples < minimum:
        raise ValueError(f"n_samples must be an integer >= {minimum}; got {n_samples!r}")
    return int(n_samples)


def _finish(estimate: Estimate, single: bool) -> Estimate:
    if single:
        return Estimate(
            float(np.asarray(estimate.value).reshape(-1)[0]),
            float(np.asarray(estimate.stderr).reshape(-1)[0]),
        )
    return Estimate(np.atleast_1d(estimate.value), np.atleast_1d(estimate.stderr))


# ---------------------------------------------------------------- Monte Carlo estimators


def kl_divergence(p: Mixture, q: Mixture, n_samples: int, rng: np.random.Generator) -> Estimate:
    """KL(P || Q) in nats by Monte Carlo: E_P[log p - log q] over n_samples draws of P."""
    pb, qb, single = as_batch_pair(p, q)
    X = draw(pb, _checked_samples(n_samples), rng)
    return _finish(kl_terms(pb, qb, X), single)


def kl_terms(p: GMMBatch, q: GMMBatch, X: Array, log_p: Array | None = None) -> Estimate:
    """KL(P || Q) from given draws X (R, n, d) of P (``log_p`` may be passed in)."""
    lp = log_density(p, X) if log_p is None else log_p
    return mean_and_stderr(lp - log_density(q, X))


def entropy(p: Mixture, n_samples: int, rng: np.random.Generator) -> Estimate:
    """Differential entropy h(P) = -E_P[log p] in nats, over n_samples draws of P."""
    pb = _to_batch(p)
    X = draw(pb, _checked_samples(n_samples), rng)
    return _finish(mean_and_stderr(-log_density(pb, X)), isinstance(p, GMM))


def total_variation(p: Mixture, q: Mixture, n_samples: int, rng: np.random.Generator) -> Estimate:
    """Total variation sup_A |P(A) - Q(A)| = E_P[(1 - q/p)_+] (a probability, in [0, 1])."""
    pb, qb, single = as_batch_pair(p, q)
    X = draw(pb, _checked_samples(n_samples), rng)
    return _finish(tv_terms(log_density(pb, X), log_density(qb, X)), single)


def tv_terms(log_p: Array, log_q: Array) -> Estimate:
    """TV from log-densities of both mixtures at draws of P, each (R, n)."""
    return mean_and_stderr(np.maximum(1.0 - np.exp(np.minimum(log_q - log_p, 0.0)), 0.0))


def js_divergence(p: Mixture, q: Mixture, n_samples: int, rng: np.random.Generator) -> Estimate:
    """Jensen-Shannon divergence in nats (at most log 2), half the draws from each side.

    JS = 1/2 E_P[log(2p / (p + q))] + 1/2 E_Q[log(2q / (p + q))].
    """
    pb, qb, single = as_batch_pair(p, q)
    n_samples = _checked_samples(n_samples, minimum=4)
    n_p = n_samples // 2
    X = draw(pb, n_p, rng)
    Y = draw(qb, n_samples - n_p, rng)
    est = js_terms(log_density(pb, X), log_density(qb, X), log_density(pb, Y), log_density(qb, Y))
    return _finish(est, single)


def js_terms(lp_x: Array, lq_x: Array, lp_y: Array, lq_y: Array) -> Estimate:
    """JS from log-densities at draws X of P and Y of Q, each (R, n_x) or (R, n_y)."""
    return js_terms_from_summands(js_summands(lp_x, lq_x), js_summands(lq_y, lp_y))


def js_summands(log_own: Array, log_other: Array) -> Array:
    """log(2p / (p + q)) = log 2 - log(1 + q/p) at draws of P, from log p and log q,
    each (R, n) (compiled: ``ggmi_core._jit.js_summands``)."""
    own, other = np.broadcast_arrays(np.asarray(log_own, float), np.asarray(log_other, float))
    shape = own.shape
    flat = (-1, shape[-1]) if own.ndim else (1, 1)
    out = _jit.js_summands(
        np.ascontiguousarray(own.reshape(flat)), np.ascontiguousarray(other.reshape(flat))
    )
    return out.reshape(shape)


def js_gap_moments(
    log_g_y: Array,
    log_a_y: Array,
    log_s_y: Array,
    log_a_x: Array,
    log_g_xa: Array,
    log_s_x: Array,
    log_g_xs: Array,
) -> tuple[Array, Array]:
    """Per-scenario means and standard errors (R, 5) of the JS gap's summands, in nats.

    Inputs are log-densities (R, n_y) of G, the anchor fit and the synthetic fit at
    draws Y of G, and (R, n_x) of each fit and G at that fit's own draws. Columns, in
    order: f_x and f_y of the anchor fit, f_x and f_y of the synthetic fit, and the
    difference of the two f_y (shared draws of G), where f_x = log(2 pi / (pi + G)) at
    draws of pi and f_y = log(2 G / (pi + G)) at draws of G. Means and standard errors
    (ddof=1) are computed as ``mean_and_stderr`` does, in one compiled pass per scenario.
    """
    arrays = [
        np.ascontiguousarray(a, dtype=float)
        for a in (log_g_y, log_a_y, log_s_y, log_a_x, log_g_xa, log_s_x, log_g_xs)
    ]
    means, stds = _jit.js_gap_moments(*arrays)
    n_y, n_x = arrays[0].shape[1], arrays[3].shape[1]
    root_n = np.sqrt(np.array([n_x, n_y, n_x, n_y, n_y], dtype=float))
    return means, stds / root_n


def js_terms_from_summands(f_x: Array, f_y: Array) -> Estimate:
    """JS from its summands log(2p/(p+q)) at draws of P (R, n_x) and log(2q/(p+q)) at
    draws of Q (R, n_y): value (mean_x + mean_y) / 2 and its standard error."""
    ex, ey = mean_and_stderr(f_x), mean_and_stderr(f_y)
    value = 0.5 * (np.asarray(ex.value) + np.asarray(ey.value))
    stderr = 0.5 * np.hypot(ex.stderr, ey.stderr)
    return Estimate(value, stderr)


# ---------------------------------------------------------------- published histogram KL


def histogram_kl(
    p: Mixture,
    q: Mixture,
    rng: np.random.Generator,
    n_samples: int = 1000,
    bins: int = 50,
    n_resamples: int = 100,
) -> Estimate:
    """The published histogram estimate of KL(P || Q) in nats (biased; d <= 2 only).

    Each resampling draws ``n_samples`` points from each side, bins each set on its own
    data range (``bins`` per axis, so the two grids do not line up), clips the densities
    at 1e-10, renormalises and sums p log(p/q). The value is the mean over
    ``n_resamples`` resamplings; the standard error is their spread / sqrt(n_resamples).
    """
    pb, qb, single = as_batch_pair(p, q)
    _check_histogram_args(pb.dim, n_samples, bins, n_resamples)
    values = np.empty((pb.n_scenarios, n_resamples))
    for rows, cols in histogram_blocks(pb.n_scenarios, n_resamples, n_samples):
        t = cols.stop - cols.start
        Xp = draw(repeat_rows(pb, rows, t), n_samples, rng)
        Xq = draw(repeat_rows(qb, rows, t), n_samples, rng)
        values[rows, cols] = histogram_kl_from_samples(Xp, Xq, bins).reshape(-1, t)
    return _finish(mean_and_stderr(values), single)


def histogram_kl_from_samples(Xp: Array, Xq: Array, bins: int = 50) -> Array:
    """Published histogram KL for B pairs of sample sets Xp, Xq (B, n, d) -> (B,) nats.

    Per pair: densities c = max(count / (n * bin volume), 1e-10) on each set's own grid,
    P = c_p / sum(c_p), Q = c_q / sum(c_q), KL = sum P log(P / Q) over the cell indices
    (as ``scipy.stats.entropy`` of the two clipped ``histogramdd(density=True)`` arrays).
    """
    # log(count) by table look-up: far cheaper than a log over every (mostly empty) cell.
    log_count = _log_count_table(max(Xp.shape[1], Xq.shape[1]))
    return _jit.histogram_kl_pairs(
        np.ascontiguousarray(Xp, dtype=float),
        np.ascontiguousarray(Xq, dtype=float),
        int(bins),
        log_count,
        math.log(HIST_CLIP),
    )


def _log_count_table(n: int) -> Array:
    table = np.empty(n + 1)
    table[0] = -np.inf
    table[1:] = np.log(np.arange(1, n + 1, dtype=float))
    return table


def _check_histogram_args(d: int, n_samples: int, bins: int, n_resamples: int) -> None:
    if d > 2:
        raise ValueError(
            f"histogram_kl (the published estimator) needs dim <= 2 (bins^d cells); got d={d}"
        )
    _checked_samples(n_samples)
    if isinstance(bins, bool) or int(bins) != bins or not 1 <= bins <= 1000:
        raise ValueError(f"bins must be an integer in 1..1000; got {bins!r}")
    if isinstance(n_resamples, bool) or int(n_resamples) != n_resamples or n_resamples < 2:
        raise ValueError(f"n_resamples must be an integer >= 2; got {n_resamples!r}")


def histogram_blocks(n_rows: int, n_resamples: int, n_samples: int):
    """(scenario slice, resampling slice) blocks of at most ~_HIST_BLOCK_POINTS points."""
    per_row = n_resamples * n_samples
    if per_row <= _HIST_BLOCK_POINTS:
        step = max(1, _HIST_BLOCK_POINTS // per_row)
        for start in range(0, n_rows, step):
            yield slice(start, min(n_rows, start + step)), slice(0, n_resamples)
        return
    t = max(1, _HIST_BLOCK_POINTS // n_samples)
    for r in range(n_rows):
        for start in range(0, n_resamples, t):
            yield slice(r, r + 1), slice(start, min(n_resamples, start + t))


def repeat_rows(b: GMMBatch, rows: slice, times: int = 1) -> GMMBatch:
    """Scenarios ``rows`` of a batch, each repeated ``times`` times in a row.

    Resamplings need separate rows: ``draw`` groups points by component within a row,
    so one long row cannot be cut into independent sample sets.
    """
    return GMMBatch(
        np.repeat(b.weights[rows], times, axis=0),
        np.repeat(b.means[rows], times, axis=0),
        np.repeat(b.covariances[rows], times, axis=0),
    )


# ---------------------------------------------------------------- closed forms


def gaussian_kl(mean_p: ArrayLike, cov_p: ArrayLike, mean_q: ArrayLike, cov_q: ArrayLike) -> float:
    """Exact KL(N(mean_p, cov_p) || N(mean_q, cov_q)) in nats."""
    mp, mq = np.atleast_1d(np.asarray(mean_p, float)), np.atleast_1d(np.asarray(mean_q, float))
    cp, cq = np.atleast_2d(np.asarray(cov_p, float)), np.atleast_2d(np.asarray(cov_q, float))
    d = mp.shape[0]
    inv_q = np.linalg.inv(cq)
    diff = mq - mp
    _, logdet_p = np.linalg.slogdet(cp)
    _, logdet_q = np.linalg.slogdet(cq)
    return 0.5 * float(np.trace(inv_q @ cp) + diff @ inv_q @ diff - d + logdet_q - logdet_p)


def gaussian_entropy(cov: ArrayLike) -> float:
    """Exact differential entropy of N(., cov) in nats: (d log(2 pi e) + log det cov) / 2."""
    c = np.atleast_2d(np.asarray(cov, float))
    _, logdet = np.linalg.slogdet(c)
    return 0.5 * float(c.shape[0] * math.log(2.0 * math.pi * math.e) + logdet)


def gaussian_tv_1d(mean_p: float, mean_q: float, std: float) -> float:
    """Exact TV between N(mean_p, std^2) and N(mean_q, std^2): erf(|delta| / (2 sqrt 2 std))."""
    return float(erf(abs(mean_p - mean_q) / (2.0 * math.sqrt(2.0) * std)))
