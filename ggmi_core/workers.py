"""Starting worker processes safely, for ``simulate.sweep`` and the dashboard's pool.

Two hazards, one place:

* **BLAS threads**: each worker is kept to one BLAS thread (``init_worker``; a forked
  sweep pool inherits the limit from its parent, ``one_thread_while_forking``); the
  parallelism comes from processes, and oversubscribed BLAS threads slow everything.
* **The parent's ``__main__``**: a worker started by ``spawn`` or ``forkserver`` first
  imports the parent's main module from its file. Under Streamlit that module is
  whichever page ran last (Streamlit leaves it in ``sys.modules``), so every worker
  would run a page and die; a user's script without an ``if __name__ == "__main__":``
  guard would run again too. Jobs here are ``ggmi_core`` functions, importable by name,
  so workers need no main module at all: ``main_hidden`` hides it while they start.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext

from threadpoolctl import ThreadpoolController

_BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_MAIN_LOCK = threading.Lock()


def init_worker() -> None:
    """Keep this worker process to one BLAS thread (an executor's ``initializer``).

    The variables only reach BLAS libraries loaded later; a fork server that preloaded
    numpy (and scikit-learn's OpenMP code) already started their thread pools, so
    threadpoolctl resizes those.
    """
    for name in _BLAS_THREAD_VARIABLES:
        os.environ[name] = "1"
    thread_pools().limit(limits=1)


def init_forked_worker() -> None:
    """``init_worker`` for a worker forked inside ``one_thread_while_forking``: its thread
    pools were forked at one thread already, so only the variables are set (for libraries
    loaded later). Setting OpenBLAS's limit in each new fork cost ~50 ms a two-worker pool
    (measured, ``bench/CORE_BENCHMARK.md``)."""
    for name in _BLAS_THREAD_VARIABLES:
        os.environ[name] = "1"


@contextmanager
def one_thread_while_forking() -> Iterator[None]:
    """This process's BLAS and OpenMP pools at one thread for the duration, so workers
    forked meanwhile inherit the limit; the parent's own limits come back afterwards.

    Only for ``fork`` pools, from a single-threaded parent (``pool_context`` picks fork
    only then), which waits on its workers meanwhile.
    """
    with thread_pools().limit(limits=1):
        yield


@functools.cache
def thread_pools() -> ThreadpoolController:
    """The process's BLAS and OpenMP thread pools, found once.

    Finding them walks every loaded library (~20 ms a worker when two start at once, a
    fortieth of a Figure-4 sweep); a forked worker inherits the parent's controller
    (``pool_context`` finds them before forking), so it only sets the limits.
    """
    return ThreadpoolController()


#: Niceness of background workers (the jobs of visitors who used the workers most lately).
BACKGROUND_NICE = 15


def init_background_worker() -> None:
    """``init_worker`` for a background worker: it also lowers its own CPU priority.

    Linux shares a core between a nice-0 and a nice-15 process about 30 to 1, so a
    background job yields the core to a foreground job at once, yet uses it fully when
    nothing else runs. Raising one's own niceness needs no privilege.
    """
    try:
        os.nice(BACKGROUND_NICE)
    except OSError:  # a platform without nice: the worker still runs, unprioritised
        pass
    init_worker()


@contextmanager
def main_hidden() -> Iterator[None]:
    """Processes started inside the block import no main module.

    ``multiprocessing`` reads ``sys.modules["__main__"]`` when it starts a process; a
    module without ``__file__`` or ``__spec__`` tells it there is nothing to import.
    The swap is process-wide, so it is held only while processes start (an executor
    starts its workers in ``submit``) and restored at once.
    """
    with _MAIN_LOCK:
        saved = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if saved is not None:
                sys.modules["__main__"] = saved


def pool_context(preload: Sequence[str] = ()) -> BaseContext:
    """``fork`` in a single-threaded process (fastest start); ``forkserver`` otherwise.

    Forking a multi-threaded process (Streamlit's server) can deadlock; a fork server
    starts clean and, with ``preload``, imports those modules once for all workers.
    """
    if threading.active_count() == 1 and "fork" in get_all_start_methods():
        thread_pools()  # found here once, inherited by every forked worker
        return get_context("fork")
    return forkserver_context(preload)


def forkserver_context(preload: Sequence[str] = ()) -> BaseContext:
    """The fork-server context; ``preload`` modules are imported once in the fork server.

    The preload list is a process-wide setting and only applies to a fork server that
    has not started yet.
    """
    context = get_context("forkserver")
    if preload:
        context.set_forkserver_preload(list(preload))
    return context
