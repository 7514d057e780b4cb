"""Shared helpers of the hardening tests: page discovery and 'nothing leaked' checks.

Import as ``from hardening_helpers import ...`` (pytest puts ``tests/app`` on ``sys.path``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from page_helpers import app_test, plain
from streamlit.testing.v1 import AppTest

from ggmi_app.page_list import PAGES, PAGES_BY_KEY, SHARED_SETTINGS
from ggmi_app.page_settings import PAGE_SETTINGS
from ggmi_app.params import Param

ROOT: Final[Path] = Path(__file__).resolve().parents[2]
TIMEOUT: Final[int] = 120  # seconds; a cold Figure-4 fallback computes several sweeps

#: Element types whose text a visitor reads.
TEXT_TYPES: Final[tuple[str, ...]] = (
    "title",
    "header",
    "subheader",
    "markdown",
    "caption",
    "text",
    "code",
    "latex",
    "error",
    "warning",
    "info",
    "success",
    "exception",
)
#: What a Python traceback looks like once rendered (any of these is a leak).
TRACEBACK: Final = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")


def page_files() -> list[str]:
    """The router and every page of the registry (repo-relative), so new pages join."""
    return ["app.py", *(page.entry for page in PAGES)]


def work_pages() -> list[str]:
    """The pages that compute on request (not Home; the tour shows stored results)."""
    return [page.entry for page in PAGES if page.key not in ("home", "tour")]


def page_settings(page_file: str) -> dict[str, Param]:
    """Every URL setting ``page_file`` reads: the shared ones and the page's own."""
    spec = next((p for p in PAGES if p.entry == page_file), PAGES_BY_KEY["home"])
    return dict(SHARED_SETTINGS) | dict(PAGE_SETTINGS[spec.key])


def new_app(page: str, query: dict[str, object] | None = None) -> AppTest:
    """An AppTest of ``page`` with URL ``query`` (values: text, or lists for repeated keys)."""
    at = app_test(page, TIMEOUT)
    at.query_params.update(query or {})
    return at


def visible_text(at: AppTest) -> str:
    """Every piece of text the page shows, escapes removed, one element per line."""
    parts: list[str] = []
    for kind in TEXT_TYPES:
        for element in at.get(kind):
            value = getattr(element, "value", None)
            if value is None and kind == "exception":
                value = str(element.proto)
            if isinstance(value, str):
                parts.append(plain(value))
    return "\n".join(parts)


def assert_no_leak(at: AppTest) -> None:
    """No exception element and no traceback text anywhere on the page."""
    assert not at.exception, [str(e.proto)[:500] for e in at.exception]
    found = TRACEBACK.search(visible_text(at))
    assert found is None, f"traceback text shown to the visitor: {found.group(0)!r}"
