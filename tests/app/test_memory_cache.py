"""The one in-process LRU cache with a time to live per entry (``ggmi_app.memory_cache``)."""

from __future__ import annotations

import threading

import pytest

from ggmi_app.memory_cache import MemoryCache


class Clock:
    """A settable clock (seconds)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_each_entry_expires_at_its_own_time() -> None:
    clock = Clock()
    cache = MemoryCache(max_entries=4, clock=clock)
    cache.put("short", 1, ttl_s=10)
    cache.put("long", 2, ttl_s=100)
    clock.now = 9.9
    assert cache.get("short") == 1 and "short" in cache
    clock.now = 10.0  # gone once the clock reaches put time + ttl
    assert cache.get("short") is None and "short" not in cache
    assert cache.get("long") == 2
    assert cache.sizes() == (1, 0)
    cache.pop("short")  # an expired key pops without error
    cache.pop("never there")


def test_least_recently_used_goes_first_and_bytes_are_bounded() -> None:
    cache = MemoryCache(max_entries=3, max_bytes=100)
    for key in "abc":
        cache.put(key, key, ttl_s=60, nbytes=30)
    assert cache.get("a") == "a"  # now the most recently used
    cache.put("d", "d", ttl_s=60, nbytes=30)  # over 100 bytes: drops "b"
    assert [cache.get(k) for k in "abcd"] == ["a", None, "c", "d"]
    assert cache.sizes() == (3, 90)
    assert cache.put("huge", "x", ttl_s=60, nbytes=101) is False
    assert cache.get("huge") is None and cache.sizes() == (3, 90)
    cache.put("a", "A", ttl_s=60, nbytes=10)  # replacing frees the old size
    assert cache.get("a") == "A" and cache.sizes() == (3, 70)


def test_bounds_hold_when_many_threads_write_at_once() -> None:
    cache = MemoryCache(max_entries=50, max_bytes=1000)
    errors: list[BaseException] = []

    def write(start: int) -> None:
        try:
            for i in range(start, start + 500):
                cache.put(f"k{i % 120}", i, ttl_s=60, nbytes=7)
                cache.get(f"k{(i * 7) % 120}")
        except BaseException as exc:  # collected: an assertion in a thread is lost
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(1000 * t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    entries, nbytes = cache.sizes()
    assert entries <= 50 and nbytes == 7 * entries <= 1000


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        MemoryCache(max_entries=0)
    with pytest.raises(ValueError, match="positive"):
        MemoryCache(max_entries=1, max_bytes=0)
