"""Lecture mode on a projector-sized screen: every page, measured in headless Chromium.

For each page with ``?lecture=1`` the test checks what a lecturer needs on the first
screen: the page title whole and inside the viewport, the main chart starting above the
fold, the sidebar collapsed, type larger than in normal mode, and inside every chart the
title, axis titles and legend inside the chart and clear of one another. The lecturer may
open the sidebar: at 1280x720 with it open (the narrowest chart lecture layouts are
planned for) every page and tour step keeps every chart part, subtitles and headings too,
inside and apart, and every label drawn in a box inside its box.
"""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import (
    assert_boxed_labels_clear,
    assert_parts_inside_and_apart,
    chart_parts,
    element_box,
    lecture_url,
    open_and_draw,
    open_sidebar,
    title_on_screen,
)

PAGES = ("", "Distributions", "KL_Gap_curves", "Bound_terms", "Diagnostics")
VIEWPORTS = ((1280, 720), (1024, 768))
#: With the sidebar open: every page, the Bound-terms sweep tab, every tour step.
SIDEBAR_OPEN_PATHS = (
    *PAGES,
    "Bound_terms?bounds_tab=How+terms+move",
    "KL_Gap_curves?gap_map=1",
    *(f"Guided_tour?tour_step={step}" for step in range(1, 12)),
)

_FONTS_JS = """
() => {
  const size = (sel) => {
    const el = document.querySelector(sel);
    return el ? parseFloat(getComputedStyle(el).fontSize) : null;
  };
  return {
    h1: size('[data-testid="stMainBlockContainer"] h1'),
    body: size('[data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] p'),
    caption: size('[data-testid="stMainBlockContainer"] [data-testid="stCaptionContainer"]'),
    root: parseFloat(getComputedStyle(document.documentElement).fontSize),
  };
}
"""


@pytest.mark.parametrize(
    "sized_page", VIEWPORTS, indirect=True, ids=lambda v: "x".join(map(str, v))
)
@pytest.mark.parametrize("path", PAGES, ids=lambda p: p or "Home")
def test_first_screen_shows_the_title_and_the_chart_with_the_sidebar_closed(
    sized_page: Any, app_url: str, path: str
) -> None:
    page = sized_page
    open_and_draw(page, f"{app_url}/{path}?lecture=1")
    view = page.viewport_size

    title = title_on_screen(page)
    header = element_box(page, 'header[data-testid="stHeader"]')
    if header is not None:  # a header with a background would cover the title
        background = page.evaluate(
            "() => getComputedStyle(document.querySelector('header[data-testid=\"stHeader\"]'))"
            ".backgroundColor"
        )
        assert header["bottom"] <= title["top"] or background in ("transparent", "rgba(0, 0, 0, 0)")

    chart = element_box(page, ".js-plotly-plot")
    assert chart["top"] < view["height"] - 100, f"the main chart starts below the fold: {chart}"

    sidebar = element_box(page, '[data-testid="stSidebar"]')
    assert sidebar is None or sidebar["right"] <= 1 or sidebar["left"] >= view["width"], sidebar


@pytest.mark.parametrize(
    "sized_page", VIEWPORTS, indirect=True, ids=lambda v: "x".join(map(str, v))
)
@pytest.mark.parametrize("path", PAGES, ids=lambda p: p or "Home")
def test_chart_titles_axis_titles_and_legends_stay_inside_and_apart(
    sized_page: Any, app_url: str, path: str
) -> None:
    page = sized_page
    open_and_draw(page, f"{app_url}/{path}?lecture=1")
    charts = chart_parts(page)
    assert charts, "no chart drawn"
    for chart in charts:
        parts = chart["parts"]
        assert any(p["name"].startswith("gtitle") for p in parts) or not parts
        assert_parts_inside_and_apart(chart)


@pytest.mark.parametrize("sized_page", [VIEWPORTS[0]], indirect=True, ids=["1280x720"])
@pytest.mark.parametrize("path", ["", "KL_Gap_curves"], ids=["Home", "KL_Gap_curves"])
def test_lecture_type_is_larger_than_normal_type(sized_page: Any, app_url: str, path: str) -> None:
    page = sized_page
    open_and_draw(page, f"{app_url}/{path}?lecture=0")
    normal = page.evaluate(_FONTS_JS)
    open_and_draw(page, f"{app_url}/{path}?lecture=1")
    lecture = page.evaluate(_FONTS_JS)
    for key, size in normal.items():
        if size is not None and lecture[key] is not None:
            assert lecture[key] > size, f"{key}: {lecture[key]} px in lecture, {size} px normally"
    assert lecture["root"] > normal["root"] and lecture["caption"] is not None


# One page for all paths: each test opens a URL, opens the sidebar (if Streamlit has not
# kept it open from the previous page) and measures.
@pytest.mark.parametrize("module_sized_page", [VIEWPORTS[0]], indirect=True, ids=["1280x720"])
@pytest.mark.parametrize("path", SIDEBAR_OPEN_PATHS, ids=lambda p: p or "Home")
def test_with_the_sidebar_open_chart_parts_and_labels_in_boxes_stay_inside_and_apart(
    module_sized_page: Any, app_url: str, path: str
) -> None:
    page = module_sized_page
    open_and_draw(page, lecture_url(app_url, path))
    open_sidebar(page)
    charts = chart_parts(page, with_notes=True)
    assert charts, "no chart drawn"
    for chart in charts:
        assert_parts_inside_and_apart(chart)
    assert_boxed_labels_clear(page)


@pytest.mark.parametrize("sized_page", VIEWPORTS, indirect=True, ids=["1280x720", "1024x768"])
def test_in_normal_mode_with_the_sidebar_open_home_labels_stay_inside_their_boxes(
    sized_page: Any, app_url: str
) -> None:
    # Normal mode on a laptop: the sidebar is open, so the chain has ~800 px (1280) or
    # ~560 px (1024) for five boxes, less than the lecture plan.
    page = sized_page
    open_and_draw(page, f"{app_url}/")
    charts = chart_parts(page, with_notes=True)
    assert charts, "no chart drawn"
    for chart in charts:
        assert_parts_inside_and_apart(chart)
    assert_boxed_labels_clear(page, expect_labels=True)


_METRIC_LINES_JS = """
() => [...document.querySelectorAll('[data-testid="stMetricValue"]')].map((el) => {
  // Line boxes of the value's text itself (a container's own box would count as a line).
  const tops = new Set();
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) if (r.width > 0) tops.add(Math.round(r.top));
  }
  return {text: el.innerText, lines: tops.size};
})
"""


@pytest.mark.parametrize("sized_page", [VIEWPORTS[0]], indirect=True, ids=["1280x720"])
def test_headline_numbers_stay_on_one_line_with_the_sidebar_closed_and_open(
    sized_page: Any, app_url: str
) -> None:
    # A number broken over two lines reads as two numbers from the back of a hall.
    page = sized_page
    open_and_draw(page, lecture_url(app_url, "Bound_terms"))
    for sidebar in ("closed", "open"):
        if sidebar == "open":
            open_sidebar(page)
        metrics = page.evaluate(_METRIC_LINES_JS)
        assert len(metrics) >= 4, metrics
        wrapped = [m["text"] for m in metrics if m["lines"] != 1]
        assert not wrapped, f"sidebar {sidebar}: wrapped headline numbers {wrapped}"
