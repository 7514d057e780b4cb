"""The published GMM recipe (theory.md §3) and its extensions, scenario by scenario."""

import warnings

import numpy as np
import pytest

from ggmi_core.config import ScenarioConfig
from ggmi_core.scenario import (
    MIN_TARGET_EIGENVALUE,
    PART_NAMES,
    ScenarioBatch,
    draw_covariances,
    generate_scenarios,
    published_substitute,
)


def _scen(rounds: int = 20, seed: int = 0, **changes) -> ScenarioBatch:
    return generate_scenarios(ScenarioConfig(**changes), rounds, np.random.default_rng(seed))


def test_shapes_and_parts():
    s = _scen(7, K=3, J=2, L=4, n_anchor_per_component=10, n_synthetic=90, dim=3)
    assert s.target.weights.shape == (7, 5) and s.target.covariances.shape == (7, 5, 3, 3)
    assert s.model.weights.shape == (7, 9) and s.gen.means.shape == (7, 9, 3)
    assert s.anchor_source.weights.shape == (7, 3)
    assert s.anchor_X.shape == (7, 30, 3) and s.anchor_labels.shape == (7, 30)
    assert s.synth_X.shape == (7, 90, 3)
    assert s.synth_labels.shape == s.synth_prompt.shape == (7, 90)
    np.testing.assert_array_equal(s.model_part, [0, 0, 0, 1, 1, 2, 2, 2, 2])
    assert PART_NAMES == ScenarioBatch.PART_NAMES and len(PART_NAMES) == 3
    np.testing.assert_allclose(s.target.weights, 1 / 5)
    np.testing.assert_allclose(s.model.weights, 1 / 9)


def test_model_copies_the_unsampled_target_components():
    s = _scen(K=3, J=4, L=2)
    np.testing.assert_array_equal(s.model.means[:, 3:7], s.target.means[:, 3:])
    np.testing.assert_array_equal(s.model.covariances[:, 3:7], s.target.covariances[:, 3:])
    np.testing.assert_array_equal(s.anchor_source.means, s.target.means[:, :3])


def test_model_anchor_part_is_the_anchor_cluster_estimate():
    s = _scen(5, K=2, n_anchor_per_component=40)
    for r in range(5):
        for k in range(2):
            cluster = s.anchor_X[r, s.anchor_labels[r] == k]
            np.testing.assert_allclose(s.model.means[r, k], cluster.mean(axis=0))
            np.testing.assert_allclose(
                s.model.covariances[r, k], np.cov(cluster.T) + 1e-6 * np.eye(2), atol=1e-12
            )


def test_anchor_samples_come_only_from_the_first_K_components():
    # Well separated, tight components: every anchor point is nearest its own component.
    s = _scen(10, K=3, J=3, L=0, mean_gap=10.0, cov_scale=0.01)
    assert set(np.unique(s.anchor_labels)) == {0, 1, 2}
    np.testing.assert_array_equal(s.anchor_labels[0], np.repeat([0, 1, 2], 50))
    dist = np.linalg.norm(s.anchor_X[:, :, None, :] - s.target.means[:, None, :, :], axis=3)
    np.testing.assert_array_equal(dist.argmin(axis=2), s.anchor_labels)


def test_synthetic_labels_follow_the_model_weights_at_zero_adherence():
    s = _scen(200, K=2, J=2, L=2)
    freq = np.bincount(s.synth_labels.ravel(), minlength=6) / s.synth_labels.size
    np.testing.assert_allclose(freq, 1 / 6, atol=4 * np.sqrt((1 / 6) * (5 / 6) / 40000))
    np.testing.assert_allclose(s.gen.weights, s.model.weights)
    np.testing.assert_array_equal(s.gen.covariances, s.model.covariances)


def test_adherence_reweights_towards_the_prompted_component():
    b, K = 0.6, 3
    s = _scen(100, K=K, J=2, L=1, adherence=b)
    expected = (1 - b) / 6 + np.r_[np.full(K, b / K), np.zeros(3)]
    np.testing.assert_allclose(s.gen.weights[0], expected)
    freq = np.bincount(s.synth_labels.ravel(), minlength=6) / s.synth_labels.size
    np.testing.assert_allclose(freq, expected, atol=0.01)
    # conditional on the prompt: component k with probability b + (1 - b) / 6
    hit = (s.synth_labels == s.synth_prompt).mean()
    assert hit == pytest.approx(b + (1 - b) / 6, abs=0.01)


def test_noise_adds_s_squared_to_every_covariance():
    s_noise = 0.7
    s = _scen(300, K=1, J=0, L=0, noise_std=s_noise, n_anchor_per_component=50, n_synthetic=400)
    np.testing.assert_allclose(
        s.gen.covariances - s.model.covariances, np.broadcast_to(0.49 * np.eye(2), (300, 1, 2, 2))
    )
    # the synthetic points' spread around the model component matches model cov + s^2 I
    resid = s.synth_X - s.model.means[:, :1, :]
    emp = np.einsum("rni,rnj->ij", resid, resid) / resid.shape[0] / resid.shape[1]
    np.testing.assert_allclose(emp, s.gen.covariances[:, 0].mean(axis=0), atol=0.03)


def test_published_substitute_is_the_svd_substitute():
    rng = np.random.default_rng(1)
    for d in (1, 2, 3, 4):
        M = rng.random((50, d, d)) @ np.swapaxes(rng.random((50, d, d)), 1, 2)
        _, s, vh = np.linalg.svd(M)
        expected = np.swapaxes(vh, 1, 2) @ (s[:, :, None] * vh)
        np.testing.assert_allclose(published_substitute(M), expected, atol=1e-12)


def test_published_recipe_matches_numpy_sampler_covariance():
    """The legacy sampler the published code used (``np.random.multivariate_normal``, also
    behind scikit-learn's ``GaussianMixture.sample``) turns A B^T into the substitute."""
    rng = np.random.default_rng(2)
    M = rng.random((2, 2)) @ rng.random((2, 2)).T
    assert not np.allclose(M, M.T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "not symmetric positive-semidefinite"
        x = np.random.RandomState(3).multivariate_normal(np.zeros(2), M, 200_000)
    np.testing.assert_allclose(np.cov(x.T), published_substitute(M), atol=0.01)


@pytest.mark.parametrize("recipe", ["published", "aat"])
def test_covariances_are_symmetric_positive_definite_and_scaled(recipe):
    config = ScenarioConfig(cov_recipe=recipe, cov_scale=2.5, dim=3)
    cov = draw_covariances(np.random.default_rng(4), (4000,), config)
    np.testing.assert_allclose(cov, np.swapaxes(cov, 1, 2))
    assert np.linalg.eigvalsh(cov).min() >= 2.5 * MIN_TARGET_EIGENVALUE * (1 - 1e-9)
    unscaled = draw_covariances(np.random.default_rng(4), (4000,), config.replace(cov_scale=1))
    np.testing.assert_allclose(cov, 2.5 * unscaled)


def test_near_singular_draws_are_floored():
    # A rank-one product: the substitute is singular without the floor.
    M = np.array([[[1.0, 2.0], [2.0, 4.0]]])
    assert np.linalg.eigvalsh(published_substitute(M)).min() == pytest.approx(0, abs=1e-12)
    config = ScenarioConfig()
    cov = draw_covariances(np.random.default_rng(0), (200_000,), config)
    assert np.linalg.eigvalsh(cov).min() >= MIN_TARGET_EIGENVALUE * (1 - 1e-9)


def test_mean_gap_shifts_component_means_by_index():
    s = _scen(2000, K=2, J=2, L=1, mean_gap=3.0)
    np.testing.assert_allclose(s.target.means.mean(axis=(0, 2)), 5 + 3.0 * np.arange(4), atol=0.15)
    np.testing.assert_allclose(s.model.means[:, 4].mean(), 5 + 3.0 * 4, atol=0.15)


def test_same_seed_same_scenarios_other_seed_others():
    a, b, c = _scen(seed=3), _scen(seed=3), _scen(seed=4)
    np.testing.assert_array_equal(a.synth_X, b.synth_X)
    np.testing.assert_array_equal(a.target.covariances, b.target.covariances)
    assert not np.array_equal(a.synth_X, c.synth_X)


def test_invalid_rounds_raise():
    with pytest.raises(ValueError, match="rounds"):
        generate_scenarios(ScenarioConfig(), 0, np.random.default_rng(0))
