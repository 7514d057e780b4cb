"""deploy/compose.yaml, running: rooms across replicas, a replica stopped, Redis restarted.

Run by ``scripts/test_deploy.sh`` against the stack it started with podman-compose
(``GGMI_DEPLOY_URL`` is the proxy, ``GGMI_DEPLOY_PROJECT`` the compose project; see
tests/deploy/conftest.py). The tests run in file order and share one lecturer, whose
room the later drills need; each leaves both replicas and Redis running.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from browser_helpers import open_and_draw, wait_for_app_idle
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from ggmi_app import tour_page

PROJECT = os.environ.get("GGMI_DEPLOY_PROJECT", "ggmi-deploy-test")
#: The proxy's cookie value of each replica (deploy/haproxy.cfg) and its service name.
SERVICES = {"r1": "replica1", "r2": "replica2"}
#: A student shows the lecturer's change within this (0.75 s polls on a shared machine).
FOLLOW_S = 30.0
#: The proxy checks a replica every 5 s and marks it down after 2 failures.
FAILOVER_S = 40.0
#: A small live sweep (computed, not read from the shipped tables; rounds: 10, 20, ..., 200).
SWEEP = "KL_Gap_curves?gap_sweep_points=3&gap_sweep_from=2&gap_sweep_to=4&gap_rounds={rounds}"

ROOM: dict[str, Any] = {}


def _container(service: str) -> str:
    return f"{PROJECT}_{service}_1"


def _podman(*args: str) -> str:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"podman {' '.join(args)}: {result.stderr}"
    return result.stdout


def _eventually(check: Callable[[], bool], what: str, timeout_s: float = FOLLOW_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # the page is re-rendering, or the proxy is switching: again
            pass
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout_s:g} s: {what}")


def _replica_of_new_session(url: str) -> str:
    """Which replica the proxy gives a visitor without a cookie (X-GGMI-Replica)."""
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as response:
        assert response.status == 200
        return response.headers["X-GGMI-Replica"]


def _page_on(new_page: Callable[[], Any], url: str, want: str | None, avoid: str | None) -> Any:
    """A page in a fresh context whose sticky cookie names ``want`` (or not ``avoid``)."""
    for _ in range(8):
        page = new_page()
        page.context.request.get(f"{url}/_stcore/health")  # the proxy sets the cookie
        replica = _cookie(page)
        if (want is None or replica == want) and replica != avoid:
            return page
        page.context.close()
    raise AssertionError(f"the proxy never gave a new session replica {want or 'not ' + avoid}")


def _cookie(page: Any) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "GGMI_REPLICA")


def _sidebar(page: Any) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


#: Streamlit 1.67's front end, when a following student's page is replaced while a poll's
#: answer arrives (see ggmi_app.frame.move_browser, which narrows that race). Seen once
#: in five runs of these drills through the proxy on a loaded machine; the page then
#: showed the lecturer's step all the same, which the drills check. Any other error fails.
KNOWN_FOLLOW_RACE = "Bad delta path index"


def _no_errors(page: Any, *, following: bool = False) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    errors = [e for e in page.errors if not (following and e.startswith(KNOWN_FOLLOW_RACE))]
    assert not errors, page.errors


def test_the_proxy_spreads_new_sessions_over_both_replicas(deploy_url: str) -> None:
    seen = {_replica_of_new_session(deploy_url) for _ in range(6)}
    assert seen == set(SERVICES), seen
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{deploy_url}/_stcore/metrics", timeout=10)
    assert refused.value.code == 404


def test_a_student_on_the_other_replica_follows_the_lecturer(
    deploy_url: str, chromium: Any, new_page: Callable[[], Any]
) -> None:
    # The lecturer's page must outlive this test: a context of its own, closed at exit.
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    lecturer = context.new_page()
    lecturer.errors = []
    lecturer.context.request.get(f"{deploy_url}/_stcore/health")
    lecturer.goto(f"{deploy_url}/?n_mc=500")
    wait_for_app_idle(lecturer)
    lecturer.get_by_role("button", name="Open a room (you drive)").click()
    wait_for_app_idle(lecturer, expect_rerun=True)
    match = re.search(r"You drive room ([A-Z2-9]{6})", _sidebar(lecturer))
    assert match, _sidebar(lecturer)
    code, lecturer_replica = match.group(1), _cookie(lecturer)
    ROOM.update(code=code, replica=lecturer_replica, context=context)

    student = _page_on(new_page, deploy_url, None, avoid=lecturer_replica)
    student.goto(f"{deploy_url}/?room={code}")
    _eventually(lambda: f"Following room {code}" in _sidebar(student), "the student joined")
    assert _cookie(student) != lecturer_replica

    lecturer.locator(".st-key-ggmi_page_links").get_by_text("Guided tour").click()
    wait_for_app_idle(lecturer, expect_rerun=True)
    lecturer.get_by_role("button", name="Next").first.click()
    wait_for_app_idle(lecturer, expect_rerun=True)
    step2 = tour_page.STEPS[1]
    _eventually(
        lambda: student.locator("h1").first.inner_text() == step2.title,
        f"the student on {_cookie(student)} shows tour step 2 of the lecturer on "
        f"{lecturer_replica}",
    )
    _no_errors(student, following=True)
    _no_errors(lecturer)


def test_a_stopped_replica_gets_no_new_sessions_and_the_room_lives_on(
    deploy_url: str, new_page: Callable[[], Any]
) -> None:
    assert ROOM, "needs the room of the previous test"
    down, code = ROOM["replica"], ROOM["code"]
    up = next(r for r in SERVICES if r != down)
    _podman("stop", "-t", "10", _container(SERVICES[down]))
    try:
        _eventually(
            lambda: {_replica_of_new_session(deploy_url) for _ in range(6)} == {up},
            f"new sessions all go to {up} once {down} is stopped",
            FAILOVER_S,
        )
        # The room was opened on the stopped replica; it lives in Redis, so a new
        # student (on the surviving replica) joins it and sees the lecturer's page.
        student = new_page()
        student.goto(f"{deploy_url}/?room={code}")
        _eventually(lambda: f"Following room {code}" in _sidebar(student), "joined after")
        step2 = tour_page.STEPS[1]
        _eventually(
            lambda: student.locator("h1").first.inner_text() == step2.title,
            "the new student shows the lecturer's tour step",
        )
        assert _cookie(student) == up
        _no_errors(student, following=True)
    finally:
        _podman("start", _container(SERVICES[down]))
        ROOM["context"].close()
    _eventually(
        lambda: {_replica_of_new_session(deploy_url) for _ in range(6)} == set(SERVICES),
        f"{down} serves again after its restart",
        120.0,
    )


def _drawn_page(new_page: Callable[[], Any], url: str) -> Any:
    """``url`` drawn in a new session; once more in another new session if the first one
    landed on a replica the proxy was just taking out (its health check timing out at a
    restarted container's old address). A second failure fails the drill."""
    page = new_page()
    try:
        open_and_draw(page, url)
    except PlaywrightTimeout:
        page.context.close()
        page = new_page()
        open_and_draw(page, url)
    return page


def _replica_logs() -> str:
    """Both replicas' output (the app logs warnings to stderr)."""
    out = ""
    for service in SERVICES.values():
        result = subprocess.run(
            ["podman", "logs", _container(service)], capture_output=True, text=True, timeout=60
        )
        out += result.stdout + result.stderr
    return out


def test_the_app_keeps_serving_while_redis_restarts(
    deploy_url: str, new_page: Callable[[], Any]
) -> None:
    redis = _container("redis")
    _podman("stop", "-t", "5", redis)
    try:
        # Two new sessions (one on each replica), each a sweep not computed before: the
        # replicas look it up in Redis, find it unreachable and compute locally.
        for rounds in (30, 40):
            page = new_page()
            open_and_draw(page, f"{deploy_url}/{SWEEP.format(rounds=rounds)}")
            _no_errors(page)
    finally:
        _podman("start", redis)
    assert "unreachable" in _replica_logs(), "no replica noticed that Redis was gone"
    # Containers that were restarted (Redis now, a replica in the drill before) come back
    # at new addresses, which the proxy learns from the network's DNS; until it has, a
    # health check can time out and take a replica out. Both serve again before the next
    # sessions start.
    _eventually(
        lambda: {_replica_of_new_session(deploy_url) for _ in range(6)} == set(SERVICES),
        "both replicas serve after Redis's restart",
        120.0,
    )
    # Redis is back (empty): more new sweeps work, and a replica uses Redis again.
    for rounds in (50, 60, 70, 80):
        page = _drawn_page(new_page, f"{deploy_url}/{SWEEP.format(rounds=rounds)}")
        _no_errors(page)
        if "reachable again" in _replica_logs():
            break
    else:
        raise AssertionError("no replica used Redis again after its restart")
    with urllib.request.urlopen(f"{deploy_url}/_stcore/health", timeout=10) as response:
        assert response.status == 200
