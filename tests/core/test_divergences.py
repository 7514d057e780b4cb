"""Monte Carlo estimators against closed forms and quadrature; the published histogram KL."""

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import entropy as scipy_entropy
from scipy.stats import norm

from ggmi_core.config import ScenarioConfig
from ggmi_core.divergences import (
    LOG2,
    entropy,
    gaussian_entropy,
    gaussian_kl,
    gaussian_tv_1d,
    histogram_kl,
    histogram_kl_from_samples,
    js_divergence,
    kl_divergence,
    total_variation,
)
from ggmi_core.gmm import GMM, GMMBatch
from ggmi_core.scenario import generate_scenarios

Z = 4.0  # tolerance in standard errors


def _gauss(mean, cov) -> GMM:
    mean = np.atleast_1d(np.asarray(mean, float))
    return GMM([1.0], mean[None], np.atleast_2d(np.asarray(cov, float))[None])


P2 = ([0.0, 1.0], [[1.0, 0.3], [0.3, 0.5]])
Q2 = ([0.8, -0.5], [[2.0, -0.4], [-0.4, 1.5]])


def test_kl_of_two_gaussians_matches_closed_form():
    est = kl_divergence(_gauss(*P2), _gauss(*Q2), 40_000, np.random.default_rng(0))
    truth = gaussian_kl(*P2, *Q2)
    assert isinstance(est.value, float) and isinstance(est.stderr, float)
    assert abs(est.value - truth) < Z * est.stderr
    assert est.stderr < 0.02


def test_kl_of_a_mixture_with_itself_is_exactly_zero():
    p = GMM([0.3, 0.7], [[0.0, 0.0], [3.0, 1.0]], [np.eye(2), [[1.0, 0.5], [0.5, 2.0]]])
    est = kl_divergence(p, p, 1000, np.random.default_rng(1))
    assert est.value == pytest.approx(0.0, abs=1e-12) and est.stderr == pytest.approx(0, abs=1e-12)
    assert js_divergence(p, p, 1000, np.random.default_rng(1)).value == pytest.approx(0, abs=1e-12)
    assert total_variation(p, p, 1000, np.random.default_rng(1)).value == pytest.approx(
        0, abs=1e-12
    )


@pytest.mark.parametrize("d", [1, 2, 3])
def test_entropy_of_a_gaussian_matches_closed_form(d):
    rng = np.random.default_rng(d)
    a = rng.standard_normal((d, d))
    cov = a @ a.T + 0.5 * np.eye(d)
    est = entropy(_gauss(np.zeros(d), cov), 40_000, rng)
    assert abs(est.value - gaussian_entropy(cov)) < Z * est.stderr


def test_tv_of_equal_variance_gaussians_matches_erf_form():
    for delta, sd in ((0.5, 1.0), (2.0, 0.7), (6.0, 1.0)):
        est = total_variation(
            _gauss(0.0, sd**2), _gauss(delta, sd**2), 40_000, np.random.default_rng(2)
        )
        truth = gaussian_tv_1d(0.0, delta, sd)
        assert truth == pytest.approx(2 * norm.cdf(delta / (2 * sd)) - 1)
        assert abs(est.value - truth) < Z * est.stderr + 1e-12


def _mixture_1d(weights, means, sds) -> tuple[GMM, callable]:
    g = GMM(
        weights, np.asarray(means, float)[:, None], (np.asarray(sds, float) ** 2)[:, None, None]
    )

    def pdf(x):
        return sum(w * norm.pdf(x, m, s) for w, m, s in zip(weights, means, sds, strict=True))

    return g, pdf


def test_kl_js_tv_of_1d_mixtures_match_quadrature():
    p, fp = _mixture_1d([0.4, 0.6], [-1.0, 2.0], [0.7, 1.2])
    q, fq = _mixture_1d([0.5, 0.2, 0.3], [0.0, 3.0, -3.0], [1.0, 0.5, 1.5])

    def quad(f):
        return integrate.quad(f, -25, 25, limit=400, points=[-3, -1, 0, 2, 3])[0]

    kl = quad(lambda x: fp(x) * math.log(fp(x) / fq(x)) if fp(x) > 0 else 0.0)
    m = lambda x: 0.5 * (fp(x) + fq(x))  # noqa: E731
    js = 0.5 * quad(lambda x: fp(x) * math.log(fp(x) / m(x))) + 0.5 * quad(
        lambda x: fq(x) * math.log(fq(x) / m(x))
    )
    tv = 0.5 * quad(lambda x: abs(fp(x) - fq(x)))
    rng = np.random.default_rng(3)
    for est, truth in (
        (kl_divergence(p, q, 60_000, rng), kl),
        (js_divergence(p, q, 60_000, rng), js),
        (total_variation(p, q, 60_000, rng), tv),
    ):
        assert abs(est.value - truth) < Z * est.stderr


def test_js_is_bounded_by_log2_and_reaches_it_for_disjoint_supports():
    far = js_divergence(_gauss(0.0, 1.0), _gauss(100.0, 1.0), 2000, np.random.default_rng(4))
    assert far.value <= LOG2 + 1e-12
    assert far.value == pytest.approx(LOG2, abs=1e-9)
    s = generate_scenarios(ScenarioConfig(), 30, np.random.default_rng(5))
    est = js_divergence(s.target, s.model, 500, np.random.default_rng(6))
    assert (est.value <= LOG2).all() and (est.value >= -Z * est.stderr).all()


def test_batches_return_arrays_and_broadcast_a_single_mixture():
    s = generate_scenarios(ScenarioConfig(), 6, np.random.default_rng(7))
    est = kl_divergence(s.model, s.target, 300, np.random.default_rng(8))
    assert est.value.shape == est.stderr.shape == (6,)
    one = s.target[2]
    est2 = total_variation(one, s.target, 300, np.random.default_rng(9))
    assert est2.value.shape == (6,)
    assert est2.value[2] == pytest.approx(0.0, abs=1e-12)
    assert entropy(s.target, 300, np.random.default_rng(1)).value.shape == (6,)
    with pytest.raises(ValueError, match="scenario count"):
        kl_divergence(s.target, GMMBatch.stack([one, one]), 100, np.random.default_rng(0))


def test_standard_error_matches_the_spread_of_repeated_estimates():
    p, q = _gauss(*P2), _gauss(*Q2)
    batch_p = GMMBatch.stack([p] * 400)
    batch_q = GMMBatch.stack([q] * 400)
    est = kl_divergence(batch_p, batch_q, 50, np.random.default_rng(10))
    ratio = est.value.std(ddof=1) / np.sqrt(np.mean(est.stderr**2))
    assert 0.85 < ratio < 1.15


def test_invalid_sample_counts_raise():
    g = _gauss(0.0, 1.0)
    with pytest.raises(ValueError, match="n_samples"):
        kl_divergence(g, g, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="dimension"):
        kl_divergence(g, _gauss([0.0, 0.0], np.eye(2)), 10, np.random.default_rng(0))


# ------------------------------------------------------------------ published histogram KL


def test_histogram_kl_equals_numpy_histogramdd_and_scipy_entropy():
    rng = np.random.default_rng(11)
    for d in (1, 2):
        a = rng.standard_normal((1000, d))
        b = 1.5 * rng.standard_normal((1000, d)) + 0.3
        pd_, _ = np.histogramdd(a, bins=50, density=True)
        qd_, _ = np.histogramdd(b, bins=50, density=True)
        ref = scipy_entropy(np.clip(pd_, 1e-10, None).ravel(), np.clip(qd_, 1e-10, None).ravel())
        got = histogram_kl_from_samples(a[None], b[None], 50)[0]
        assert got == pytest.approx(ref, rel=1e-10)


def test_histogram_kl_reports_large_kl_between_identical_mixtures():
    """The published bias: separate grids and the 1e-10 floor give KL >> 0 for P = Q."""
    s = generate_scenarios(ScenarioConfig(), 12, np.random.default_rng(12))
    est = histogram_kl(s.target, s.target, np.random.default_rng(13), n_resamples=20)
    assert est.value.shape == (12,)
    assert est.value.mean() > 3.0
    assert (est.value > Z * est.stderr).all()
    exact = kl_divergence(s.target, s.target, 100, np.random.default_rng(0))
    np.testing.assert_allclose(exact.value, 0.0, atol=1e-12)


def test_histogram_kl_needs_dimension_at_most_two():
    g = _gauss(np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="dim <= 2"):
        histogram_kl(g, g, np.random.default_rng(0))


def test_gaussian_closed_forms_agree_with_scipy():
    from scipy.stats import multivariate_normal

    assert gaussian_entropy(Q2[1]) == pytest.approx(multivariate_normal(Q2[0], Q2[1]).entropy())
    assert gaussian_kl(*P2, *P2) == pytest.approx(0.0, abs=1e-12)
    # 1-D: KL(N(0,1) || N(1,4)) = log 2 + (1 + 1) / 8 - 1/2
    assert gaussian_kl(0.0, 1.0, 1.0, 4.0) == pytest.approx(math.log(2) + 2 / 8 - 0.5)
