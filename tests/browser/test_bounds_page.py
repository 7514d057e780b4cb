"""The Bound-terms page in a real browser: a slider moves the chart, PNG export works."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from browser_helpers import (
    download_bytes,
    move_slider,
    plotly_array,
    plotly_figure_json,
    plotly_figure_titled,
    wait_for_app_idle,
)

from ggmi_viz.export import png_size

pytestmark = pytest.mark.browser

QUERY = "bounds_scenarios=10&n_mc=1000"
GEN_TERM = "C·TV(D_M, D_gen) ↓"
SCREENSHOTS = Path("/tmp")


def _bar(fig: dict, name: str) -> float:
    trace = next(t for t in fig["data"] if t.get("name") == name and t["type"] == "bar")
    return plotly_array(trace["y"])[0]


def _no_exceptions(page) -> None:  # type: ignore[no-untyped-def]
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0


def test_noise_slider_moves_generation_term_and_png_downloads(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/Bound_terms?{QUERY}")
    wait_for_app_idle(page)
    _no_exceptions(page)
    before = plotly_figure_json(page, 0)
    assert before["layout"]["title"]["text"].startswith("Lemma 3.1 holds in 10 of 10")
    assert _bar(before, GEN_TERM) == 0.0

    move_slider(page, "curation noise", 4)  # 0 -> 0.2 in steps of 0.05
    _no_exceptions(page)
    after = plotly_figure_json(page, 0)
    assert _bar(after, GEN_TERM) > 0.0
    query = parse_qs(urlparse(page.url).query)
    assert query["noise_std"] == ["0.2"]

    name, data = download_bytes(page, "Download PNG")
    assert name == "bounds-lemma31.png"
    width, height = png_size(data)
    assert width >= 1000 and height >= 500
    (SCREENSHOTS / "ggmi_bounds_lemma31_download.png").write_bytes(data)
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "ggmi_bounds_breakdown.png"))


def test_sweep_tab_from_url_shows_the_trade_off(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(
        f"{app_url}/Bound_terms?{QUERY}&bounds_tab=How+terms+move&bounds_move_points=4&lecture=1"
    )
    wait_for_app_idle(page)
    _no_exceptions(page)
    # The tab opens with the J-against-L contrast; the trade-off panel follows.
    fig = plotly_figure_titled(page, "Trade-off")
    gain = next(t for t in fig["data"] if t["name"].startswith("Δ_I"))
    drop = next(t for t in fig["data"] if t["name"].startswith("δ"))
    assert plotly_array(gain["x"]) == [0.0, 4.0, 8.0, 12.0]
    assert plotly_array(gain["y"])[-1] > plotly_array(gain["y"])[0]  # more components: more gain
    # ... but a smaller entropy drop
    assert plotly_array(drop["y"])[-1] < plotly_array(drop["y"])[0]
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "ggmi_bounds_sweep.png"))
