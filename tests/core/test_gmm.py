"""GMM log-densities against scipy, sampling moments, and near-singular covariances."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from ggmi_core.gmm import GMM, GMMBatch, safe_cholesky, sample_labels


def _random_gmm(rng, k, d):
    a = rng.normal(size=(k, d, d))
    cov = a @ np.swapaxes(a, -1, -2) + 0.1 * np.eye(d)
    w = rng.dirichlet(np.ones(k))
    return GMM(w, rng.normal(scale=3, size=(k, d)), cov)


@pytest.mark.parametrize("k,d", [(1, 1), (3, 2), (4, 5)])
def test_logpdf_matches_scipy(k, d):
    rng = np.random.default_rng(1)
    g = _random_gmm(rng, k, d)
    X = rng.normal(scale=3, size=(50, d))
    ref = np.log(
        sum(
            w * multivariate_normal(m, c).pdf(X).reshape(-1)
            for w, m, c in zip(g.weights, g.means, g.covariances, strict=True)
        )
    )
    np.testing.assert_allclose(g.logpdf(X), ref, rtol=1e-10, atol=1e-10)


def test_batch_logpdf_equals_per_scenario_logpdf():
    rng = np.random.default_rng(2)
    mixtures = [_random_gmm(rng, 3, 2) for _ in range(4)]
    batch = GMMBatch.stack(mixtures)
    X = rng.normal(size=(4, 30, 2))
    got = batch.logpdf(X)
    for r, m in enumerate(mixtures):
        np.testing.assert_allclose(got[r], m.logpdf(X[r]), rtol=1e-12)
    assert batch.component_logpdf(X).shape == (4, 3, 30)
    np.testing.assert_allclose(batch.responsibilities(X).sum(axis=1), 1.0)


def test_sampling_reproduces_weights_means_and_covariances():
    rng = np.random.default_rng(3)
    g = GMM([0.2, 0.8], [[0.0, 0.0], [5.0, -2.0]], [np.eye(2), [[2.0, 0.6], [0.6, 1.0]]])
    X, labels = g.sample_with_labels(40000, rng)
    assert X.shape == (40000, 2) and labels.shape == (40000,)
    assert abs(labels.mean() - 0.8) < 4 * np.sqrt(0.16 / 40000)
    np.testing.assert_allclose(X[labels == 1].mean(axis=0), [5.0, -2.0], atol=0.05)
    np.testing.assert_allclose(np.cov(X[labels == 1].T), g.covariances[1], atol=0.08)


def test_sampling_is_determined_by_the_generator_seed():
    g = GMM([0.5, 0.5], [[0.0], [3.0]], [[[1.0]], [[2.0]]])
    a = g.sample(100, np.random.default_rng(42))
    b = g.sample(100, np.random.default_rng(42))
    c = g.sample(100, np.random.default_rng(43))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_zero_weight_components_are_never_sampled():
    labels = sample_labels(np.array([[0.0, 1.0, 0.0]]), 1000, np.random.default_rng(0))
    assert set(np.unique(labels)) == {1}


def test_near_singular_covariance_is_repaired_not_fatal():
    singular = np.array([[[1.0, 1.0], [1.0, 1.0]]])
    chol = safe_cholesky(singular)
    assert np.isfinite(chol).all()
    np.testing.assert_allclose(chol @ np.swapaxes(chol, -1, -2), singular, atol=1e-6)
    g = GMM([1.0], [[0.0, 0.0]], singular)
    assert np.isfinite(g.logpdf(np.array([[0.5, 0.5]]))).all()


@pytest.mark.parametrize(
    "weights,means,covs",
    [
        ([0.5, 0.6], [[0.0], [1.0]], [[[1.0]], [[1.0]]]),
        ([1.0], [[np.nan]], [[[1.0]]]),
        ([0.5, 0.5], [[0.0], [1.0]], [[[1.0]]]),
    ],
)
def test_invalid_parameters_raise_clear_errors(weights, means, covs):
    with pytest.raises(ValueError):
        GMM(weights, means, covs)


def test_points_of_the_wrong_dimension_are_rejected():
    g = GMM([1.0], [[0.0, 0.0]], [np.eye(2)])
    with pytest.raises(ValueError, match="shape"):
        g.logpdf(np.zeros((3, 3)))
