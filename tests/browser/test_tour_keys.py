"""The Guided tour in real headless Chromium: keys advance the step, URLs open steps.

ArrowRight/ArrowLeft are the visible buttons' shortcuts; PageDown/PageUp (what
presentation clickers send) are carried by a visually hidden second pair. Screenshots
(1280x720, lecture mode off and on) go to /tmp/ggmi-screenshots for a human look.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from browser_helpers import wait_for_app_idle

from ggmi_app.tour_page import STEPS
from ggmi_viz.export import PNG_MAGIC

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/ggmi-screenshots")


def _open(page: Any, url: str) -> None:
    page.goto(url)
    wait_for_app_idle(page)
    page.locator(".js-plotly-plot").first.wait_for(state="visible")
    assert page.locator('[data-testid="stException"]').count() == 0


def _step_in_url(page: Any) -> int:
    # Step 1 is the default and needs no URL entry.
    return int(parse_qs(urlparse(page.url).query).get("tour_step", ["1"])[0])


def _heading(page: Any) -> str:
    return page.locator("h1").first.inner_text().strip()


def _press(page: Any, key: str, expected: int) -> None:
    # Shortcuts are ignored while a text field has focus; focus the page's heading first.
    page.locator("h1").first.click()
    page.keyboard.press(key)
    wait_for_app_idle(page, expect_rerun=True)
    page.wait_for_function(
        "(n) => (new URLSearchParams(location.search).get('tour_step') ?? '1') === String(n)",
        arg=expected,
    )
    page.get_by_role("heading", name=STEPS[expected - 1].title).wait_for()


def test_arrow_and_page_keys_move_through_the_tour(page: Any, app_url: str) -> None:
    _open(page, f"{app_url}/Guided_tour?tour_step=1")
    assert _heading(page) == STEPS[0].title
    _press(page, "ArrowRight", 2)
    assert _step_in_url(page) == 2
    _press(page, "PageDown", 3)
    assert _step_in_url(page) == 3
    assert _heading(page) == STEPS[2].title
    _press(page, "PageUp", 2)
    _press(page, "ArrowLeft", 1)
    assert _heading(page) == STEPS[0].title


def test_a_step_opens_directly_from_its_url(page: Any, app_url: str) -> None:
    _open(page, f"{app_url}/Guided_tour?tour_step=7")
    assert _heading(page) == STEPS[6].title
    assert re.search(r"Lemma 3\.1", page.locator('[data-testid="stMain"]').inner_text())
    assert _step_in_url(page) == 7


def test_open_on_page_switches_and_back_returns_to_the_step(page: Any, app_url: str) -> None:
    _open(page, f"{app_url}/Guided_tour?tour_step=8")
    page.get_by_role("button", name="Open this on the Bound terms page").click()
    page.wait_for_url(re.compile(r"/Bound_terms"))
    wait_for_app_idle(page)
    assert (
        "bounds_tab=How" in page.url
        or "How terms move" in page.locator('[aria-selected="true"]').first.inner_text()
    )
    page.go_back()
    page.wait_for_url(re.compile(r"/Guided_tour"))
    wait_for_app_idle(page)
    page.get_by_role("heading", name=STEPS[7].title).wait_for()
    assert _step_in_url(page) == 8


@pytest.mark.parametrize("lecture", [False, True])
def test_screenshots_at_projector_size(chromium: Any, app_url: str, lecture: bool) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        for step in (1, 6, 8):
            _open(page, f"{app_url}/Guided_tour?tour_step={step}&lecture={int(lecture)}")
            SHOTS.mkdir(parents=True, exist_ok=True)
            path = SHOTS / f"tour-step{step}-{'lecture' if lecture else 'normal'}.png"
            page.screenshot(path=str(path))
            assert path.read_bytes().startswith(PNG_MAGIC)
    finally:
        context.close()
