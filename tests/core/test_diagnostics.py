"""HSIC, kNN entropy and divergence, cluster entropy, PCA and the diagnostics sweep."""

import numpy as np
import pytest
from scipy import stats
from sklearn.decomposition import PCA

from ggmi_core import diagnostics as D
from ggmi_core.config import ScenarioConfig
from ggmi_core.scenario import generate_scenarios


def _explicit_hsic(X, Y):
    """Textbook tr(K H L H)/(n-1)^2 with explicit centring matrices (reference only)."""
    X = X.reshape(len(X), -1)
    Y = Y.reshape(len(Y), -1)
    n = len(X)

    def kernel(Z):
        sq = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1)
        sigma = np.sqrt(np.median(sq[np.triu_indices(n, 1)]))
        return np.exp(-sq / (2 * sigma**2))

    H = np.eye(n) - np.ones((n, n)) / n
    return np.trace(kernel(X) @ H @ kernel(Y) @ H) / (n - 1) ** 2


# --------------------------------------------------------------------------- HSIC


@pytest.mark.parametrize("dx,dy", [(1, 1), (3, 2), (10, 4)])
def test_hsic_matches_explicit_centring_formula(dx, dy):
    rng = np.random.default_rng(dx * 10 + dy)
    X = rng.normal(size=(60, dx))
    Y = np.tanh(X[:, :dy] if dy <= dx else X[:, :1]) + 0.5 * rng.normal(size=(60, dy))
    assert D.hsic(X, Y) == pytest.approx(_explicit_hsic(X, Y), rel=1e-10)


def test_hsic_is_symmetric_and_invariant_to_joint_permutation_and_scale():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 3))
    Y = X[:, :1] ** 2 + 0.3 * rng.normal(size=(80, 1))
    base = D.hsic(X, Y)
    perm = rng.permutation(80)
    assert D.hsic(X[perm], Y[perm]) == pytest.approx(base, rel=1e-10)
    assert D.hsic(Y, X) == pytest.approx(base, rel=1e-10)
    # Median-heuristic bandwidths make HSIC unit-free.
    assert D.hsic(1000.0 * X, Y - 7.0) == pytest.approx(base, rel=1e-8)


def test_hsic_of_independent_data_is_near_zero_and_dependent_data_is_not():
    rng = np.random.default_rng(2)
    n = 400
    X = rng.normal(size=(n, 2))
    independent = D.hsic(X, rng.normal(size=(n, 2)))
    # Uncorrelated but dependent: Y is a function of |X|.
    dependent = D.hsic(X, np.linalg.norm(X, axis=1) + 0.1 * rng.normal(size=n))
    assert 0 <= independent < 2.0 / n
    assert dependent > 10 * independent


def test_hsic_of_constant_data_is_zero():
    rng = np.random.default_rng(3)
    assert D.hsic(np.ones((20, 2)), rng.normal(size=(20, 2))) == pytest.approx(0.0, abs=1e-15)


def test_hsic_rejects_unpaired_or_bad_input():
    rng = np.random.default_rng(4)
    with pytest.raises(ValueError, match="paired"):
        D.hsic(rng.normal(size=(10, 2)), rng.normal(size=(11, 2)))
    with pytest.raises(ValueError, match="NaN"):
        D.hsic(np.full((10, 2), np.nan), rng.normal(size=(10, 2)))
    with pytest.raises(ValueError, match="shape"):
        D.hsic(rng.normal(size=(10, 2, 2)), rng.normal(size=(10, 2)))
    with pytest.raises(ValueError, match="n_permutations"):
        D.hsic_test(rng.normal(size=(10, 2)), rng.normal(size=(10, 2)), 0, rng)


def test_hsic_test_p_values_are_uniform_under_independence():
    rng = np.random.default_rng(5)
    reps, n_perm = 200, 99
    p = np.array(
        [
            D.hsic_test(rng.normal(size=(25, 2)), rng.normal(size=(25, 1)), n_perm, rng).p_value
            for _ in range(reps)
        ]
    )
    # P(p <= 0.05) is exactly 5/100 for an exchangeable null with 99 permutations.
    rejections = int(np.count_nonzero(p <= 0.05))
    low, high = stats.binom.ppf([0.0005, 0.9995], reps, 0.05)
    assert low <= rejections <= high
    # Whole distribution: the mean of uniform p-values is 0.5 (sd 0.29/sqrt(200)).
    assert abs(p.mean() - 0.5) < 4 * 0.29 / np.sqrt(reps)
    assert p.min() >= 1 / (n_perm + 1)


def test_hsic_test_detects_dependence_with_smallest_p_value():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(100, 2))
    Y = (X**2).sum(axis=1) + 0.2 * rng.normal(size=100)  # zero correlation with X
    result = D.hsic_test(X, Y, 99, rng)
    assert result.p_value == pytest.approx(1 / 100)
    assert result.statistic == pytest.approx(D.hsic(X, Y))
    assert result.statistic > result.null_mean + 5 * result.null_std


def test_hsic_test_is_reproducible_from_the_seed():
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(40, 2)), rng.normal(size=(40, 2))
    a = D.hsic_test(X, Y, 50, np.random.default_rng(11))
    b = D.hsic_test(X, Y, 50, np.random.default_rng(11))
    assert a == b


# --------------------------------------------------------------------------- pairing


def test_pair_with_anchor_uses_the_prompted_component_without_needless_repeats():
    config = ScenarioConfig(K=3, n_anchor_per_component=40, n_synthetic=60, adherence=0.5)
    batch = generate_scenarios(config, 2, np.random.default_rng(0))
    partner, synth = D.pair_with_anchor(batch, 1, np.random.default_rng(1))
    np.testing.assert_array_equal(synth, batch.synth_X[1])
    anchor = batch.anchor_X[1]
    # Map each partner row back to its anchor row and check its label is the prompt.
    index = np.array([np.flatnonzero((anchor == row).all(axis=1))[0] for row in partner])
    np.testing.assert_array_equal(batch.anchor_labels[1][index], batch.synth_prompt[1])
    # 60 synthetic samples over 3 components of 40 anchors each: no anchor used twice.
    assert len(np.unique(index)) == 60


def test_pairs_are_independent_without_adherence_and_dependent_with_it():
    p_values = {}
    for b in (0.0, 1.0):
        config = ScenarioConfig(K=3, adherence=b, n_synthetic=200)
        batch = generate_scenarios(config, 10, np.random.default_rng(3))
        rng = np.random.default_rng(4)
        p_values[b] = [
            D.hsic_test(*D.pair_with_anchor(batch, r, rng), 99, rng).p_value for r in range(10)
        ]
    assert np.median(p_values[0.0]) > 0.1
    assert max(p_values[1.0]) == pytest.approx(0.01)


# --------------------------------------------------------------------------- kNN entropy


@pytest.mark.parametrize("d", [1, 2, 5])
def test_knn_entropy_matches_gaussian_closed_form(d):
    rng = np.random.default_rng(20 + d)
    A = rng.normal(size=(d, d))
    cov = A @ A.T + 0.5 * np.eye(d)
    X = rng.multivariate_normal(np.full(d, 3.0), cov, size=2000)
    exact = 0.5 * np.linalg.slogdet(2 * np.pi * np.e * cov)[1]
    est = D.knn_entropy(X, k=3)
    # Measured over 30 seeds: |bias| <= 0.03 nats, spread about the reported stderr.
    assert abs(est.value - exact) < 0.05 + 4 * est.stderr
    assert 0.01 < est.stderr < 0.1


def test_knn_entropy_of_uniform_box_and_scaling_law():
    rng = np.random.default_rng(8)
    X = rng.random((3000, 2)) * [2.0, 3.0]
    assert D.knn_entropy(X).value == pytest.approx(np.log(6.0), abs=0.08)
    # h(aX) = h(X) + d log a holds exactly for the estimator too.
    assert D.knn_entropy(5 * X).value == pytest.approx(
        D.knn_entropy(X).value + 2 * np.log(5), rel=1e-10
    )


def test_knn_entropy_drops_duplicate_rows():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(300, 3))
    doubled = np.vstack([X, X[:50]])
    assert D.count_duplicate_rows(doubled) == 50
    est = D.knn_entropy(doubled)
    assert np.isfinite(est.value)
    assert est.value == pytest.approx(D.knn_entropy(X).value, rel=1e-12)
    with pytest.raises(ValueError, match="distinct"):
        D.knn_entropy(np.ones((50, 2)))


def test_brute_force_and_kd_tree_neighbours_agree(monkeypatch):
    rng = np.random.default_rng(10)
    X = rng.normal(size=(700, 6))
    Q = rng.normal(size=(300, 6))
    tree_h, tree_kl = D.knn_entropy(X, k=4).value, D.knn_kl_divergence(X, Q, k=2)
    monkeypatch.setattr(D, "KD_TREE_MAX_DIM", 0)
    assert D.knn_entropy(X, k=4).value == pytest.approx(tree_h, rel=1e-10)
    assert D.knn_kl_divergence(X, Q, k=2) == pytest.approx(tree_kl, rel=1e-10)


def test_knn_entropy_in_high_dimension_uses_brute_force_consistently():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(400, 40))
    # Against a direct distance computation of the same formula.
    dist = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    np.fill_diagonal(dist, np.inf)
    eps = np.sort(dist, axis=1)[:, 2]
    from scipy.special import digamma

    manual = digamma(400) - digamma(3) + D.log_unit_ball_volume(40) + 40 * np.log(eps).mean()
    assert D.knn_entropy(X, k=3).value == pytest.approx(manual, rel=1e-9)


def test_log_unit_ball_volume_known_values():
    assert D.log_unit_ball_volume(1) == pytest.approx(np.log(2))
    assert D.log_unit_ball_volume(2) == pytest.approx(np.log(np.pi))
    assert D.log_unit_ball_volume(3) == pytest.approx(np.log(4 * np.pi / 3))


# --------------------------------------------------------------------------- kNN KL


def test_knn_kl_matches_gaussian_closed_form_and_is_near_zero_for_same_law():
    rng = np.random.default_rng(12)
    d, s2, shift = 2, 2.0, 1.0
    P = rng.normal(size=(3000, d))
    Q = rng.normal(size=(3000, d)) * np.sqrt(s2) + shift
    exact = 0.5 * (d / s2 + d * shift**2 / s2 - d + d * np.log(s2))
    assert D.knn_kl_divergence(P, Q) == pytest.approx(exact, abs=0.08)
    assert abs(D.knn_kl_divergence(P, rng.normal(size=(3000, d)))) < 0.05


def test_knn_kl_stays_finite_when_sets_share_rows():
    rng = np.random.default_rng(13)
    P = rng.normal(size=(200, 3))
    Q = np.vstack([P[:20], rng.normal(size=(200, 3))])
    assert D.count_shared_rows(Q, P) == 20
    assert np.isfinite(D.knn_kl_divergence(P, Q))
    with pytest.raises(ValueError, match="dimension"):
        D.knn_kl_divergence(P, rng.normal(size=(50, 2)))


# --------------------------------------------------------------------------- clusters


@pytest.mark.parametrize("k", [1, 2, 7])
def test_cluster_entropy_of_uniform_labels_is_log_k(k):
    labels = np.tile(np.arange(k), 30)
    assert D.cluster_entropy(labels) == pytest.approx(np.log(k))
    soft = np.full((40, k), 1.0 / k)
    assert D.cluster_entropy(soft) == pytest.approx(np.log(k))


def test_cluster_entropy_matches_scipy_for_arbitrary_counts():
    rng = np.random.default_rng(14)
    labels = rng.integers(0, 5, size=500)
    counts = np.bincount(labels)
    assert D.cluster_entropy(labels) == pytest.approx(stats.entropy(counts))
    soft = rng.dirichlet(np.ones(4), size=100)
    assert D.cluster_entropy(soft) == pytest.approx(stats.entropy(soft.mean(axis=0)))


def test_cluster_entropy_rejects_bad_assignments():
    with pytest.raises(ValueError):
        D.cluster_entropy(np.array([0, -1, 2]))
    with pytest.raises(ValueError):
        D.cluster_entropy(np.array([0.5, 1.0]))
    with pytest.raises(ValueError):
        D.cluster_entropy(np.array([[0.5, 0.6]]))
    with pytest.raises(ValueError):
        D.cluster_entropy(np.array([0, 3]), n_clusters=3)
    with pytest.raises(ValueError):
        D.cluster_entropy(np.array([]))


def test_assign_to_components_recovers_well_separated_labels():
    config = ScenarioConfig(K=3, J=0, L=0, n_synthetic=3, cov_scale=0.01, mean_gap=5.0)
    batch = generate_scenarios(config, 1, np.random.default_rng(15))
    labels = D.assign_to_components(batch.target[0], batch.anchor_X[0])
    np.testing.assert_array_equal(labels, batch.anchor_labels[0])


# --------------------------------------------------------------------------- PCA


def test_pca_2d_matches_scikit_learn():
    rng = np.random.default_rng(16)
    A = rng.normal(size=(100, 6)) @ rng.normal(size=(6, 6))
    B = rng.normal(size=(60, 6)) + 2.0
    proj = D.pca_2d([A, B])
    ref = PCA(n_components=2).fit(np.vstack([A, B]))
    np.testing.assert_allclose(proj.explained, ref.explained_variance_ratio_, rtol=1e-8)
    pooled = np.vstack(proj.coords)
    ref_coords = ref.transform(np.vstack([A, B]))
    np.testing.assert_allclose(np.abs(pooled), np.abs(ref_coords), rtol=1e-7, atol=1e-9)
    assert [c.shape for c in proj.coords] == [(100, 2), (60, 2)]


def test_pca_2d_handles_one_column_and_rejects_mixed_dimensions():
    proj = D.pca_2d([np.arange(10.0)[:, None]])
    assert proj.coords[0].shape == (10, 2)
    np.testing.assert_allclose(proj.coords[0][:, 1], 0.0)
    assert proj.explained[1] == 0.0
    with pytest.raises(ValueError, match="same dimension"):
        D.pca_2d([np.ones((5, 2)), np.ones((5, 3))])


# --------------------------------------------------------------------------- sweep


def test_diagnostics_sweep_against_adherence():
    config = ScenarioConfig(K=2, J=2, L=2, n_synthetic=120, n_anchor_per_component=30)
    df = D.diagnostics_sweep(config, "adherence", [0.0, 1.0], rounds=6, n_permutations=49)
    assert list(df.columns) == list(D.SCENARIO_COLUMNS)
    assert len(df) == 12
    summary = D.summarise_sweep(df).set_index("value")
    # Following the prompt ties synthetic samples to their anchor partners ...
    assert summary.loc[1.0, "hsic_mean"] > 5 * summary.loc[0.0, "hsic_mean"]
    assert summary.loc[1.0, "hsic_reject_rate"] > summary.loc[0.0, "hsic_reject_rate"]
    # ... and concentrates them on the K anchor components: less entropy.
    for col in ("synthetic_exact_entropy_mean", "synthetic_cluster_entropy_mean"):
        assert summary.loc[1.0, col] < summary.loc[0.0, col]
    # kNN estimates track the exact entropy (d=2, 120 points: within a few tenths).
    gap = (df.synthetic_knn_entropy - df.synthetic_exact_entropy).abs()
    assert gap.median() < 0.3
    # Cluster entropy is bounded by log(K+J), the target's number of components.
    assert (df.synthetic_cluster_entropy <= np.log(4) + 1e-12).all()


def test_diagnostics_sweep_is_reproducible_and_validates():
    config = ScenarioConfig(n_synthetic=60, n_anchor_per_component=10, adherence=0.5)
    calls = []
    a = D.diagnostics_sweep(
        config,
        "n_anchor_per_component",
        [5, 10],
        rounds=2,
        n_permutations=9,
        progress=lambda done, total: calls.append((done, total)),
    )
    b = D.diagnostics_sweep(config, "n_anchor_per_component", [5, 10], rounds=2, n_permutations=9)
    assert a.equals(b)
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    with pytest.raises(ValueError, match="param"):
        D.diagnostics_sweep(config, "K", [2], rounds=1)
    with pytest.raises(ValueError, match="adherence"):
        D.diagnostics_sweep(config, "adherence", [2.0], rounds=1)


def test_sweep_with_too_few_anchor_points_reports_nan_not_an_error():
    config = ScenarioConfig(K=2, J=1, L=0, n_anchor_per_component=3, n_synthetic=40)
    df = D.diagnostics_sweep(config, "n_anchor_per_component", [3, 10], rounds=2, n_permutations=9)
    # 6 anchor points are too few for a neighbour estimate; 20 are enough to report one.
    assert df[df.value == 3].anchor_knn_entropy.isna().all()
    assert np.isfinite(df[df.value == 10].anchor_knn_entropy).all()
    assert np.isfinite(df.synthetic_knn_entropy).all()
    assert np.isfinite(df.anchor_exact_entropy).all()


def test_diagnostics_cost_scales_with_work_and_refuses_big_requests():
    config = ScenarioConfig(n_synthetic=200)
    base = D.diagnostics_sweep_cost(config, "adherence", [0, 1], rounds=10, n_permutations=99)
    assert base == 2 * 10 * 100 * 200**2
    bigger = D.diagnostics_sweep_cost(
        config.replace(n_synthetic=400), "adherence", [0, 1], rounds=10, n_permutations=99
    )
    assert bigger == 4 * base
    D.check_diagnostics_cost(base)
    with pytest.raises(ValueError, match="Reduce"):
        D.check_diagnostics_cost(D.DIAGNOSTICS_WORK_LIMIT * 1.01)


def test_diagnostics_limit_follows_the_configured_work_budget(monkeypatch):
    from ggmi_core.budget import DEFAULT_WORK_BUDGET

    assert D.work_limit() == D.DIAGNOSTICS_WORK_LIMIT
    monkeypatch.setenv("GGMI_WORK_BUDGET", str(DEFAULT_WORK_BUDGET / 100))
    assert D.work_limit() == pytest.approx(D.DIAGNOSTICS_WORK_LIMIT / 100)
    with pytest.raises(ValueError, match="allows"):
        D.check_diagnostics_cost(D.DIAGNOSTICS_WORK_LIMIT / 50)


def test_analysis_cost_counts_hsic_only_for_paired_sets():
    paired = D.analysis_cost(1000, 1000, 768, True, 199)
    unpaired = D.analysis_cost(1000, 1000, 768, False, 199)
    assert paired - unpaired == 200 * 1000**2
    assert unpaired == 2000**2 * 768 / 8
    # The page's largest request (1000 rows, 499 permutations) fits the default limit.
    assert D.analysis_cost(1000, 1000, 1000, True, 499) < D.DIAGNOSTICS_WORK_LIMIT


def test_hsic_result_keeps_the_null_distribution():
    rng = np.random.default_rng(30)
    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    result = D.hsic_test(X, Y, 40, rng)
    assert len(result.null) == 40
    assert np.mean(result.null) == pytest.approx(result.null_mean)
    exceed = sum(v >= result.statistic for v in result.null)
    assert result.p_value == pytest.approx((1 + exceed) / 41)


def test_analyse_embeddings_paired_and_unpaired():
    rng = np.random.default_rng(31)
    anchor = rng.normal(size=(1200, 4))
    synthetic = anchor + 0.3 * rng.normal(size=(1200, 4))  # each row depends on its anchor
    report = D.analyse_embeddings(anchor, synthetic, True, 19, np.random.default_rng(1))
    assert report.paired and report.hsic is not None and report.hsic.p_value == 0.05
    assert report.entropy_drop == pytest.approx(
        report.anchor_entropy.value - report.synthetic_entropy.value
    )
    # Closed forms: synthetic ~ N(0, 1.09 I) against anchor ~ N(0, I) in d=4, both under
    # 0.01 nats. Comparing each synthetic row with its own partner (as if unpaired) drags
    # the estimate to about -0.23; disjoint halves keep it within the estimator's bias.
    v = 1.09
    for estimate, exact in (
        (report.kl_synthetic_anchor, 2 * (v - 1 - np.log(v))),
        (report.kl_anchor_synthetic, 2 * (1 / v - 1 + np.log(v))),
    ):
        assert estimate == pytest.approx(exact, abs=0.1)
    naive = D.analyse_embeddings(anchor, synthetic, False, 9, np.random.default_rng(1))
    assert naive.kl_synthetic_anchor < -0.15
    assert [c.shape for c in report.projection.coords] == [(1200, 2), (1200, 2)]
    unpaired = D.analyse_embeddings(anchor, synthetic[:100], False, 49, np.random.default_rng(1))
    assert unpaired.hsic is None and unpaired.n_synthetic == 100
    copied = D.analyse_embeddings(anchor, np.vstack([anchor[:7], synthetic]), False, 9, rng)
    assert copied.shared_rows == 7
    with pytest.raises(ValueError, match="same number of rows"):
        D.analyse_embeddings(anchor, synthetic[:100], True, 9, rng)
    with pytest.raises(ValueError, match="dimension"):
        D.analyse_embeddings(anchor, synthetic[:, :3], False, 9, rng)


def test_summarise_sweep_counts_p_equal_to_alpha_as_rejection():
    import pandas as pd

    rows = [
        {c: 0.0 for c in D.SCENARIO_COLUMNS} | {"value": 1.0, "scenario": i, "hsic_p_value": p}
        for i, p in enumerate([0.05, 0.05, 0.5, 0.04])
    ]
    summary = D.summarise_sweep(pd.DataFrame(rows))
    assert summary.hsic_reject_rate.tolist() == [0.75]
    assert summary.rounds.tolist() == [4]


def test_pca_2d_with_more_dimensions_than_points_matches_scikit_learn():
    rng = np.random.default_rng(17)
    A = rng.normal(size=(20, 50)) * np.linspace(3, 0.1, 50)
    B = rng.normal(size=(15, 50))
    proj = D.pca_2d([A, B])
    ref = PCA(n_components=2).fit(np.vstack([A, B]))
    np.testing.assert_allclose(proj.explained, ref.explained_variance_ratio_, rtol=1e-8)
    np.testing.assert_allclose(
        np.abs(np.vstack(proj.coords)), np.abs(ref.transform(np.vstack([A, B]))), atol=1e-8
    )
    np.testing.assert_allclose(np.linalg.norm(proj.components, axis=1), 1.0)
