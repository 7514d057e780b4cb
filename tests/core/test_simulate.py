"""The KL-Gap experiment: published trends, metric semantics, seeds, sweeps and errors."""

import importlib

import numpy as np
import pandas as pd
import pytest

from ggmi_core.config import ScenarioConfig
from ggmi_core.divergences import LOG2, kl_divergence
from ggmi_core.metrics import METRICS
from ggmi_core.simulation import (
    SUMMARY_COLUMNS,
    chunk_sizes,
    simulate,
    summarise,
    sweep,
    sweep_params,
)

sim_module = importlib.import_module("ggmi_core.simulation")
metrics_module = importlib.import_module("ggmi_core.metrics")

BASE = ScenarioConfig()


def _endpoint_z(param: str, low: int, high: int, rounds: int, metric: str) -> float:
    """(mean gap at high - mean gap at low) in standard errors of that difference."""
    a = simulate(BASE.replace(**{param: low}), rounds=rounds, metric=metric).gap
    b = simulate(BASE.replace(**{param: high}), rounds=rounds, metric=metric).gap
    se = np.hypot(a.std(ddof=1) / np.sqrt(a.size), b.std(ddof=1) / np.sqrt(b.size))
    return float((b.mean() - a.mean()) / se)


@pytest.mark.parametrize("param,direction", [("K", -1), ("J", +1), ("L", -1)])
def test_published_trends_hold_for_js(param, direction):
    """Figure 4's directions: the gap falls with K, rises with J, falls with L."""
    z = _endpoint_z(param, 2, 12, rounds=40, metric="js")
    assert direction * z > 3.0


@pytest.mark.parametrize("param,direction", [("K", -1), ("J", +1), ("L", -1)])
def test_published_trends_hold_for_the_published_histogram_kl(param, direction, monkeypatch):
    """Same directions with the published estimator. Each scenario's histogram KL is
    averaged over 20 instead of 100 resamplings to keep the test fast: that only adds
    Monte Carlo noise per scenario, small beside the 3-5 nat spread across scenarios."""
    monkeypatch.setattr(metrics_module, "HISTOGRAM_RESAMPLES", 20)
    z = _endpoint_z(param, 2, 15, rounds=100, metric="kl_published")
    assert direction * z > 3.0


def test_same_config_gives_identical_numbers_and_seed_changes_them():
    a = simulate(BASE, rounds=8, metric="js", n_mc=200)
    b = simulate(BASE, rounds=8, metric="js", n_mc=200)
    c = simulate(BASE.replace(seed=1), rounds=8, metric="js", n_mc=200)
    np.testing.assert_array_equal(a.gap, b.gap)
    np.testing.assert_array_equal(a.scenarios.synth_X, b.scenarios.synth_X)
    np.testing.assert_array_equal(a.fit_synthetic.means, b.fit_synthetic.means)
    assert not np.array_equal(a.gap, c.gap)


def test_more_rounds_extend_the_same_scenarios():
    """Chunk c always draws from seed child c, so adding rounds keeps earlier scenarios."""
    size = chunk_sizes(BASE, 1000)[0]
    assert size == 100
    short = simulate(BASE, rounds=size, metric="tv", n_mc=100)
    long = simulate(BASE, rounds=size + 30, metric="tv", n_mc=100)
    np.testing.assert_array_equal(long.gap[:size], short.gap)
    assert long.gap.shape == (size + 30,)
    assert long.scenarios.anchor_X.shape == (size + 30, 100, 2)
    assert long.fit_anchor.n_scenarios == long.fit_synthetic.n_scenarios == size + 30
    assert long.synthetic_em.converged.shape == (size + 30,)


@pytest.mark.parametrize("metric", METRICS)
def test_result_shapes_and_gap_definition(metric):
    res = simulate(BASE, rounds=5, metric=metric, n_mc=300)
    for name in ("gap", "gap_stderr", "div_anchor", "div_anchor_stderr", "div_synthetic"):
        assert getattr(res, name).shape == (5,)
    np.testing.assert_allclose(res.gap, res.div_anchor - res.div_synthetic, atol=1e-12)
    assert (res.gap_stderr >= 0).all()
    assert res.fit_anchor.n_components == 2 and res.fit_synthetic.n_components == 6
    if metric == "js":
        assert (res.div_anchor <= LOG2).all() and (res.div_synthetic <= LOG2).all()
    if metric == "tv":
        assert ((res.div_anchor >= 0) & (res.div_anchor <= 1)).all()


def test_metric_directions_match_the_estimators():
    """kl is KL(pi || G); kl_reverse is KL(G || pi): compare with independent estimates."""
    res = simulate(BASE, rounds=6, metric="kl_reverse", n_mc=4000)
    rev = kl_divergence(res.scenarios.target, res.fit_anchor, 4000, np.random.default_rng(1))
    se = np.hypot(rev.stderr, res.div_anchor_stderr)
    assert (np.abs(rev.value - res.div_anchor) < 4 * se).all()
    res = simulate(BASE, rounds=6, metric="kl", n_mc=4000)
    fwd = kl_divergence(res.fit_synthetic, res.scenarios.target, 4000, np.random.default_rng(2))
    se = np.hypot(fwd.stderr, res.div_synthetic_stderr)
    assert (np.abs(fwd.value - res.div_synthetic) < 4 * se).all()


@pytest.mark.parametrize("metric", ["js", "kl_reverse", "tv"])
def test_gap_stderr_matches_the_spread_between_repeated_estimates(metric):
    """Reestimating the same fits with fresh draws: the gaps differ by about sqrt(2) SE
    (checks the shared-draw standard error of the gap)."""
    res = simulate(BASE, rounds=300, metric=metric, n_mc=200)
    estimator = METRICS[metric].estimate_gap
    args = (res.fit_anchor, res.fit_synthetic, res.scenarios.target, 200)
    _, _, g1 = estimator(*args, np.random.default_rng(10))
    _, _, g2 = estimator(*args, np.random.default_rng(11))
    ratio = np.std(g1.value - g2.value, ddof=1) / np.sqrt(
        np.mean(np.square(g1.stderr)) + np.mean(np.square(g2.stderr))
    )
    assert 0.8 < ratio < 1.2


def test_em_converges_at_the_defaults():
    res = simulate(BASE, rounds=30, metric="js", n_mc=100)
    assert res.anchor_em.converged.all() and res.synthetic_em.converged.all()


def test_progress_is_reported_and_can_cancel():
    calls = []
    simulate(BASE, rounds=250, metric="tv", n_mc=50, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 3), (2, 3), (3, 3)]

    class Stop(Exception):
        pass

    def stop(done, total):
        raise Stop

    with pytest.raises(Stop):
        simulate(BASE, rounds=250, metric="tv", n_mc=50, progress=stop)
    with pytest.raises(Stop):
        sweep(BASE, "K", [2, 3, 4], rounds=3, metric="tv", n_mc=50, progress=stop, workers=2)


def test_sweep_rows_equal_simulate_and_do_not_depend_on_workers():
    values = [2, 3, 5]
    seen = []
    one = sweep(BASE, "J", values, rounds=6, metric="js", n_mc=200, workers=1)
    two = sweep(
        BASE,
        "J",
        values,
        rounds=6,
        metric="js",
        n_mc=200,
        workers=2,
        progress=lambda d, t: seen.append((d, t)),
    )
    pd.testing.assert_frame_equal(one, two)
    assert seen[-1] == (3, 3)
    assert list(one.columns) == list(SUMMARY_COLUMNS)
    assert one["value"].tolist() == values
    row = summarise(simulate(BASE.replace(J=5), rounds=6, metric="js", n_mc=200), "J")
    assert one.iloc[2].to_dict() == row
    r = one.iloc[0]
    assert r.gap_q10 <= r.gap_median <= r.gap_q90
    assert r.gap_sem == pytest.approx(r.gap_std / np.sqrt(6))


def test_sweep_over_a_float_parameter():
    df = sweep(BASE, "noise_std", [0.0, 0.5], rounds=4, metric="tv", n_mc=100)
    assert df["value"].tolist() == [0.0, 0.5] and (df["param"] == "noise_std").all()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"metric": "kl2"}, "metric must be one of"),
        ({"rounds": 0}, "rounds"),
        ({"n_mc": 1}, "n_mc"),
    ],
)
def test_simulate_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate(BASE, **kwargs)


def test_histogram_metric_needs_two_dimensions():
    with pytest.raises(ValueError, match="dim <= 2"):
        simulate(BASE.replace(dim=3), rounds=2, metric="kl_published")


def test_sweep_rejects_bad_parameters_and_values():
    with pytest.raises(ValueError, match="param must be one of"):
        sweep(BASE, "seed", [1, 2], rounds=2)
    with pytest.raises(ValueError, match="at least one value"):
        sweep(BASE, "K", [], rounds=2)
    with pytest.raises(ValueError, match="K"):
        sweep(BASE, "K", [2, 0], rounds=2)
    with pytest.raises(ValueError, match="workers"):
        sweep(BASE, "K", [2], rounds=2, workers=0)


def test_sweep_params_stacks_one_parameter_sweeps():
    grid = {"K": [2, 3], "L": [0, 4]}
    both = sweep_params(BASE, grid, rounds=4, metric="tv", n_mc=100, workers=2)
    assert both["param"].tolist() == ["K", "K", "L", "L"]
    only_l = sweep(BASE, "L", [0, 4], rounds=4, metric="tv", n_mc=100)
    pd.testing.assert_frame_equal(both.iloc[2:].reset_index(drop=True), only_l)
    with pytest.raises(ValueError, match="at least one parameter"):
        sweep_params(BASE, {}, rounds=2)


def test_large_monte_carlo_runs_in_blocks(monkeypatch):
    """Blocking the Monte Carlo over scenarios changes only the Monte Carlo draws."""
    whole = simulate(BASE, rounds=7, metric="js", n_mc=400)
    monkeypatch.setattr(sim_module, "_MAX_MC_ELEMENTS", 3 * 400 * 10)
    blocked = simulate(BASE, rounds=7, metric="js", n_mc=400)
    np.testing.assert_array_equal(whole.fit_synthetic.means, blocked.fit_synthetic.means)
    assert blocked.gap.shape == (7,)
    se = np.hypot(whole.gap_stderr, blocked.gap_stderr)
    assert (np.abs(whole.gap - blocked.gap) < 5 * se).all()


def test_log_density_chunks_over_points(monkeypatch):
    kernels = importlib.import_module("ggmi_core._kernels")
    from ggmi_core.divergences import draw, log_density

    res = simulate(BASE, rounds=3, metric="tv", n_mc=50)
    X = draw(res.scenarios.target, 500, np.random.default_rng(0))
    whole = log_density(res.fit_synthetic, X)
    monkeypatch.setattr(kernels, "MAX_BLOCK_ELEMENTS", 6 * 70)
    np.testing.assert_allclose(log_density(res.fit_synthetic, X), whole, rtol=1e-12)


def test_a_configuration_repeated_in_the_grid_is_computed_once(monkeypatch):
    """Figure 4's grid holds K=J=L=2 once per letter: one computation, three equal rows
    (each labelled with its own letter), progress counted over the whole grid."""
    computed = []
    real = sim_module.summary_row

    def counting(config, *rest):
        computed.append(config)
        return real(config, *rest)

    monkeypatch.setattr(sim_module, "summary_row", counting)
    seen = []
    grid = {"K": [2, 3], "J": [2], "L": [2, 3]}
    table = sweep_params(BASE, grid, rounds=2, metric="tv", n_mc=50,
                         progress=lambda d, t: seen.append((d, t)))  # fmt: skip
    assert len(computed) == len(set(computed)) == 3  # K=J=L=2, K=3, L=3
    assert table["param"].tolist() == ["K", "K", "J", "L", "L"]
    assert table["value"].tolist() == [2, 3, 2, 2, 3]
    same = table[table["value"] == 2].drop(columns="param")
    assert (same.nunique() == 1).all()
    assert seen[-1] == (5, 5)
