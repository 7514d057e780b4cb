"""Shared helpers of the hardening tests (issue 6): page discovery and 'nothing leaked' checks.

Import as ``from hardening_helpers import ...`` (pytest puts ``tests/app`` on ``sys.path``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from page_helpers import plain
from streamlit.testing.v1 import AppTest

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
    """Home plus every page under ``pages/`` (repo-relative), so new pages join the tests."""
    return ["app.py", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))]


def work_pages() -> list[str]:
    """The pages that compute something (all but Home)."""
    return [p for p in page_files() if p != "app.py"]


def new_app(page: str, query: dict[str, object] | None = None) -> AppTest:
    """An AppTest of ``page`` with URL ``query`` (values: text, or lists for repeated keys)."""
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
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
