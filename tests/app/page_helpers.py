"""Helpers for the page AppTests: run a page, read its plotly figures as numbers."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60  # seconds; a cold Figure-4 fallback computes several sweeps


def app_test(path: str, timeout: float = TIMEOUT) -> AppTest:
    """An AppTest that shows ``path`` (relative to the repo root, or absolute), not run yet.

    A page script in ``pages/`` runs inside the app's frame, as a visitor sees it:
    ``app.py`` with that page switched to. Any other script (``app.py`` itself, a test
    page) runs on its own.
    """
    page = Path(path) if Path(path).is_absolute() else ROOT / path
    if page.parent != ROOT / "pages":
        return AppTest.from_file(str(page), default_timeout=timeout)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.switch_page(str(page.relative_to(ROOT)))
    return at


def run_page(path: str, query: dict[str, str] | None = None) -> AppTest:
    """Run the page at ``path`` (relative to the repo root) with URL ``query``."""
    at = app_test(path)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def figures(at: AppTest) -> list[dict[str, Any]]:
    """Every plotly chart on the page as its JSON spec (``data`` and ``layout``)."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def figure_titled(at: AppTest, title_start: str) -> dict[str, Any]:
    """The first figure whose title starts with ``title_start``."""
    specs = figures(at)
    for spec in specs:
        if spec["layout"].get("title", {}).get("text", "").startswith(title_start):
            return spec
    raise AssertionError(f"no figure titled {title_start!r} in {len(specs)} figures")


def array(value: Any) -> np.ndarray:
    """A trace's array field, decoding plotly's packed ``{"dtype", "bdata"}`` form."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if shape is None:
            return flat
        dims = [int(s) for s in str(shape).split(",")] if isinstance(shape, str) else shape
        return flat.reshape(dims)
    return np.asarray(value, dtype=object)


def traces(spec: dict[str, Any], kind: str | None = None) -> list[dict[str, Any]]:
    """The traces of one figure spec, optionally only those of type ``kind``."""
    return [t for t in spec["data"] if kind is None or t.get("type", "scatter") == kind]


def plain(text: str) -> str:
    """Drop Markdown escapes from a displayed message."""
    return text.replace("\\", "")


def messages(at: AppTest, kind: str) -> list[str]:
    """Plain text of every ``error``/``warning``/``info`` element."""
    return [plain(e.value) for e in getattr(at, kind)]
