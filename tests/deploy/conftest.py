"""Checks run by ``scripts/test_deploy.sh`` against a container or the compose stack.

They need a running deployment, named by the environment:

    GGMI_DEPLOY_URL        base URL on loopback (the image's published port or the proxy)
    GGMI_DEPLOY_CONTAINER  name of the container of the image (tests/deploy/test_image.py)
    GGMI_DEPLOY_PROJECT    podman-compose project of the stack (test_stack_drills.py)

Without GGMI_DEPLOY_URL every test here is skipped (the ordinary test run has no
container); ``scripts/test_deploy.sh`` always sets it. Chromium is Debian's, as in
tests/browser/.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))
from browser_helpers import IDLE_TIMEOUT_MS, launched_chromium

URL = os.environ.get("GGMI_DEPLOY_URL", "")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason="no deployment to test: run scripts/test_deploy.sh")
    for item in items:
        if here in Path(str(item.fspath)).parents and not URL:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def deploy_url() -> str:
    """Base URL of the deployment under test: loopback, or a container on a podman bridge."""
    host = urllib.parse.urlsplit(URL).hostname or ""
    assert host == "localhost" or ipaddress.ip_address(host).is_private, URL
    return URL.rstrip("/")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Playwright Browser on Debian's Chromium."""
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Callable[[], Any]]:
    """``new_page()``: a page in a fresh browser context (own cookies, so own session)."""
    contexts: list[Any] = []

    def make() -> Any:
        context = chromium.new_context(
            viewport={"width": 1400, "height": 1000}, accept_downloads=True
        )
        context.set_default_timeout(IDLE_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.errors = []  # uncaught script errors (the front end blanks the page on one)
        page.on("pageerror", lambda error: page.errors.append(str(error)[:300]))
        return page

    yield make
    for context in contexts:
        context.close()
