"""Figure builders of the Bound-terms page: numbers, labels, and no LaTeX in figure text."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import pytest

from ggmi_core.bounds import BoundTerms, bound_terms, sweep_bound_terms
from ggmi_core.config import ScenarioConfig
from ggmi_core.estimate import Estimate
from ggmi_viz import bounds as vb

ROUNDS = 8


@pytest.fixture(scope="module")
def terms() -> BoundTerms:
    return bound_terms(ScenarioConfig(seed=2, noise_std=0.4), rounds=ROUNDS, n_mc=800)


@pytest.fixture(scope="module")
def sweep_table():
    return sweep_bound_terms(ScenarioConfig(seed=2), "L", [0, 3, 6], rounds=5, n_mc=600)


def _no_latex(fig: go.Figure) -> None:
    text = fig.to_json()
    assert "$" not in text, "figure text must not contain LaTeX (kaleido would fetch MathJax)"
    assert "\\\\frac" not in text and "\\\\mathrm" not in text


def _bars(fig: go.Figure) -> dict[str, float]:
    return {t.name: float(t.y[0]) for t in fig.data if t.type == "bar"}


def test_lemma_figure_stacks_the_three_terms_into_the_bound(terms):
    fig = vb.lemma31_figure(terms)
    _no_latex(fig)
    assert fig.layout.barmode == "stack"
    bars = _bars(fig)
    summary = terms.summary().set_index("term")["mean"]
    stacked = sum(bars[vb.term_label(k)] for k in ("task_term", "generation_term", "sampling_term"))
    assert stacked == pytest.approx(summary["bound_total"])
    assert bars[vb.term_label("err_synthetic")] == pytest.approx(summary["err_synthetic"])
    assert bars[vb.term_label("generation_term")] > 0  # noise 0.4 separates M from D_gen
    points = next(t for t in fig.data if t.name == "scenario: bound holds")
    assert len(points.x) == ROUNDS
    np.testing.assert_allclose(points.y, terms.bound_total.value)
    assert fig.layout.title.text.startswith(f"Lemma 3.1 holds in {ROUNDS} of {ROUNDS}")


def test_a_violation_is_drawn_as_its_own_marker(terms):
    err = np.asarray(terms.err_synthetic.value).copy()
    err[0] = terms.bound_total.value[0] + 5.0
    broken = BoundTerms(**{**terms.__dict__, "err_synthetic": Estimate(err, np.zeros(ROUNDS))})
    fig = vb.lemma31_figure(broken)
    bad = next(t for t in fig.data if t.name == "scenario: bound violated")
    assert list(bad.customdata) == [0]
    assert fig.layout.title.text.startswith(f"Lemma 3.1 holds in {ROUNDS - 1} of {ROUNDS}")


def test_information_figure_shows_exact_gain_with_direction_and_meaning(terms):
    fig = vb.information_figure(terms)
    _no_latex(fig)
    bars = {t.x[0]: t for t in fig.data if t.type == "bar"}
    gain = bars[vb.tick_label("info_gain")]
    assert gain.y[0] == pytest.approx(math.log(6))
    assert gain.error_y.array is None  # exact: no error bar
    assert "↑" in gain.x[0]
    assert "information gain" in gain.hovertemplate
    drop = bars[vb.tick_label("entropy_drop")]
    mean = terms.summary().set_index("term").loc["entropy_drop", "mean"]
    assert drop.y[0] == pytest.approx(mean)
    assert drop.error_y.array[0] > 0


def test_gain_figure_shows_every_scenario(terms):
    fig = vb.gain_figure(terms)
    _no_latex(fig)
    boxes = {t.name: t for t in fig.data if t.type == "box"}
    np.testing.assert_allclose(boxes[vb.term_label("err_gain")].y, terms.err_gain.value)
    np.testing.assert_allclose(boxes["JS gap ↑"].y, terms.metric_gap.value)
    table = vb.gain_data(terms)
    assert len(table) == ROUNDS
    assert set(table["metric"]) == {"js"}


def test_data_tables_match_the_terms(terms):
    lemma = vb.lemma31_data(terms)
    assert len(lemma) == ROUNDS
    np.testing.assert_allclose(
        lemma["bound_total"], lemma[["task_term", "generation_term", "sampling_term"]].sum(axis=1)
    )
    assert lemma["bound_holds"].dtype == bool
    info = vb.information_data(terms)
    np.testing.assert_allclose(info["entropy_drop"], info["h_anchor"] - info["h_synthetic"])


def test_sweep_figure_draws_each_term_against_the_parameter(sweep_table):
    fig = vb.sweep_figure(sweep_table, "L")
    _no_latex(fig)
    gain = next(t for t in fig.data if t.name == vb.term_label("info_gain"))
    assert list(gain.x) == [0, 3, 6]
    np.testing.assert_allclose(gain.y, [math.log(4), math.log(7), math.log(10)])
    drawn = {t.name for t in fig.data}
    for _, keys in vb.SWEEP_PANELS:
        for key in keys:
            assert vb.term_label(key) in drawn
    assert "L (task-irrelevant model components)" in fig.layout.xaxis.title.text
    wide = vb.sweep_data(sweep_table)
    assert list(wide["value"]) == [0, 3, 6]
    np.testing.assert_allclose(wide["info_gain_mean"], gain.y)


def test_single_panel_sweep_is_its_own_figure(sweep_table):
    title, keys = vb.SWEEP_PANELS[0]
    fig = vb.sweep_figure(sweep_table, "L", panels=[vb.SWEEP_PANELS[0]], lecture=True)
    _no_latex(fig)
    assert fig.layout.title.text == title
    assert [t.name for t in fig.data] == [vb.term_label(k) for k in keys]
    assert fig.layout.legend.orientation == "h"
    wide = vb.sweep_data(sweep_table, keys)
    assert sorted(c for c in wide.columns if c != "value") == sorted(
        f"{k}_{stat}" for k in keys for stat in ("mean", "stderr")
    )


def test_sweep_figure_rejects_a_table_without_its_columns(sweep_table):
    with pytest.raises(ValueError, match="stderr"):
        vb.sweep_figure(sweep_table.drop(columns="stderr"), "L")
    with pytest.raises(ValueError, match="panel"):
        vb.sweep_figure(sweep_table, "L", panels=[])


def test_lecture_mode_enlarges_type(terms):
    normal = vb.lemma31_figure(terms)
    lecture = vb.lemma31_figure(terms, lecture=True)
    assert lecture.layout.template.layout.font.size > normal.layout.template.layout.font.size


def test_labels_carry_the_paper_direction():
    assert vb.term_label("info_gain").endswith("↑")
    assert vb.term_label("task_term").endswith("↓")
    assert vb.term_label("h_anchor") == "H(S_anchor)"
    assert vb.term_label("metric_gap", metric="kl") == "KL gap ↑"
    assert vb.term_label("entropy_drop", two_lines=True) == "δ ↑<br>= H(S_anchor) − H(S_gen)"
    assert vb.tick_label("entropy_drop", lecture=True) == "δ ↑"
    assert vb.tick_label("err_gain") == "Err(π_anchor)<br>− Err(π_gen) ↑"
