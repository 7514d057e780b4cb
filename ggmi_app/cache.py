"""Bounds for every ``st.cache_data`` cache, so a hosted server cannot grow without limit.

Streamlit runs all sessions in one process and shares ``st.cache_data`` between them.
Pages wrap ggmi_core calls like this::

    from ggmi_app.cache import CACHE_MAX_ENTRIES, CACHE_TTL_S

    @st.cache_data(max_entries=CACHE_MAX_ENTRIES, ttl=CACHE_TTL_S, show_spinner=False)
    def cached_simulation(config_dict: dict, rounds: int, metric: str) -> ...:
        ...

or with ``bounded_cache`` below. ``st.cache_data`` bounds the number of entries and
their age, not bytes, so a cached function must return results whose size is itself
bounded (the work budget in ``ggmi_core.budget`` caps points x scenarios).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar

import streamlit as st

F = TypeVar("F", bound=Callable[..., object])

#: Entries kept per cached function (least recently used ones are dropped first).
CACHE_MAX_ENTRIES: Final[int] = 64
#: Seconds an entry lives before it is recomputed (1 hour).
CACHE_TTL_S: Final[int] = 3600
#: A smaller bound for functions whose results are large (figures, sample clouds).
CACHE_MAX_ENTRIES_LARGE: Final[int] = 16


def bounded_cache(
    func: F | None = None,
    *,
    max_entries: int = CACHE_MAX_ENTRIES,
    ttl: int = CACHE_TTL_S,
    show_spinner: bool | str = False,
) -> F | Callable[[F], F]:
    """``st.cache_data`` with the project's bounds; usable bare or with arguments."""
    if max_entries < 1 or ttl < 1:
        raise ValueError("max_entries and ttl must be at least 1")
    decorator = st.cache_data(max_entries=max_entries, ttl=ttl, show_spinner=show_spinner)
    if func is None:
        return decorator  # type: ignore[return-value]
    return decorator(func)  # type: ignore[return-value]
