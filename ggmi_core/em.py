"""Batched expectation-maximisation for full-covariance Gaussian mixtures.

Fits R independent data sets at once (X of shape (R, n, d)), following scikit-learn's
``GaussianMixture`` defaults as the published code used them: k-means initialisation
(greedy k-means++ seeding, then Lloyd iterations, one start), then EM until the mean
log-likelihood per sample changes by less than ``tol``, adding ``reg`` to every
covariance diagonal, for at most ``max_iter`` iterations.

The loops run compiled (``ggmi_core._jit``): each data set's whole EM (E-step as one
product of natural parameters with quadratic point features, M-step from the
responsibility-weighted feature sums, the convergence test) and its k-means start run
in one call, with the random draws of the k-means++ seeding made here with numpy in a
fixed order. The numpy formulation of the same steps is kept as the tests' oracle
(``tests/core/numpy_reference.py``). Each data set is centred and scaled to unit spread
before fitting (the fit is equivariant, and this keeps the moment formulas well
conditioned); results are mapped back. Log-likelihoods are in nats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ggmi_core import _jit
from ggmi_core.gmm import GMM, GMMBatch

Array = NDArray[np.float64]

# Eigenvalue floor (in units of the standardised data's variance) that applies when a
# covariance degenerates below the requested regularisation, e.g. when reg=0.
_MIN_RELATIVE_EIGENVALUE = 1e-10
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
    # Centred and scaled (one compiled pass, numpy's arithmetic), with the spread that
    # scales Lloyd's tolerance.
    Z, shift, scale, spread = _jit.standardise(np.ascontiguousarray(X))
    reg_z = reg / scale**2

    labels = (
        kmeans_labels(Z, k, rng, spread)
        if init_labels is None
        else _checked_labels(init_labels, r, n, k)
    )
    # The floor only bites when round-off (or reg=0) leaves an eigenvalue below half the
    # regularisation; EM covariances are otherwise positive definite by construction.
    floor = np.maximum(0.5 * reg_z, _MIN_RELATIVE_EIGENVALUE)
    weights, means, covs, converged, n_iter, mean_loglik = _jit.em_fit(
        Z, labels, k, reg_z, floor, float(tol), int(max_iter)
    )
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
    return np.ascontiguousarray(labels, dtype=np.int64)


def kmeans_labels(
    Z: Array, k: int, rng: np.random.Generator, spread: Array | None = None
) -> NDArray[np.int64]:
    """Cluster labels (R, n) from greedy k-means++ seeding followed by Lloyd iterations.

    Mirrors scikit-learn's ``KMeans(n_init=1)`` as ``GaussianMixture`` uses it:
    2 + floor(log k) candidate centres per seeding step, keeping the one that lowers the
    potential most; Lloyd iterations until labels stop changing or the centres move
    less than a small tolerance; empty clusters are re-seeded at the worst-fit point.
    ``spread`` (R,), the mean over coordinates of each data set's variance, scales that
    tolerance (computed from Z when not given).
    """
    Z = np.ascontiguousarray(Z, dtype=float)
    centers = kmeans_plusplus(Z, k, rng)
    if spread is None:
        spread = Z.var(axis=1).mean(axis=1)
    return _lloyd(Z, centers, spread)


def kmeans_plusplus(Z: Array, k: int, rng: np.random.Generator) -> Array:
    """Greedy k-means++ centres (R, k, d) for points Z (R, n, d).

    The draws: the first centre of every data set, then for each further centre
    2 + floor(log k) uniforms per data set (one (k-1, R, t) array, the same stream as
    drawing (R, t) at each step).
    """
    Z = np.ascontiguousarray(Z, dtype=float)
    r, n, _ = Z.shape
    n_trials = 2 + int(np.log(k))
    sq_norms = _jit.point_sq_norms(Z)  # (R, n), (Z**2).sum(axis=2) bit for bit
    first = rng.integers(n, size=r)
    uniforms = rng.random((k - 1, r, n_trials))
    return _jit.kmeans_plusplus(Z, sq_norms, k, first.astype(np.int64), uniforms)


def _lloyd(Z: Array, centers: Array, spread: Array) -> NDArray[np.int64]:
    """Lloyd iterations from ``centers`` (R, k, d); returns labels (R, n)."""
    tol = _KMEANS_TOL * spread  # scikit-learn's data-scaled tolerance
    return _jit.lloyd(Z, np.ascontiguousarray(centers), tol, _KMEANS_MAX_ITER)
