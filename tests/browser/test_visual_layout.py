"""What visitors see beyond the lecture pages: the tour on a projector, captions, phones.

Measured in headless Chromium against the real app:

* the Guided tour in lecture mode at 1280x720: the step title and the start of its figure
  on the first screen, and inside the figure the title, subtitle, axis titles, legend and
  panel headings clear of one another;
* captions in lecture mode: their drawn colour (opacity included) against the page
  background has a contrast ratio of at least 4.5 (WCAG AA for body text);
* a 390 px wide phone (a phone's User-Agent, normal mode): no page's main block is wider
  than the screen, the page title lies inside the screen, and inside every chart the
  title, subtitle, axis titles, panel headings and legend lie inside the chart, clear of
  one another and of the chart's toolbar, and every label drawn in a box (Home's chain)
  stays inside its box.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_helpers import (
    BOX_TOLERANCE_PX,
    assert_boxed_labels_clear,
    assert_parts_inside_and_apart,
    box_overlap,
    chart_parts,
    lecture_url,
    open_and_draw,
    title_on_screen,
)

#: Tour steps with the tallest figures and the longest titles (Figure 4, Lemma 3.1, J/L).
TOUR_STEPS = (1, 6, 8, 9)
PAGES = ("", "Distributions", "KL_Gap_curves", "Bound_terms", "Diagnostics", "Guided_tour")
#: The Guided tour's steps (the tour page itself shows step 1).
ALL_TOUR_STEPS = range(1, 11)
#: Every page on a phone, the Bound-terms sweep tab and every step of the tour.
PHONE_PAGES = (
    *PAGES,
    "Bound_terms?bounds_tab=How+terms+move",
    *(f"Guided_tour?tour_step={step}" for step in ALL_TOUR_STEPS[1:]),
)

#: WCAG 2 AA minimum contrast for normal-size text.
MIN_CONTRAST = 4.5

# The colour a caption is drawn in: its colour with the product of its and its
# ancestors' opacity, over the first opaque background behind it (white by default).
_CAPTION_CONTRAST_JS = """
() => {
  const rgba = (s) => {
    const m = s.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const v = m[1].split(',').map((x) => parseFloat(x));
    return {r: v[0], g: v[1], b: v[2], a: v.length > 3 ? v[3] : 1};
  };
  const lum = (c) => {
    const f = (x) => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const out = [];
  const sel = '[data-testid="stMain"] [data-testid="stCaptionContainer"], '
    + '[data-testid="stPopoverBody"] [data-testid="stCaptionContainer"]';
  for (const cap of document.querySelectorAll(sel)) {
    const textEl = cap.querySelector('p') || cap;
    let alpha = rgba(getComputedStyle(textEl).color).a;
    let bg = {r: 255, g: 255, b: 255, a: 1};
    for (let el = textEl; el; el = el.parentElement) {
      alpha *= parseFloat(getComputedStyle(el).opacity);
    }
    for (let el = textEl; el; el = el.parentElement) {
      const c = rgba(getComputedStyle(el).backgroundColor);
      if (c && c.a >= 0.99) { bg = c; break; }
    }
    const fg = rgba(getComputedStyle(textEl).color);
    const drawn = {r: fg.r * alpha + bg.r * (1 - alpha), g: fg.g * alpha + bg.g * (1 - alpha),
                   b: fg.b * alpha + bg.b * (1 - alpha)};
    const [hi, lo] = [lum(drawn), lum(bg)].sort((a, b) => b - a);
    out.push({text: (cap.textContent || '').trim().slice(0, 50), ratio: (hi + 0.05) / (lo + 0.05)});
  }
  return out;
}
"""

_OVERFLOW_JS = """
() => {
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  const r = main.getBoundingClientRect();
  return {width: window.innerWidth, mainRight: r.right, mainScroll: main.scrollWidth,
          mainClient: main.clientWidth, doc: document.documentElement.scrollWidth};
}
"""


@pytest.mark.parametrize("sized_page", [(1280, 720)], indirect=True, ids=["1280x720"])
@pytest.mark.parametrize("step", TOUR_STEPS)
def test_tour_step_in_lecture_mode_shows_title_and_figure_with_nothing_overlapping(
    sized_page: Any, app_url: str, step: int
) -> None:
    page = sized_page
    open_and_draw(page, f"{app_url}/Guided_tour?tour_step={step}&lecture=1")
    height = page.viewport_size["height"]
    title_on_screen(page)
    chart = page.locator(".js-plotly-plot").first.bounding_box()
    # The figure's title and a good part of its plot must be on the first screen, not
    # only its top edge: at most 40 % of the screen goes to the words above it.
    assert chart["y"] <= 0.4 * height, f"the figure starts {chart['y']:.0f} px down"

    for figure in chart_parts(page, with_notes=True):
        assert any(p["name"].startswith("gtitle") for p in figure["parts"])
        assert_parts_inside_and_apart(figure)


@pytest.mark.parametrize("sized_page", [(1280, 720)], indirect=True, ids=["1280x720"])
@pytest.mark.parametrize(
    "path",
    ["Distributions", "Bound_terms?bounds_tab=How+terms+move", "Guided_tour?tour_step=6"],
    ids=["Distributions", "How_terms_move", "tour"],
)
def test_captions_in_lecture_mode_have_enough_contrast(
    sized_page: Any, app_url: str, path: str
) -> None:
    page = sized_page
    open_and_draw(page, lecture_url(app_url, path))
    if path.startswith("Guided_tour"):
        # The tour's present view keeps its words, settings caption included, in a popover.
        page.get_by_role("button", name=re.compile("Step text")).click()
        page.locator('[data-testid="stPopoverBody"] [data-testid="stCaptionContainer"]').wait_for()
    captions = page.evaluate(_CAPTION_CONTRAST_JS)
    assert captions, "no caption on the page"
    for caption in captions:
        assert caption["ratio"] >= MIN_CONTRAST, caption


@pytest.mark.parametrize("sized_page", [(390, 844)], indirect=True, ids=["phone"])
@pytest.mark.parametrize("path", PAGES, ids=lambda p: p or "Home")
def test_phone_screen_has_no_sideways_overflow(sized_page: Any, app_url: str, path: str) -> None:
    page = sized_page
    open_and_draw(page, f"{app_url}/{path}")
    box = page.evaluate(_OVERFLOW_JS)
    assert box["mainRight"] <= box["width"] + BOX_TOLERANCE_PX, box
    assert box["mainScroll"] <= box["mainClient"] + BOX_TOLERANCE_PX, box
    assert box["doc"] <= box["width"] + BOX_TOLERANCE_PX, box


# Per chart: the box of its toolbar (plotly's mode bar), drawn over the top of the chart.
_TOOLBAR_JS = """
() => [...document.querySelectorAll('.js-plotly-plot')].map((plot) => {
  const bar = plot.querySelector('.modebar');
  if (!bar) return null;
  const r = bar.getBoundingClientRect();
  return {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
})
"""


# One phone page for all paths: each test only opens a URL and measures.
@pytest.mark.parametrize("module_sized_page", [(390, 844)], indirect=True, ids=["phone"])
@pytest.mark.parametrize("path", PHONE_PAGES, ids=lambda p: p or "Home")
def test_phone_shows_the_page_title_and_every_chart_part_inside_and_apart(
    module_sized_page: Any, app_url: str, path: str
) -> None:
    page = module_sized_page
    open_and_draw(page, f"{app_url}/{path}")
    title_on_screen(page)

    charts = chart_parts(page, with_notes=True)
    toolbars = page.evaluate(_TOOLBAR_JS)
    assert charts, "no chart drawn"
    for figure, toolbar in zip(charts, toolbars, strict=True):
        assert_parts_inside_and_apart(figure)
        if toolbar is not None:
            for part in figure["parts"]:
                if part["name"].startswith("gtitle"):
                    assert box_overlap(part["box"], toolbar) == 0, f"the toolbar covers {part}"
    assert_boxed_labels_clear(page)


@pytest.mark.parametrize("sized_page", [(390, 844)], indirect=True, ids=["phone"])
def test_on_a_phone_a_tap_on_a_page_link_closes_the_sidebar(sized_page: Any, app_url: str) -> None:
    """The sidebar lies over the page on a phone: after choosing a page it must get out
    of the way, as Streamlit's own page list does."""
    page = sized_page
    open_and_draw(page, f"{app_url}/Distributions")
    page.locator('[data-testid="stExpandSidebarButton"]').click()
    links = page.locator(".st-key-ggmi_page_links")
    links.wait_for(state="visible")
    links.get_by_text("Bound terms", exact=True).click()
    page.wait_for_url("**/Bound_terms*")
    page.locator('[data-testid="stExpandSidebarButton"]').wait_for(state="visible")
    box = page.locator('[data-testid="stSidebar"]').bounding_box()
    assert box is None or box["x"] + box["width"] <= 1, box


#: Every page link's label: its text's full width against the width it is shown in.
_LINK_LABELS_JS = """() => [...document.querySelectorAll('[data-testid="stMain"] '
    + '[data-testid="stPageLink-NavLink"] [data-testid="stMarkdownContainer"]')]
  .map((label) => ({text: label.innerText, shown: label.parentElement.clientWidth,
                    needed: label.parentElement.scrollWidth}))"""


@pytest.mark.parametrize(
    "sized_page", [(390, 844), (1024, 768)], indirect=True, ids=["phone", "1024x768"]
)
@pytest.mark.parametrize("lecture", [False, True], ids=["normal", "lecture"])
def test_home_page_links_show_their_whole_label(
    sized_page: Any, app_url: str, lecture: bool
) -> None:
    """A long link label wraps instead of being cut off (on a phone, Home's tour link
    once read "...the paper's argument in eleven st")."""
    page = sized_page
    open_and_draw(page, lecture_url(app_url, "") if lecture else f"{app_url}/")
    labels = page.evaluate(_LINK_LABELS_JS)
    assert len(labels) >= 6, labels  # the tour link and one link per other page
    for label in labels:
        assert label["needed"] <= label["shown"] + 1, label
