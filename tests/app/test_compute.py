"""The shared worker pool and result cache (``ggmi_app.compute``), as plain Python.

Jobs here are standard-library functions (picklable by name in any worker) and one real
``ggmi_core`` computation, compared with calling it directly.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
import types
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from ggmi_app.compute import (
    MAX_DEFAULT_WORKERS,
    ComputeError,
    ComputeService,
    workers_from_env,
)
from ggmi_app.job_keys import Job
from ggmi_core.config import ScenarioConfig
from ggmi_core.simulation import gap_point


@pytest.fixture
def pool() -> Iterator[ComputeService]:
    service = ComputeService(workers=2)
    yield service
    service.shutdown()


@pytest.fixture
def one_worker() -> Iterator[ComputeService]:
    service = ComputeService(workers=1)
    yield service
    service.shutdown()


class StopRun(Exception):
    """Stands in for Streamlit's exception that stops a replaced script run."""


def test_results_come_back_in_job_order_and_equal_direct_calls(pool: ComputeService) -> None:
    configs = [ScenarioConfig(K=k, seed=7) for k in (2, 3, 4)]
    jobs = [Job.of(gap_point, c, "K", 10, "js", 500) for c in configs]
    got = pool.run(jobs)
    for config, (row, gaps) in zip(configs, got, strict=True):
        want_row, want_gaps = gap_point(config, "K", 10, "js", 500)
        assert row == want_row
        np.testing.assert_array_equal(gaps, want_gaps)


@pytest.mark.parametrize("workers", [0, 2])
def test_a_repeated_job_is_computed_once_and_then_served_from_the_cache(workers: int) -> None:
    service = ComputeService(workers=workers)
    try:
        jobs = [Job.of(math.sqrt, 16.0), Job.of(math.sqrt, 9.0), Job.of(math.sqrt, 16.0)]
        assert service.run(jobs) == [4.0, 3.0, 4.0]
        assert service.stats().computed == 2
        assert service.run(jobs[:2]) == [4.0, 3.0]
        stats = service.stats()
        assert (stats.computed, stats.hits, stats.entries) == (2, 2, 2)
    finally:
        service.shutdown()


def test_keyword_arguments_are_part_of_the_job() -> None:
    service = ComputeService(workers=0)
    assert service.run([Job.of(int, "ff", base=16), Job.of(int, "11", base=2)]) == [255, 3]
    assert Job.of(int, "11", base=2).key() != Job.of(int, "11", base=16).key()


def test_a_job_error_reaches_the_caller_with_its_message_and_is_not_cached(
    pool: ComputeService,
) -> None:
    bad = Job.of(int, "not a number")
    for _ in range(2):
        with pytest.raises(ValueError, match="not a number"):
            pool.run([Job.of(math.sqrt, 4.0), bad])
    # The error can reach the caller while the good job is still running in a worker;
    # asking for it alone waits for that same computation (shared, not started again).
    assert pool.run([Job.of(math.sqrt, 4.0)]) == [2.0]
    stats = pool.stats()
    assert stats.entries == 1  # only the good result
    assert stats.computed == 1


def test_progress_counts_results_up_to_the_total(pool: ComputeService) -> None:
    seen: list[tuple[int, int]] = []
    pool.run([Job.of(math.sqrt, 1.0)])  # one value cached beforehand
    pool.run([Job.of(math.sqrt, float(v)) for v in range(1, 6)], lambda d, t: seen.append((d, t)))
    done = [d for d, _ in seen]
    # Results arriving together are reported together; the cached one counts at once.
    assert done == sorted(set(done)) and done[0] >= 2 and done[-1] == 5
    assert {t for _, t in seen} == {5}


def test_a_stopped_run_withdraws_its_queued_jobs(one_worker: ComputeService) -> None:
    jobs = [Job.of(time.sleep, 0.2 + i / 1000) for i in range(8)]

    def stop(done: int, total: int) -> None:
        raise StopRun

    with pytest.raises(StopRun):
        one_worker.run(jobs, stop)
    stats = one_worker.stats()
    # One result arrived, one job was running (it finishes); the other six never start.
    assert stats.withdrawn == 6
    deadline = time.monotonic() + 10.0  # generous: a loaded CI machine may be slow
    while one_worker.stats().computed < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # room for a withdrawn job to start, were it still queued
    assert one_worker.stats().computed == 2


def test_a_quick_request_does_not_wait_behind_another_sessions_whole_sweep(
    one_worker: ComputeService,
) -> None:
    finished: dict[str, float] = {}

    def sweep() -> None:
        one_worker.run([Job.of(time.sleep, 0.2 + i / 1000) for i in range(6)])
        finished["sweep"] = time.perf_counter()

    thread = threading.Thread(target=sweep)
    thread.start()
    time.sleep(0.1)  # the sweep's first job is running, five are queued
    one_worker.run([Job.of(math.sqrt, 2.0)])
    finished["quick"] = time.perf_counter()
    thread.join()
    # Runs take turns: the quick job goes after the running one, not after all six.
    assert finished["sweep"] - finished["quick"] > 0.6


def test_a_sweep_many_sessions_wait_for_goes_ahead_of_one_session_s_own(
    one_worker: ComputeService,
) -> None:
    shared = [Job.of(time.sleep, 0.15 + i / 1000) for i in range(6)]
    own = [Job.of(time.sleep, 0.15 + i / 1000 + 0.0005) for i in range(6)]
    own_done_when_shared_finished: list[int] = []
    own_done = [0]

    def lecturer_and_followers(first: bool) -> None:
        one_worker.run(shared)
        if first:
            own_done_when_shared_finished.append(own_done[0])

    def count(done: int, total: int) -> None:
        own_done[0] = done

    lead = threading.Thread(target=lecturer_and_followers, args=(True,))
    lead.start()
    time.sleep(0.05)  # the shared sweep's first job runs, five are queued
    student = threading.Thread(target=lambda: one_worker.run(own, count))
    student.start()
    time.sleep(0.05)
    followers = [threading.Thread(target=lecturer_and_followers, args=(False,)) for _ in range(3)]
    for thread in (*followers,):
        thread.start()
    for thread in (lead, student, *followers):
        thread.join(10)
    # Turns by run alone would alternate the two sweeps (4 of the student's 6 jobs done
    # before the shared one ends); four waiting runs give the shared jobs four turns.
    assert own_done_when_shared_finished and own_done_when_shared_finished[0] <= 2
    assert own_done[0] == 6


def test_sessions_asking_at_once_share_one_computation(pool: ComputeService) -> None:
    job = Job.of(time.sleep, 0.5)
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(pool.run([job]))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [[None]] * 4
    stats = pool.stats()
    assert stats.computed == 1
    assert stats.shared + stats.hits == 3


def test_a_withdrawn_job_still_runs_for_another_session_waiting_on_it(
    one_worker: ComputeService,
) -> None:
    jobs = [Job.of(time.sleep, 0.15 + i / 1000) for i in range(6)]
    other: list[Any] = []
    started = threading.Event()

    def patient() -> None:
        other.append(one_worker.run(jobs, lambda d, t: started.set()))

    thread = threading.Thread(target=patient)
    thread.start()
    started.wait(5)

    def stop(done: int, total: int) -> None:
        raise StopRun

    with pytest.raises(StopRun):
        one_worker.run(jobs, stop)
    thread.join(10)
    assert other == [[None] * 6]
    assert one_worker.stats().withdrawn == 0


def test_a_dead_worker_is_replaced_and_the_caller_gets_a_clear_error(
    pool: ComputeService,
) -> None:
    with pytest.raises(ComputeError, match="out of memory"):
        pool.run([Job.of(os._exit, 3)])  # the worker dies, twice
    assert pool.stats().restarts == 2
    assert pool.run([Job.of(math.sqrt, 25.0)]) == [5.0]  # and the pool works again


def test_the_cache_keeps_at_most_max_entries_dropping_the_least_recently_used() -> None:
    service = ComputeService(workers=0, max_entries=2)
    service.run([Job.of(abs, -1), Job.of(abs, -2)])
    service.run([Job.of(abs, -1)])  # -1 is now the most recently used
    service.run([Job.of(abs, -3)])  # drops -2
    before = service.stats().computed
    service.run([Job.of(abs, -1), Job.of(abs, -3)])
    assert service.stats().computed == before
    service.run([Job.of(abs, -2)])
    assert service.stats().computed == before + 1
    assert service.stats().entries == 2


def test_the_cache_keeps_at_most_max_bytes() -> None:
    service = ComputeService(workers=0, max_bytes=50_000)
    for n in range(1, 6):
        service.run([Job.of(bytes, 20_000 + n)])  # about 20 KB each
    stats = service.stats()
    assert stats.bytes <= 50_000
    assert stats.entries == 2
    service.run([Job.of(bytes, 10**6)])  # larger than the whole cache: returned, not kept
    assert service.stats().entries == 2


def test_results_expire_after_ttl() -> None:
    now = [0.0]
    service = ComputeService(workers=0, ttl_s=60, clock=lambda: now[0])
    service.run([Job.of(abs, -5)])
    now[0] = 59.0
    service.run([Job.of(abs, -5)])
    assert service.stats().computed == 1
    now[0] = 121.0
    assert service.stats().entries == 0
    service.run([Job.of(abs, -5)])
    assert service.stats().computed == 2


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0", 0), ("3", 3), (" 2 ", 2), ("-1", None), ("99", None), ("two", None), ("", None)],
)
def test_workers_from_env(raw: str, expected: int | None) -> None:
    default = min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS)
    assert workers_from_env({"GGMI_WORKERS": raw}) == (default if expected is None else expected)


def test_invalid_service_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="workers"):
        ComputeService(workers=-1)
    with pytest.raises(ValueError, match="positive"):
        ComputeService(workers=0, max_entries=0)


def test_workers_start_while_a_page_is_main(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Streamlit leaves the last page as ``__main__``; the pool must not run it."""
    page = tmp_path / "page.py"
    page.write_text("import os\nos._exit(9)\n")
    fake = types.ModuleType("__main__")
    fake.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", fake)
    service = ComputeService(workers=2)
    try:
        assert service.run([Job.of(math.sqrt, 49.0), Job.of(math.sqrt, 64.0)]) == [7.0, 8.0]
        assert service.stats().restarts == 0
        assert sys.modules["__main__"] is fake
    finally:
        service.shutdown()
