"""``ggmi_core._allocator``: freed array memory is kept for reuse (glibc only)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ggmi_core import _allocator

ROOT = Path(__file__).resolve().parents[2]

# Page faults of 20 "settings", each holding six 1.6 MB arrays at once and then freeing
# them (as one slider setting does with its Monte Carlo points and log-densities), with
# or without the tuning.
_FAULTS = """
import resource, sys
import numpy as np
from ggmi_core._allocator import keep_freed_memory
if sys.argv[1] == "tuned":
    assert keep_freed_memory()
def setting():
    live = [np.ones(200_000) for _ in range(6)]
    return sum(a.sum() for a in live)
setting()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    setting()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

glibc_only = pytest.mark.skipif(not _allocator._glibc(), reason="tunes glibc's malloc only")


def _faults(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run(
        [sys.executable, "-c", _FAULTS, mode], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


@glibc_only
def test_freed_arrays_are_reused_without_new_page_faults():
    default, tuned = _faults("default"), _faults("tuned")
    assert default > 20 * 1000  # glibc's default: fresh pages each time (~2,300 a setting)
    assert tuned < 200


@glibc_only
def test_a_deployers_malloc_variables_win(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert _allocator.keep_freed_memory.__wrapped__() is False
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_")
    assert _allocator.keep_freed_memory.__wrapped__() is True


def test_other_c_libraries_are_left_alone(monkeypatch):
    monkeypatch.setattr(_allocator, "_glibc", lambda: False)
    assert _allocator.keep_freed_memory.__wrapped__() is False
