"""The warm launcher (``python -m ggmi_app.serve``): it warms, then serves like ``streamlit run``.

One real server subprocess (options passed through, health route, the app's page), one
fresh interpreter that runs only the warm-up (what it claims is in that process), and
Streamlit's own command-line parser reading the arguments the launcher hands it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ggmi_app import serve, tour_page
from tests.redis_helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 120.0

# Without a browser the exporter is not started: the test needs no Chromium of its own.
_NO_EXPORTER = {"GGMI_CHROMIUM": "/nonexistent/chromium", "GGMI_WORKERS": "0"}


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, ""


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"launcher exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if _get(url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.25)
    pytest.fail(f"launcher not healthy after {START_TIMEOUT_S:.0f} s:\n{log.read_text()}")


@pytest.mark.slow
def test_launcher_warms_then_serves_the_app_with_the_options_given(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    cmd = [
        sys.executable, "-m", "ggmi_app.serve",
        "--server.address=127.0.0.1", f"--server.port={port}", "--server.headless=true",
        "--server.baseUrlPath=warmtest",
    ]  # fmt: skip
    env = {**os.environ, **_NO_EXPORTER, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        # Both passed-through options are in force: this port, under this base path.
        _wait_healthy(proc, f"{base}/warmtest/_stcore/health", log)
        text = log.read_text()
        warmed = re.search(r"warmed up in [0-9.]+ s: (\d+) page modules, (\d+) tour figures", text)
        assert warmed, text
        assert int(warmed.group(2)) == 2 * len(tour_page.STEPS)
        # The warm-up finished before Streamlit started serving.
        assert text.index("warmed up") < text.index(f"127.0.0.1:{port}"), text
        assert "No runtime found" not in text
        assert "Traceback" not in text
        status, page = _get(f"{base}/warmtest/")
        assert status == 200
        assert '<div id="root">' in page
        assert _get(f"{base}/_stcore/health")[0] != 200  # not served outside the base path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


_REPORT_WARM_UP = """
import json, sys
from ggmi_app import serve
report = serve.warm_up(exporter=False)
from ggmi_app import figures, home_page, tour_page
from streamlit import delta_generator
def built(kind, key, lecture):  # a hit never calls the build function
    def unbuilt():
        raise LookupError(kind)
    try:
        figures.fixed_figure(kind, key, lecture, unbuilt)
    except LookupError:
        return False
    return True
warmed = tour_page.warmed_figures()
print(json.dumps({
    "report": [list(report.modules), report.tour_figures, report.home_figures],
    "figures": sorted([f, lecture] for f, lecture in warmed),
    "all_cached": all(built("tour", f, lecture) for f, lecture in warmed),
    "home": sum(built("home-chain", None, lecture) for lecture in (False, True)),
    "numbers": tour_page.numbers.cache_info().currsize,
    "tables": tour_page.step_table.cache_info().currsize,
    "repl_check_done": delta_generator._use_warning_has_been_displayed,
    "modules": sorted(m for m in sys.modules if m.split(".")[0] in
                      ("numpy", "scipy", "plotly", "ggmi_core", "ggmi_viz", "ggmi_app")),
}))
"""


def test_warm_up_loads_the_pages_and_builds_every_tour_and_home_figure() -> None:
    """In a fresh interpreter, so nothing was imported or built before ``warm_up``."""
    env = {**os.environ, **_NO_EXPORTER, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", _REPORT_WARM_UP],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    expected = sorted([s.figure, lecture] for s in tour_page.STEPS for lecture in (False, True))
    assert seen["figures"] == expected
    assert seen["all_cached"] is True
    modules, tour_figures, home_figures = seen["report"]
    assert tour_figures == len(expected)
    assert home_figures == seen["home"] == 2
    assert seen["numbers"] == 1
    assert seen["tables"] == len({s.figure for s in tour_page.STEPS})
    assert seen["repl_check_done"] is True
    for name in modules:
        assert name in seen["modules"]
    for name in ("numpy", "scipy.stats", "plotly.graph_objects", "ggmi_core", "ggmi_viz.tour"):
        assert name in seen["modules"]
    assert "No runtime found" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "target", "script_args", "port"),
    [
        (["--server.port=8600"], str(serve.APP), (), 8600),
        (["--server.port", "8601", "--", "--lecture"], str(serve.APP), ("--lecture",), 8601),
        (["tests/browser/harness_app.py", "--server.port=8602"],
         "tests/browser/harness_app.py", (), 8602),
    ],
)  # fmt: skip
def test_streamlit_run_parses_the_arguments_the_launcher_passes(
    argv: list[str], target: str, script_args: tuple[str, ...], port: int
) -> None:
    # Imported here: importing the CLI marks this process as a server, and a page module
    # imported after that would start the PNG exporter's browser in the test process.
    from streamlit.web import cli

    command, *rest = serve.streamlit_args(argv)
    assert command == "run"
    ctx = cli.main_run.make_context("run", rest)
    assert ctx.params["target"] == target
    assert tuple(ctx.params["args"]) == script_args
    assert ctx.params["server_port"] == port


@pytest.mark.parametrize("path", ["Dockerfile", "scripts/run_app.sh", "scripts/run_stack.sh"])
def test_every_way_of_starting_the_server_goes_through_the_launcher(path: str) -> None:
    text = (ROOT / path).read_text()
    assert "ggmi_app.serve" in text
    assert "streamlit run" not in re.sub(r"#.*", "", text)  # only comments may mention it


def test_the_launcher_keeps_streamlits_address_lookups_local(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A foreign Origin is judged without asking the internet for this host's address."""
    import requests
    from streamlit import net_util
    from streamlit.web.server import server_util

    asked: list[str] = []

    def no_network(url: str, **_: object) -> None:
        asked.append(url)
        raise requests.ConnectionError("no network in this test")

    monkeypatch.setattr(requests, "get", no_network)
    # Registered for undoing: the launcher replaces these in a real server process.
    monkeypatch.setattr(net_util, "get_external_ip", net_util.get_external_ip)
    monkeypatch.setattr(net_util, "get_internal_ip", net_util.get_internal_ip)
    monkeypatch.setattr(net_util, "_external_ip", None)
    assert server_util.is_url_from_allowed_origins("http://evil.example") is False
    assert asked, "Streamlit no longer looks its external IP up: drop the launcher's patch"

    asked.clear()
    serve.keep_address_lookups_local()
    assert server_util.is_url_from_allowed_origins("http://evil.example") is False
    assert server_util.is_url_from_allowed_origins("http://localhost:8501") is True
    assert net_util.get_external_ip() is None and net_util.get_internal_ip() is None
    assert asked == []
