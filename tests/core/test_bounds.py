"""Bound terms: exact information identities, entropy closed forms, Lemma 3.1 checks."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import multivariate_normal

from ggmi_core.bounds import (
    SUMMARY_TERMS,
    BoundTerms,
    bound_terms,
    capped_loss,
    checked_sweep_values,
    empirical_risk,
    estimate_bound_cost,
    information_terms,
    prompt_channel,
    risk_terms,
    sweep_bound_terms,
)
from ggmi_core.config import ScenarioConfig
from ggmi_core.estimate import Estimate
from ggmi_core.gmm import GMM, GMMBatch


def _gaussian_entropy(cov: np.ndarray) -> float:
    d = cov.shape[-1]
    return 0.5 * float(np.linalg.slogdet(2 * np.pi * np.e * cov)[1]) if d else 0.0


# ------------------------------------------------------------------ information terms


@pytest.mark.parametrize(("K", "J", "L"), [(1, 0, 0), (2, 2, 2), (3, 0, 5), (5, 7, 1)])
def test_info_gain_is_log_of_model_size_without_adherence(K, J, L):
    k = K + J + L
    info = information_terms(np.full(k, 1.0 / k), K, adherence=0.0)
    assert info.info_gain == pytest.approx(math.log(k), abs=1e-12)
    assert info.H_eM == pytest.approx(math.log(k), abs=1e-12)
    assert info.I_eM_ep == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("K", "k"), [(1, 3), (2, 6), (4, 4), (3, 10)])
def test_full_adherence_leaves_no_gain_and_shares_log_k_with_the_prompt(K, k):
    info = information_terms(np.full(k, 1.0 / k), K, adherence=1.0)
    assert info.info_gain == pytest.approx(0.0, abs=1e-12)
    assert info.I_eM_ep == pytest.approx(math.log(K), abs=1e-12)
    assert info.H_eM == pytest.approx(math.log(K), abs=1e-12)


@pytest.mark.parametrize("b", [0.1, 0.37, 0.8])
def test_info_gain_matches_closed_form_row_entropy(b):
    # equal weights: each row puts b + (1-b)/k on the named component and (1-b)/k elsewhere
    K, k = 2, 6
    hit, miss = b + (1 - b) / k, (1 - b) / k
    expected = -(hit * math.log(hit)) - (k - 1) * miss * math.log(miss)
    info = information_terms(np.full(k, 1.0 / k), K, adherence=b)
    assert info.info_gain == pytest.approx(expected, rel=1e-12)


def test_info_gain_falls_as_adherence_rises():
    k = 6
    gains = [
        float(information_terms(np.full(k, 1.0 / k), 2, b).info_gain) for b in np.linspace(0, 1, 21)
    ]
    assert all(later < earlier for earlier, later in itertools.pairwise(gains))


@settings(max_examples=60, deadline=None)
@given(
    raw=st.lists(st.floats(0.01, 10.0), min_size=1, max_size=12),
    K_frac=st.floats(0.0, 1.0),
    b=st.floats(0.0, 1.0),
)
def test_mutual_information_is_between_zero_and_entropy_and_matches_joint_sum(raw, K_frac, b):
    w = np.asarray(raw) / np.sum(raw)
    K = 1 + int(K_frac * (len(w) - 1))
    info = information_terms(w, K, b)
    assert -1e-12 <= info.I_eM_ep <= info.H_eM + 1e-12
    assert info.I_eM_ep <= math.log(K) + 1e-12  # cannot exceed H(e_p)
    # independent route: I = sum p(k, j) log(p(k, j) / (p(k) p(j)))
    joint = prompt_channel(w, K, b) / K
    outer = joint.sum(axis=1, keepdims=True) * joint.sum(axis=0, keepdims=True)
    mask = joint > 0
    direct = float(np.sum(joint[mask] * np.log(joint[mask] / outer[mask])))
    assert info.I_eM_ep == pytest.approx(direct, abs=1e-10)
    assert info.info_gain == pytest.approx(info.H_eM - info.I_eM_ep, abs=1e-12)


def test_channel_rows_are_distributions_and_bad_inputs_are_named():
    ch = prompt_channel(np.full((3, 5), 0.2), 2, 0.4)
    assert ch.shape == (3, 2, 5)
    np.testing.assert_allclose(ch.sum(axis=-1), 1.0)
    with pytest.raises(ValueError, match="adherence"):
        prompt_channel(np.full(5, 0.2), 2, 1.5)
    with pytest.raises(ValueError, match="K"):
        prompt_channel(np.full(5, 0.2), 6, 0.0)


# ------------------------------------------------------------------ loss and risks


def test_capped_loss_respects_cap_and_floor():
    logp = np.array([-np.inf, -50.0, -3.0, 0.5, 2.0, np.nan])
    np.testing.assert_array_equal(capped_loss(logp, 10.0), [10.0, 10.0, 3.0, 0.0, 0.0, 10.0])
    with pytest.raises(ValueError, match="loss_cap"):
        capped_loss(logp, 0.0)


def test_empirical_risk_matches_scipy():
    rng = np.random.default_rng(1)
    g = GMM([0.3, 0.7], [[0.0, 0.0], [3.0, 1.0]], [np.eye(2), [[2.0, 0.3], [0.3, 1.0]]])
    X = rng.normal(size=(50, 2)) * 3
    dens = 0.3 * multivariate_normal([0, 0], np.eye(2)).pdf(X) + 0.7 * multivariate_normal(
        [3, 1], [[2.0, 0.3], [0.3, 1.0]]
    ).pdf(X)
    expected = np.mean(np.clip(-np.log(dens), 0, 6.0))
    assert empirical_risk(g.as_batch(), X[None], 6.0)[0] == pytest.approx(expected, rel=1e-10)


def test_population_risk_of_a_gaussian_on_itself_is_its_entropy():
    # density <= 1/(2 pi sqrt(det)) < 1 everywhere, so the floor at 0 never bites
    cov = np.array([[2.0, 0.5], [0.5, 1.5]])
    g = GMMBatch(np.ones((1, 1)), np.zeros((1, 1, 2)), cov[None, None])
    rng = np.random.default_rng(7)
    X = g.sample(40, rng)[0]
    risks = risk_terms(g, g, g, X, g, X, loss_cap=100.0, n_mc=20000, rng=rng)
    est = risks.risk_target_synthetic
    assert abs(est.value[0] - _gaussian_entropy(cov)) < 4 * est.stderr[0]
    # the sampling term and the error coincide here in law: both are |R - R^| with R = h
    assert risks.err_synthetic.value[0] == pytest.approx(
        abs(est.value[0] - risks.empirical_synthetic[0])
    )
    assert risks.err_gain.value[0] == pytest.approx(0.0)


# ------------------------------------------------------------------ full bound terms


SMALL = {"rounds": 6, "n_mc": 800}


@pytest.fixture(scope="module")
def default_terms() -> BoundTerms:
    return bound_terms(ScenarioConfig(seed=3), loss_cap=10.0, **SMALL)


def test_shapes_summary_and_determinism(default_terms):
    t = default_terms
    assert t.rounds == 6
    for key in SUMMARY_TERMS:
        assert np.shape(t.term(key).value) == (6,)
    table = t.summary()
    assert list(table.columns[:6]) == ["term", "symbol", "mean", "stderr", "meaning", "direction"]
    assert list(table["term"]) == list(SUMMARY_TERMS)
    assert table["mean"].notna().all()
    again = bound_terms(ScenarioConfig(seed=3), loss_cap=10.0, **SMALL)
    np.testing.assert_array_equal(again.task_term.value, t.task_term.value)
    np.testing.assert_array_equal(again.err_synthetic.value, t.err_synthetic.value)


def test_default_information_terms_are_exact(default_terms):
    np.testing.assert_allclose(default_terms.info_gain.value, math.log(6))
    np.testing.assert_allclose(default_terms.I_eM_ep.value, 0.0, atol=1e-12)


def test_generation_term_is_exactly_zero_without_noise_or_adherence(default_terms):
    np.testing.assert_array_equal(default_terms.generation_term.value, 0.0)


def test_generation_term_grows_with_curation_noise():
    means = []
    for s in (0.0, 0.3, 1.5):
        t = bound_terms(ScenarioConfig(seed=5, noise_std=s), loss_cap=5.0, **SMALL)
        means.append(float(np.mean(t.generation_term.value)))
    assert means[0] == 0.0
    assert 0.0 < means[1] < means[2] <= 5.0


def test_adherence_alone_moves_the_generation_term_and_lowers_info_gain():
    base = bound_terms(ScenarioConfig(seed=5), **SMALL)
    adh = bound_terms(ScenarioConfig(seed=5, adherence=0.7), **SMALL)
    assert np.all(adh.generation_term.value > 0)
    assert np.all(adh.info_gain.value < base.info_gain.value)


def test_loss_cap_bounds_every_loss_term():
    cap = 0.5
    t = bound_terms(ScenarioConfig(seed=2, noise_std=1.0), loss_cap=cap, **SMALL)
    for key in ("task_term", "generation_term", "sampling_term", "err_synthetic", "err_anchor"):
        values = np.asarray(t.term(key).value)
        assert np.all((values >= 0) & (values <= cap + 1e-12)), key
    for key in ("risk_target_synthetic", "empirical_synthetic", "empirical_anchor"):
        assert np.all((t.extras[key] >= 0) & (t.extras[key] <= cap))


def test_entropies_match_gaussian_closed_forms_for_single_components():
    # K=1, J=L=0: the anchor mixture is G's one component, D_gen is M's one component plus s^2 I
    cfg = ScenarioConfig(K=1, J=0, L=0, noise_std=0.7, seed=11, n_synthetic=50)
    t = bound_terms(cfg, rounds=4, n_mc=20000)
    scen = t.scenarios
    h_anchor = [_gaussian_entropy(c[0]) for c in scen.target.covariances]
    h_gen = [_gaussian_entropy(c[0] + 0.49 * np.eye(2)) for c in scen.model.covariances]
    assert np.all(np.abs(t.h_anchor.value - h_anchor) < 4 * t.h_anchor.stderr + 1e-9)
    assert np.all(np.abs(t.h_synthetic.value - h_gen) < 4 * t.h_synthetic.stderr + 1e-9)


LEMMA_GRID = [
    ScenarioConfig(
        K=K, J=J, L=L, noise_std=s, adherence=b, n_anchor_per_component=nk, n_synthetic=n, seed=i
    )
    for i, (K, J, L, s, b, nk, n) in enumerate(
        [
            (1, 0, 0, 0.0, 0.0, 10, 20),
            (2, 2, 2, 0.0, 0.0, 50, 200),
            (3, 1, 4, 0.5, 0.0, 20, 100),
            (2, 0, 3, 0.0, 0.9, 30, 60),
            (4, 3, 0, 2.0, 0.5, 5, 300),
            (1, 5, 1, 0.1, 1.0, 40, 50),
            (5, 0, 0, 0.0, 0.0, 100, 400),
            (2, 6, 6, 1.0, 0.2, 15, 100),
        ]
    )
] + [
    ScenarioConfig(dim=1, K=2, J=1, L=1, noise_std=0.2, seed=20),
    ScenarioConfig(dim=3, K=2, J=2, L=2, adherence=0.5, cov_recipe="aat", seed=21),
]


@pytest.mark.parametrize("cap", [0.5, 3.0, 20.0])
@pytest.mark.parametrize(
    "config", LEMMA_GRID, ids=lambda c: f"d{c.dim}K{c.K}J{c.J}L{c.L}s{c.noise_std}b{c.adherence}"
)
def test_lemma_3_1_holds_across_configurations(config, cap):
    t = bound_terms(config, rounds=4, loss_cap=cap, n_mc=600)
    assert t.bound_holds.all(), t.bound_slack


def test_bound_check_flags_a_violation():
    ok = bound_terms(ScenarioConfig(seed=1), **SMALL)
    big = Estimate(ok.bound_total.value + 1.0, np.zeros(ok.rounds))
    broken = BoundTerms(**{**ok.__dict__, "err_synthetic": big})
    assert not broken.bound_holds.any()
    assert broken.summary().set_index("term").loc["bound_holds", "mean"] == 0.0


def test_task_irrelevant_components_raise_gain_but_shrink_entropy_drop():
    table = sweep_bound_terms(
        ScenarioConfig(seed=4), "L", [0, 6], rounds=12, n_mc=1500, loss_cap=10.0
    )
    mean = table.pivot(index="value", columns="term", values="mean")
    assert mean.loc[6, "info_gain"] == pytest.approx(math.log(10))
    assert mean.loc[0, "info_gain"] == pytest.approx(math.log(4))
    assert mean.loc[6, "entropy_drop"] < mean.loc[0, "entropy_drop"]


def test_bad_inputs_raise_value_errors_naming_the_field():
    cfg = ScenarioConfig()
    with pytest.raises(ValueError, match="loss_cap"):
        bound_terms(cfg, rounds=2, loss_cap=-1.0)
    with pytest.raises(ValueError, match="n_mc"):
        bound_terms(cfg, rounds=2, n_mc=5)
    with pytest.raises(ValueError, match="rounds"):
        bound_terms(cfg, rounds=0)
    with pytest.raises(ValueError, match="param"):
        checked_sweep_values(cfg, "cov_recipe", [1])
    with pytest.raises(ValueError, match="n_synthetic"):
        checked_sweep_values(cfg, "n_synthetic", [3])


def test_cost_grows_with_rounds_and_size():
    cfg = ScenarioConfig()
    assert estimate_bound_cost(cfg, 100) > estimate_bound_cost(cfg, 10)
    assert estimate_bound_cost(cfg.replace(L=10), 10) > estimate_bound_cost(cfg, 10)


# ------------------------------------------------- Δ_I split by part, Lemma 4.8 table


@pytest.mark.parametrize(("K", "J", "L"), [(2, 2, 2), (2, 15, 2), (2, 2, 15), (1, 0, 4), (5, 3, 0)])
def test_info_gain_split_at_zero_adherence_matches_closed_form(K, J, L):
    from ggmi_core.bounds import info_gain_parts_for

    split = info_gain_parts_for(ScenarioConfig(K=K, J=J, L=L))
    N = K + J + L
    sizes = np.array([K, J, L], dtype=float)
    share = sizes[sizes > 0] / N
    assert split.which_part == pytest.approx(float(-(share * np.log(share)).sum()), abs=1e-12)
    expected_within = np.where(sizes > 0, sizes / N * np.log(np.maximum(sizes, 1)), 0.0)
    np.testing.assert_allclose(split.within_part, expected_within, atol=1e-12)
    assert split.total == pytest.approx(math.log(N), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    raw=st.lists(st.floats(0.01, 10.0), min_size=2, max_size=12),
    K_frac=st.floats(0.0, 1.0),
    b=st.floats(0.0, 1.0),
    seed=st.integers(0, 10_000),
)
def test_info_gain_split_is_exact_chain_rule(raw, K_frac, b, seed):
    from ggmi_core.bounds import info_gain_by_part

    w = np.asarray(raw) / np.sum(raw)
    k = len(w)
    K = 1 + int(K_frac * (k - 1))
    # anchor components first (the prompt names them), the rest in random parts
    rest = np.random.default_rng(seed).integers(1, 3, size=k - K)
    parts = np.concatenate([np.zeros(K, dtype=int), rest])
    split = info_gain_by_part(w, parts, K, b)
    assert split.total == pytest.approx(float(information_terms(w, K, b).info_gain), abs=1e-10)
    assert split.by_part.sum() == pytest.approx(float(split.total), abs=1e-10)
    # independent route for H(Z | e_p): the part distribution of each prompt row
    channel = prompt_channel(w, K, b)
    p_part = np.stack([channel[:, parts == z].sum(axis=1) for z in range(3)], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rows = -np.where(p_part > 0, p_part * np.log(p_part), 0.0).sum(axis=1)
    assert split.which_part == pytest.approx(float(rows.mean()), abs=1e-12)
    assert np.all(split.within_part >= 0.0)


def test_info_gain_split_rejects_bad_parts():
    from ggmi_core.bounds import info_gain_by_part

    with pytest.raises(ValueError, match="model_part"):
        info_gain_by_part(np.full(4, 0.25), [0, 1, 3, 2], 1, 0.0)
    with pytest.raises(ValueError, match="model_part"):
        info_gain_by_part(np.full(4, 0.25), [0, 1], 1, 0.0)


def test_j_and_l_give_the_same_info_gain_but_opposite_task_divergence():
    table = pd.concat(
        [
            sweep_bound_terms(ScenarioConfig(seed=5), p, [2, 12], rounds=8, n_mc=1000)
            for p in ("J", "L")
        ]
    )
    mean = table.pivot_table(index=["param", "value"], columns="term", values="mean")
    assert mean.loc[("J", 12), "info_gain"] == pytest.approx(mean.loc[("L", 12), "info_gain"])
    assert mean.loc[("J", 12), "task_term"] < mean.loc[("J", 2), "task_term"]
    assert mean.loc[("L", 12), "task_term"] > mean.loc[("L", 2), "task_term"]


def test_parameter_count_and_standin_shapes():
    from ggmi_core.bounds import fit_parameter_count, information_standin, lemma44_shape

    # d = 2: a weight, 2 mean and 3 covariance entries per component, weights sum to 1
    assert fit_parameter_count(1, 2) == 5 and fit_parameter_count(6, 2) == 35
    assert fit_parameter_count(3, 3) == 2 + 9 + 18
    size = np.array([10.0, 100.0, 1000.0])
    info = information_standin(11, size)
    np.testing.assert_allclose(info, 5.5 * np.log(size))
    np.testing.assert_allclose(lemma44_shape(info, size), np.sqrt(5.5 * np.log(size) / size))
    with pytest.raises(ValueError):
        information_standin(11, [1.0])


def test_sample_size_table_measures_both_errors_and_crosses_where_solved():
    from ggmi_core.bounds import bound_crossing, sample_size_table

    config = ScenarioConfig(seed=2)
    sweep = sweep_bound_terms(config, "n_synthetic", [50, 200, 800], rounds=6, n_mc=800)
    table = sample_size_table(config, sweep)
    assert list(table["n"]) == [50, 200, 800] and (table["m"] == 100).all()
    wide = sweep.pivot(index="value", columns="term", values="mean")
    np.testing.assert_allclose(table["err_synthetic"], wide["err_synthetic"].to_numpy())
    np.testing.assert_allclose(table["err_anchor"], wide["err_anchor"].to_numpy())
    # the stand-in synthetic shape falls with n; the anchor one does not depend on n
    assert np.all(np.diff(table["bound_shape_synthetic"]) < 0)
    assert table["bound_shape_anchor"].nunique() == 1
    n_star = bound_crossing(config)
    anchor = table["bound_shape_anchor"].iloc[0]
    from ggmi_core.bounds import information_standin, lemma44_shape

    def shape(n):
        return float(lemma44_shape(information_standin(35, n), n))

    assert shape(n_star) < anchor <= shape(n_star - 1)
    with pytest.raises(ValueError, match="n_synthetic"):
        sample_size_table(config, sweep.assign(param="L"))
