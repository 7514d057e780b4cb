"""The launcher compiles the simulation kernels before it serves, and stops if it cannot."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ggmi_app import serve
from tests.redis_helpers import free_port

ROOT = Path(__file__).resolve().parents[1]


def test_a_failed_compile_stops_the_server_before_it_listens(tmp_path: Path) -> None:
    """A numba that cannot be imported (as on a broken install): the launcher exits with a
    message naming the cause, and the health route never answers."""
    fake = tmp_path / "numba"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('llvmlite library not loadable')\n")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "GGMI_CHROMIUM": "/nonexistent/chromium",
    }
    cmd = [sys.executable, "-m", "ggmi_app.serve", "--server.address=127.0.0.1",
           f"--server.port={port}", "--server.headless=true"]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 1
    assert "cannot start: compiling the simulation kernels failed" in done.stderr
    assert "llvmlite library not loadable" in done.stderr
    assert "warmed up" not in done.stderr  # stopped before the warm-up and the server
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)


def test_main_compiles_before_warming_and_stops_on_failure(monkeypatch) -> None:
    from streamlit.web import cli

    from ggmi_core import _jit

    calls: list[str] = []

    def broken() -> float:
        calls.append("compile")
        raise RuntimeError("LLVM ERROR: out of memory")

    monkeypatch.setattr(_jit, "compile_all", broken)
    monkeypatch.setattr(serve, "warm_up", lambda: calls.append("warm_up"))
    monkeypatch.setattr(cli, "main", lambda **_: calls.append("serve"))
    with pytest.raises(serve.KernelCompileError, match="out of memory") as stop:
        serve.main(["--server.port=1"])
    assert stop.value.code != 0
    assert calls == ["compile"]


def test_compile_kernels_reports_its_time() -> None:
    assert 0.0 <= serve.compile_kernels() < 600.0


def test_the_app_workers_fork_server_preloads_the_compiled_kernels() -> None:
    from ggmi_app.compute import PRELOAD

    assert PRELOAD[0] == "ggmi_core._jit_loaded"
    code = (
        "import ggmi_core._jit_loaded, ggmi_core._jit as j; "
        "print(min(len(f.signatures) for f in (j.em_fit, j.mixtures_logsumexp, j.lloyd, "
        "j.kmeans_plusplus, j.draw_grouped_points, j.draw_component_points, j.cluster_moments, "
        "j.point_sq_norms, j.natural_parameters_2x2)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 1  # every kernel compiled or loaded at import
