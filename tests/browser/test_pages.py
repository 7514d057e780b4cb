"""Home, Distributions and KL Gap curves in real headless Chromium.

Each test loads a page, changes a control, waits until nothing is stale, checks that
the chart's data changed as it should, downloads the server-made PNG (valid, 2x the
figure's size) and saves a screenshot under /tmp/ggmi-screenshots for a human look.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser_helpers import box_inside, move_slider, plotly_figure_json, wait_for_app_idle

from ggmi_viz.export import PNG_MAGIC, png_size
from ggmi_viz.home import chain_figure
from ggmi_viz.theme import EXPORT_WIDTH

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/ggmi-screenshots")
PNG_SCALE = 2


def _open(page: Any, url: str) -> None:
    page.goto(url)
    wait_for_app_idle(page)
    page.locator(".js-plotly-plot").first.wait_for(state="visible")
    assert page.locator('[data-testid="stException"]').count() == 0


def _screenshot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    assert path.read_bytes().startswith(PNG_MAGIC)
    return path


def _download_png(page: Any, index: int) -> bytes:
    button = page.get_by_role("button", name="Download PNG").nth(index)
    button.scroll_into_view_if_needed()
    with page.expect_download(timeout=60_000) as info:
        button.click()
    data = Path(info.value.path()).read_bytes()
    assert data.startswith(PNG_MAGIC)
    return data


def _length(value: Any) -> int:
    """Length of a trace array, also when it is still plotly's packed base64 form."""
    if isinstance(value, dict) and "bdata" in value:
        return len(base64.b64decode(value["bdata"])) // np.dtype(value["dtype"]).itemsize
    return len(value or [])


def _points(fig: dict, prefix: str) -> int:
    return sum(_length(t.get("x")) for t in fig["data"] if t.get("name", "").startswith(prefix))


# Per line trace of the first chart (legend name -> screen boxes of its drawn line
# paths, one per piece), and the box of the plot area.
_LINE_PATHS_JS = """
() => {
  const plot = document.querySelector('.js-plotly-plot');
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
  };
  const lines = {};
  for (const group of plot.querySelectorAll('.scatterlayer .trace')) {
    const trace = group.__data__ && group.__data__[0] && group.__data__[0].trace;
    if (!trace || trace.mode !== 'lines' || !trace.visible) continue;
    lines[trace.name] = [...group.querySelectorAll('path.js-line')]
      .filter((p) => (p.getAttribute('d') || '').length > 0).map(box);
  }
  return {area: box(plot.querySelector('.nsewdrag')), lines};
}
"""


def _assert_contour_lines_drawn_inside_the_plot(page: Any, names: list[str]) -> None:
    """Each mixture's contour lines are SVG paths, drawn inside the plot area."""
    drawn = page.evaluate(_LINE_PATHS_JS)
    for name in names:
        paths = drawn["lines"].get(name)
        assert paths, f"no line drawn for {name}"
        for path in paths:
            assert box_inside(path, drawn["area"]), f"{name} leaves the plot area"
            assert path["right"] - path["left"] > 5 or path["bottom"] - path["top"] > 5


def _expected_png_size(fig: dict) -> tuple[int, int]:
    # The builders fix the height only; the browser reports the width it autosized to,
    # while the export uses the slide canvas width.
    return PNG_SCALE * EXPORT_WIDTH, PNG_SCALE * int(fig["layout"]["height"])


def test_home_diagram_switches_to_lecture_mode_and_exports(page: Any, app_url: str) -> None:
    _open(page, app_url)
    before = plotly_figure_json(page)
    assert sum(s["type"] == "rect" for s in before["layout"]["shapes"]) == 5
    page.locator('[data-testid="stSidebar"] label').filter(has_text="Lecture mode").click()
    wait_for_app_idle(page, expect_rerun=True)
    after = plotly_figure_json(page)
    assert after["layout"]["height"] > before["layout"]["height"]
    assert "lecture=1" in page.url
    png = _download_png(page, 0)
    # On screen a lecture chart follows the window (slide fit); the PNG keeps the
    # figure's own lecture height.
    own = {"layout": {"height": chain_figure(lecture=True).layout.height}}
    assert png_size(png) == _expected_png_size(own)
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    _screenshot(page, "home-lecture")


def test_distributions_slider_redraws_and_png_matches(page: Any, app_url: str) -> None:
    _open(page, f"{app_url}/Distributions")
    before = plotly_figure_json(page)
    assert _points(before, "anchor") == 100
    move_slider(page, "K: anchor-sampled components", 2)
    after = plotly_figure_json(page)
    assert _points(after, "anchor") == 200
    assert "K = 4" in after["layout"]["title"]["text"]
    assert "K=4" in page.url
    _assert_contour_lines_drawn_inside_the_plot(
        page, ["target G", "fit on anchor", "fit on synthetic"]
    )
    png = _download_png(page, 0)
    assert png_size(png) == _expected_png_size(after)
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    _screenshot(page, "distributions-K4")


def test_gap_curves_rounds_slider_redraws_the_sweep(page: Any, app_url: str) -> None:
    _open(
        page,
        f"{app_url}/KL_Gap_curves?gap_sweep_points=4&gap_sweep_from=2&gap_sweep_to=5&gap_rounds=10",
    )
    page.locator(".js-plotly-plot").nth(1).wait_for(state="visible")
    fig4 = plotly_figure_json(page, 0)
    assert len({(t.get("xaxis"), t.get("yaxis")) for t in fig4["data"]}) == 6
    before = plotly_figure_json(page, 1)
    box = next(t for t in before["data"] if t["type"] == "box")
    assert _length(box["y"]) == 4 * 10
    move_slider(page, "scenarios per value", 1)
    after = plotly_figure_json(page, 1)
    box = next(t for t in after["data"] if t["type"] == "box")
    assert _length(box["y"]) == 4 * 20
    assert "gap_rounds=" not in page.url  # 20 is the default: no URL entry
    png = _download_png(page, 1)
    assert png_size(png) == _expected_png_size(after)
    page.locator(".js-plotly-plot").nth(1).scroll_into_view_if_needed()
    _screenshot(page, "gap-curves-sweep")
    page.locator(".js-plotly-plot").nth(0).scroll_into_view_if_needed()
    _screenshot(page, "gap-curves-figure4")
