"""A short soak: about fifty random interactions across every page (``bench/soak.py``).

Asserts behaviour, not timings or memory: no exception or traceback is ever shown, and
every ``st.cache_data`` cache the pages filled declares finite bounds (entries and age)
and holds no more entries than its bound. The full run with memory figures is
``python bench/soak.py --interactions 500``.
"""

from __future__ import annotations

import math

from bench.soak import quiet_bare_mode_warnings, run_soak

#: No single cache should be allowed more than this many entries.
MAX_ENTRIES_CEILING = 1024
#: ... nor keep an entry longer than a day.
MAX_TTL_S = 24 * 3600


def test_random_interactions_show_no_exception_and_keep_caches_bounded() -> None:
    quiet_bare_mode_warnings()
    report = run_soak(interactions=45, warmup=5, seed=11, sample_every=45)
    assert report.failures == []
    assert sum(report.kinds.values()) == 50
    assert report.kinds.get("slider", 0) >= 5  # the walk really moved widgets
    assert report.caches, "the pages used no st.cache_data cache at all"
    for cache in report.caches:
        assert math.isfinite(cache.max_entries) and cache.max_entries <= MAX_ENTRIES_CEILING, cache
        assert math.isfinite(cache.ttl_s) and cache.ttl_s <= MAX_TTL_S, cache
        assert cache.entries <= cache.max_entries, cache
