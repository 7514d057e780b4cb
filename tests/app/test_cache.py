"""The cache bounds are real: entries beyond max_entries are evicted."""

from __future__ import annotations

import pytest

from ggmi_app.cache import CACHE_MAX_ENTRIES, CACHE_TTL_S, bounded_cache


def test_bounds_are_finite() -> None:
    assert 1 <= CACHE_MAX_ENTRIES <= 1000
    assert 60 <= CACHE_TTL_S <= 24 * 3600


def test_bounded_cache_evicts_beyond_max_entries() -> None:
    calls: list[int] = []

    @bounded_cache(max_entries=2)
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    square.clear()
    assert [square(1), square(1), square(2)] == [1, 1, 4]
    assert calls == [1, 2]
    square(3)  # third distinct entry: the oldest one (1) is evicted
    square(1)
    assert calls == [1, 2, 3, 1]


def test_bad_bounds_are_rejected() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        bounded_cache(max_entries=0)
