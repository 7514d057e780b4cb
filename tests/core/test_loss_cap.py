"""Loss-cap saturation: the share of target points whose capped log-loss is C."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from ggmi_core import divergences
from ggmi_core.bounds import (
    CAP_WARN_SHARE,
    bound_terms,
    cap_saturation,
    cap_share,
    risk_terms,
)
from ggmi_core.config import ScenarioConfig
from ggmi_core.gmm import GMMBatch
from ggmi_core.simulation import simulate


def test_cap_share_is_the_share_of_losses_at_the_cap():
    loss = np.array([[0.0, 1.0, 2.0, 2.0], [2.0, 2.0, 2.0, 0.5]])
    np.testing.assert_array_equal(cap_share(loss, 2.0), [0.5, 0.75])


def test_one_gaussian_share_matches_its_closed_form():
    """One standard normal in d = 2: -log p(x) >= C iff |x|^2 >= 2 (C - log(2 pi)),
    a chi-square(2) tail exp(-r^2/2)."""
    C = 3.0
    g = GMMBatch(np.ones((1, 1)), np.zeros((1, 1, 2)), np.eye(2)[None, None])
    rng = np.random.default_rng(4)
    x = divergences.draw(g, 200_000, rng)
    loss = np.clip(-divergences.log_density(g, x), 0, C)
    r2 = 2 * (C - np.log(2 * np.pi))
    assert cap_share(loss, C)[0] == pytest.approx(np.exp(-r2 / 2), abs=3e-3)
    # and the density is scipy's
    np.testing.assert_allclose(
        divergences.log_density(g, x[:, :5])[0], multivariate_normal(np.zeros(2)).logpdf(x[0, :5])
    )


@pytest.mark.parametrize(
    ("config", "cap"),
    [
        (ScenarioConfig(noise_std=1.0), 2.0),  # the example: C = 2, d = 2, noise
        (ScenarioConfig(dim=5), 5.0),  # and C = 5 at d = 5
        (ScenarioConfig(), 10.0),  # the app's default cap
    ],
)
def test_reported_share_equals_a_direct_count(config, cap):
    """risk_terms' share against counting -log pi_gen(x) >= C on the same target draws."""
    sim = simulate(config, rounds=6, metric="js", n_mc=500)
    scen = sim.scenarios
    seed, n_mc = 11, 3000
    risks = risk_terms(
        scen.target, scen.gen, sim.fit_anchor, scen.anchor_X, sim.fit_synthetic, scen.synth_X,
        cap, n_mc, np.random.default_rng(seed),
    )  # fmt: skip
    x_target = divergences.draw(scen.target, n_mc, np.random.default_rng(seed))  # same draws
    for fit, reported in (
        (sim.fit_synthetic, risks.cap_share_synthetic),
        (sim.fit_anchor, risks.cap_share_anchor),
    ):
        neg_log = -divergences.log_density(fit, x_target)
        direct = np.array([np.count_nonzero(~(row < cap)) / n_mc for row in neg_log])
        np.testing.assert_array_equal(reported, direct)


def test_small_caps_saturate_above_the_warning_level_and_the_default_does_not():
    noisy = bound_terms(ScenarioConfig(noise_std=1.0), rounds=6, loss_cap=2.0, n_mc=1000)
    default = bound_terms(ScenarioConfig(), rounds=6, loss_cap=10.0, n_mc=1000)
    (noisy_gen, _), (default_gen, _) = cap_saturation(noisy), cap_saturation(default)
    assert noisy_gen > CAP_WARN_SHARE > default_gen
    assert noisy.extras["cap_share_synthetic"].shape == (6,)


def test_terms_stored_without_shares_report_none():
    terms = bound_terms(ScenarioConfig(), rounds=2, loss_cap=10.0, n_mc=500)
    extras = {k: v for k, v in terms.extras.items() if not k.startswith("cap_share")}
    assert cap_saturation(replace(terms, extras=extras)) is None
