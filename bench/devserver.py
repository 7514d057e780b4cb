"""A Streamlit server for tests and benchmarks: start on a free loopback port, wait, stop.

Shared by ``tests/browser`` (the end-to-end fixture) and the load and browser benchmarks,
so all of them run the app exactly the same way: from the repo root (so
``.streamlit/config.toml`` applies), headless, bound to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM = os.environ.get("GGMI_CHROMIUM", "/usr/bin/chromium")
"""Debian's Chromium; Playwright cannot download a browser here."""

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # This machine's network is closed: background services would only fail and retry.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
"""Launch flags of headless Chromium for tests and benchmarks."""


class ServerStartError(RuntimeError):
    """The server exited or did not answer its health check in time."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(base_url: str) -> bool:
    """Whether the server's ``/_stcore/health`` answers 200."""
    try:
        with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def log_tail(log_path: Path, n: int = 40) -> str:
    """The last ``n`` lines of the server log, for failure messages."""
    with contextlib.suppress(OSError):
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-n:])
    return "(no log)"


def server_command(app_path: Path, port: int, warm: bool | None = None) -> list[str]:
    """The command that serves ``app_path`` on 127.0.0.1:``port``.

    ``warm``: start through ``ggmi_app.serve`` (imports and tour figures ready before the
    health route answers, as deployed) or plain ``streamlit run``. Default: the launcher
    for the app itself, plain ``streamlit run`` for other scripts (test harnesses).
    """
    if warm is None:
        warm = app_path.resolve() == ROOT / "app.py"
    start = ["-m", "ggmi_app.serve"] if warm else ["-m", "streamlit", "run"]
    return [
        sys.executable,
        *start,
        str(app_path),
        "--server.address=127.0.0.1",
        f"--server.port={port}",
        "--server.headless=true",
        "--browser.gatherUsageStats=false",
    ]


@contextlib.contextmanager
def run_streamlit(
    app_path: Path, log_path: Path, timeout_s: float = 120, warm: bool | None = None
) -> Iterator[tuple[str, int]]:
    """Serve ``app_path`` on 127.0.0.1; yield ``(base_url, pid)``; stop it after.

    ``warm`` as in ``server_command``. Raises ``ServerStartError`` (with the log's tail)
    if it does not become healthy.
    """
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "STREAMLIT_SERVER_HEADLESS": "true",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "PYTHONUNBUFFERED": "1",
        # Pages import ggmi_* from the repo root wherever the served script lives.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        # Every session here (load tests, browser tests) comes from this one machine, one
        # client to the app: lift its per-client turns for page runs unless told
        # otherwise (tests/test_rerun_flood.py and the stack's browser test keep them).
        "GGMI_PAGE_RUNS_PER_CLIENT": os.environ.get("GGMI_PAGE_RUNS_PER_CLIENT", "0"),
    }
    cmd = server_command(app_path, port, warm)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + timeout_s
        while not healthy(base_url):
            if proc.poll() is not None:
                raise ServerStartError(
                    f"streamlit exited with {proc.returncode}:\n{log_tail(log_path)}"
                )
            if time.monotonic() > deadline:
                raise ServerStartError(
                    f"streamlit not healthy after {timeout_s:.0f} s:\n{log_tail(log_path)}"
                )
            time.sleep(0.25)
        yield base_url, proc.pid
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server's whole process group (kaleido's Chromium too): TERM, then KILL."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
