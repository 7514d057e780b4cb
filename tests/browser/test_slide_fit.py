"""Present from the app: every main chart whole on a projector, the tour as slides.

Lecture mode at 1024x768, 1280x720, 1600x900 and 1920x1080 (sidebar closed; at
1280x720 also open): on every page and every tour step the main chart, its title, axis
titles and legend lie inside the window, below the page heading (slide fit), and the
chart follows the window when it is resized. The tour's present view is one screen
(nothing follows the chart), says the step's claim once, has a full-screen toggle (a
button and the F key) and is what a student following a lecture room sees. In normal
mode at 1280x720 the K slider is in the sidebar's first screen on every page that has it.

Screenshots of every page and tour step at 1280x720 go to /tmp/ggmi-screenshots/slides.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import (
    BOX_TOLERANCE_PX,
    chart_parts,
    element_box,
    lecture_url,
    open_and_draw,
    open_sidebar,
    wait_for_app_idle,
)

from ggmi_app.tour_page import STEPS
from ggmi_viz.export import PNG_MAGIC

SHOTS = Path("/tmp/ggmi-screenshots/slides")
VIEWPORTS = ((1024, 768), (1280, 720), (1600, 900), (1920, 1080))
PAGES = ("Distributions", "KL_Gap_curves", "Bound_terms", "Diagnostics")
TOUR = tuple(f"Guided_tour?tour_step={step}" for step in range(1, len(STEPS) + 1))
K_LABEL = "K: anchor-sampled components"

# Every chart drawn in a slide box fills it (plotly has redrawn to the box's height).
_FITTED_JS = """
() => [...document.querySelectorAll('[class*="st-key-ggmi_slide_"]')].every((box) => {
  const svg = box.querySelector('.main-svg');
  if (!svg || !box.style.height) return false;
  return Math.abs(svg.getBoundingClientRect().height - box.getBoundingClientRect().height) < 2;
})
"""
_FIRST_CHART_BOTTOM_JS = """
() => { const svg = document.querySelector('.js-plotly-plot .main-svg');
        return svg ? svg.getBoundingClientRect().bottom : null; }
"""


def wait_for_slide_fit(page: Any) -> None:
    """Wait until every fitted chart fills its box and the first chart stops moving."""
    page.wait_for_function(_FITTED_JS, polling=100)
    last = None
    for _ in range(40):
        now = page.evaluate(_FIRST_CHART_BOTTOM_JS)
        if now is not None and last is not None and abs(now - last) < 0.5:
            return
        last = now
        time.sleep(0.25)
        page.wait_for_function(_FITTED_JS, polling=100)


def _inside_window(box: dict[str, float], view: dict[str, int]) -> bool:
    tol = BOX_TOLERANCE_PX
    return (
        box["left"] >= -tol
        and box["top"] >= -tol
        and box["right"] <= view["width"] + tol
        and box["bottom"] <= view["height"] + tol
    )


def assert_main_chart_whole(page: Any) -> None:
    """The page's first chart, its titles, axis titles and legend, inside the window and
    below the page heading, with the page scrolled to its top."""
    view = page.viewport_size
    heading = element_box(page, '[data-testid="stMainBlockContainer"] h1')
    assert heading is not None, "no page heading"
    chart = chart_parts(page)[0]
    box = chart["chart"]
    assert box["top"] >= heading["bottom"] - BOX_TOLERANCE_PX, f"chart {box}, heading {heading}"
    assert _inside_window(box, view), f"the chart {box} leaves the {view} window"
    for part in chart["parts"]:
        assert _inside_window(part["box"], view), f"{part['name']} leaves the window: {part}"


def _shot(page: Any, path: str, suffix: str = "") -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-")
    size = "x".join(str(v) for v in page.viewport_size.values())
    target = SHOTS / f"{size}-{name}{suffix}.png"
    page.screenshot(path=str(target))
    assert target.read_bytes().startswith(PNG_MAGIC)


def _open_fitted(page: Any, url: str) -> None:
    open_and_draw(page, url)
    wait_for_slide_fit(page)


@pytest.mark.parametrize(
    "module_sized_page", VIEWPORTS, indirect=True, ids=lambda v: "x".join(map(str, v))
)
@pytest.mark.parametrize("path", PAGES + TOUR)
def test_every_main_chart_is_whole_in_the_window_in_lecture_mode(
    module_sized_page: Any, app_url: str, path: str
) -> None:
    page = module_sized_page
    _open_fitted(page, lecture_url(app_url, path))
    assert_main_chart_whole(page)
    if page.viewport_size["width"] == 1280:
        _shot(page, path)
    if path.startswith("Guided_tour"):
        # The present view is one screen: nothing follows the chart.
        content = element_box(page, '[data-testid="stMainBlockContainer"]')
        assert content["bottom"] <= page.viewport_size["height"] + BOX_TOLERANCE_PX, content


@pytest.mark.parametrize("sized_page", [(1280, 720)], indirect=True, ids=["1280x720"])
@pytest.mark.parametrize("path", PAGES + TOUR)
def test_with_the_sidebar_open_every_main_chart_is_whole_too(
    sized_page: Any, app_url: str, path: str
) -> None:
    page = sized_page
    open_and_draw(page, lecture_url(app_url, path))
    open_sidebar(page)
    wait_for_slide_fit(page)
    assert_main_chart_whole(page)


@pytest.mark.parametrize("sized_page", [(1280, 720)], indirect=True, ids=["1280x720"])
@pytest.mark.parametrize("path", ["Distributions", "Guided_tour?tour_step=6"])
def test_the_chart_follows_the_window_height(sized_page: Any, app_url: str, path: str) -> None:
    page = sized_page
    _open_fitted(page, lecture_url(app_url, path))
    heights = {}
    for width, height in ((1280, 720), (1500, 1000), (1100, 820)):
        page.set_viewport_size({"width": width, "height": height})
        wait_for_slide_fit(page)
        assert_main_chart_whole(page)
        chart = chart_parts(page)[0]["chart"]
        heights[height] = chart["bottom"] - chart["top"]
        # Filled: the chart ends near the window's bottom (the tour keeps nothing below).
        assert chart["bottom"] >= height - 90, (height, chart)
    assert heights[1000] > heights[820] > heights[720], heights


@pytest.mark.parametrize("sized_page", [(1280, 720)], indirect=True, ids=["1280x720"])
def test_the_tour_says_its_claim_once_and_toggles_full_screen(
    sized_page: Any, app_url: str
) -> None:
    page = sized_page
    step = STEPS[3]
    _open_fitted(page, lecture_url(app_url, "Guided_tour?tour_step=4"))
    main = page.locator('[data-testid="stMain"]')
    # The chart's title says the point; the short claim waits in the step's popover.
    assert step.slide not in main.inner_text()
    page.get_by_role("button", name=re.compile("Step text")).click()
    page.get_by_text(step.slide).wait_for(state="visible")
    page.keyboard.press("Escape")
    page.get_by_text(step.slide).wait_for(state="hidden")

    def fullscreen() -> bool:
        return bool(page.evaluate("() => document.fullscreenElement !== null"))

    assert not fullscreen()
    page.locator("h1").first.click()  # focus on the page, not a field
    page.keyboard.press("f")
    page.wait_for_function("() => document.fullscreenElement !== null")
    wait_for_slide_fit(page)
    assert_main_chart_whole(page)
    page.keyboard.press("F")
    page.wait_for_function("() => document.fullscreenElement === null")
    page.locator(".ggmi-fullscreen").click()
    page.wait_for_function("() => document.fullscreenElement !== null")
    page.locator(".ggmi-fullscreen").click()
    page.wait_for_function("() => document.fullscreenElement === null")
    # The clicker's keys still move the steps in the present view.
    page.locator("h1").first.click()
    page.keyboard.press("PageDown")
    wait_for_app_idle(page, expect_rerun=True)
    page.get_by_role("heading", name=STEPS[4].title).wait_for()
    page.keyboard.press("ArrowLeft")
    wait_for_app_idle(page, expect_rerun=True)
    page.get_by_role("heading", name=step.title).wait_for()


def test_a_student_following_a_room_sees_the_present_view(chromium: Any, app_url: str) -> None:
    contexts = [chromium.new_context(viewport={"width": 1280, "height": 720}) for _ in range(2)]
    try:
        lecturer, student = (context.new_page() for context in contexts)
        lecturer.goto(f"{app_url}/Guided_tour?tour_step=3&lecture=1")
        wait_for_app_idle(lecturer)
        open_sidebar(lecturer)
        lecturer.get_by_role("button", name="Open a room (you drive)").click()
        wait_for_app_idle(lecturer, expect_rerun=True)
        sidebar = lecturer.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text(re.compile(r"You drive room [A-Z2-9]{6}")).wait_for()
        code = re.search(r"You drive room ([A-Z2-9]{6})", sidebar.inner_text()).group(1)
        assert lecturer.locator(".st-key-ggmi_present").count() == 1

        # The student keeps normal type (lecture mode is each screen's own), yet gets
        # the same view: the step alone on the screen, chart fitted, full-screen button.
        student.goto(f"{app_url}/?room={code}")
        student.get_by_role("heading", name=STEPS[2].title).wait_for(timeout=60_000)
        wait_for_app_idle(student)
        student.locator(".st-key-ggmi_present .ggmi-fullscreen").wait_for()
        wait_for_slide_fit(student)
        assert_main_chart_whole(student)
        # Normal mode keeps Streamlit's opaque header bar: the heading's glyphs (its line
        # box less the half-leading) start below it.
        header = element_box(student, 'header[data-testid="stHeader"]')
        text_top = student.evaluate(
            "() => { const h = document.querySelector('[data-testid=\"stMainBlockContainer\"] h1');"
            " const range = document.createRange(); range.selectNodeContents(h);"
            " const style = getComputedStyle(h);"
            " const leading = (parseFloat(style.lineHeight) - parseFloat(style.fontSize)) / 2;"
            " return range.getBoundingClientRect().top + Math.max(leading, 0); }"
        )
        assert header is None or header["bottom"] <= text_top + 2, (header, text_top)
        _shot(student, "Guided_tour-student-following", "")
    finally:
        for context in contexts:
            context.close()


@pytest.mark.parametrize("sized_page", [(1280, 720)], indirect=True, ids=["1280x720"])
@pytest.mark.parametrize("path", PAGES)
def test_in_normal_mode_the_k_slider_is_on_the_sidebars_first_screen(
    sized_page: Any, app_url: str, path: str
) -> None:
    page = sized_page
    open_and_draw(page, f"{app_url}/{path}")
    slider = (
        page.locator('[data-testid="stSidebar"] [data-testid="stSlider"]')
        .filter(has_text=K_LABEL)
        .first
    )
    box = slider.bounding_box()
    assert box is not None, "no K slider in the sidebar"
    scrolled = page.evaluate(
        "() => document.querySelector('[data-testid=\"stSidebarContent\"]').scrollTop"
    )
    assert scrolled == 0
    assert box["y"] >= 0 and box["y"] + box["height"] <= 720, f"K slider at {box}"


# The on-screen size (CSS px) of the first chart's type: its slide-fit scale and, per
# axis title, the font size times that scale.
_CHART_TYPE_JS = """
() => {
  const plot = document.querySelector('.js-plotly-plot');
  const match = (plot.style.transform || '').match(/scale\\(([0-9.]+)\\)/);
  const scale = match ? parseFloat(match[1]) : 1;
  const titles = [...plot.querySelectorAll('text[class$="title"]')]
    .filter((el) => /^[xy][0-9]*title$/.test(el.getAttribute('class')))
    .map((el) => ({name: el.getAttribute('class'), text: el.textContent,
                   px: parseFloat(getComputedStyle(el).fontSize) * scale}));
  return {scale, titles};
}
"""
#: A projected chart stays readable: scaled down by slide fit to no less than this ...
LEAST_SLIDE_SCALE = 0.8
#: ... and every axis title at least this tall on screen (CSS px; tick labels are ~14).
LEAST_AXIS_TITLE_PX = 15.0


@pytest.mark.parametrize(
    "module_sized_page", [(1024, 768), (1280, 720)], indirect=True, ids=["1024x768", "1280x720"]
)
@pytest.mark.parametrize("path", ["Guided_tour?tour_step=8", "Diagnostics"])
def test_projected_charts_keep_their_type_readable(
    module_sized_page: Any, app_url: str, path: str
) -> None:
    """Step 8 (J against L, six panels) was scaled to 0.55 at 1280x720 with its y-axis
    titles at 8 px; Diagnostics' y-axis title was shrunk to 11 px."""
    page = module_sized_page
    _open_fitted(page, lecture_url(app_url, path))
    measured = page.evaluate(_CHART_TYPE_JS)
    if path.startswith("Guided_tour"):
        assert measured["scale"] >= LEAST_SLIDE_SCALE, measured
    y_titles = [t for t in measured["titles"] if t["name"].startswith("y")]
    assert y_titles, f"no y-axis title on {path}: {measured}"
    for title in measured["titles"]:
        assert title["px"] >= LEAST_AXIS_TITLE_PX, (path, title, measured["scale"])
