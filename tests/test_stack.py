"""The replica stack (``scripts/run_stack.sh``): Redis, two Streamlit replicas, HAProxy.

Started once for the module as plain processes on free loopback ports. Checks go through
the proxy (health, sticky sessions, the WebSocket upgrade) and through the stack's Redis
(a result computed by one process is a hit in another).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.redis_helpers import REDIS_SERVER, free_port

ROOT = Path(__file__).resolve().parents[1]
HAPROXY = next((p for p in ("/usr/sbin/haproxy", "/usr/bin/haproxy") if Path(p).exists()), None)
SECRET = "stack test secret, long enough"

needs_stack = pytest.mark.skipif(
    REDIS_SERVER is None or HAPROXY is None,
    reason="redis-server or haproxy is not installed "
    "(bash scripts/setup_env.sh --dev installs both as root)",
)
pytestmark = pytest.mark.slow


@dataclass
class Stack:
    proxy: int
    replicas: list[int]
    redis: int
    logs: Path

    def get(self, path: str, cookie: str | None = None) -> tuple[int, dict[str, str], str]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.proxy}{path}")
        if cookie:
            request.add_header("Cookie", cookie)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                headers = {k.lower(): v for k, v in response.headers.items()}
                return response.status, headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, {}, ""


def _wait_ready(process: subprocess.Popen[str], deadline_s: float = 150) -> None:
    """Until the script prints that it is ready (or fails, or takes too long)."""
    assert process.stdout is not None
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if "ready at" in line:
            return
        if not line and process.poll() is not None:
            raise RuntimeError(f"run_stack.sh exited with {process.returncode}")
    raise RuntimeError("run_stack.sh was not ready in time")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    first = free_port()
    ports = Stack(free_port(), [first, first + 1], free_port(), tmp_path_factory.mktemp("stack"))
    env = {
        **os.environ,
        "GGMI_PYTHON": sys.executable,
        "GGMI_STACK_DIR": str(ports.logs),
        "GGMI_CACHE_SECRET": SECRET,
        "GGMI_WORKERS": "0",
    }
    process = subprocess.Popen(
        ["bash", "scripts/run_stack.sh", "--no-setup", "--replicas", "2",
         "--port", str(ports.proxy), "--replica-port", str(first),
         "--redis-port", str(ports.redis)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        _wait_ready(process)
        yield ports
    except RuntimeError as error:
        logs = "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in ports.logs.glob("*.log"))
        pytest.fail(f"{error}\n{logs}")
    finally:
        process.send_signal(signal.SIGTERM)  # the script stops what it started
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise


@needs_stack
def test_the_proxy_answers_the_health_route(stack: Stack) -> None:
    status, _, body = stack.get("/_stcore/health")
    assert (status, body) == (200, "ok")


@needs_stack
def test_sessions_stick_to_the_replica_that_served_them_first(stack: Stack) -> None:
    served = {stack.get("/")[1]["x-ggmi-replica"] for _ in range(4)}
    assert served == {"r1", "r2"}  # without a cookie, turns
    _, headers, _ = stack.get("/")
    assert "GGMI_REPLICA=" in headers["set-cookie"]
    for replica in ("r1", "r2"):
        seen = {stack.get("/", f"GGMI_REPLICA={replica}")[1]["x-ggmi-replica"] for _ in range(3)}
        assert seen == {replica}


@needs_stack
def test_the_proxy_upgrades_the_websocket_on_the_sticky_replica(stack: Stack) -> None:
    for replica in ("r1", "r2"):
        with socket.create_connection(("127.0.0.1", stack.proxy), timeout=10) as sock:
            sock.sendall(
                (
                    "GET /_stcore/stream HTTP/1.1\r\n"
                    f"Host: 127.0.0.1:{stack.proxy}\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: c3RhY2sgdGVzdCBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: streamlit\r\n"
                    f"Cookie: GGMI_REPLICA={replica}\r\n\r\n"
                ).encode()
            )
            head = sock.recv(4096).decode(errors="replace").lower()
        assert head.startswith("http/1.1 101"), head
        assert f"x-ggmi-replica: {replica}" in head


@needs_stack
def test_the_proxy_gzips_the_front_end_and_the_bytes_are_the_replicas(stack: Stack) -> None:
    _, _, page = stack.get("/")
    script = re.search(r'src="\.?/?(static/js/[^"]+\.js)"', page)
    assert script, "no script on the app's page"
    path = "/" + script.group(1)

    def fetch(port: int, encoding: str) -> tuple[dict[str, str], bytes]:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
        request.add_header("Accept-Encoding", encoding)
        with urllib.request.urlopen(request, timeout=10) as response:
            return {k.lower(): v for k, v in response.headers.items()}, response.read()

    headers, body = fetch(stack.proxy, "gzip")
    direct_headers, direct = fetch(stack.replicas[0], "gzip")
    assert headers.get("content-encoding") == "gzip"
    assert "content-encoding" not in direct_headers  # the replica itself does not compress
    assert gzip.decompress(body) == direct
    assert len(body) < len(direct) / 2
    plain_headers, plain = fetch(stack.proxy, "identity")  # a client without gzip
    assert "content-encoding" not in plain_headers and plain == direct


def test_the_metrics_route_is_not_public(stack: Stack) -> None:
    assert stack.get("/_stcore/metrics")[0] == 404


_REPLICA_CODE = """
import hashlib, json, pickle
from ggmi_app.compute import ComputeService, Job
from ggmi_app.result_store import shared_results_from_env
from ggmi_core.config import ScenarioConfig
from ggmi_core.simulation import gap_point
service = ComputeService(workers=0, shared=shared_results_from_env())
[result] = service.run([Job.of(gap_point, ScenarioConfig(K=3, seed=77), "K", 5, "js", 300)])
stats = service.stats()
print(json.dumps({"computed": stats.computed, "remote_hits": stats.remote_hits,
                  "digest": hashlib.sha256(pickle.dumps(result)).hexdigest()}))
"""


def _run_replica_code(env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _REPLICA_CODE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout)


@needs_stack
def test_a_result_computed_by_one_process_is_a_hit_in_another(stack: Stack) -> None:
    env = {
        **os.environ,
        "GGMI_RESULT_CACHE": f"redis://127.0.0.1:{stack.redis}/0",
        "GGMI_CACHE_SECRET": SECRET,
    }
    runs = [_run_replica_code(env) for _ in range(2)]
    assert (runs[0]["computed"], runs[0]["remote_hits"]) == (1, 0)
    assert (runs[1]["computed"], runs[1]["remote_hits"]) == (0, 1)
    assert runs[0]["digest"] == runs[1]["digest"]


def test_compose_uses_the_same_proxy_config_and_one_shared_redis() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    proxy = services["proxy"]
    assert any(v.startswith("./haproxy.cfg:") for v in proxy["volumes"])
    replicas = [
        v.split(":")[0] for k, v in proxy["environment"].items() if k.startswith("GGMI_REP")
    ]
    assert len(replicas) >= 2 and all(name in services for name in replicas)
    for name in replicas:
        env = services[name]["environment"]
        assert env["GGMI_RESULT_CACHE"].startswith("redis://redis:")
        assert "GGMI_CACHE_SECRET" in env
    assert "redis" in services


@pytest.mark.skipif(HAPROXY is None, reason="haproxy is not installed")
def test_haproxy_accepts_the_config_for_both_ways_of_running() -> None:
    for env in (
        {"GGMI_PROXY_BIND": "127.0.0.1:8080", "GGMI_REPLICA_1": "127.0.0.1:8511"},
        {"GGMI_PROXY_BIND": ":8080", "GGMI_REPLICA_1": "127.0.0.1:8501",
         "GGMI_REPLICA_2": "127.0.0.1:8502"},
    ):  # fmt: skip
        checked = subprocess.run(
            [str(HAPROXY), "-c", "-f", str(ROOT / "deploy" / "haproxy.cfg")],
            env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stderr
