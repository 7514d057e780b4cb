"""Distributions page through AppTest: widgets drive the figure, the URL restores it."""

from __future__ import annotations

import json

import numpy as np
from page_helpers import array, figures, messages, run_page, traces

PAGE = "pages/1_Distributions.py"


def _points(spec, prefix: str) -> int:
    return sum(len(array(t["x"])) for t in traces(spec, "scatter") if t["name"].startswith(prefix))


#: Legend groups of the mixtures whose contour lines Figure 2 draws.
_MIXTURES = {"target", "model", "gen", "fit_anchor", "fit_synthetic"}


def _contours(spec) -> list[str]:
    """Names of the drawn contour lines: one line trace per mixture (its hover points are
    separate markers), and never a grid for the browser to contour."""
    assert not traces(spec, "contour")
    return [
        t["name"]
        for t in traces(spec, "scatter")
        if t.get("mode") == "lines" and t.get("legendgroup") in _MIXTURES
    ]


def test_defaults_show_g_both_fits_and_every_sample() -> None:
    at = run_page(PAGE)
    (spec,) = figures(at)
    assert _contours(spec) == ["target G", "fit on anchor", "fit on synthetic"]
    assert _points(spec, "anchor") == 2 * 50
    assert _points(spec, "synthetic") == 200
    assert dict(at.query_params.items()) == {}  # every setting at its default
    table = at.dataframe[0].value
    assert len(table) == 5  # exact KL both ways, JS, TV, histogram KL (d = 2)
    assert not at.error and not at.warning


def test_moving_k_redraws_with_more_anchor_data() -> None:
    at = run_page(PAGE)
    at.slider(key="w_K").set_value(4).run()
    assert not at.exception
    (spec,) = figures(at)
    assert _points(spec, "anchor") == 4 * 50
    assert "K = 4" in spec["layout"]["title"]["text"]
    assert at.query_params["K"] == "4"


def test_layer_toggles_add_and_remove_traces() -> None:
    at = run_page(PAGE)
    at.toggle(key="w_dist_show_model").set_value(True).run()
    at.toggle(key="w_dist_show_anchor_samples").set_value(False).run()
    (spec,) = figures(at)
    assert "model M" in _contours(spec)
    assert _points(spec, "anchor") == 0
    at.toggle(key="w_dist_show_components").set_value(True).run()
    names = [t["name"] for t in traces(figures(at)[0], "scatter")]
    assert sum(n.startswith("M components") for n in names) == 3


def test_dimension_one_and_five_change_the_view() -> None:
    at = run_page(PAGE)
    at.slider(key="w_dim").set_value(1).run()
    spec = figures(at)[0]
    assert not traces(spec, "contour")
    assert not any(t.get("legendgroup") == "target" and "hover" in t["name"] for t in spec["data"])
    assert spec["layout"]["yaxis"]["title"]["text"].startswith("density")
    at.slider(key="w_dim").set_value(5).run()
    at.selectbox(key="w_dist_projection").set_value("pca").run()
    spec = figures(at)[0]
    assert "principal axis 1" in spec["layout"]["xaxis"]["title"]["text"]
    assert len(at.dataframe[0].value) == 4  # no histogram KL above d = 2
    assert any("principal axes" in c.value for c in at.caption)


def test_url_restores_the_same_figure() -> None:
    query = {"K": "3", "J": "1", "L": "4", "seed": "7", "noise_std": "0.3", "adherence": "0.5"}
    a = run_page(PAGE, query)
    assert a.slider(key="w_K").value == 3 and a.number_input(key="w_seed").value == 7
    b = run_page(PAGE, query)
    for ta, tb in zip(figures(a)[0]["data"], figures(b)[0]["data"], strict=True):
        np.testing.assert_array_equal(array(ta["x"]), array(tb["x"]))
    # and a different seed gives a different scenario
    c = run_page(PAGE, {**query, "seed": "8"})
    first = lambda at: array(traces(figures(at)[0], "scatter")[0]["x"])  # noqa: E731
    assert not np.array_equal(first(a), first(c))


def test_invalid_url_values_fall_back_with_a_notice() -> None:
    at = run_page(PAGE, {"K": "abc", "cov_recipe": "nonsense", "dim": "99"})
    notes = " ".join(messages(at, "warning"))
    assert "'K'" in notes and "'cov_recipe'" in notes and "'dim'" in notes
    assert at.slider(key="w_K").value == 2 and at.selectbox(key="w_cov_recipe").value == "published"
    assert figures(at)


def test_impossible_combination_shows_an_error_not_a_traceback() -> None:
    at = run_page(PAGE, {"K": "15", "J": "15", "L": "15", "n_synthetic": "20"})
    assert any("n_synthetic" in e for e in messages(at, "error"))
    assert not figures(at)


def test_preset_restores_the_paper_figure_2_settings() -> None:
    at = run_page(PAGE, {"K": "5", "noise_std": "1.0"})
    at.button(key="_ggmi_preset::Paper Figure 2 (published settings)").click().run()
    assert at.slider(key="w_K").value == 2 and at.slider(key="w_noise_std").value == 0.0
    assert "K" not in at.query_params and "noise_std" not in at.query_params  # defaults
    assert _points(figures(at)[0], "anchor") == 100


def test_covariance_recipe_changes_the_scenario() -> None:
    at = run_page(PAGE)
    before = array(traces(figures(at)[0], "scatter")[0]["x"])
    at.selectbox(key="w_cov_recipe").set_value("aat").run()
    after = array(traces(figures(at)[0], "scatter")[0]["x"])
    assert not np.array_equal(before, after)
    assert at.query_params["cov_recipe"] == "aat"


def test_chart_config_stays_put_when_a_letter_moves() -> None:
    """Figure 2's plotly config (the toolbar PNG's name) is the same at every K and seed:
    plotly.js redraws a chart whose config changed from scratch, twice the work of new data."""
    at = run_page(PAGE, {"seed": "5"})
    (chart,) = at.get("plotly_chart")
    before = json.loads(chart.proto.config)
    at.slider(key="w_K").set_value(4).run()
    at.number_input(key="w_seed").set_value(6).run()
    (chart,) = at.get("plotly_chart")
    assert json.loads(chart.proto.config) == before
    assert before["toImageButtonOptions"]["filename"] == "figure2"
