"""The Distributions page's flip-book through AppTest: window, URL, budget, off unchanged."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import pytest
from page_helpers import figures, messages, run_page

from ggmi_app.cached import check_scenario_budget, scenario_cost
from ggmi_app.flipbook import WINDOW, window_values
from ggmi_core.config import ScenarioConfig
from ggmi_viz.flipbook import plain_frame

PAGE = "pages/1_Distributions.py"


def _slider(spec: dict[str, Any]) -> tuple[list[str], int]:
    """The step labels and the active step of the page's flip-book slider."""
    (slider,) = spec["layout"]["sliders"]
    return [step["label"] for step in slider["steps"]], slider["active"]


def _flip_caption(at: Any) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("Flip-book")]


def test_turning_it_on_gives_a_slider_over_the_window() -> None:
    at = run_page(PAGE)
    off = figures(at)[0]
    at.selectbox(key="w_dist_flip").set_value("K").run()
    assert not at.exception and not at.error
    (spec,) = figures(at)
    labels, active = _slider(spec)
    assert labels == [str(k) for k in range(1, 9)] and labels[active] == "2"
    assert at.query_params["dist_flip"] == "K"
    (caption,) = _flip_caption(at)
    assert "sidebar's K = 2" in caption and "divergence table" in caption
    # the frame shown first is the chart the page draws with the flip-book off
    shown = plain_frame(go.Figure(spec))
    assert shown.to_plotly_json()["data"] == go.Figure(off).to_plotly_json()["data"]
    assert shown.layout.title.text == off["layout"]["title"]["text"]
    assert "K = 2" in spec["layout"]["title"]["text"]


def test_url_round_trip_of_the_setting() -> None:
    at = run_page(PAGE, {"dist_flip": "J", "J": "3"})
    assert at.selectbox(key="w_dist_flip").value == "J"
    assert at.query_params["dist_flip"] == "J" and at.query_params["J"] == "3"
    labels, active = _slider(figures(at)[0])
    assert labels == [str(j) for j in range(0, 8)] and labels[active] == "3"
    assert "J = 3" in figures(at)[0]["layout"]["title"]["text"]
    # a bad value falls back to off with the usual notice
    bad = run_page(PAGE, {"dist_flip": "N"})
    assert bad.selectbox(key="w_dist_flip").value == "off"
    assert "sliders" not in figures(bad)[0]["layout"]
    assert any("dist_flip" in m for m in messages(bad, "warning"))


@pytest.mark.parametrize(
    ("query", "expected", "current"),
    [
        ({"dist_flip": "K", "K": "15"}, range(8, 16), "15"),  # top of K's range
        ({"dist_flip": "L", "L": "0"}, range(0, 8), "0"),  # bottom of L's range
        ({"dist_flip": "L", "L": "13"}, range(8, 16), "13"),
    ],
)
def test_window_at_the_edge_of_the_range(query, expected, current) -> None:
    at = run_page(PAGE, query)
    labels, active = _slider(figures(at)[0])
    assert labels == [str(v) for v in expected] and labels[active] == current


def test_window_values_hold_the_current_value() -> None:
    for low, high in ((0, 15), (1, 15), (2, 5)):
        for current in range(low, high + 1):
            values = window_values(current, low, high)
            assert current in values and low <= values[0] and values[-1] <= high
            assert len(values) == min(WINDOW, high - low + 1)
            assert values == list(range(values[0], values[-1] + 1))


def test_values_that_make_no_scenario_are_skipped() -> None:
    # n = 20 synthetic samples need K + J + L <= 20: with J = L = 8, K <= 4
    at = run_page(PAGE, {"dist_flip": "K", "J": "8", "L": "8", "n_synthetic": "20"})
    assert not at.error
    labels, active = _slider(figures(at)[0])
    assert labels == ["1", "2", "3", "4"] and labels[active] == "2"


def test_over_the_budget_the_plain_chart_stays_with_the_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one = check_scenario_budget(ScenarioConfig())
    # enough for the page's own scenario, not for eight frames
    monkeypatch.setenv("GGMI_WORK_BUDGET", str(2.5 * one))
    at = run_page(PAGE, {"dist_flip": "K"})
    (error,) = messages(at, "error")
    assert "flip-book" in error and "8 scenarios" in error and "units of work" in error
    (spec,) = figures(at)
    assert "sliders" not in spec["layout"]
    assert not _flip_caption(at)


def test_off_leaves_the_page_as_it_was() -> None:
    default = run_page(PAGE)
    explicit = run_page(PAGE, {"dist_flip": "off"})
    assert dict(explicit.query_params.items()) == {}  # off is the default: not in the URL
    for at in (default, explicit):
        assert "sliders" not in figures(at)[0]["layout"]
        assert not _flip_caption(at)
    assert figures(default) == figures(explicit)
    assert [c.value for c in default.caption] == [c.value for c in explicit.caption]
    # on, then off again: the same chart as never turned on
    default.selectbox(key="w_dist_flip").set_value("L").run()
    assert "sliders" in figures(default)[0]["layout"]
    default.selectbox(key="w_dist_flip").set_value("off").run()
    assert figures(default) == figures(explicit)


def test_a_neighbour_over_the_budget_refuses_the_flipbook_not_the_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # n = 5000, d = 6: K = 4 fits the budget alone, K = 5..8 would not; every frame counts
    query = {"dist_flip": "K", "K": "4", "n_synthetic": "5000", "dim": "6"}
    costs = {k: scenario_cost(ScenarioConfig(K=k, n_synthetic=5000, dim=6)) for k in (4, 8)}
    monkeypatch.setenv("GGMI_WORK_BUDGET", str((costs[4] + costs[8]) / 2))
    at = run_page(PAGE, query)
    (error,) = messages(at, "error")
    assert error.startswith("Cannot show the flip-book: This flip-book (8 scenarios)")
    assert "sliders" not in figures(at)[0]["layout"]


def test_the_sidebar_moves_the_active_step_and_the_frame_matches_the_plain_chart() -> None:
    at = run_page(PAGE, {"dist_flip": "K"})
    at.slider(key="w_K").set_value(3).run()
    labels, active = _slider(figures(at)[0])
    assert labels == [str(k) for k in range(1, 9)] and labels[active] == "3"
    flip = figures(at)[0]
    at.selectbox(key="w_dist_flip").set_value("off").run()
    (off,) = figures(at)
    shown = plain_frame(go.Figure(flip))
    assert shown.to_plotly_json()["data"] == go.Figure(off).to_plotly_json()["data"]
    assert "K = 3" in off["layout"]["title"]["text"]
