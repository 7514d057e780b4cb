"""Sweeps on a Dask distributed cluster (``sweep(..., scheduler="tcp://host:8786")``).

Each sweep value is one task, ``summary_row(config, param, rounds, metric, n_mc)``, the
same call a local sweep makes; a configuration's scenarios draw from seeds fixed by the
configuration alone (``ggmi_core.simulation``), so a Dask sweep gives the same numbers as
a local one, whatever the number of workers.

The workers need the same ``ggmi_core`` (and numpy/scipy) as the caller: the tasks refer
to ``summary_row`` by module and name. ``distributed`` is imported only here and only
when a sweep asks for a cluster, so the dashboard never pays for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

#: Seconds to wait for the scheduler when connecting.
CONNECT_TIMEOUT_S = 10.0


class DaskUnavailable(ConnectionError):
    """The ``distributed`` package is missing or the scheduler cannot be reached."""


def run_on_dask(
    func: Callable[..., Any],
    jobs: Sequence[tuple[Any, ...]],
    progress: Callable[[int, int], Any] | None = None,
    scheduler: str | None = None,
    client: Any = None,
) -> list[Any]:
    """``[func(*job) for job in jobs]``, computed as tasks on a Dask cluster.

    Args:
        func: a module-level function importable on the workers.
        jobs: argument tuples (picklable).
        progress: ``progress(done, total)`` after each finished task; raising from it
            cancels the tasks not yet finished and propagates.
        scheduler: address such as ``"tcp://10.0.0.5:8786"``; a client is opened and
            closed here. Ignored when ``client`` is given.
        client: an open ``distributed.Client`` to use (left open).

    Returns:
        The results in job order.

    Raises:
        DaskUnavailable: ``distributed`` is not installed, or the scheduler does not
            answer within ``CONNECT_TIMEOUT_S``.
    """
    if client is None and not scheduler:
        raise ValueError("a Dask sweep needs a scheduler address or a client")
    try:
        import distributed
    except ImportError as exc:
        raise DaskUnavailable(
            "Dask sweeps need the 'distributed' package (pip install distributed)"
        ) from exc
    own = client is None
    if own:
        client = _connect(distributed, scheduler)
    try:
        return _gather_in_order(distributed, client, func, jobs, progress)
    finally:
        if own:
            client.close()


def _connect(distributed: Any, scheduler: str | None) -> Any:
    try:
        return distributed.Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise DaskUnavailable(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None


def _gather_in_order(
    distributed: Any,
    client: Any,
    func: Callable[..., Any],
    jobs: Sequence[tuple[Any, ...]],
    progress: Callable[[int, int], Any] | None,
) -> list[Any]:
    """Submit every job, report progress as tasks finish, return results in job order."""
    run = uuid.uuid4().hex[:12]
    # Unique keys: Dask would otherwise merge equal calls of concurrent sweeps, and a
    # cancelled sweep's keys could be taken for another's.
    futures = [
        client.submit(func, *job, key=f"ggmi-sweep-{run}-{i}", pure=False)
        for i, job in enumerate(jobs)
    ]
    index = {future.key: i for i, future in enumerate(futures)}
    results: list[Any] = [None] * len(jobs)
    done = 0
    try:
        for future in distributed.as_completed(futures, loop=client.loop):
            results[index[future.key]] = future.result()  # re-raises a task's error
            done += 1
            if progress is not None:
                progress(done, len(jobs))
    except BaseException:
        client.cancel(futures)
        raise
    return results
