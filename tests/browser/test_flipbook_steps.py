"""The Distributions flip-book in headless Chromium: steps redraw with no server round trip.

``?dist_flip=K`` gives Figure 2 with an in-figure slider over K. Stepping it must redraw
the chart (title and visible traces change) while the page sends nothing to the server
(no WebSocket frame) and the app never starts a rerun. In lecture mode at 1280x720 with
the sidebar open, the slider must stay inside the chart and clear of the title, the axis
titles and the legend.
"""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import (
    assert_parts_inside_and_apart,
    chart_parts,
    element_box,
    lecture_url,
    open_and_draw,
    open_sidebar,
)

# The first chart's title, slider position and current-value label (step labels sit in
# .slider-labels), and which traces are visible.
_STATE_JS = """
() => {
  const plot = document.querySelector('.js-plotly-plot');
  const value = plot.querySelector('.slider-group > text.slider-label');
  const visible = plot.data.map((t, i) => [i, t.visible])
    .filter(([, v]) => v !== false).map(([i]) => i);
  return {
    title: plot.layout.title.text,
    value: value ? value.textContent : null,
    active: plot.layout.sliders[0].active,
    visible,
  };
}
"""

# Whether the app has started a rerun since the page was idle (script state or status).
_RERUN_SEEN_JS = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const state = app && app.getAttribute('data-test-script-state');
  const status = document.querySelector('[data-testid="stStatusWidget"]');
  return state !== 'notRunning' || !!(status && /running/i.test(status.textContent || ''));
}
"""


def _state(page: Any) -> dict[str, Any]:
    return page.evaluate(_STATE_JS)


def _click_step(page: Any, index: int) -> None:
    """Click the slider's rail above the index-th step label (plotly moves the grip to
    the nearest step); plotly's slider takes mouse input only."""
    slider = page.locator(".js-plotly-plot .slider-container")
    label = slider.locator(".slider-labels .slider-label").nth(index).bounding_box()
    rail = slider.locator(".slider-rail-rect").bounding_box()
    assert label is not None and rail is not None
    page.mouse.click(label["x"] + label["width"] / 2, rail["y"] + rail["height"] / 2)


def test_stepping_the_flipbook_redraws_without_a_rerun(page: Any, app_url: str) -> None:
    sent: list[int] = []
    # Every frame the page sends to the server (a rerun request is one); the listener
    # is on before the page opens its socket.
    page.on("websocket", lambda ws: ws.on("framesent", lambda _frame: sent.append(1)))
    open_and_draw(page, f"{app_url}/Distributions?dist_flip=K")
    start = _state(page)
    assert start["active"] == 1 and start["value"].strip() == "K = 2"  # K 1..8, sidebar 2
    assert "K = 2" in start["title"]
    page.wait_for_timeout(500)
    sent_before = len(sent)
    assert sent_before > 0, "the page's messages to the server were not seen"
    for index, k in ((4, 5), (7, 8), (0, 1)):
        _click_step(page, index)
        page.wait_for_function(
            "(k) => document.querySelector('.js-plotly-plot').layout.title.text"
            ".includes('K = ' + k)",
            arg=k,
        )
        now = _state(page)
        assert now["active"] == index and now["value"].strip() == f"K = {k}"
        assert now["visible"] and set(now["visible"]).isdisjoint(start["visible"])
        assert not page.evaluate(_RERUN_SEEN_JS), "a step started a Streamlit rerun"
    page.wait_for_timeout(500)  # a rerun request would have gone out by now
    assert len(sent) == sent_before, "a step sent a message to the server"
    assert not page.evaluate(_RERUN_SEEN_JS)
    # and the URL still holds the sidebar's setting only
    assert "K=" not in page.url.split("?", 1)[-1].replace("dist_flip=K", "")


def test_window_holds_the_sidebar_value(page: Any, app_url: str) -> None:
    """K = 5 in the sidebar: the steps are K = 2..9 and the slider starts on 5."""
    open_and_draw(page, f"{app_url}/Distributions?dist_flip=K&K=5")
    start = _state(page)
    assert start["value"].strip() == "K = 5"
    labels = page.locator(".js-plotly-plot .slider-labels .slider-label")
    assert [labels.nth(i).text_content().strip() for i in range(labels.count())] == [
        str(k) for k in range(2, 10)
    ]


@pytest.mark.parametrize("sized_page", [(1280, 720)], indirect=True)
def test_lecture_slider_clear_of_title_axes_and_legend(sized_page: Any, app_url: str) -> None:
    page = sized_page
    open_and_draw(page, lecture_url(app_url, "Distributions?dist_flip=K"))
    open_sidebar(page)
    (chart, *_) = chart_parts(page)
    slider = element_box(page, ".js-plotly-plot .slider-container")
    plot_area = element_box(page, ".js-plotly-plot .bglayer rect, .js-plotly-plot .nsewdrag")
    assert slider is not None and plot_area is not None, "no slider or plot area drawn"
    chart["parts"].append({"name": "slider", "box": slider})
    chart["parts"].append({"name": "plot area", "box": plot_area})
    assert_parts_inside_and_apart(chart)
    size = page.evaluate(
        "() => parseFloat(getComputedStyle(document.querySelector("
        "'.js-plotly-plot .slider-group > text.slider-label')).fontSize)"
    )
    assert size >= 24, f"the current value is {size}px: too small for a lecture hall"
