"""Figure builders of the Diagnostics page: the numbers drawn are the numbers computed."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from ggmi_core import diagnostics as D
from ggmi_core.config import ScenarioConfig
from ggmi_viz import diagnostics as vd


@pytest.fixture(scope="module")
def sweep():
    config = ScenarioConfig(K=2, J=2, L=1, n_synthetic=80, n_anchor_per_component=20)
    per = D.diagnostics_sweep(config, "adherence", [0.0, 0.5, 1.0], rounds=4, n_permutations=19)
    return config, per, D.summarise_sweep(per)


@pytest.fixture(scope="module")
def report():
    rng = np.random.default_rng(0)
    anchor = rng.normal(size=(120, 5))
    synthetic = anchor + 0.5 * rng.normal(size=(120, 5))
    return D.analyse_embeddings(anchor, synthetic, True, 39, np.random.default_rng(1))


def _no_latex(fig: go.Figure) -> None:
    assert "$" not in fig.to_json(), "no LaTeX in figure text (kaleido would fetch MathJax)"


def _trace(fig: go.Figure, name: str):
    matches = [t for t in fig.data if t.name == name]
    assert len(matches) == 1, [t.name for t in fig.data]
    return matches[0]


def test_hsic_sweep_figure_draws_every_scenario_mean_band_and_rejection_rate(sweep):
    _, per, summary = sweep
    fig = vd.hsic_sweep_figure(per, summary, "adherence")
    _no_latex(fig)
    dots = _trace(fig, "one scenario")
    np.testing.assert_allclose(dots.y, per.hsic)
    np.testing.assert_allclose(dots.customdata, per.hsic_p_value)
    mean = _trace(fig, "mean HSIC")
    np.testing.assert_allclose(mean.y, per.groupby("value").hsic.mean())
    band = _trace(fig, "mean ± 1 std")
    std = per.groupby("value").hsic.std().to_numpy()
    np.testing.assert_allclose(np.max(band.y[:3]), np.max(mean.y + std))
    rate = _trace(fig, "share of scenarios with p ≤ 0.05")
    np.testing.assert_allclose(
        rate.y, per.groupby("value").hsic_p_value.apply(lambda p: (p <= 0.05).mean())
    )
    assert rate.yaxis == "y2"
    assert "adherence" in fig.layout.xaxis.title.text
    assert fig.layout.template.layout.font.size == 14


def test_entropy_sweep_figure_panels_series_and_reference_lines(sweep):
    config, per, summary = sweep
    fig = vd.entropy_sweep_figure(summary, "adherence", config.K, config.n_target_components)
    _no_latex(fig)
    exact = _trace(fig, "synthetic: exact (D_gen)")
    np.testing.assert_allclose(exact.y, per.groupby("value").synthetic_exact_entropy.mean())
    knn = _trace(fig, "synthetic: kNN estimate")
    np.testing.assert_allclose(
        knn.error_y.array, per.groupby("value").synthetic_knn_entropy.sem(), rtol=1e-10
    )
    cluster = _trace(fig, "synthetic: cluster entropy")
    assert cluster.xaxis == "x2"
    lines = sorted(s.y0 for s in fig.layout.shapes)
    np.testing.assert_allclose(lines, [np.log(2), np.log(4)])


def test_figures_reject_tables_without_their_columns(sweep):
    _, per, summary = sweep
    with pytest.raises(ValueError, match="hsic_std"):
        vd.hsic_sweep_figure(per, summary.drop(columns="hsic_std"), "adherence")
    with pytest.raises(ValueError, match="anchor_cluster_entropy_mean"):
        vd.entropy_sweep_figure(
            summary.drop(columns="anchor_cluster_entropy_mean"), "adherence", 2, 4
        )


def test_lecture_mode_enlarges_type(sweep):
    _, per, summary = sweep
    normal = vd.hsic_sweep_figure(per, summary, "adherence")
    big = vd.hsic_sweep_figure(per, summary, "adherence", lecture=True)
    assert big.layout.template.layout.font.size > normal.layout.template.layout.font.size


def test_paper_table_holds_the_published_numbers():
    table = vd.paper_results_table()
    gpt = table[(table["paper table"] == "Tables 2-3")]
    assert gpt["in-context instances"].tolist() == [3, 10, 20]
    assert gpt["HSIC"].tolist() == [7.8703, 7.8668, 7.8502]
    assert gpt["semantic entropy"].tolist() == [1.0739, 1.0503, 1.0005]
    llama = table[table.generator == "Llama-3.2-3B-Instruct"].iloc[0]
    assert (llama["HSIC"], llama["semantic entropy"]) == (11.4306, 2.9427)
    # Both fall as instances grow: the paper's direction.
    assert gpt["HSIC"].is_monotonic_decreasing and gpt["semantic entropy"].is_monotonic_decreasing


def test_projection_figure_and_data_match_the_report(report):
    fig = vd.projection_figure(report)
    _no_latex(fig)
    anchor, synthetic = fig.data
    np.testing.assert_allclose(anchor.x, report.projection.coords[0][:, 0])
    np.testing.assert_allclose(synthetic.y, report.projection.coords[1][:, 1])
    assert anchor.name == "anchor (120)"
    assert f"{report.projection.explained[0]:.0%}" in fig.layout.xaxis.title.text
    data = vd.projection_data(report)
    assert list(data.columns) == ["set", "row", "pc1", "pc2"]
    assert (data.set == "synthetic").sum() == 120
    np.testing.assert_allclose(data.pc1[:120], report.projection.coords[0][:, 0])


def test_hsic_null_figure_marks_the_observed_statistic(report):
    fig = vd.hsic_null_figure(report.hsic)
    _no_latex(fig)
    assert list(fig.data[0].x) == list(report.hsic.null)
    assert fig.layout.shapes[0].x0 == pytest.approx(report.hsic.statistic)
    data = vd.hsic_null_data(report.hsic)
    assert data.kind.tolist().count("permutation") == 39
    assert data.hsic[0] == report.hsic.statistic


def test_report_table_lists_every_number(report):
    table = vd.report_table(report).set_index("quantity")
    assert table.loc["HSIC permutation p-value", "value"] == report.hsic.p_value
    assert table.loc["entropy drop: anchor - synthetic (nats)", "value"] == pytest.approx(
        report.entropy_drop
    )
    assert table.loc["KL(synthetic || anchor) (kNN, nats)", "value"] == report.kl_synthetic_anchor
    unpaired = D.analyse_embeddings(
        report.projection.coords[0],
        report.projection.coords[1][:50],
        False,
        9,
        np.random.default_rng(0),
    )
    assert not any("HSIC" in q for q in vd.report_table(unpaired).quantity)


def test_n_k_sweeps_use_a_log_axis(sweep):
    _, per, summary = sweep
    assert vd.hsic_sweep_figure(per, summary, "adherence").layout.xaxis.type is None
    # Relabel the three swept values as N_k = 3, 20, 200 (the figure only reads "value").
    as_nk = {0.0: 3.0, 0.5: 20.0, 1.0: 200.0}
    per_nk = per.assign(value=per["value"].map(as_nk))
    summary_nk = summary.assign(value=summary["value"].map(as_nk))
    fig = vd.hsic_sweep_figure(per_nk, summary_nk, "n_anchor_per_component")
    assert fig.layout.xaxis.type == "log"
    assert list(fig.layout.xaxis.tickvals) == [3.0, 20.0, 200.0]
    assert list(fig.layout.xaxis.ticktext) == ["3", "20", "200"]
    entropy = vd.entropy_sweep_figure(summary_nk, "n_anchor_per_component", 2, 4)
    assert entropy.layout.xaxis.type == entropy.layout.xaxis2.type == "log"
