"""Worker processes start without running the parent's main module (``main_hidden``).

Streamlit leaves the last page it ran as ``sys.modules["__main__"]``; a worker that
imported it would run the page and die. The control case shows the hazard is real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path

import pytest

from ggmi_core.workers import init_worker, main_hidden


@pytest.fixture
def page_as_main(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A ``__main__`` whose file kills any process that imports it."""
    page = tmp_path / "page.py"
    page.write_text("import os\nos._exit(9)\n")
    fake = types.ModuleType("__main__")
    fake.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", fake)
    return fake


def _start_and_call(hide: bool) -> int:
    with ProcessPoolExecutor(
        max_workers=1, mp_context=get_context("forkserver"), initializer=init_worker
    ) as pool:
        if hide:
            with main_hidden():
                future = pool.submit(os.getpid)
        else:
            future = pool.submit(os.getpid)
        return future.result(timeout=60)


def test_a_worker_started_under_main_hidden_runs_jobs(page_as_main: types.ModuleType) -> None:
    assert _start_and_call(hide=True) != os.getpid()
    assert sys.modules["__main__"] is page_as_main  # restored


def test_without_it_the_worker_runs_the_page_and_dies(page_as_main: types.ModuleType) -> None:
    with pytest.raises(BrokenProcessPool):
        _start_and_call(hide=False)


_FORKED_POOL_SCRIPT = """
import json
from ggmi_core.config import ScenarioConfig
from ggmi_core.simulation import run_in_pool
from ggmi_core.workers import pool_context
import thread_probe
assert pool_context().get_start_method() == "fork"
before = thread_probe.pool_threads(None)
workers = run_in_pool(thread_probe.pool_threads, [(ScenarioConfig(),)] * 2, 2, None)
after = thread_probe.pool_threads(None)
print(json.dumps([before, workers, after]))
"""


def test_forked_sweep_workers_run_one_blas_thread_and_the_parent_keeps_its_own() -> None:
    """A sweep's fork pool: each worker's thread pools are at one thread (they inherit
    the limit the parent holds while forking); the parent's come back afterwards."""
    root, here = Path(__file__).resolve().parents[2], Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{here}", "OPENBLAS_NUM_THREADS": "2"}
    env.pop("OMP_NUM_THREADS", None)
    done = subprocess.run(
        [sys.executable, "-c", _FORKED_POOL_SCRIPT],
        env=env, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    before, workers, after = json.loads(done.stdout.strip().splitlines()[-1])
    assert before and max(before) == 2
    assert after == before
    assert all(threads and set(threads) == {1} for threads in workers), workers
