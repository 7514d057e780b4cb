"""KL Gap curves page through AppTest: Figure 4 on opening, live sweeps, budget, URL."""

from __future__ import annotations

import numpy as np
import pytest
from page_helpers import array, figures, messages, run_page, traces

from ggmi_app.scenario_params import ROUNDS_DEFAULT

PAGE = "pages/2_KL_Gap_curves.py"
SMALL = {"gap_rounds": "10", "gap_sweep_points": "4", "gap_sweep_from": "2", "gap_sweep_to": "5"}


def _sweep(at):
    figs = figures(at)
    assert len(figs) == 2, "expected Figure 4 and the sweep"
    return figs[1]


def test_opening_shows_figure_4_published_beside_js_and_a_sweep() -> None:
    at = run_page(PAGE)
    fig4, sweep = figures(at)
    axes = {(t.get("xaxis", "x"), t.get("yaxis", "y")) for t in traces(fig4)}
    assert len(axes) == 6  # 2 metrics x 3 letters
    assert "published" in fig4["layout"]["yaxis"]["title"]["text"]
    assert "JS" in fig4["layout"]["yaxis4"]["title"]["text"]
    (box,) = traces(sweep, "box")
    assert len(array(box["y"])) == 14 * ROUNDS_DEFAULT  # K = 2..15, default scenarios each
    assert "nats" in sweep["layout"]["yaxis"]["title"]["text"]
    assert "gap_sweep" not in at.query_params and "metric" not in at.query_params
    assert any("histogram" in i for i in messages(at, "info"))


def test_url_restores_the_sweep_and_its_numbers() -> None:
    query = {**SMALL, "gap_sweep": "L", "metric": "tv", "seed": "3"}
    a, b = run_page(PAGE, query), run_page(PAGE, query)
    box_a, box_b = traces(_sweep(a), "box")[0], traces(_sweep(b), "box")[0]
    assert sorted(set(array(box_a["x"]).tolist())) == [2, 3, 4, 5]
    np.testing.assert_array_equal(array(box_a["y"]), array(box_b["y"]))
    assert a.selectbox(key="w_gap_sweep").value == "L"
    assert "probability" in _sweep(a)["layout"]["yaxis"]["title"]["text"]


def test_widgets_change_the_sweep() -> None:
    at = run_page(PAGE, SMALL)
    at.slider(key="w_gap_rounds").set_value(20).run()
    (box,) = traces(_sweep(at), "box")
    assert len(array(box["y"])) == 4 * 20
    at.selectbox(key="w_gap_band").set_value("both").run()
    fills = [t for t in traces(_sweep(at), "scatter") if t.get("fill") == "toself"]
    assert len(fills) == 2
    at.toggle(key="w_gap_boxes").set_value(False).run()
    assert not traces(_sweep(at), "box")


def test_switching_the_swept_setting_gives_it_its_own_range() -> None:
    at = run_page(PAGE, SMALL)
    at.selectbox(key="w_gap_sweep").set_value("adherence").run()
    assert not at.exception and not at.error
    assert at.number_input(key="w_gap_sweep_to").value == 1.0
    line = next(t for t in traces(_sweep(at), "scatter") if t.get("mode") == "lines+markers")
    np.testing.assert_allclose(array(line["x"]).astype(float), np.linspace(0, 1, 11))
    assert _sweep(at)["layout"]["xaxis"]["title"]["text"].startswith("b, prompt adherence")


def test_the_swept_settings_own_slider_is_greyed_out_and_keeps_its_value() -> None:
    at = run_page(PAGE, {**SMALL, "K": "4"})
    assert at.slider(key="w_K").disabled and "swept" in at.slider(key="w_K").help
    assert not at.slider(key="w_J").disabled and not at.slider(key="w_adherence").disabled
    at.selectbox(key="w_gap_sweep").set_value("J").run()
    assert not at.exception
    assert not at.slider(key="w_K").disabled and at.slider(key="w_J").disabled
    assert at.slider(key="w_K").value == 4  # held fixed now, at the value from the link
    assert at.query_params["K"] == "4"


def test_invalid_url_values_fall_back_with_a_notice() -> None:
    at = run_page(PAGE, {**SMALL, "metric": "bogus", "gap_rounds": "7"})
    notes = " ".join(messages(at, "warning"))
    assert "'metric'" in notes and "'gap_rounds'" in notes
    assert at.selectbox(key="w_metric").value == "js"
    assert len(figures(at)) == 2


def test_out_of_range_sweep_is_refused_with_a_message() -> None:
    at = run_page(
        PAGE, {**SMALL, "gap_sweep": "adherence", "gap_sweep_from": "0", "gap_sweep_to": "3"}
    )
    errors = " ".join(messages(at, "error"))
    assert "adherence" in errors and "0..1" in errors
    assert len(figures(at)) == 1  # Figure 4 still shows


def test_histogram_kl_above_two_dimensions_is_refused() -> None:
    at = run_page(PAGE, {**SMALL, "metric": "kl_published", "dim": "3"})
    assert any("dim" in e for e in messages(at, "error"))
    assert len(figures(at)) == 1


def test_over_budget_sweep_says_what_to_reduce(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GGMI_WORK_BUDGET", "0.5")
    at = run_page(PAGE, {**SMALL, "gap_rounds": "200"})
    errors = " ".join(messages(at, "error"))
    assert "Reduce" in errors and "scenarios per value fit" in errors
    # the sweep is not drawn (Figure 4 shows only when its tables are precomputed)
    assert all(not traces(f, "box") for f in figures(at))


def test_figure4_preset_sets_the_published_sweep() -> None:
    at = run_page(PAGE, SMALL)
    at.button(key="_ggmi_preset::Paper Figure 4: sweep J").click().run()
    assert at.selectbox(key="w_gap_sweep").value == "J"
    assert at.selectbox(key="w_metric").value == "kl_published"
    assert at.query_params["gap_sweep"] == "J" and "gap_sweep_to" not in at.query_params
    assert not at.exception


def test_scenarios_slider_offers_only_what_the_budget_allows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ggmi_core.budget import estimate_sweep_cost
    from ggmi_core.config import ScenarioConfig

    monkeypatch.setenv("GGMI_WORK_BUDGET", "20")
    at = run_page(PAGE, {"gap_rounds": "200", "metric": "tv", "n_mc": "500"})
    top = at.slider(key="w_gap_rounds").max
    assert 10 <= top < 200 and top % 10 == 0
    xs = list(range(2, 16))
    cost = lambda r: estimate_sweep_cost(ScenarioConfig(), "K", xs, r, 500, "tv")  # noqa: E731
    assert cost(top) <= 20 < cost(top + 10)
    assert any("lowered to" in t.value for t in at.toast)
    assert len(figures(at)) == 2 and not at.error
    # more Monte Carlo draws per divergence leave room for fewer scenarios
    at.slider(key="w_n_mc").set_value(2000).run()
    assert at.slider(key="w_gap_rounds").max < top


def test_figure4_comes_from_the_stored_tables_when_present(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    import pandas as pd

    from ggmi_app import stored_assets

    rows = [
        {"param": p, "value": v, "rounds": 100, "gap_mean": 0.01 * v + k, "gap_std": 0.5}
        for k, p in enumerate("KJL")
        for v in range(2, 16)
    ]
    for metric in ("kl_published", "js"):
        pd.DataFrame(rows).to_csv(tmp_path / stored_assets.FIGURE4_FILES[metric], index=False)
    monkeypatch.setattr(stored_assets, "ASSETS", tmp_path)
    stored_assets.figure4_asset.clear()
    try:
        at = run_page(PAGE, SMALL)
    finally:
        stored_assets.figure4_asset.clear()  # later tests must see the real assets again
    fig4 = figures(at)[0]
    means = [t for t in traces(fig4, "scatter") if t.get("mode") == "lines+markers"]
    assert len(means) == 6
    np.testing.assert_allclose(array(means[0]["y"]).astype(float), 0.01 * np.arange(2, 16))
    np.testing.assert_allclose(array(means[2]["y"]).astype(float), 0.01 * np.arange(2, 16) + 2)
    assert any("precomputed" in c.value and "100 scenarios" in c.value for c in at.caption)


def _captions(at) -> str:
    return " ".join(c.value for c in at.caption)


def test_figure4_preset_and_divergence_switch_show_stored_points(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The presets name one exact setting whose points are stored for every divergence:
    no sweep runs, the caption says so, every stored scenario is drawn."""
    import ggmi_app.gap_curves_page as page

    at = run_page(PAGE, SMALL)

    def no_live_sweep(*args, **kwargs):
        raise AssertionError("a stored setting must not be computed")

    monkeypatch.setattr(page, "run_gap_sweep", no_live_sweep)
    at.button(key="_ggmi_preset::Paper Figure 4: sweep L").click().run()
    assert not at.exception and "Stored results" in _captions(at)
    (box,) = traces(_sweep(at), "box")
    assert len(array(box["y"])) == 14 * ROUNDS_DEFAULT
    at.selectbox(key="w_metric").set_value("tv").run()
    assert not at.exception and "Stored results" in _captions(at)
    # A held letter moved under the preset (the sweep of L with K = 5) is stored too.
    at.slider(key="w_K").set_value(5).run()
    assert not at.exception and "Stored results" in _captions(at)
    assert at.slider(key="w_K").value == 5


def test_a_setting_off_the_stored_ones_is_computed_live() -> None:
    at = run_page(PAGE, {"seed": "1"})
    assert "Computed live" in _captions(at) and "Stored results" not in _captions(at)


def test_stored_points_equal_a_live_sweep() -> None:
    """Stored points are served only for their exact setting, and equal what the live
    sweep computes there (cheap rows: every metric, L over 2..3).

    Equal to round-off: the stored numbers were computed by the numpy kernels, the live
    ones by the compiled kernels (``ggmi_core._jit``), which round differently; gaps
    agree to about 1e-12 nats, far below a gap's Monte Carlo standard error (~0.01).
    """
    from ggmi_app.cached import run_gap_sweep
    from ggmi_app.stored_assets import stored_sweep
    from ggmi_core.config import ScenarioConfig

    settings = ScenarioConfig().to_dict()
    held = ScenarioConfig().replace(J=7).to_dict()  # a held letter off 2: a stored plane
    cases = [(m, settings) for m in ("js", "tv", "kl", "kl_reverse", "kl_published")]
    for metric, base in [*cases, ("js", held)]:
        args = (base, "L", [2.0, 3.0], ROUNDS_DEFAULT, metric, 2000)
        stored_summary, stored_gaps = stored_sweep(*args)
        live_summary, live_gaps = run_gap_sweep(*args)
        close = {"rtol": 1e-9, "atol": 1e-9}
        np.testing.assert_allclose(stored_gaps["gap"], live_gaps["gap"], **close)
        for column in ("value", "gap_mean", "gap_std", "gap_q10", "div_anchor_mean"):
            np.testing.assert_allclose(stored_summary[column], live_summary[column], **close)
        assert (stored_summary["param"] == "L").all()
    assert stored_sweep(settings, "L", [2.0, 3.0], ROUNDS_DEFAULT + 10, "js", 2000) is None
    assert stored_sweep(settings, "L", [2.0, 3.0], ROUNDS_DEFAULT, "js", 1500) is None
    assert stored_sweep(settings, "L", [2.0, 16.0], ROUNDS_DEFAULT, "js", 2000) is None
    # Off the planes (no letter at 2) nothing is stored.
    off_planes = ScenarioConfig().replace(J=3, K=3).to_dict()
    assert stored_sweep(off_planes, "L", [3.0, 4.0], ROUNDS_DEFAULT, "js", 2000) is None


def _map(at):
    return next(
        f for f in figures(at) if "gap over two letters" in f["layout"]["title"]["text"]
    )


def test_the_map_is_off_by_default_and_stored_at_the_defaults() -> None:
    assert not [f for f in figures(run_page(PAGE, SMALL)) if "gap over two letters" in str(f)]
    at = run_page(PAGE, {**SMALL, "gap_map": "1"})
    fig = _map(at)
    heat = traces(fig, "heatmap")
    assert len(heat) == 2 and array(heat[0]["z"]).shape == (14, 14)
    assert any("Stored results" in c.value for c in at.caption)
    assert at.query_params["gap_map"] == "1"


def test_the_map_is_computed_live_on_a_coarse_grid_for_other_settings() -> None:
    at = run_page(PAGE, {**SMALL, "gap_map": "1", "n_synthetic": "100", "n_mc": "500"})
    heat = traces(_map(at), "heatmap")
    assert array(heat[0]["x"]).tolist() == [2, 5, 8, 11, 15]
    assert any("Computed live" in c.value for c in at.caption)
