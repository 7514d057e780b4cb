"""Every ``st.cache_data`` and ``st.cache_resource`` of the app is bounded in entries and age."""

from __future__ import annotations

import ast
from pathlib import Path

from ggmi_app.cached import CACHE_MAX_ENTRIES, CACHE_MAX_ENTRIES_LARGE, CACHE_TTL_S

ROOT = Path(__file__).resolve().parents[2]


_CACHES = ("cache_data", "cache_resource")


def _cache_data_calls(tree: ast.AST) -> list[ast.AST]:
    """``st.cache_data`` and ``st.cache_resource`` decorators, bare or called."""
    found = []
    for node in ast.walk(tree):
        for deco in getattr(node, "decorator_list", []):
            target = deco.func if isinstance(deco, ast.Call) else deco
            if isinstance(target, ast.Attribute) and target.attr in _CACHES:
                found.append(deco)
    return found


def test_bounds_are_finite() -> None:
    assert 1 <= CACHE_MAX_ENTRIES_LARGE <= CACHE_MAX_ENTRIES <= 1000
    assert 60 <= CACHE_TTL_S <= 24 * 3600


def test_every_cache_data_has_max_entries_and_ttl() -> None:
    files = [*ROOT.glob("ggmi_app/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py"]
    decorators = [
        (path.name, deco)
        for path in files
        for deco in _cache_data_calls(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert len(decorators) >= 5  # the app's caches were found at all
    for name, deco in decorators:
        assert isinstance(deco, ast.Call), f"bare Streamlit cache in {name}"
        keywords = {kw.arg for kw in deco.keywords}
        assert {"max_entries", "ttl"} <= keywords, f"unbounded Streamlit cache in {name}"
