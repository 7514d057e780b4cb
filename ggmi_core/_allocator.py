"""Keep freed array memory in the process for reuse (glibc's malloc only).

One slider setting allocates and frees ~10-15 MB of short-lived arrays (Monte Carlo
points, log-densities, standardised data: 0.8-1.6 MB each). glibc's default policy
serves such blocks from fresh ``mmap`` regions or gives the top of the heap back to the
kernel as soon as they are freed, so the next setting touches new pages: ~2,500 page
faults and ~4-5 ms of kernel CPU time a setting, a sixth of the whole (measured with
``getrusage``, ``bench/CORE_BENCHMARK.md``). ``keep_freed_memory`` fixes the two
thresholds at values glibc's own adaptive rule may reach by itself (blocks up to 16 MB
from the heap, up to 32 MB of free heap kept): the same pages then serve every setting,
at the cost of keeping up to 32 MB of freed memory resident (measured: peak RSS of
``bench/bench_core.py``'s main process 317 -> 324 MB). Numbers are unaffected.

Nothing happens on other C libraries (musl, macOS, Windows), or when the deployer set
glibc's ``MALLOC_*_`` tuning variables (theirs win).
"""

from __future__ import annotations

import ctypes
import os
from functools import cache

MMAP_THRESHOLD = 16 * 2**20
"""Blocks below this many bytes come from the heap (glibc's adaptive maximum: 32 MB)."""
TRIM_THRESHOLD = 32 * 2**20
"""Free memory at the top of the heap kept for reuse, in bytes (glibc's rule: twice the
mmap threshold)."""

_M_TRIM_THRESHOLD = -1  # mallopt parameter numbers of glibc's <malloc.h>
_M_MMAP_THRESHOLD = -3
_DEPLOYER_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # no confstr, or no such name
        return False


@cache
def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds once per process; True if they were set.

    Idempotent and cheap after the first call (``ggmi_core.simulation.simulate`` calls
    it on every run). Forked worker processes inherit the setting.
    """
    if not _glibc():
        return False
    if any(name in os.environ for name in _DEPLOYER_VARIABLES):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # Either call turns glibc's adaptive rule off, so both are set.
    return bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and bool(
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    )
