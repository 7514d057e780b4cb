"""The one in-process LRU cache with a time to live per entry (cachetools, thread-safe).

Two parts of the app keep values in memory with both a size bound and an age bound: the
compute service's finished results (``ggmi_app.compute``: at most so many results and
pickled bytes, each kept ``ttl_s`` seconds) and ``ggmi_app.result_store.MemoryKV`` (the
one-process stand-in for Redis, whose entries each carry their own time to live, e.g.
lecture rooms). Both use ``MemoryCache``: ``cachetools.TLRUCache`` (least recently used
first, each entry expiring at its own time) behind a lock, because cachetools' caches are
not thread-safe and every Streamlit session is a thread of one process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cachetools import TLRUCache


@dataclass(frozen=True, slots=True)
class _Slot:
    value: Any
    nbytes: int
    ttl_s: float


def _expires(_key: str, slot: _Slot, now: float) -> float:
    return now + slot.ttl_s


class MemoryCache:
    """Values under string keys: least recently used dropped first, each with a time to live.

    Args:
        max_entries: most entries kept.
        max_bytes: most bytes kept, as the ``nbytes`` given to ``put`` (``None``: no bound).
        clock: seconds, monotonic (injected by tests); an entry is gone once
            ``clock() >= put time + ttl_s``.
    """

    def __init__(
        self, max_entries: int, max_bytes: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        if max_entries < 1 or (max_bytes is not None and max_bytes < 1):
            raise ValueError("max_entries and max_bytes must be positive")
        self.max_entries, self.max_bytes = max_entries, max_bytes
        sized = max_bytes is not None
        self._cache: TLRUCache[str, _Slot] = TLRUCache(
            maxsize=max_bytes if sized else max_entries,
            ttu=_expires,
            timer=clock,
            getsizeof=(lambda slot: slot.nbytes) if sized else None,
        )
        self._lock = threading.Lock()

    def get(self, key: str, default: Any = None) -> Any:
        """The live value of ``key`` (now the most recently used), else ``default``."""
        with self._lock:
            slot = self._cache.get(key)
        return default if slot is None else slot.value

    def __contains__(self, key: str) -> bool:
        """Whether ``key`` holds a live value (its recency unchanged)."""
        with self._lock:
            return key in self._cache

    def put(self, key: str, value: Any, ttl_s: float, nbytes: int = 0) -> bool:
        """Keep ``value`` for ``ttl_s`` seconds; False (not kept) if over ``max_bytes``."""
        with self._lock:
            self._pop(key)
            if self.max_bytes is not None and nbytes > self.max_bytes:
                return False
            self._cache[key] = _Slot(value, nbytes, ttl_s)
            while len(self._cache) > self.max_entries:
                self._cache.popitem()
        return True

    def pop(self, key: str) -> None:
        """Forget ``key`` (no error if it is missing or expired)."""
        with self._lock:
            self._pop(key)

    def sizes(self) -> tuple[int, int]:
        """Live entries and their bytes (expired ones are dropped first)."""
        with self._lock:
            self._cache.expire()
            return len(self._cache), int(self._cache.currsize) if self.max_bytes else 0

    def _pop(self, key: str) -> None:
        try:
            del self._cache[key]
        except KeyError:  # missing, or expired (cachetools removes it and says so)
            pass
