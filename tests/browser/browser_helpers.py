"""Helpers for the end-to-end tests: a live Streamlit server and page utilities.

Import them in tests as ``from browser_helpers import ...`` (pytest puts this
directory on ``sys.path``); ``conftest.py`` builds its fixtures from them.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from devserver import CHROMIUM, CHROMIUM_ARGS, ServerStartError, run_streamlit

ROOT = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT_S = 90.0
IDLE_TIMEOUT_MS = 60_000


@contextlib.contextmanager
def streamlit_server(app_path: Path, log_path: Path) -> Iterator[str]:
    """Serve ``app_path`` from the repo root; yield its base URL.

    The app itself starts through ``ggmi_app.serve`` (as deployed), other scripts through
    a plain ``streamlit run`` (see ``devserver.server_command``).

    The repo root is the working directory so ``.streamlit/config.toml`` applies.
    The server is stopped (SIGTERM, then SIGKILL) when the block exits.
    """
    if not app_path.is_file():
        pytest.fail(f"no app to serve at {app_path}")
    try:
        with run_streamlit(app_path, log_path, SERVER_START_TIMEOUT_S) as (base_url, _pid):
            yield base_url
    except ServerStartError as err:
        pytest.fail(str(err))


_IDLE_JS = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  const status = document.querySelector('[data-testid="stStatusWidget"]');
  if (status && /running/i.test(status.textContent || '')) return false;
  return true;
}
"""

_RUNNING_JS = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-script-state') !== 'notRunning';
}
"""


def wait_for_app_idle(
    page: Any, timeout_ms: int = IDLE_TIMEOUT_MS, expect_rerun: bool = False
) -> None:
    """Wait until the script is not running, nothing is stale and no spinner says Running.

    After an interaction pass ``expect_rerun=True``: first give the rerun up to 2 s to
    start, so an idle page from *before* the interaction is not mistaken for the result.
    """
    if expect_rerun:
        with contextlib.suppress(Exception):
            page.wait_for_function(_RUNNING_JS, timeout=2_000, polling=50)
    page.wait_for_function(_IDLE_JS, timeout=timeout_ms, polling=100)


_FIGURE_JS = """
(i) => {
  const plots = document.querySelectorAll('.js-plotly-plot');
  if (i >= plots.length) return null;
  const el = plots[i];
  // Streamlit ships arrays base64-packed; plotly decodes them into typed arrays.
  return JSON.stringify({data: el.data, layout: el.layout},
    (k, v) => (ArrayBuffer.isView(v) ? Array.from(v) : v));
}
"""


# Charts are drawn asynchronously, so on a busy machine a later chart can be drawn before
# an earlier one. Every chart of ours has a widget key ending in "-chart", which Streamlit
# puts on its container as a "st-key-..." class: wait until each of them is drawn.
_ALL_DRAWN_JS = """
(i) => {
  const drawn = document.querySelectorAll('.js-plotly-plot').length;
  const charts = [...document.querySelectorAll('[class*="st-key-"]')].filter(
    (el) => [...el.classList].some((c) => c.startsWith('st-key-') && c.endsWith('-chart'))
  ).length;
  return drawn > i && drawn >= charts;
}
"""


def plotly_figure_json(page: Any, index: int = 0) -> dict[str, Any]:
    """The ``{"data": [...], "layout": {...}}`` of the index-th plotly chart on the page.

    Waits until every chart on the page is drawn, so the index follows page order.
    """
    page.wait_for_function(_ALL_DRAWN_JS, arg=index)
    text = page.evaluate(_FIGURE_JS, index)
    if text is None:
        raise AssertionError(f"no plotly chart number {index} on the page")
    return json.loads(text)


_TITLED_JS = """
(prefix) => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const title = el.layout && el.layout.title && el.layout.title.text;
    if (typeof title === 'string' && title.startsWith(prefix)) {
      return JSON.stringify({data: el.data, layout: el.layout},
        (k, v) => (ArrayBuffer.isView(v) ? Array.from(v) : v));
    }
  }
  return null;
}
"""


def plotly_figure_titled(page: Any, prefix: str) -> dict[str, Any]:
    """Like ``plotly_figure_json`` for the chart whose title starts with ``prefix``."""
    handle = page.wait_for_function(_TITLED_JS, arg=prefix)
    return json.loads(handle.json_value())


def plotly_array(data: object) -> list[float]:
    """A trace array as a list: plotly.js keeps packed arrays as {dtype, bdata, _inputArray}."""
    if isinstance(data, dict):
        data = data["_inputArray"]
    return [float(v) for v in data]  # type: ignore[union-attr]


def _slider_thumb(page: Any, label: str) -> Any:
    # Streamlit >= 1.5x draws a react-aria slider (a hidden input[type=range]);
    # older versions used a div with role=slider.
    return (
        page.locator('[data-testid="stSlider"]')
        .filter(has_text=label)
        .locator('input[type="range"], [role="slider"]')
        .first
    )


def slider_value(page: Any, label: str) -> float:
    """The value shown by the slider whose label contains ``label``."""
    thumb = _slider_thumb(page, label)
    return float(thumb.evaluate("(el) => el.getAttribute('aria-valuenow') ?? el.value"))


def move_slider(page: Any, label: str, presses: int) -> None:
    """Move the slider whose label contains ``label`` by ``presses`` keyboard steps.

    Positive moves right (ArrowRight), negative left. Waits for the app to settle.
    """
    thumb = _slider_thumb(page, label)
    thumb.focus()
    key = "ArrowRight" if presses > 0 else "ArrowLeft"
    # One press at a time, each waited for, as a hand on a keyboard would: under a full
    # test suite's load a press sent while the previous rerun is starting was seen lost
    # now and then (1 in ~50 runs); noted for the slider-latency work.
    for _ in range(abs(presses)):
        thumb.press(key)
        wait_for_app_idle(page, expect_rerun=True)


def download_bytes(
    page: Any, button_label: str, timeout_ms: int = IDLE_TIMEOUT_MS
) -> tuple[str, bytes]:
    """Click the download button labelled ``button_label``; return (file name, bytes)."""
    button = page.get_by_role("button", name=button_label).first
    with page.expect_download(timeout=timeout_ms) as info:
        button.click()
    download = info.value
    path = download.path()
    return download.suggested_filename, Path(path).read_bytes()


def open_and_draw(page: Any, url: str) -> None:
    """Open ``url`` and wait until the title shows, every chart is drawn and the app idles."""
    page.goto(url)
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1')
    wait_for_app_idle(page)
    plotly_figure_json(page, 0)  # waits until every chart on the page is drawn
    wait_for_app_idle(page)


#: Pixels two boxes may share, or stick out, before it counts (anti-aliased edges).
BOX_TOLERANCE_PX = 1.0


_BOX_JS = """
(sel) => {
  const el = document.querySelector(sel);
  if (!el) return null;
  const r = el.getBoundingClientRect();
  return {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
}
"""


def element_box(page: Any, selector: str) -> dict[str, float] | None:
    """Screen box (CSS px) of the first element ``selector`` matches, or None."""
    return page.evaluate(_BOX_JS, selector)


def box_overlap(a: dict[str, float], b: dict[str, float]) -> float:
    """Area (px^2) two boxes share beyond the tolerance, 0 when they are clear."""
    dx = min(a["right"], b["right"]) - max(a["left"], b["left"]) - BOX_TOLERANCE_PX
    dy = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) - BOX_TOLERANCE_PX
    return max(dx, 0.0) * max(dy, 0.0)


def box_inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    """Whether ``inner`` lies within ``outer`` (up to the tolerance)."""
    return (
        inner["left"] >= outer["left"] - BOX_TOLERANCE_PX
        and inner["top"] >= outer["top"] - BOX_TOLERANCE_PX
        and inner["right"] <= outer["right"] + BOX_TOLERANCE_PX
        and inner["bottom"] <= outer["bottom"] + BOX_TOLERANCE_PX
    )


# Per chart: the SVG box and the boxes of its figure title, every axis title (plotly
# names them gtitle, xtitle, x2title, ..., ytitle, y2title, ...) and its legend; with
# ``withNotes`` also the subtitle (gtitle-subtitle) and every annotation (the panel
# headings and the labels in a diagram).
_CHART_PARTS_JS = """
(withNotes) => [...document.querySelectorAll('.js-plotly-plot')].map((plot) => {
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
  };
  const titles = withNotes ? /^(gtitle|gtitle-subtitle|[xy][0-9]*title)$/
                           : /^(gtitle|[xy][0-9]*title)$/;
  const parts = [];
  for (const el of plot.querySelectorAll('text')) {
    const cls = el.getAttribute('class') || '';
    const text = (el.textContent || '').trim();
    if (text && titles.test(cls)) {
      parts.push({name: cls + ': ' + text.slice(0, 40), box: box(el)});
    }
  }
  if (withNotes) {
    for (const el of plot.querySelectorAll('g.annotation-text-g')) {
      const text = (el.textContent || '').trim();
      if (text) parts.push({name: 'annotation: ' + text.slice(0, 40), box: box(el)});
    }
  }
  const legend = plot.querySelector('g.legend');
  if (legend) parts.push({name: 'legend', box: box(legend)});
  return {chart: box(plot.querySelector('.main-svg')), parts};
})
"""


def chart_parts(page: Any, *, with_notes: bool = False) -> list[dict[str, Any]]:
    """Per chart on the page: ``{"chart": box, "parts": [{"name", "box"}, ...]}``.

    Parts are the figure title, the axis titles and the legend; ``with_notes`` adds the
    subtitle and every annotation (panel headings, diagram labels). Boxes are screen
    boxes in CSS px (``left``, ``top``, ``right``, ``bottom``).
    """
    return page.evaluate(_CHART_PARTS_JS, with_notes)


def assert_parts_inside_and_apart(chart: dict[str, Any]) -> None:
    """Every part of one ``chart_parts`` entry lies inside its chart, clear of the others."""
    parts = chart["parts"]
    for part in parts:
        assert box_inside(part["box"], chart["chart"]), f"{part['name']} leaves its chart"
    for i, a in enumerate(parts):
        for b in parts[i + 1 :]:
            assert box_overlap(a["box"], b["box"]) == 0, f"{a['name']} overlaps {b['name']}"


# Every chart's SVG as wide as its container: plotly has redrawn the charts after the
# main column changed width (the sidebar opened). Layout widths (the SVG's own width
# attribute), not screen boxes: a lecture chart may be drawn scaled down (slide fit).
_CHARTS_FIT_JS = """
() => [...document.querySelectorAll('.js-plotly-plot')].every((plot) => {
  const svg = plot.querySelector('.main-svg');
  if (!svg) return false;
  const width = parseFloat(svg.getAttribute('width'));
  return Math.abs(width - plot.parentElement.clientWidth) < 2;
})
"""


# The sidebar's place on screen: Streamlit slides it in and out over ~0.3 s, so between
# "open" and "collapsed" it is part-way off the left edge.
_SIDEBAR_STATE_JS = """
() => {
  const bar = document.querySelector('[data-testid="stSidebar"]');
  if (!bar) return 'collapsed';
  const r = bar.getBoundingClientRect();
  if (r.right <= 1) return 'collapsed';
  return r.left >= -1 && r.width > 100 ? 'open' : 'moving';
}
"""


def sidebar_state(page: Any) -> str:
    """``'open'``, ``'collapsed'`` or ``'moving'`` (part-way through sliding)."""
    return str(page.evaluate(_SIDEBAR_STATE_JS))


def wait_for_sidebar(page: Any, state: str) -> None:
    """Wait until the sidebar has slid fully ``'open'`` or ``'collapsed'``."""
    page.wait_for_function(f"() => ({_SIDEBAR_STATE_JS})() === {state!r}", polling=50)


def open_sidebar(page: Any) -> None:
    """Open the sidebar if it is collapsed; wait until the charts are redrawn to the
    narrower main column. (Streamlit remembers an opened sidebar for the next page.)"""
    page.wait_for_function(f"() => ({_SIDEBAR_STATE_JS})() !== 'moving'", polling=50)
    if sidebar_state(page) == "collapsed":
        page.locator('[data-testid="stExpandSidebarButton"]').click()
    page.locator('[data-testid="stSidebar"] [data-testid="stSidebarContent"]').wait_for(
        state="visible"
    )
    wait_for_sidebar(page, "open")
    page.wait_for_function(_CHARTS_FIT_JS)
    wait_for_app_idle(page)


#: The least room (px) a label drawn in a box (a shape of the figure) keeps from its edges.
MIN_LABEL_GAP_PX = 3.0

# Per chart: each annotation whose centre lies in a rectangle shape, with the least
# distance from its box to that shape's edges (negative: it sticks out).
_BOXED_LABELS_JS = """
() => [...document.querySelectorAll('.js-plotly-plot')].map((plot) => {
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
  };
  const shapes = [...plot.querySelectorAll('.shapelayer path')].map(box)
    .filter((s) => s.right - s.left > 4 && s.bottom - s.top > 4);
  const labels = [];
  for (const el of plot.querySelectorAll('g.annotation-text-g')) {
    const text = (el.textContent || '').trim();
    if (!text) continue;
    const b = box(el);
    const [cx, cy] = [(b.left + b.right) / 2, (b.top + b.bottom) / 2];
    for (const s of shapes) {
      if (cx > s.left && cx < s.right && cy > s.top && cy < s.bottom) {
        const gap = Math.min(b.left - s.left, s.right - b.right, b.top - s.top,
                             s.bottom - b.bottom);
        labels.push({name: text.slice(0, 40), gap});
      }
    }
  }
  return labels;
})
"""


def boxed_labels(page: Any) -> list[list[dict[str, Any]]]:
    """Per chart: ``{"name", "gap"}`` of every label drawn inside a box of the figure,
    ``gap`` the least distance (px) from the label to the box's edges."""
    return page.evaluate(_BOXED_LABELS_JS)


def assert_boxed_labels_clear(page: Any, *, expect_labels: bool = False) -> None:
    """Every label drawn in a box keeps ``MIN_LABEL_GAP_PX`` from the box's edges; with
    ``expect_labels`` every chart must have such labels at all."""
    for labels in boxed_labels(page):
        if expect_labels:
            assert labels, "no label drawn in a box"
        for label in labels:
            assert label["gap"] >= MIN_LABEL_GAP_PX, f"{label} touches its box's edge"


def lecture_url(app_url: str, path: str) -> str:
    """``app_url/path`` with lecture mode on; ``path`` may carry a query of its own."""
    sep = "&" if "?" in path else "?"
    return f"{app_url}/{path}{sep}lecture=1"


def title_on_screen(page: Any) -> dict[str, float]:
    """The page title's box (``left``, ``top``, ``right``, ``bottom``, px), asserted to lie
    inside the viewport."""
    box = page.locator('[data-testid="stMainBlockContainer"] h1').first.bounding_box()
    assert box is not None, "no page title"
    title = {
        "left": box["x"],
        "top": box["y"],
        "right": box["x"] + box["width"],
        "bottom": box["y"] + box["height"],
    }
    view = page.viewport_size
    assert title["top"] >= 0 and title["left"] >= 0, f"title clipped: {title}"
    assert title["bottom"] <= view["height"] and title["right"] <= view["width"], title
    return title


@contextlib.contextmanager
def launched_chromium() -> Iterator[Any]:
    """Playwright Browser on Debian's Chromium (``playwright install`` is never used)."""
    import os

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}; install Debian's 'chromium' package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
