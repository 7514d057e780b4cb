"""Sweeps on a Dask cluster (``ggmi_core.distributed``) equal local sweeps exactly.

Clusters here are ``distributed.LocalCluster`` on 127.0.0.1: one with in-process
workers (threads, quick to start), one with a worker process (tasks and results
cross a process boundary as on a real cluster).
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ggmi_core import cli
from ggmi_core import distributed as gd
from ggmi_core.config import ScenarioConfig
from ggmi_core.simulation import sweep, sweep_params

distributed = pytest.importorskip("distributed")

CONFIG = ScenarioConfig(seed=21)
SMALL = {"rounds": 4, "n_mc": 200}


class StopSweep(Exception):
    """Raised from a progress callback to cancel a sweep."""


@pytest.fixture(scope="module")
def thread_cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://", host="127.0.0.1",
        dashboard_address=":0",
    ) as cluster:  # fmt: skip
        yield cluster


@pytest.fixture(scope="module")
def process_cluster() -> Iterator[Any]:
    # A spawned worker re-imports ``__main__`` from its file. In a test process where an
    # AppTest ran a script built from a function, ``__main__`` is that temporary script,
    # which fails outside Streamlit ("name '__args' is not defined"), so the worker
    # never starts. A real command-line ``__main__`` has no such trouble.
    with pytest.MonkeyPatch.context() as patch:
        patch.delattr(sys.modules["__main__"], "__file__", raising=False)
        patch.setattr(sys.modules["__main__"], "__spec__", None, raising=False)
        with distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=":0",
        ) as cluster:  # fmt: skip
            yield cluster


def test_a_dask_sweep_equals_the_local_sweep_and_reports_progress(thread_cluster: Any) -> None:
    seen: list[tuple[int, int]] = []
    with distributed.Client(thread_cluster, set_as_default=False) as client:
        remote = sweep(
            CONFIG, "K", [2, 3, 4], metric="js", progress=lambda d, t: seen.append((d, t)),
            client=client, **SMALL,
        )  # fmt: skip
    local = sweep(CONFIG, "K", [2, 3, 4], metric="js", **SMALL)
    pd.testing.assert_frame_equal(remote, local, check_exact=True)
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_a_two_letter_grid_on_a_scheduler_address_equals_the_local_grid(
    process_cluster: Any,
) -> None:
    grid = {"J": [2, 3], "noise_std": [0.0, 0.3]}
    remote = sweep_params(
        CONFIG, grid, metric="tv", scheduler=process_cluster.scheduler_address, **SMALL
    )
    local = sweep_params(CONFIG, grid, metric="tv", workers=2, **SMALL)
    pd.testing.assert_frame_equal(remote, local, check_exact=True)
    assert list(remote["param"]) == ["J", "J", "noise_std", "noise_std"]


def test_the_command_line_writes_the_same_csv_with_a_dask_scheduler(process_cluster: Any) -> None:
    argv = ["sweep", "--param", "L", "--values", "2,4", "--rounds", "3", "--n-mc", "100",
            "--seed", "8", "--quiet"]  # fmt: skip
    local_out, dask_out, err = io.StringIO(), io.StringIO(), io.StringIO()
    assert cli.main([*argv, "--workers", "1"], stdout=local_out, stderr=err) == 0
    address = process_cluster.scheduler_address
    assert cli.main([*argv, "--dask-scheduler", address], stdout=dask_out, stderr=err) == 0
    assert dask_out.getvalue() == local_out.getvalue()
    assert len(dask_out.getvalue().splitlines()) == 3  # header and two values


def test_an_unreachable_scheduler_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.redis_helpers import free_port

    monkeypatch.setattr(gd, "CONNECT_TIMEOUT_S", 1.0)
    err = io.StringIO()
    argv = ["sweep", "--param", "K", "--values", "2", "--rounds", "2", "--dask-scheduler",
            f"tcp://127.0.0.1:{free_port()}"]  # fmt: skip
    assert cli.main(argv, stdout=io.StringIO(), stderr=err) == 1
    assert "cannot reach the Dask scheduler" in err.getvalue()
    assert "Traceback" not in err.getvalue()


def test_raising_from_progress_cancels_the_rest(thread_cluster: Any) -> None:
    def stop(done: int, total: int) -> None:
        raise StopSweep

    with distributed.Client(thread_cluster, set_as_default=False) as client:
        with pytest.raises(StopSweep):
            sweep(CONFIG, "K", [2, 3, 4, 5], progress=stop, client=client, **SMALL)
        # The client still works for the next sweep.
        again = sweep(CONFIG, "K", [2], client=client, **SMALL)
    pd.testing.assert_frame_equal(again, sweep(CONFIG, "K", [2], **SMALL), check_exact=True)


def test_a_task_error_reaches_the_caller(thread_cluster: Any) -> None:
    with distributed.Client(thread_cluster, set_as_default=False) as client:
        with pytest.raises(ValueError, match="invalid literal"):
            gd.run_on_dask(int, [("12",), ("twelve",)], client=client)
    with pytest.raises(ValueError, match="scheduler address or a client"):
        gd.run_on_dask(abs, [(1,)])


def test_importing_the_core_and_the_app_service_loads_no_dask_or_redis() -> None:
    code = (
        "import sys, ggmi_core, ggmi_core.cli, ggmi_core.simulation, ggmi_app.compute\n"
        "print(sorted(m for m in ('dask', 'distributed', 'redis') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert out.stdout.strip() == "[]"
