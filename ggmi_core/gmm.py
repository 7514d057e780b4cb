"""Gaussian mixtures, single and batched, with exact log-densities and sampling.

Batched arrays put the scenario axis first and components before points:
``weights (R, k)``, ``means (R, k, d)``, ``covariances (R, k, d, d)``; points ``(R, n, d)``;
per-component log-densities ``(R, k, n)``. Log-densities are natural logs (nats).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import logsumexp

from ggmi_core import _jit

Array = NDArray[np.float64]

_LOG_2PI = float(np.log(2.0 * np.pi))
_MIN_EIGENVALUE = 1e-9


def safe_cholesky(covariances: Array) -> Array:
    """Lower Cholesky factors of a stack of covariances, repairing near-singular ones.

    Near-singular (or slightly indefinite, from round-off) matrices occur with the published
    covariance recipe; their eigenvalues are clipped from below instead of failing.

    Args:
        covariances: shape (..., d, d), symmetric.

    Returns:
        Lower-triangular factors of shape (..., d, d).
    """
    sym = 0.5 * (covariances + np.swapaxes(covariances, -1, -2))
    try:
        return np.linalg.cholesky(sym)
    except np.linalg.LinAlgError:
        eigval, eigvec = np.linalg.eigh(sym)
        floor = _MIN_EIGENVALUE * np.maximum(1.0, np.abs(eigval).max(axis=-1, keepdims=True))
        repaired = (eigvec * np.maximum(eigval, floor)[..., None, :]) @ np.swapaxes(eigvec, -1, -2)
        return np.linalg.cholesky(0.5 * (repaired + np.swapaxes(repaired, -1, -2)))


@dataclass(frozen=True, eq=False)
class GMMBatch:
    """R Gaussian mixtures with the same number of components k in dimension d.

    Attributes:
        weights: (R, k) mixing weights, each row summing to 1.
        means: (R, k, d) component means.
        covariances: (R, k, d, d) component covariances (symmetric positive definite).
    """

    weights: Array
    means: Array
    covariances: Array

    def __post_init__(self) -> None:
        w = np.asarray(self.weights, dtype=float)
        mu = np.asarray(self.means, dtype=float)
        cov = np.asarray(self.covariances, dtype=float)
        if w.ndim != 2 or mu.ndim != 3 or cov.ndim != 4:
            raise ValueError("GMMBatch needs weights (R,k), means (R,k,d), covariances (R,k,d,d)")
        r, k = w.shape
        if mu.shape[:2] != (r, k) or cov.shape != (r, k, mu.shape[2], mu.shape[2]):
            raise ValueError(
                f"inconsistent shapes: weights {w.shape}, means {mu.shape}, covariances {cov.shape}"
            )
        if not (np.isfinite(w).all() and np.isfinite(mu).all() and np.isfinite(cov).all()):
            raise ValueError("mixture parameters must be finite")
        if (w < 0).any() or not np.allclose(w.sum(axis=1), 1.0, atol=1e-6):
            raise ValueError("mixture weights must be non-negative and sum to 1")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "means", mu)
        object.__setattr__(self, "covariances", cov)

    @property
    def n_scenarios(self) -> int:
        return self.weights.shape[0]

    @property
    def n_components(self) -> int:
        return self.weights.shape[1]

    @property
    def dim(self) -> int:
        return self.means.shape[2]

    @cached_property
    def cholesky(self) -> Array:
        """Lower Cholesky factors, (R, k, d, d)."""
        return safe_cholesky(self.covariances)

    @cached_property
    def _inverse_cholesky(self) -> Array:
        eye = np.broadcast_to(np.eye(self.dim), self.cholesky.shape)
        return np.linalg.solve(self.cholesky, eye)

    @cached_property
    def _log_norm(self) -> Array:
        """log weight - log normaliser of each component, (R, k)."""
        log_det = 2.0 * np.log(np.diagonal(self.cholesky, axis1=-2, axis2=-1)).sum(axis=-1)
        with np.errstate(divide="ignore"):
            log_w = np.log(self.weights)
        return log_w - 0.5 * (self.dim * _LOG_2PI + log_det)

    def component_logpdf(self, X: ArrayLike) -> Array:
        """Weighted per-component log-densities log(w_j N(x; mu_j, Sigma_j)), (R, k, n).

        Args:
            X: points, (R, n, d).
        """
        X = self._check_points(X)
        diff = X[:, None, :, :] - self.means[:, :, None, :]  # (R, k, n, d)
        whitened = diff @ np.swapaxes(self._inverse_cholesky, -1, -2)
        maha = np.einsum("rknd,rknd->rkn", whitened, whitened)
        return self._log_norm[:, :, None] - 0.5 * maha

    def logpdf(self, X: ArrayLike) -> Array:
        """Mixture log-density in nats at each point, (R, n) for X of shape (R, n, d)."""
        return logsumexp(self.component_logpdf(X), axis=1)

    def responsibilities(self, X: ArrayLike) -> Array:
        """Posterior component probabilities, (R, k, n)."""
        comp = self.component_logpdf(X)
        return np.exp(comp - logsumexp(comp, axis=1, keepdims=True))

    def sample(self, n: int, rng: np.random.Generator) -> tuple[Array, NDArray[np.int64]]:
        """Draw n points from each mixture.

        Returns:
            points (R, n, d) and the component label of each point (R, n).
        """
        n = int(n)
        if n < 0:
            raise ValueError(f"sample size must be non-negative; got {n}")
        labels = sample_labels(self.weights, n, rng)
        # Compiled, with the values and generator state of means[rows, labels] +
        # einsum("rnij,rnj->rni", cholesky[rows, labels], rng.standard_normal((R, n, d)))
        # bit for bit; numpy holds the generator's lock while drawing, and so do we.
        with rng.bit_generator.lock:
            points = _jit.draw_component_points(
                rng,
                np.ascontiguousarray(self.means, dtype=float),
                np.ascontiguousarray(self.cholesky, dtype=float),
                np.ascontiguousarray(labels, dtype=np.int64),
            )
        return points, labels

    def __getitem__(self, r: int) -> GMM:
        return GMM(self.weights[r], self.means[r], self.covariances[r])

    def _check_points(self, X: ArrayLike) -> Array:
        X = np.asarray(X, dtype=float)
        if X.ndim != 3 or X.shape[0] != self.n_scenarios or X.shape[2] != self.dim:
            raise ValueError(
                f"points must have shape (R={self.n_scenarios}, n, d={self.dim}); got {X.shape}"
            )
        return X

    @staticmethod
    def stack(mixtures: Sequence[GMM]) -> GMMBatch:
        """Batch mixtures that share k and d."""
        return GMMBatch(
            np.stack([m.weights for m in mixtures]),
            np.stack([m.means for m in mixtures]),
            np.stack([m.covariances for m in mixtures]),
        )

    def with_added_covariance(self, extra: float) -> GMMBatch:
        """The same mixtures convolved with N(0, extra * I) (adds extra to every variance)."""
        eye = np.eye(self.dim)
        return GMMBatch(self.weights, self.means, self.covariances + extra * eye)

    def with_weights(self, weights: ArrayLike) -> GMMBatch:
        """The same components with other mixing weights, (R, k) or (k,)."""
        w = np.broadcast_to(np.asarray(weights, dtype=float), self.weights.shape)
        return GMMBatch(w.copy(), self.means, self.covariances)


class GMM:
    """One Gaussian mixture: weights (k,), means (k, d), covariances (k, d, d).

    A thin view over a ``GMMBatch`` of one scenario, so both share one implementation.
    """

    def __init__(self, weights: ArrayLike, means: ArrayLike, covariances: ArrayLike) -> None:
        w = np.asarray(weights, dtype=float)
        mu = np.asarray(means, dtype=float)
        cov = np.asarray(covariances, dtype=float)
        if mu.ndim == 1:  # one-dimensional data given as (k,)
            mu = mu[:, None]
        if cov.ndim == 1:
            cov = cov[:, None, None]
        self._batch = GMMBatch(w[None], mu[None], cov[None])

    @property
    def weights(self) -> Array:
        return self._batch.weights[0]

    @property
    def means(self) -> Array:
        return self._batch.means[0]

    @property
    def covariances(self) -> Array:
        return self._batch.covariances[0]

    @property
    def n_components(self) -> int:
        return self._batch.n_components

    @property
    def dim(self) -> int:
        return self._batch.dim

    def as_batch(self) -> GMMBatch:
        """This mixture as a batch of one scenario."""
        return self._batch

    def logpdf(self, X: ArrayLike) -> Array:
        """Log-density in nats, (n,) for points X of shape (n, d)."""
        return self._batch.logpdf(_as_points(X, self.dim)[None])[0]

    def sample(self, n: int, rng: np.random.Generator) -> Array:
        """n points, (n, d)."""
        return self.sample_with_labels(n, rng)[0]

    def sample_with_labels(
        self, n: int, rng: np.random.Generator
    ) -> tuple[Array, NDArray[np.int64]]:
        """n points (n, d) and their component labels (n,)."""
        points, labels = self._batch.sample(n, rng)
        return points[0], labels[0]

    def __repr__(self) -> str:
        return f"GMM(n_components={self.n_components}, dim={self.dim})"


def sample_labels(weights: Array, n: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """Draw n component labels per row of ``weights`` (R, k) by inverse CDF, (R, n)."""
    cdf = np.cumsum(weights, axis=1)
    cdf[:, -1] = 1.0  # guard against round-off leaving the last bin short
    u = rng.random((weights.shape[0], n))
    labels = np.empty(u.shape, dtype=np.int64)
    for r in range(weights.shape[0]):  # searchsorted is per row; R is small
        labels[r] = np.searchsorted(cdf[r], u[r], side="right")
    return np.minimum(labels, weights.shape[1] - 1)


def _as_points(X: ArrayLike, dim: int) -> Array:
    X = np.asarray(X, dtype=float)
    if X.ndim == 1 and dim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != dim:
        raise ValueError(f"points must have shape (n, d={dim}); got {X.shape}")
    return X
