"""End-to-end harness: a live Streamlit server and Debian's headless Chromium.

Fixtures:
    app_url        session: base URL of the app on a free loopback port, started as deployed
                   (``python -m ggmi_app.serve``: warmed, then ``streamlit run app.py``)
    chromium       session: a Playwright ``Browser`` on /usr/bin/chromium
    page           function: a fresh ``Page`` (new context, 1400x1000, downloads on)
    sized_page     function: a fresh ``Page`` at a viewport given by indirect parametrization
                   (a phone's browser when at most 480 px wide)
    module_sized_page  module: the same, one page shared by a module's tests of that size

Helpers (defined in ``browser_helpers.py``, re-exported here; tests import them with
``from browser_helpers import ...``): ``streamlit_server(app_path, log_path)`` context
manager yielding a base URL, ``wait_for_app_idle``, ``plotly_figure_json``,
``move_slider``, ``download_bytes``.

All tests in this directory get the ``browser`` marker automatically, so
``pytest -m "not browser"`` skips them and ``pytest -m browser`` selects them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import (
    IDLE_TIMEOUT_MS,
    ROOT,
    download_bytes,
    launched_chromium,
    move_slider,
    plotly_figure_json,
    streamlit_server,
    wait_for_app_idle,
)

#: Viewports this narrow are opened as a phone.
PHONE_MAX_WIDTH = 480
#: A recent Android Chrome: "Mobile" in it is what the app reads as a phone.
PHONE_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)

__all__ = [
    "download_bytes",
    "move_slider",
    "plotly_figure_json",
    "streamlit_server",
    "wait_for_app_idle",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of the real dashboard (``app.py``; override with GGMI_BROWSER_APP)."""
    app = Path(os.environ.get("GGMI_BROWSER_APP", ROOT / "app.py"))
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    with streamlit_server(app, log) as url:
        yield url


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Playwright Browser on Debian's Chromium (``playwright install`` is not used)."""
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh page in its own context (no shared cookies or storage between tests)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(IDLE_TIMEOUT_MS)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


@contextlib.contextmanager
def _page_sized(chromium: Any, width: int, height: int) -> Iterator[Any]:
    """A page in a new context of ``width`` x ``height``; at most ``PHONE_MAX_WIDTH``
    wide it is a phone's browser (Android Chrome's User-Agent, touch, mobile viewport)."""
    phone = width <= PHONE_MAX_WIDTH
    # A phone-sized viewport is a phone: its User-Agent, touch and mobile viewport, so
    # the app (which can only read the User-Agent) gives it the phone layout.
    extra = {"user_agent": PHONE_USER_AGENT, "is_mobile": True, "has_touch": True} if phone else {}
    context = chromium.new_context(viewport={"width": width, "height": height}, **extra)
    context.set_default_timeout(IDLE_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def sized_page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page at the viewport ``request.param`` = (width, height) (parametrize it
    with ``indirect=True``); at most ``PHONE_MAX_WIDTH`` wide it is a phone's browser
    (Android Chrome's User-Agent, touch, mobile viewport)."""
    width, height = request.param
    with _page_sized(chromium, width, height) as page:
        yield page


@pytest.fixture(scope="module")
def module_sized_page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Like ``sized_page``, but one page for every test of the module that asks for the
    same size: a test that only opens a URL and measures need not pay for a new context.
    Tests using it must leave nothing behind that the next URL would not reset."""
    width, height = request.param
    with _page_sized(chromium, width, height) as page:
        yield page
