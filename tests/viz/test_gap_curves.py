"""Figure-4 builders: bands, per-scenario boxes, units, robust range, the 2 x 3 grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from summary_helpers import summary_of_gaps

from ggmi_viz.gap_curves import (
    figure4_data,
    figure4_figure,
    gap_curve_figure,
    metric_axis_title,
    per_scenario_table,
    tables_by_letter,
)

VALUES = [2, 4, 6, 8]


def _gaps(seed=0, heavy=False):
    rng = np.random.default_rng(seed)
    draw = rng.standard_t(1.5, size=(len(VALUES), 80)) if heavy else rng.normal(size=(4, 80))
    return [row + 1.0 - 0.3 * v for row, v in zip(draw, VALUES, strict=True)]


def test_summary_matches_numpy():
    gaps = _gaps()
    s = summary_of_gaps(VALUES, gaps)
    for row, g in zip(s.itertuples(), gaps, strict=True):
        assert row.gap_mean == pytest.approx(g.mean())
        assert row.gap_std == pytest.approx(g.std(ddof=1))
        assert row.gap_sem == pytest.approx(g.std(ddof=1) / np.sqrt(80))
        assert row.gap_median == pytest.approx(np.median(g))
        assert row.gap_q10 == pytest.approx(np.quantile(g, 0.1))
        assert row.gap_q90 == pytest.approx(np.quantile(g, 0.9))
    long = per_scenario_table(VALUES, gaps)
    assert len(long) == 4 * 80 and set(long.value) == set(VALUES)


def test_std_band_is_mean_plus_minus_std_and_quantile_band_is_q10_q90():
    gaps = _gaps()
    s = summary_of_gaps(VALUES, gaps)
    fig = gap_curve_figure(s, "K", "js", bands=("std", "quantile"))
    fills = [t for t in fig.data if t.fill == "toself"]
    assert len(fills) == 2
    std_band, q_band = fills
    n = len(VALUES)
    np.testing.assert_allclose(std_band.y[:n], s.gap_mean + s.gap_std)
    np.testing.assert_allclose(std_band.y[n:], (s.gap_mean - s.gap_std)[::-1])
    np.testing.assert_allclose(q_band.y[:n], s.gap_q90)
    np.testing.assert_allclose(q_band.y[n:], s.gap_q10[::-1])
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    np.testing.assert_allclose(lines[0].y, s.gap_mean)
    np.testing.assert_allclose(lines[1].y, s.gap_median)


def test_per_scenario_boxes_hold_every_scenario():
    gaps = _gaps()
    fig = gap_curve_figure(
        summary_of_gaps(VALUES, gaps), "J", "tv", per_scenario=per_scenario_table(VALUES, gaps)
    )
    (box,) = [t for t in fig.data if t.type == "box"]
    assert len(box.y) == 4 * 80
    np.testing.assert_allclose(np.sort(box.y), np.sort(np.concatenate(gaps)))


def test_axis_titles_carry_units():
    for metric in ("kl_published", "kl", "kl_reverse", "js"):
        assert "(nats)" in metric_axis_title(metric)
        fig = gap_curve_figure(summary_of_gaps(VALUES, _gaps()), "L", metric, bands=("std",))
        assert "nats" in fig.layout.yaxis.title.text
        assert fig.layout.xaxis.title.text.startswith("L,")
    # total variation is a probability, not nats
    assert "nats" not in metric_axis_title("tv") and "probability" in metric_axis_title("tv")


def test_heavy_tails_clip_the_axis_and_say_so():
    gaps = _gaps(heavy=True)
    gaps[0][0] = -5000.0  # one exploding scenario, like exact KL on L components
    s, long = summary_of_gaps(VALUES, gaps), per_scenario_table(VALUES, gaps)
    fig = gap_curve_figure(s, "K", "kl", per_scenario=long)
    lo, hi = fig.layout.yaxis.range
    assert lo > -5000 and hi < np.max(np.concatenate(gaps)) + 1
    notes = [a.text for a in fig.layout.annotations if "clipped" in (a.text or "")]
    assert len(notes) == 1
    outside = int(np.sum((long.gap < lo) | (long.gap > hi)))
    assert f"{outside} scenario value(s)" in notes[0]
    # without clipping, plotly autoranges over everything
    free = gap_curve_figure(s, "K", "kl", per_scenario=long, robust_range=False)
    assert free.layout.yaxis.range is None


def test_well_behaved_gaps_are_not_clipped():
    gaps = [np.linspace(-1, 1, 50) + v for v in VALUES]
    fig = gap_curve_figure(
        summary_of_gaps(VALUES, gaps), "K", "js", per_scenario=per_scenario_table(VALUES, gaps)
    )
    assert fig.layout.yaxis.range is None


def test_missing_columns_and_bad_band_are_refused():
    with pytest.raises(ValueError, match="gap_std"):
        gap_curve_figure(pd.DataFrame({"value": [1], "gap_mean": [0.0]}), "K", "js")
    with pytest.raises(ValueError, match="band"):
        gap_curve_figure(summary_of_gaps(VALUES, _gaps()), "K", "js", bands=("iqr",))


def test_figure4_grid_has_a_panel_per_metric_and_letter():
    s = summary_of_gaps(VALUES, _gaps())
    tables = {"kl_published": {p: s for p in "KJL"}, "js": {p: s for p in "KJL"}}
    fig = figure4_figure(tables, bands=None)
    # two traces (band + mean) per panel, six panels
    assert len(fig.data) == 12
    axes = {(t.xaxis, t.yaxis) for t in fig.data}
    assert len(axes) == 6
    assert "nats" in fig.layout.yaxis.title.text and "nats" in fig.layout.yaxis4.title.text
    titles = [a.text for a in fig.layout.annotations if a.text]
    assert titles == ["vary K (J = L = 2)", "vary J (K = L = 2)", "vary L (K = J = 2)"]
    assert "published" in fig.layout.yaxis.title.text and "JS" in fig.layout.yaxis4.title.text
    assert "$" not in fig.to_json()


def test_figure4_tables_split_a_stored_csv_by_letter():
    s = summary_of_gaps(VALUES, _gaps())
    long = pd.concat([s.assign(param=p) for p in "KJL"], ignore_index=True)
    tables = tables_by_letter(long.sample(frac=1.0, random_state=0))
    assert list(tables) != [] and set(tables) == {"K", "J", "L"}
    for t in tables.values():
        assert list(t.value) == VALUES and "param" not in t.columns
    with pytest.raises(ValueError, match="param"):
        tables_by_letter(s.drop(columns="param"))


def test_figure_text_has_no_latex():
    # The page's caption and estimator note (assets/content/gap_curves/page.md) are
    # checked for "$" in tests/app/test_page_prose.py.
    gaps = _gaps()
    fig = gap_curve_figure(
        summary_of_gaps(VALUES, gaps),
        "K",
        "kl",
        per_scenario=per_scenario_table(VALUES, gaps),
        lecture=True,
    )
    assert "$" not in fig.to_json()


def test_figure4_default_draws_std_and_standard_error_bands_around_one_mean_line():
    s = summary_of_gaps(VALUES, _gaps())
    fig = figure4_figure({"kl_published": {"K": s}})
    fills = [t for t in fig.data if t.fill == "toself"]
    lines = [t for t in fig.data if t.fill != "toself"]
    assert len(fills) == 2 and len(lines) == 1
    mean, std, sem = (s[c].to_numpy() for c in ("gap_mean", "gap_std", "gap_sem"))
    by_name = {t.name: np.asarray(t.y) for t in fills}
    n = len(VALUES)
    wide = by_name["mean +- 1 std (as published)"]
    narrow = by_name["mean +- 1 standard error"]
    np.testing.assert_allclose(wide[:n], mean + std)
    np.testing.assert_allclose(narrow[:n], mean + sem)
    np.testing.assert_allclose(narrow[n:], (mean - sem)[::-1])
    # the standard error of 80 scenarios is std / sqrt(80): the dark band sits inside
    assert np.all(narrow[:n] < wide[:n])
    np.testing.assert_allclose(np.asarray(lines[0].y), mean)
    assert "standard error" in fig.layout.title.text


def test_sem_band_needs_the_sem_column():
    # without a stored standard error or the scenario count it comes from
    s = summary_of_gaps(VALUES, _gaps()).drop(columns=["gap_sem", "rounds"])
    with pytest.raises(ValueError, match="gap_sem"):
        figure4_figure({"js": {"K": s}}, bands=("std", "sem"))


def test_band_traces_draw_no_markers_and_whole_numbers_get_whole_ticks():
    s = summary_of_gaps(VALUES, _gaps())
    fig = gap_curve_figure(s, "K", "js", bands=("std", "quantile"))
    for band in (t for t in fig.data if t.fill == "toself"):
        assert band.mode == "lines"
    assert fig.layout.xaxis.tickformat == "d" and fig.layout.xaxis.dtick == 1
    floats = summary_of_gaps([0.0, 0.25, 0.5], _gaps()[:3])
    assert gap_curve_figure(floats, "adherence", "js").layout.xaxis.tickformat is None


def test_figure4_data_stacks_every_panel_with_its_metric_and_letter():
    s = summary_of_gaps(VALUES, _gaps())
    data = figure4_data({"kl_published": {"K": s, "J": s}, "js": {"K": s}})
    assert list(data.columns[:4]) == ["metric", "param", "value", "rounds"]
    assert len(data) == 3 * len(VALUES)
    assert set(zip(data.metric, data.param, strict=True)) == {
        ("kl_published", "K"),
        ("kl_published", "J"),
        ("js", "K"),
    }


def test_figure4_derives_the_standard_error_band_from_stored_counts() -> None:
    from ggmi_viz.gap_curves import tables_by_letter, with_standard_error

    rows = [
        {"param": p, "value": v, "rounds": 100, "gap_mean": 0.1 * v, "gap_std": 0.5}
        for p in "KJL"
        for v in range(2, 6)
    ]
    table = pd.DataFrame(rows)
    np.testing.assert_allclose(with_standard_error(table)["gap_sem"], 0.05)
    fig = figure4_figure({"js": tables_by_letter(table)})
    means = [t for t in fig.data if t.mode == "lines+markers"]
    assert len(means) == 3  # one mean line per letter, even without a stored gap_sem
    assert "gap_sem" not in with_standard_error(table.drop(columns=["rounds"]))
