"""Heavy computations in a small shared pool of worker processes, with a shared cache.

Why a pool: Streamlit runs every session as a thread of one server process. Numerics in
that thread hold the GIL for their Python parts, so one visitor's cold sweep slowed every
page for everyone and the server used one core. Here a sweep is split into one ``Job``
per value and the jobs run in ``GGMI_WORKERS`` processes (default: the machine's cores,
at most 2), so the server thread only waits (without the GIL) and both cores compute.

On top of the pool:

* **fair turns per client**: a free worker goes to the waiting *client* (the visitor's
  address, ``ggmi_app.client``; not the session: a new tab costs nothing) that used the
  workers least lately (CPU seconds of its jobs, decaying with a half-life of
  ``USAGE_HALF_LIFE_S``), and within a client to its runs in turn. A visitor looping
  heavy sweeps in ten tabs therefore queues behind themself: another visitor's small
  sweep waits only for the jobs already running, never for the flood. A job several
  runs wait for gets a turn from each of their clients, so what a lecture hall waits
  for goes first;
* **single flight**: sessions that ask for the same job at the same time share one
  computation (a class showing the same slide asks once, not thirty times);
* **a bounded cache** of finished results, shared by all sessions: at most
  ``max_entries`` results, ``max_bytes`` pickled bytes and ``ttl_s`` seconds old;
* **a cache shared by replicas** (optional, ``GGMI_RESULT_CACHE=redis://...``, see
  ``ggmi_app.result_store``): results missing here are looked up there before being
  computed, and new results are written there, so identical work is done once across
  server processes. When it is unreachable, the service simply computes locally;
* **cancellation**: when a visitor's next interaction stops a run (Streamlit raises from
  the progress callback), that run's queued jobs are withdrawn unless another session
  still waits for them;
* **recovery**: a worker that dies (say, killed for memory) breaks the pool; it is
  replaced and the run retried once, then the caller gets ``ComputeError``.

This module is the scheduler; a job and its cache key are ``ggmi_app.job_keys``, the
bounded cache is ``ggmi_app.memory_cache``. None of them imports Streamlit, so they are
tested as plain Python. Job functions must be module-level functions with picklable
arguments (they run in another process); the ``ggmi_core`` functions used by the pages are.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import pickle
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Final

from ggmi_app.env_settings import number_from_env
from ggmi_app.job_keys import Job
from ggmi_app.memory_cache import MemoryCache
from ggmi_app.result_store import SharedResults, shared_results_from_env
from ggmi_core.workers import (
    forkserver_context,
    init_background_worker,
    init_worker,
    main_hidden,
)

_LOG = logging.getLogger(__name__)

#: Environment variable with the number of worker processes (0 computes in the caller).
WORKERS_ENV: Final[str] = "GGMI_WORKERS"
#: Workers when the variable is unset: the demo server has 2 cores.
MAX_DEFAULT_WORKERS: Final[int] = 2
#: Largest accepted ``GGMI_WORKERS``.
MAX_WORKERS: Final[int] = 16
#: Modules every worker imports once, in the fork server, before it is forked.
PRELOAD: Final[tuple[str, ...]] = (
    "ggmi_core._jit_loaded",  # the compiled kernels, loaded once for every worker
    "ggmi_core.simulation",
    "ggmi_core.bounds",
    "ggmi_core.diagnostics",
)

#: Seconds after which a client's recorded worker time counts half (fair turns).
USAGE_HALF_LIFE_S: Final[float] = 60.0
#: Worker-seconds of recent use (decayed, running jobs included) above which a client's
#: next jobs may run in the background workers (when it is also among the busiest half
#: of the clients at work). A default cold sweep is about 0.7.
HEAVY_CLIENT_S: Final[float] = 5.0
#: The two sets of worker processes: normal priority, and lowered priority for heavy users.
FOREGROUND: Final[str] = "foreground"
BACKGROUND: Final[str] = "background"
TIERS: Final[tuple[str, str]] = (FOREGROUND, BACKGROUND)
#: The client of runs that name none (scripts, tests).
DEFAULT_CLIENT: Final[str] = "local"

Progress = Callable[[int, int], None]


class ComputeError(RuntimeError):
    """The worker processes failed twice in a row (killed or crashed); retry later."""


class _PoolBroke(Exception):
    """A worker died in the pool of ``generation`` (internal: triggers one retry)."""

    def __init__(self, generation: int) -> None:
        super().__init__(generation)
        self.generation = generation



def _call(job: Job) -> tuple[Any, float]:
    """Run ``job`` (the worker-side entry point): its result and the CPU seconds it took.

    Clients are charged CPU time, not wall time: on a busy machine every job takes
    longer on the clock, and a light visitor's few quick jobs would otherwise look heavy.
    """
    started = time.process_time()
    value = job()
    return value, time.process_time() - started


@dataclass
class _Flight:
    """A job some run waits for: queued here, then handed to a worker.

    ``future`` is the service's own; it gets the worker's result (or error) when the job
    ends. ``generation`` is the pool the job was handed to (a restart fails the rest).
    """

    job: Job
    future: Future = field(default_factory=Future)
    waiters: int = 1
    started: bool = False
    generation: int = -1
    client: str = DEFAULT_CLIENT  # whose turn started it (charged for its worker time)
    started_at: float = 0.0
    tier: str = FOREGROUND


@dataclass
class CacheStats:
    """Counters and sizes of a ``ComputeService`` (for tests and the soak report)."""

    entries: int = 0
    bytes: int = 0
    hits: int = 0
    remote_hits: int = 0
    computed: int = 0
    shared: int = 0
    withdrawn: int = 0
    restarts: int = 0
    running_foreground: int = 0
    running_background: int = 0


_MISS: Final = object()
#: Clients whose usage is remembered before the least used idle half is forgotten.
_USAGE_TABLE_SIZE: Final[int] = 4096


@dataclass
class _Usage:
    """A client's worker time (s), halving every ``USAGE_HALF_LIFE_S``."""

    seconds: float = 0.0
    stamp: float = 0.0
    last_turn: int = -1

    def value(self, now: float) -> float:
        return self.seconds * 0.5 ** (max(0.0, now - self.stamp) / USAGE_HALF_LIFE_S)

    def add(self, seconds: float, now: float) -> None:
        self.seconds, self.stamp = self.value(now) + max(0.0, seconds), now


@dataclass
class ComputeService:
    """Runs ``Job`` lists in a process pool with a shared, bounded result cache.

    Args:
        workers: worker processes; 0 runs every job in the calling thread (still cached).
        max_entries: most results kept.
        max_bytes: most pickled bytes of results kept (the oldest used are dropped).
        ttl_s: seconds a result is kept.
        clock: seconds, monotonic (injected by tests).
        shared: a cache shared with other processes (read before computing, written
            after), or ``None``.
    """

    workers: int = MAX_DEFAULT_WORKERS
    max_entries: int = 1024
    max_bytes: int = 64 * 1024 * 1024
    ttl_s: float = 3600.0
    clock: Callable[[], float] = time.monotonic
    shared: SharedResults | None = None
    # Re-entrant: a future that is already done runs its callback (which locks) at once.
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)
    _results: MemoryCache = field(init=False, repr=False)
    _flights: dict[str, _Flight] = field(default_factory=dict, init=False)
    # Per run, the keys it queued; dict order is the round-robin order of the runs.
    _queues: dict[int, deque[str]] = field(default_factory=dict, init=False)
    # The client of each queued run, and each client's decayed worker time.
    _run_clients: dict[int, str] = field(default_factory=dict, init=False)
    _usage: dict[str, _Usage] = field(default_factory=dict, init=False)
    _turns: Iterator[int] = field(default_factory=itertools.count, init=False, repr=False)
    _run_ids: Iterator[int] = field(default_factory=itertools.count, init=False, repr=False)
    _running: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TIERS, 0), init=False)
    _executors: dict[str, ProcessPoolExecutor] = field(default_factory=dict, init=False, repr=False)
    _generation: int = field(default=0, init=False)
    _stats: CacheStats = field(default_factory=CacheStats, init=False)

    def __post_init__(self) -> None:
        if not 0 <= self.workers <= MAX_WORKERS:
            raise ValueError(f"workers must be in 0..{MAX_WORKERS}; got {self.workers}")
        if self.max_entries < 1 or self.max_bytes < 1 or self.ttl_s <= 0:
            raise ValueError("max_entries, max_bytes and ttl_s must be positive")
        self._results = MemoryCache(self.max_entries, self.max_bytes, self.clock)

    # ------------------------------------------------------------------ public

    def run(
        self, jobs: Sequence[Job], progress: Progress | None = None,
        client: str = DEFAULT_CLIENT,
    ) -> list[Any]:  # fmt: skip
        """Every job's result, in order; cached results are reused, the rest computed.

        Args:
            jobs: the calls to make (duplicates are computed once).
            progress: ``progress(done, total)`` after each result arrives; an exception it
                raises (Streamlit stopping a replaced run) withdraws this run's queued
                jobs and propagates.
            client: who asks (``ggmi_app.client``); workers are shared fairly between
                clients, not between runs or sessions.

        Raises:
            Whatever a job raised (not cached), or ``ComputeError`` when the workers
            crashed twice.
        """
        try:
            return self._run(jobs, progress, client)
        except _PoolBroke as broke:
            _LOG.warning("a worker process died; restarting the pool and retrying once")
            self._restart_pool(broke.generation)
        try:
            return self._run(jobs, progress, client)
        except _PoolBroke as broke:
            self._restart_pool(broke.generation)
            raise ComputeError(
                "The computation was stopped twice by the server (out of memory?). "
                "Try smaller settings or try again in a moment."
            ) from broke.__cause__

    def stats(self) -> CacheStats:
        """A copy of the counters, with the cache's current entries and bytes."""
        with self._lock:
            entries, nbytes = self._results.sizes()
            return CacheStats(
                **{
                    **vars(self._stats),
                    "entries": entries,
                    "bytes": nbytes,
                    "running_foreground": self._running[FOREGROUND],
                    "running_background": self._running[BACKGROUND],
                }
            )

    def shutdown(self) -> None:
        """Stop the worker processes (queued jobs are cancelled)."""
        with self._lock:
            executors, self._executors = self._executors, {}
        for executor in executors.values():
            executor.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------ running

    def _run(self, jobs: Sequence[Job], progress: Progress | None, client: str) -> list[Any]:
        keys = [job.key() for job in jobs]
        fetched = self._fetch_shared(keys)  # network: outside the lock
        results: dict[str, Any] = {}
        waiting: dict[Future, str] = {}
        run_id = next(self._run_ids)
        with self._lock:
            self._run_clients[run_id] = client
            for key, value in fetched.items():
                self._store(key, value)
            generation = self._generation
            for job, key in zip(jobs, keys, strict=True):
                if key in results or key in waiting.values():
                    continue
                value = self._lookup(key)
                if value is not _MISS:
                    results[key] = value
                elif self.workers > 0:  # inline jobs are computed below, outside the lock
                    waiting[self._join(key, job, run_id)] = key
            self._dispatch()
        try:
            if self.workers == 0:
                self._run_inline(jobs, keys, results, progress)
            else:
                self._collect(waiting, results, len(set(keys)), progress)
        except BrokenProcessPool as exc:
            self._withdraw(waiting)
            raise _PoolBroke(generation) from exc
        except BaseException:
            self._withdraw(waiting)
            raise
        finally:
            with self._lock:
                if run_id not in self._queues:
                    self._run_clients.pop(run_id, None)
        return [results[key] for key in keys]

    def _run_inline(
        self,
        jobs: Sequence[Job],
        keys: list[str],
        results: dict[str, Any],
        progress: Progress | None,
    ) -> None:
        total = len(set(keys))
        for job, key in zip(jobs, keys, strict=True):
            if key in results:
                continue
            results[key] = job()
            with self._lock:
                self._stats.computed += 1
                payload = self._store(key, results[key])
            self._share(key, payload)
            if progress is not None:
                progress(len(results), total)

    def _collect(
        self,
        waiting: dict[Future, str],
        results: dict[str, Any],
        total: int,
        progress: Progress | None,
    ) -> None:
        pending = set(waiting)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                results[waiting.pop(future)] = future.result()  # re-raises a job's error
            if progress is not None:
                progress(len(results), total)

    # ------------------------------------------------------- cache and flights

    def _fetch_shared(self, keys: Sequence[str]) -> dict[str, Any]:
        """Values of the shareable ``keys`` that are neither cached here nor in flight.

        Found values count as ``remote_hits``; the caller stores them here.
        """
        if self.shared is None:
            return {}
        with self._lock:
            wanted = [
                key
                for key in dict.fromkeys(keys)
                if not key.startswith("local:")
                and key not in self._flights
                and key not in self._results
            ]
        if not wanted:
            return {}
        found = self.shared.get_many(wanted)
        with self._lock:
            self._stats.remote_hits += len(found)
        return found

    def _share(self, key: str, payload: bytes | None) -> None:
        """Write a new result's pickle to the shared cache (outside the lock)."""
        if self.shared is not None and payload is not None and not key.startswith("local:"):
            self.shared.put(key, payload)

    def _lookup(self, key: str) -> Any:
        """The cached value of ``key`` (refreshed as recently used) or ``_MISS``."""
        value = self._results.get(key, _MISS)
        if value is not _MISS:
            self._stats.hits += 1
        return value

    def _join(self, key: str, job: Job, run_id: int) -> Future:
        """The future of ``key``: an in-flight one (shared) or one queued for ``run_id``."""
        flight = self._flights.get(key)
        if flight is not None:
            flight.waiters += 1
            self._stats.shared += 1
            if not flight.started:
                # Every run waiting for a queued job gives it a turn: a sweep a lecture
                # hall of followers waits for goes ahead of one a single visitor waits
                # for, and each run still waits for at most one job of each other run.
                self._queues.setdefault(run_id, deque()).append(key)
            return flight.future
        self._flights[key] = flight = _Flight(job)
        self._queues.setdefault(run_id, deque()).append(key)
        return flight.future

    def _dispatch(self) -> None:
        """Hand queued jobs to idle workers, clients in fair turns (caller holds the lock).

        Each free worker goes to the client with the least recent worker time (the CPU
        seconds of its finished jobs, decayed, plus the time its running jobs have run
        so far; ties: the client served longest ago), and within that client to its
        runs in turn (round robin, not first come first served: a visitor's one quick
        job waits for at most one job of each of their other runs). A job shared by
        several runs sits in each of their queues (``_join``), so it gets a turn per
        waiting run and client; the first turn starts it, the others skip it.

        No client runs more jobs at once than ``workers``. Jobs of a client above
        ``HEAVY_CLIENT_S`` that is also among the busiest (over half the largest recent
        use of any client at work, and not the least busy) run in the background
        workers, at lowered CPU priority; the others in the foreground ones. A job
        cannot be interrupted, so a visitor must not wait for a flood's running jobs to
        end: with the flooding client's jobs in the background, the visitor finds the
        foreground workers free and the operating system gives it the cores first. A
        heavy visitor alone still runs at full speed (priority only matters under
        contention). What remains: a client's first jobs start in the foreground
        (nothing says yet that they are heavy), so a visitor who arrives while they run
        waits for them, once.
        """
        while self._queues and any(self._free(tier) for tier in TIERS):
            picked = self._next_job()
            if picked is None:
                return
            key, flight, client, tier = picked
            flight.started, flight.generation = True, self._generation
            flight.client, flight.started_at, flight.tier = client, self.clock(), tier
            self._usage_of(client).last_turn = next(self._turns)
            self._running[tier] += 1
            try:
                inner = self._submit(flight.job, tier)
            except BrokenProcessPool as exc:
                self._fail_all(exc)
                return
            inner.add_done_callback(functools.partial(self._finished, key, flight))

    def _free(self, tier: str) -> bool:
        return self._running[tier] < self.workers

    def _next_job(self) -> tuple[str, _Flight, str, str] | None:
        """The next job to start, the client whose turn it is and its tier; or None.

        Clients whose tier has no free worker wait; runs whose queues hold nothing
        startable are dropped on the way.
        """
        runs_by_client: dict[str, list[int]] = {}
        for run_id in self._queues:
            client = self._run_clients.get(run_id, DEFAULT_CLIENT)
            runs_by_client.setdefault(client, []).append(run_id)
        now = self.clock()
        running_for: dict[str, float] = {}
        running: dict[str, int] = {}
        for flight in self._flights.values():
            if flight.started:
                running_for[flight.client] = (
                    running_for.get(flight.client, 0.0) + now - flight.started_at
                )
                running[flight.client] = running.get(flight.client, 0) + 1
        active = set(runs_by_client) | set(running_for)
        used = {c: self._usage_of(c).value(now) + running_for.get(c, 0.0) for c in active}
        # Heavy: above the threshold, among the busier half of who is at work now, and
        # not the least busy of them (a visitor who swept a lot earlier is never demoted
        # below a flood's client).
        heavy_above = max(HEAVY_CLIENT_S, max(used.values(), default=0.0) / 2)
        lightest = min(used.values(), default=0.0)
        for client in sorted(runs_by_client, key=lambda c: (used[c], self._usage_of(c).last_turn)):
            if running.get(client, 0) >= self.workers:
                continue  # no client holds more workers than a pool of one tier has
            heavy = used[client] > heavy_above and (used[client] > lightest or len(used) == 1)
            tier = BACKGROUND if heavy else FOREGROUND
            if not self._free(tier):
                continue
            for run_id in runs_by_client[client]:
                queue = self._queues.pop(run_id)
                key, flight = self._next_startable(queue)
                if queue:
                    self._queues[run_id] = queue  # to the back of the line
                else:
                    self._run_clients.pop(run_id, None)
                if flight is not None:
                    return key, flight, client, tier
        return None

    def _usage_of(self, client: str) -> _Usage:
        usage = self._usage.get(client)
        if usage is None:
            self._forget_idle_clients()
            usage = self._usage[client] = _Usage(stamp=self.clock())
        return usage

    def _forget_idle_clients(self) -> None:
        """Keep the usage table small: drop clients with no queued run and little usage."""
        if len(self._usage) < _USAGE_TABLE_SIZE:
            return
        now = self.clock()
        active = set(self._run_clients.values()) | {
            f.client for f in self._flights.values() if f.started
        }
        ranked = sorted(
            (c for c in self._usage if c not in active), key=lambda c: self._usage[c].value(now)
        )
        for client in ranked[: len(ranked) // 2 + 1]:
            del self._usage[client]

    def _next_startable(self, queue: deque[str]) -> tuple[str, _Flight | None]:
        """Pop ``queue`` up to its first job not yet started; ``("", None)`` if none.

        Skipped entries were withdrawn or already started for another run; skipping
        them keeps this run's turn for a job of its own.
        """
        while queue:
            key = queue.popleft()
            flight = self._flights.get(key)
            if flight is not None and not flight.started:
                return key, flight
        return "", None

    def _submit(self, job: Job, tier: str) -> Future:
        """Hand ``job`` to the executor, hiding ``__main__`` if a worker may start.

        The executor starts its workers in ``submit`` until it has them all. Hiding
        ``__main__`` swaps a process-wide entry that Streamlit also sets at the start of
        each run, so it is done only while workers may still start (``_processes`` is
        the executor's own record of them; without it, hide on every submit).
        """
        pool = self._pool(tier)
        started = getattr(pool, "_processes", None)
        if started is not None and len(started) >= self.workers:
            return pool.submit(_call, job)
        with main_hidden():
            return pool.submit(_call, job)

    def _finished(self, key: str, flight: _Flight, inner: Future) -> None:
        """A worker ended ``flight``: cache and share a result, refill workers, pass it on."""
        with self._lock:
            if flight.generation != self._generation or flight.future.done():
                return  # failed already, when its pool broke
            self._running[flight.tier] -= 1
            if self._flights.get(key) is flight:
                del self._flights[key]
            error = _job_error(inner)
            spent = self.clock() - flight.started_at  # a failed job: its time on the clock
            if error is None:
                value, spent = inner.result()
                self._stats.computed += 1
                payload = self._store(key, value)
            self._usage_of(flight.client).add(spent, self.clock())
            self._dispatch()
        if error is not None:
            flight.future.set_exception(error)
            return
        # Shared before the waiters hear of it, so a replica asked next finds it there.
        self._share(key, payload)
        flight.future.set_result(value)

    def _fail_all(self, error: BaseException) -> None:
        """Fail every unfinished flight (the pool broke); runs then restart it and retry."""
        for flight in self._flights.values():
            if not flight.future.done():
                flight.future.set_exception(error)
        self._flights.clear()
        self._queues.clear()
        self._run_clients.clear()
        self._running = dict.fromkeys(TIERS, 0)

    def _withdraw(self, waiting: Mapping[Future, str]) -> None:
        """This run gave up on ``waiting``: drop queued jobs nobody else waits for.

        A job already handed to a worker finishes (and is cached).
        """
        with self._lock:
            for future, key in waiting.items():
                flight = self._flights.get(key)
                if flight is None or flight.future is not future:
                    continue
                flight.waiters -= 1
                if flight.waiters <= 0 and not flight.started:
                    del self._flights[key]  # its queue entry is skipped when reached
                    flight.future.cancel()
                    self._stats.withdrawn += 1

    def _store(self, key: str, value: Any) -> bytes:
        """Cache ``value`` here (if it fits); its pickle, for the shared cache."""
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        self._results.put(key, value, self.ttl_s, nbytes=len(payload))
        return payload

    # ------------------------------------------------------------------ pool

    def _pool(self, tier: str) -> ProcessPoolExecutor:
        """The executor of ``tier``, started on first use (caller holds the lock)."""
        executor = self._executors.get(tier)
        if executor is None:
            executor = self._executors[tier] = _new_executor(
                self.workers, background=tier == BACKGROUND
            )
        return executor

    def _restart_pool(self, broken_generation: int) -> None:
        """Replace the executor of ``broken_generation`` (once, however many runs saw it)."""
        with self._lock:
            if self._generation != broken_generation:
                return  # another run already replaced it
            self._fail_all(BrokenProcessPool("the worker pool was restarted"))
            self._generation += 1
            executors, self._executors = self._executors, {}
            self._stats.restarts += 1
        for executor in executors.values():
            executor.shutdown(wait=False, cancel_futures=True)


def _job_error(inner: Future) -> BaseException | None:
    """What a finished worker future raised (a cancelled one: a broken pool), or None."""
    if inner.cancelled():
        return BrokenProcessPool("the job was cancelled")
    return inner.exception()


def _new_executor(workers: int, background: bool = False) -> ProcessPoolExecutor:
    """Worker processes from a fork server with the numerics preloaded.

    ``fork`` is unsafe in Streamlit's multi-threaded server and ``spawn`` would import
    numpy and scipy again for every worker; a fork server imports them once. Workers
    start in ``submit`` under ``main_hidden`` (so no ``max_tasks_per_child``: its
    replacements would start from the executor's own thread, where nothing hides the
    page Streamlit left as ``__main__``).
    """
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=forkserver_context(PRELOAD),
        initializer=init_background_worker if background else init_worker,
    )


def workers_from_env(environ: Mapping[str, str] = os.environ) -> int:
    """``GGMI_WORKERS`` as a count in 0..``MAX_WORKERS``; unset or invalid: the default.

    The default is the machine's core count, at most ``MAX_DEFAULT_WORKERS``.
    """
    default = min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS)
    return number_from_env(environ, WORKERS_ENV, default, whole=True, low=0, high=MAX_WORKERS)


_SERVICE: ComputeService | None = None
_SERVICE_LOCK = threading.Lock()


def service() -> ComputeService:
    """The process-wide service all sessions share (created on first use)."""
    global _SERVICE
    with _SERVICE_LOCK:
        if _SERVICE is None:
            _SERVICE = ComputeService(workers=workers_from_env(), shared=shared_results_from_env())
        return _SERVICE
