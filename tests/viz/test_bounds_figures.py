"""Figure builders of the Bound-terms page: numbers, labels, and no LaTeX in figure text."""

from __future__ import annotations

import math
import re

import numpy as np
import plotly.graph_objects as go
import pytest

from ggmi_core.bounds import BoundTerms, bound_terms, sweep_bound_terms
from ggmi_core.config import ScenarioConfig
from ggmi_core.estimate import Estimate
from ggmi_viz import bounds as vb
from ggmi_viz.theme import visible_length

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
    assert fig.layout.title.text.replace("<br>", " ") == title  # lecture mode wraps it
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
    # a slide keeps the definition, wrapped into short lines that stay whole words
    lecture = vb.tick_label("entropy_drop", lecture=True)
    assert lecture.startswith("δ ↑<br>")
    drawn = re.sub(r"<[^>]+>", " ", lecture)
    assert " ".join(drawn.split()) == "δ ↑ = H(S_anchor) − H(S_gen)"
    assert all(visible_length(line) <= 14 for line in lecture.split("<br>"))
    assert vb.tick_label("err_gain") == "Err(π_anchor)<br>− Err(π_gen) ↑"
    # H(e_M) equals Δ_I at adherence 0, so it must not carry the opposite arrow;
    # Lemma 4.5 sees both only through I(e_M; e_p), whose smaller value is better
    assert vb.term_label("H_eM") == "H(e_M)"
    assert vb.term_label("I_eM_ep").endswith("↓")


def test_info_gain_parts_figure_stacks_pieces_to_the_exact_total():
    import pandas as pd

    from ggmi_core.bounds import info_gain_parts_table

    config = ScenarioConfig()
    table = pd.concat(
        [info_gain_parts_table(config, p, range(2, 8)) for p in ("J", "L")], ignore_index=True
    )
    fig = vb.info_gain_parts_figure(table)
    _no_latex(fig)
    assert fig.layout.barmode == "stack"
    for axis in ("x", "x2"):
        bars = [t for t in fig.data if t.type == "bar" and t.xaxis == axis]
        assert len(bars) == 4
        stacked = np.sum([np.asarray(t.y, dtype=float) for t in bars], axis=0)
        np.testing.assert_allclose(stacked, [math.log(4 + v) for v in range(2, 8)])
    # J grows the unsampled slice, L the task-irrelevant one
    j_unsampled = next(t for t in fig.data if t.name == "within unsampled" and t.xaxis == "x")
    l_unsampled = next(t for t in fig.data if t.name == "within unsampled" and t.xaxis == "x2")
    assert j_unsampled.y[-1] > j_unsampled.y[0] and l_unsampled.y[-1] < l_unsampled.y[0]


def test_jl_contrast_puts_gain_task_term_and_gap_in_rows(sweep_table):
    sweeps = {"J": sweep_table.assign(param="J"), "L": sweep_table}
    fig = vb.jl_contrast_figure(sweeps, metric="js")
    _no_latex(fig)
    assert len(fig.data) == 6
    names = {t.name for t in fig.data}
    assert names == {
        vb.term_label(k, metric="js") for k in ("info_gain", "task_term", "metric_gap")
    }
    # the L column is drawn second: its gap is the last "JS gap" trace
    gap = [t for t in fig.data if t.name == "JS gap ↑"][-1]
    expected = sweep_table[sweep_table.term == "metric_gap"].sort_values("value")["mean"]
    np.testing.assert_allclose(np.asarray(gap.y, dtype=float), expected.to_numpy())
    data = vb.jl_contrast_data(sweeps)
    assert set(data["param"]) == {"J", "L"} and set(data["term"]) == {
        "info_gain",
        "task_term",
        "metric_gap",
    }


def test_sample_size_figure_shows_measured_errors_and_standin_shapes():
    from ggmi_core.bounds import sample_size_table

    config = ScenarioConfig(seed=2)
    sweep = sweep_bound_terms(config, "n_synthetic", [50, 400], rounds=4, n_mc=600)
    table = sample_size_table(config, sweep)
    fig = vb.sample_size_figure(table)
    _no_latex(fig)
    assert len(fig.data) == 4
    left = [t for t in fig.data if t.xaxis == "x"]
    right = [t for t in fig.data if t.xaxis == "x2"]
    np.testing.assert_allclose(np.asarray(left[0].y, dtype=float), table["err_synthetic"])
    np.testing.assert_allclose(np.asarray(right[0].y, dtype=float), table["bound_shape_synthetic"])
    assert "m = 100" in left[1].name
    assert "stand-in" in fig.layout.title.subtitle.text
    with pytest.raises(ValueError, match="lacks"):
        vb.sample_size_figure(table.drop(columns="m"))
