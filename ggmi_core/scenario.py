"""Batched generation of the paper's GMM scenarios (Appendix B; the published code's recipe).

One scenario is: a target G (K+J components), anchor data from G's first K components,
a model M (K+J+L components: anchor-cluster estimates, G's unsampled components, and
task-irrelevant random ones), and synthetic data from D_gen (M's output after prompt
adherence and curation noise). ``generate_scenarios`` draws R independent scenarios at
once with a leading scenario axis; the defaults reproduce the published code.

Published covariance recipe: the published code draws A B^T with A, B independent
uniform [0,1]^(d x d). That matrix is not symmetric; numpy's sampler then effectively
uses V^T diag(s) V from the SVD A B^T = U diag(s) V, which equals the symmetric square
root of (A B^T)^T (A B^T). We use that substitute (what the published figures sampled);
``cov_recipe="aat"`` uses A A^T instead. Eigenvalues below ``MIN_TARGET_EIGENVALUE``
(times ``cov_scale``) are raised to it, since near-singular draws do occur.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from ggmi_core import _jit
from ggmi_core._kernels import cholesky_factors
from ggmi_core.config import ScenarioConfig
from ggmi_core.gmm import GMMBatch

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]

PART_NAMES: tuple[str, str, str] = ("anchor", "unsampled", "task-irrelevant")
"""Names of ``ScenarioBatch.model_part`` codes 0, 1, 2 (the paper's three parts of M)."""

MEAN_RANGE = 10.0
"""Component means are uniform on [0, MEAN_RANGE]^d (plus index * mean_gap)."""

ANCHOR_COV_JITTER = 1e-6
"""Added to the anchor clusters' sample covariances to form M's first K components."""

MIN_TARGET_EIGENVALUE = 1e-6
"""Floor on the eigenvalues of drawn covariances (times cov_scale): guards near-singular
draws of the published recipe (a singular component would have infinite density)."""


@dataclass(frozen=True, eq=False)
class ScenarioBatch:
    """R scenarios drawn from one ``ScenarioConfig``.

    Attributes:
        config: the configuration they were drawn from.
        target: G, the post-training target: K+J components, equal weights.
        model: D_M, the generative model: K+J+L components, equal weights.
        gen: D_gen, the marginal law of one synthetic sample: M's components with
            weights b/K on the first K plus (1-b) times M's weights, and noise_std^2 I
            added to every covariance.
        anchor_source: G's first K components with equal weights (the anchor law).
        anchor_X: (R, K*N_k, d) anchor data, N_k points from each of G's first K
            components in order.
        anchor_labels: (R, K*N_k) the G component each anchor point came from.
        synth_X: (R, n, d) synthetic data.
        synth_labels: (R, n) the M component each synthetic point came from.
        synth_prompt: (R, n) the anchor component (0..K-1) its prompt named.
        model_part: (K+J+L,) part of each M component: 0 anchor, 1 unsampled,
            2 task-irrelevant (names in ``PART_NAMES``).
    """

    PART_NAMES: ClassVar[tuple[str, str, str]] = PART_NAMES

    config: ScenarioConfig
    target: GMMBatch
    model: GMMBatch
    gen: GMMBatch
    anchor_source: GMMBatch
    anchor_X: Array
    anchor_labels: IntArray
    synth_X: Array
    synth_labels: IntArray
    synth_prompt: IntArray
    model_part: IntArray

    @property
    def n_scenarios(self) -> int:
        return self.anchor_X.shape[0]

    @property
    def target_part(self) -> IntArray:
        """(K+J,) part of each target component (0 anchor, 1 unsampled)."""
        return self.model_part[: self.config.n_target_components]


def generate_scenarios(
    config: ScenarioConfig, rounds: int, rng: np.random.Generator
) -> ScenarioBatch:
    """Draw ``rounds`` independent scenarios of ``config`` (the published recipe, steps 1-4).

    Args:
        config: the scenario letters and extensions.
        rounds: R, number of independent scenarios (>= 1).
        rng: source of every random draw.
    """
    rounds = _checked_rounds(rounds)
    K, J, L = config.K, config.J, config.L
    d, n_k = config.dim, config.n_anchor_per_component
    n_target, n_model = config.n_target_components, config.n_model_components

    # 1. Target G: means and covariances for K+J components; the L task-irrelevant
    #    components of M are drawn the same way (indices K+J.. for the mean gap).
    target_means = _draw_means(rng, rounds, 0, n_target, config)
    target_covs = draw_covariances(rng, (rounds, n_target), config)
    # 2. Anchor data: N_k points from each of G's first K components.
    anchor_labels = np.broadcast_to(np.repeat(np.arange(K), n_k), (rounds, K * n_k)).copy()
    anchor_X = _sample_components(rng, target_means, target_covs, anchor_labels)
    # 3. Model M: anchor-cluster estimates, G's unsampled components, random extras.
    extra_means = _draw_means(rng, rounds, n_target, L, config)
    extra_covs = draw_covariances(rng, (rounds, L), config)
    fit_means, fit_covs = _anchor_cluster_estimates(anchor_X, K, n_k)
    model_means = np.concatenate([fit_means, target_means[:, K:], extra_means], axis=1)
    model_covs = np.concatenate([fit_covs, target_covs[:, K:], extra_covs], axis=1)
    # 4. Synthetic data: prompt names an anchor component; M follows it with prob. b.
    prompt = rng.integers(K, size=(rounds, config.n_synthetic))
    follows = rng.random((rounds, config.n_synthetic)) < config.adherence
    free_choice = rng.integers(n_model, size=(rounds, config.n_synthetic))
    synth_labels = np.where(follows, prompt, free_choice)
    synth_X = _sample_components(rng, model_means, model_covs, synth_labels)
    if config.noise_std > 0:
        synth_X += config.noise_std * rng.standard_normal(synth_X.shape)

    equal_model = np.full((rounds, n_model), 1.0 / n_model)
    eye = np.eye(d)
    return ScenarioBatch(
        config=config,
        target=GMMBatch(np.full((rounds, n_target), 1.0 / n_target), target_means, target_covs),
        model=GMMBatch(equal_model, model_means, model_covs),
        gen=GMMBatch(
            generation_weights(equal_model, K, config.adherence),
            model_means,
            model_covs + config.noise_std**2 * eye,
        ),
        anchor_source=GMMBatch(
            np.full((rounds, K), 1.0 / K), target_means[:, :K], target_covs[:, :K]
        ),
        anchor_X=anchor_X,
        anchor_labels=anchor_labels,
        synth_X=synth_X,
        synth_labels=synth_labels,
        synth_prompt=prompt,
        model_part=np.repeat(np.arange(3), [K, J, L]),
    )


def generation_weights(model_weights: Array, K: int, adherence: float) -> Array:
    """Marginal component weights of D_gen, (R, k): b/K on M's first K plus (1-b) w."""
    weights = (1.0 - adherence) * model_weights
    weights[:, :K] += adherence / K
    return weights


def draw_covariances(
    rng: np.random.Generator, shape: tuple[int, ...], config: ScenarioConfig
) -> Array:
    """Covariances of new components, shape + (d, d), by ``config.cov_recipe``.

    ``published``: symmetric substitute (M^T M)^(1/2) of M = A B^T (see module docstring);
    ``aat``: A A^T. Both are scaled by ``cov_scale``; eigenvalues are floored at
    ``MIN_TARGET_EIGENVALUE * cov_scale``.
    """
    d = config.dim
    A = rng.random((*shape, d, d))
    floor = MIN_TARGET_EIGENVALUE
    if config.cov_recipe == "published":
        B = rng.random((*shape, d, d))
        cov = published_substitute(A @ np.swapaxes(B, -1, -2))
    else:
        cov = A @ np.swapaxes(A, -1, -2)
    return config.cov_scale * _floor_eigenvalues(cov, floor)


def published_substitute(M: Array) -> Array:
    """V^T diag(s) V for the SVD M = U diag(s) V, batched over leading axes, (..., d, d).

    That matrix is the symmetric positive square root of M^T M; 2x2 uses the closed form
    sqrt(P) = (P + sqrt(det P) I) / sqrt(tr P + 2 sqrt(det P)).
    """
    d = M.shape[-1]
    if d == 1:
        return np.abs(M)
    if d == 2:
        P = np.swapaxes(M, -1, -2) @ M
        root_det = np.abs(M[..., 0, 0] * M[..., 1, 1] - M[..., 0, 1] * M[..., 1, 0])
        denom = np.sqrt(P[..., 0, 0] + P[..., 1, 1] + 2.0 * root_det)
        denom = np.where(denom > 0, denom, 1.0)  # M = 0 gives P = 0 and the root 0
        out = P + root_det[..., None, None] * np.eye(2)
        return out / denom[..., None, None]
    _, s, vh = np.linalg.svd(M)
    return np.swapaxes(vh, -1, -2) @ (s[..., :, None] * vh)


def _floor_eigenvalues(cov: Array, floor: float) -> Array:
    """Raise eigenvalues of symmetric ``cov`` (..., d, d) below ``floor`` to it."""
    d = cov.shape[-1]
    if d == 1:
        return np.maximum(cov, floor)
    if d == 2:
        a, b, c = cov[..., 0, 0], cov[..., 0, 1], cov[..., 1, 1]
        lam_min = 0.5 * (a + c) - np.hypot(0.5 * (a - c), b)
        shift = np.maximum(floor - lam_min, 0.0)
        return cov + shift[..., None, None] * np.eye(2)
    eigval, eigvec = np.linalg.eigh(cov)
    if (eigval >= floor).all():
        return cov
    return (eigvec * np.maximum(eigval, floor)[..., None, :]) @ np.swapaxes(eigvec, -1, -2)


def _draw_means(
    rng: np.random.Generator, rounds: int, first_index: int, count: int, config: ScenarioConfig
) -> Array:
    """Means (R, count, d): uniform on [0, 10]^d plus (component index) * mean_gap."""
    index = np.arange(first_index, first_index + count)[None, :, None]
    return rng.random((rounds, count, config.dim)) * MEAN_RANGE + index * config.mean_gap


def _sample_components(
    rng: np.random.Generator, means: Array, covs: Array, labels: IntArray
) -> Array:
    """One draw from component ``labels[r, i]`` of scenario r for every entry, (R, n, d)."""
    factors = cholesky_factors(covs)
    # Same values and generator state as means[rows, labels] + einsum("rnij,rnj->rni",
    # factors[rows, labels], rng.standard_normal((R, n, d))); numpy holds the generator's
    # lock while drawing and so do we (one generator per chunk here, but a caller of
    # generate_scenarios may share its own).
    with rng.bit_generator.lock:
        return _jit.draw_component_points(
            rng,
            np.ascontiguousarray(means, dtype=float),
            np.ascontiguousarray(factors, dtype=float),
            np.ascontiguousarray(labels, dtype=np.int64),
        )


def _anchor_cluster_estimates(anchor_X: Array, K: int, n_k: int) -> tuple[Array, Array]:
    """Sample means (R, K, d) and sample covariances + 1e-6 I (R, K, d, d), ddof=1."""
    # One compiled pass, numpy's arithmetic in numpy's order (bit for bit; the numpy
    # version is tests/core/numpy_reference.py's anchor_cluster_estimates_numpy).
    return _jit.cluster_moments(
        np.ascontiguousarray(anchor_X, dtype=float), K, n_k, ANCHOR_COV_JITTER
    )


def _checked_rounds(rounds: int) -> int:
    if isinstance(rounds, bool) or int(rounds) != rounds or rounds < 1:
        raise ValueError(f"rounds must be an integer >= 1; got {rounds!r}")
    return int(rounds)
