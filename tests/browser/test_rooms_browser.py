"""Lecture rooms in real headless Chromium: one lecturer drives, two students follow.

The lecturer opens a room, goes to the Guided tour, moves a step, opens the step's page
and moves a slider; both students' pages follow (page, tour step, slider). One student
detaches and stays put while the lecturer moves on, then re-joins with one click and
catches up. A forged code and a malformed one are refused with a message.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from browser_helpers import IDLE_TIMEOUT_MS, move_slider, slider_value, wait_for_app_idle

from ggmi_app import tour_page

pytestmark = pytest.mark.browser

#: How long a student may take to show the lecturer's change (the poll runs every 0.75 s;
#: a page switch may compute a figure on this busy, shared machine).
FOLLOW_S = 20.0
K_LABEL = "K: anchor-sampled components"
#: Uncaught script errors of each page (Streamlit's front end blanks the page on one).
PAGE_ERRORS: dict[Any, list[str]] = {}


def _eventually(
    check: Callable[[], bool], what: str, timeout_s: float = FOLLOW_S,
    diagnose: Callable[[], str] = str,
) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # the page is re-rendering; look again
            pass
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout_s:g} s: {what} {diagnose()}")


def _sidebar_text(page: Any) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


def _heading(page: Any) -> str:
    return page.locator("h1").first.inner_text()


@pytest.fixture
def contexts(chromium: Any) -> Iterator[Callable[[], Any]]:
    """``new_page()``: a page in a fresh browser context (its own cookies and session)."""
    made: list[Any] = []

    def new_page() -> Any:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(IDLE_TIMEOUT_MS)
        made.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)[:300]))
        PAGE_ERRORS[page] = errors
        return page

    yield new_page
    for context in made:
        context.close()
    PAGE_ERRORS.clear()


def test_students_follow_the_lecturer_detach_and_rejoin(
    app_url: str, contexts: Callable[[], Any]
) -> None:
    lecturer = contexts()
    lecturer.goto(f"{app_url}/?n_mc=500")
    wait_for_app_idle(lecturer)
    lecturer.get_by_role("button", name="Open a room (you drive)").click()
    wait_for_app_idle(lecturer, expect_rerun=True)
    match = re.search(r"You drive room ([A-Z2-9]{6})", _sidebar_text(lecturer))
    assert match, _sidebar_text(lecturer)
    code = match.group(1)
    assert "room=" not in lecturer.url  # the lecturer's own URL carries no room, no secret

    students = [contexts(), contexts()]
    for student in students:
        student.goto(f"{app_url}/?room={code}")
        _eventually(lambda s=student: f"Following room {code}" in _sidebar_text(s), "joined")

    lecturer.locator(".st-key-ggmi_page_links").get_by_text("Guided tour").click()
    wait_for_app_idle(lecturer, expect_rerun=True)
    lecturer.get_by_role("button", name="Next").first.click()
    wait_for_app_idle(lecturer, expect_rerun=True)
    step2 = tour_page.STEPS[1]
    for student in students:
        _eventually(
            lambda s=student: _heading(s) == step2.title,
            "tour step 2",
            diagnose=lambda s=student: f"student at {s.url}; errors {PAGE_ERRORS[s]}",
        )
        assert "tour_step=2" in student.url and f"room={code}" in student.url

    target = tour_page.PAGES_BY_KEY[step2.page].title
    lecturer.get_by_role("button", name=f"Open this on the {target} page").click()
    wait_for_app_idle(lecturer, expect_rerun=True)
    _eventually(lambda: lecturer.locator('[data-testid="stSlider"]').filter(
        has_text=K_LABEL).count() > 0, "the lecturer's page has the K slider")  # fmt: skip
    move_slider(lecturer, K_LABEL, 1)
    k_now = slider_value(lecturer, K_LABEL)
    for student in students:
        _eventually(
            lambda s=student: slider_value(s, K_LABEL) == k_now,
            f"K = {k_now} on the student's page",
            diagnose=lambda s=student: (
                f"lecturer at {lecturer.url}; student at {s.url}; errors {PAGE_ERRORS[s]}"
            ),
        )

    # One student detaches; the lecturer moves on; only the other follows.
    students[1].get_by_role("button", name="Detach (explore on my own)").click()
    _eventually(lambda: f"Re-join room {code}" in _sidebar_text(students[1]), "detached")
    move_slider(lecturer, K_LABEL, 1)
    k_next = slider_value(lecturer, K_LABEL)
    assert k_next != k_now
    _eventually(
        lambda: slider_value(students[0], K_LABEL) == k_next, "the attached student follows"
    )
    time.sleep(3)  # several poll intervals: the detached student must not have moved
    assert slider_value(students[1], K_LABEL) == k_now
    assert "room=" not in students[1].url

    students[1].get_by_role("button", name=f"Re-join room {code}").click()
    _eventually(
        lambda: slider_value(students[1], K_LABEL) == k_next, "the re-joined student catches up"
    )
    for page in (lecturer, *students):
        assert page.locator('[data-testid="stException"]').count() == 0
        assert not PAGE_ERRORS[page]


@pytest.mark.parametrize(
    ("code", "message"),
    [("ZZZZZZ", "No open room has the code ZZZZZZ"), ("K7RM2O", "no 0, O, 1, I or L")],
)
def test_a_forged_or_malformed_code_is_refused(
    app_url: str, contexts: Callable[[], Any], code: str, message: str
) -> None:
    student = contexts()
    student.goto(f"{app_url}/?room={code}")
    wait_for_app_idle(student)
    _eventually(lambda: message in _sidebar_text(student), f"refusal: {message}", 30)
    assert "Following room" not in _sidebar_text(student)
    assert student.locator('[data-testid="stException"]').count() == 0
