"""The replica stack (``scripts/run_stack.sh``): Redis, two Streamlit replicas, HAProxy.

Started once for the module as plain processes on free loopback ports. Checks go through
the proxy (health, sticky sessions, the WebSocket upgrade) and through the stack's Redis
(a result computed by one process is a hit in another).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import http.server
import importlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.outbound_helpers import AUDIT_HOOK_CODE, RecordingProxy
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
    #: Every process of the stack has this as its HTTP(S) proxy, Chromium included.
    outbound: RecordingProxy | None = None

    @property
    def outbound_log(self) -> Path:
        """Where the replicas' audit hook writes non-local lookups and connections."""
        return self.logs / "outbound.log"

    def get(self, path: str, cookie: str | None = None) -> tuple[int, dict[str, str], str]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.proxy}{path}")
        if cookie:
            request.add_header("Cookie", cookie)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                headers = {k.lower(): v for k, v in response.headers.items()}
                return response.status, headers, response.read().decode()
        except urllib.error.HTTPError as error:
            headers = {k.lower(): v for k, v in error.headers.items()}
            return error.code, headers, error.read().decode(errors="replace")


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
    # Anything the stack sends out is caught twice: Python's HTTP clients and the PNG
    # exporter's Chromium are pointed at a recording proxy, and an audit hook in every
    # replica (a sitecustomize module) logs each non-local name lookup or connection.
    # The proxy holds each connection 3 s: a host without outbound access, where a
    # request out waits for its time-out.
    ports.outbound = RecordingProxy(hold_s=3.0)
    hook_dir = tmp_path_factory.mktemp("audit")
    (hook_dir / "sitecustomize.py").write_text(AUDIT_HOOK_CODE)
    env = {
        **os.environ,
        "GGMI_PYTHON": sys.executable,
        "GGMI_STACK_DIR": str(ports.logs),
        "GGMI_CACHE_SECRET": SECRET,
        "GGMI_WORKERS": "0",
        "PYTHONPATH": os.pathsep.join([str(hook_dir), str(ROOT)]),
        "GGMI_OUTBOUND_LOG": str(ports.outbound_log),
        **{name: ports.outbound.url for name in _PROXY_VARIABLES},
        # Loopback stays direct (the script's readiness check asks the proxy for health).
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
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
        finally:
            ports.outbound.close()


#: How the stack's processes learn of the recording proxy (Python's clients read the
#: first four, choreographer passes the last to Chromium as --proxy-server).
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "CHOREO_PROXY_SERVER")


@needs_stack
def test_the_proxy_answers_the_health_route(stack: Stack) -> None:
    status, _, body = stack.get("/_stcore/health")
    assert (status, body) == (200, "ok")


@needs_stack
def test_sessions_stick_to_the_replica_that_served_them_first(stack: Stack) -> None:
    answers = [stack.get("/") for _ in range(4)]
    assert all(status == 200 for status, _, _ in answers), [a[:2] for a in answers]
    served = {headers["x-ggmi-replica"] for _, headers, _ in answers}
    assert served == {"r1", "r2"}  # without a cookie, turns
    _, headers, _ = stack.get("/")
    assert "GGMI_REPLICA=" in headers["set-cookie"]
    for replica in ("r1", "r2"):
        sticky = [stack.get("/", f"GGMI_REPLICA={replica}") for _ in range(3)]
        assert all(status == 200 for status, _, _ in sticky), [a[:2] for a in sticky]
        assert {headers["x-ggmi-replica"] for _, headers, _ in sticky} == {replica}


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
from ggmi_app.compute import ComputeService
from ggmi_app.job_keys import Job
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
        {"GGMI_PROXY_BIND": ":8080", "GGMI_REPLICA_1": "127.0.0.1:8501",
         "GGMI_PROXY_HOSTS": "demo.example.org www.demo.example.org", "GGMI_PROXY_HTTPS": "1",
         "GGMI_PROXY_STREAMS_PER_CLIENT": "200"},
    ):  # fmt: skip
        checked = subprocess.run(
            [str(HAPROXY), "-c", "-f", str(ROOT / "deploy" / "haproxy.cfg")],
            env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stderr


# --- Attacks on the proxy (issue 24), replayed. Each test speaks from its own loopback
# source address (Linux routes all of 127.0.0.0/8 to this machine), so the proxy's
# per-client counters of one test never touch another's.


def _exchange(
    port: int, request: bytes, source: str = "127.0.0.1", *, keep: bool = False
) -> tuple[int, str, float, socket.socket | None]:
    """Send a raw request from ``source``; return (status, head, seconds, open socket).

    The head is the response's status line and headers (lower case); the time runs from
    the connection to the end of the head. With ``keep`` the socket stays open (a
    WebSocket) and is returned; otherwise it is closed.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.bind((source, 0))
    start = time.perf_counter()
    sock.connect(("127.0.0.1", port))
    sock.sendall(request)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    seconds = time.perf_counter() - start
    text = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    status = int(text.split(" ", 2)[1]) if text.startswith("http/") else 0
    if not keep:
        sock.close()
        return status, text, seconds, None
    return status, text, seconds, sock


def _upgrade(port: int, *, host: str, origin: str | None, cookie: str | None = None) -> bytes:
    """A browser's WebSocket upgrade request for the app's stream."""
    lines = [
        "GET /_stcore/stream HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: c3RhY2sgdGVzdCBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Protocol: streamlit",
    ]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    if cookie is not None:
        lines.append(f"Cookie: {cookie}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _get(path: str, host: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()


_ENCODED_METRICS_PATHS = (
    "/_stcore/metrics",
    "/_stcore/%6detrics",
    "/%5fstcore/metrics",
    "/%5Fstcore/%6D%65trics",
    "/_stcore%2fmetrics",
    "/_stcore/metrics/",
    "//_stcore//metrics",
)


@needs_stack
def test_encoded_metrics_paths_are_refused_at_the_proxy(stack: Stack) -> None:
    # The replay is meaningful: the replica itself serves the encoded path.
    direct_host = f"127.0.0.1:{stack.replicas[0]}"
    status, _, _, _ = _exchange(stack.replicas[0], _get("/_stcore/%6detrics", direct_host))
    assert status == 200
    host = f"127.0.0.1:{stack.proxy}"
    for path in _ENCODED_METRICS_PATHS:
        status, head, _, _ = _exchange(stack.proxy, _get(path, host), "127.0.0.21")
        assert status in (400, 404), (path, head)
        assert "x-ggmi-replica" not in head, path  # answered by the proxy itself
    # A path that does not decode is refused too, the app's pages are not.
    assert _exchange(stack.proxy, _get("/x%zz", host), "127.0.0.21")[0] == 400
    assert _exchange(stack.proxy, _get("/", host), "127.0.0.21")[0] == 200


@needs_stack
def test_a_foreign_origin_is_refused_at_the_proxy_at_once(stack: Stack) -> None:
    host = f"127.0.0.1:{stack.proxy}"
    times = []
    for _ in range(7):
        status, head, seconds, _ = _exchange(
            stack.proxy, _upgrade(stack.proxy, host=host, origin="http://evil.example"),
            "127.0.0.22",
        )  # fmt: skip
        assert status == 403, head
        assert "x-ggmi-replica" not in head  # no replica was asked
        times.append(seconds)
    # HAProxy answers in well under a millisecond; 50 ms is the bound, and a
    # replica doing Streamlit's external-IP lookup took 2,000 ms.
    assert sorted(times)[len(times) // 2] < 0.05, times
    assert max(times) < 0.5, times
    # DNS rebinding: the attacker's name for this host, as Host and as Origin.
    status, head, _, _ = _exchange(
        stack.proxy, _upgrade(stack.proxy, host="evil.example", origin="http://evil.example"),
        "127.0.0.22",
    )  # fmt: skip
    assert status == 421 and "x-ggmi-replica" not in head, head
    # The app's own page still opens its WebSocket.
    status, head, _, sock = _exchange(
        stack.proxy, _upgrade(stack.proxy, host=host, origin=f"http://{host}"), "127.0.0.22",
        keep=True,
    )  # fmt: skip
    assert status == 101, head
    assert sock is not None
    sock.close()


@needs_stack
def test_a_foreign_origin_sent_straight_to_a_replica_does_not_stall_it(stack: Stack) -> None:
    direct = f"127.0.0.1:{stack.replicas[1]}"
    times = []
    for _ in range(3):
        status, _, seconds, _ = _exchange(
            stack.replicas[1], _upgrade(stack.replicas[1], host=direct, origin="http://evil.example")
        )  # fmt: skip
        assert status == 403
        times.append(seconds)
    assert max(times) < 0.5, times  # the external-IP lookup alone took 2 s


@needs_stack
def test_a_client_with_ten_websockets_is_limited_and_others_are_not(stack: Stack) -> None:
    host = f"127.0.0.1:{stack.proxy}"
    request = _upgrade(stack.proxy, host=host, origin=f"http://{host}")
    opened: list[socket.socket] = []
    statuses = []
    try:
        for _ in range(10):
            status, _, _, sock = _exchange(stack.proxy, request, "127.0.0.23", keep=True)
            statuses.append(status)
            assert sock is not None
            opened.append(sock)
        # The default limit is 8 WebSockets open at once per client address.
        assert statuses == [101] * 8 + [429] * 2, statuses
        # Another client is served as usual meanwhile.
        status, _, _, sock = _exchange(stack.proxy, request, "127.0.0.24", keep=True)
        assert status == 101
        assert sock is not None
        sock.close()
    finally:
        for sock in opened:
            sock.close()
    # Closed tabs free their places.
    deadline = time.monotonic() + 10
    status = 0
    while status != 101 and time.monotonic() < deadline:
        time.sleep(0.3)
        status, _, _, sock = _exchange(stack.proxy, request, "127.0.0.23", keep=True)
        if sock is not None:
            sock.close()
    assert status == 101


def _upload(host: str, size: int, *, body: bool = True) -> bytes:
    head = (
        "PUT /_stcore/upload_file/aaaaaaaa-session/bbbbbbbb-file HTTP/1.1\r\n"
        f"Host: {host}\r\nOrigin: http://{host}\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {size}\r\nConnection: close\r\n\r\n"
    ).encode()
    return head + (b"x" * size if body else b"")


@needs_stack
def test_an_upload_flood_is_limited_at_the_proxy(stack: Stack) -> None:
    host = f"127.0.0.1:{stack.proxy}"
    # Bodies above the proxy's cap (21 MiB) are refused before a byte is forwarded.
    status, head, _, _ = _exchange(stack.proxy, _upload(host, 25 << 20, body=False), "127.0.0.25")
    assert status == 413 and "x-ggmi-replica" not in head, head
    # A body of unstated length (chunked) cannot be measured in advance: refused.
    chunked = (
        "PUT /_stcore/upload_file/a/b HTTP/1.1\r\n"
        f"Host: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        "4\r\nxxxx\r\n0\r\n\r\n"
    ).encode()
    assert _exchange(stack.proxy, chunked, "127.0.0.25")[0] == 411
    # The attack: 25 uploads in a row from one client (small bodies here; the replica
    # refuses them for want of a session, the proxy counts them all the same).
    statuses = [_exchange(stack.proxy, _upload(host, 1024), "127.0.0.26")[0] for _ in range(25)]
    assert statuses.count(429) == 15, statuses  # 10 a minute pass, the rest do not
    assert 429 not in statuses[:10], statuses
    # Another client still uploads.
    assert _exchange(stack.proxy, _upload(host, 1024), "127.0.0.27")[0] != 429
    # An upload from another site's page is refused outright.
    foreign = _upload(host, 1024).replace(
        f"Origin: http://{host}".encode(), b"Origin: http://evil.example"
    )
    assert _exchange(stack.proxy, foreign, "127.0.0.27")[0] == 403


def _csp_hash(script: str) -> str:
    import base64
    import hashlib

    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def _inline_script_hashes() -> set[str]:
    """CSP hashes of every inline script the app's pages run.

    Those of the installed Streamlit's index.html, and the app's own constant scripts,
    which must be the only ones ``st.html(..., unsafe_allow_javascript=True)`` is given.
    """
    import streamlit

    html = (Path(streamlit.__file__).parent / "static" / "index.html").read_text()
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    own = {
        ("frame", "_MOVE_SCRIPT"),
        ("frame", "_CLOSE_SIDEBAR_ON_NARROW_TAP"),
        ("layout", "_SLIDE_FIT_SCRIPT"),
        ("tour_page", "_FULLSCREEN_BUTTON"),
    }
    calls: list[tuple[str, str]] = []
    occurrences = 0
    for source in (ROOT / "ggmi_app").glob("*.py"):
        text = source.read_text()
        names = re.findall(r"st\.html\((\w+), unsafe_allow_javascript=True\)", text)
        calls += [(source.stem, name) for name in names]
        occurrences += text.count("unsafe_allow_javascript=True")
    used = set(calls)
    assert occurrences == len(calls)  # every script the app runs is a named constant
    assert used == own  # a new script needs its hash in deploy/haproxy.cfg
    for module, name in sorted(own):
        text = getattr(importlib.import_module(f"ggmi_app.{module}"), name)
        scripts += re.findall(r"<script>(.*?)</script>", text, flags=re.S)
    return {_csp_hash(script) for script in scripts}


@needs_stack
def test_the_proxy_sets_security_headers_and_hides_the_server(stack: Stack) -> None:
    status, head, _, _ = _exchange(
        stack.proxy, _get("/", f"127.0.0.1:{stack.proxy}"), "127.0.0.28"
    )  # fmt: skip
    assert status == 200
    headers = dict(line.split(": ", 1) for line in head.split("\r\n")[1:])
    csp = headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert directives["frame-ancestors"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    # The CSP lets exactly the installed Streamlit's inline script run.
    script_hashes = {s.lower() for s in directives["script-src"] if s.startswith("'sha256-")}
    assert script_hashes == {h.lower() for h in _inline_script_hashes()}
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "sameorigin"
    assert headers["referrer-policy"] == "same-origin"
    assert "server" not in headers  # "server: uvicorn" is the replica's
    cookie = headers["set-cookie"]
    assert cookie.startswith("ggmi_replica=") and "samesite=lax" in cookie and "httponly" in cookie
    # host-config offers no origin the right to drive the app from a parent frame.
    _, _, body = stack.get("/_stcore/host-config")
    assert json.loads(body)["allowedOrigins"] == []


class _EchoHandler(http.server.BaseHTTPRequestHandler):
    """A stand-in replica: 200 "ok" on the health route, else the headers it got as JSON."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = (
            b"ok"
            if self.path == "/_stcore/health"
            else json.dumps([[k.lower(), v] for k, v in self.headers.items()]).encode()
        )
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # HAProxy's health checks hang up without reading the answer


def _read_all(port: int, request: bytes, source: str) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.skipif(HAPROXY is None, reason="haproxy is not installed")
def test_the_proxy_forwards_the_client_address_and_only_that(tmp_path: Path) -> None:
    replica = _QuietServer(("127.0.0.1", 0), _EchoHandler)
    threading.Thread(target=replica.serve_forever, daemon=True).start()
    proxy_port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "GGMI_PROXY_BIND": f"127.0.0.1:{proxy_port}",
        "GGMI_REPLICA_1": f"127.0.0.1:{replica.server_address[1]}",
    }
    proxy = subprocess.Popen(
        [str(HAPROXY), "-db", "-f", str(ROOT / "deploy" / "haproxy.cfg")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        request = (
            f"GET /page HTTP/1.1\r\nHost: 127.0.0.1:{proxy_port}\r\n"
            "X-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n\r\n"
        ).encode()
        deadline = time.monotonic() + 20
        answer = b""
        while not answer.startswith(b"HTTP/1.1 200") and time.monotonic() < deadline:
            time.sleep(0.2)  # until HAProxy listens and its health check saw the replica
            with contextlib.suppress(OSError):
                answer = _read_all(proxy_port, request, "127.0.0.31")
        head, body = answer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 200"), head
        forwarded = [v for k, v in json.loads(body) if k == "x-forwarded-for"]
        # One value, the address the proxy saw; the client's own claim is gone.
        assert forwarded == ["127.0.0.31"]
    finally:
        proxy.terminate()
        proxy.wait(10)
        replica.shutdown()


@needs_stack
@pytest.mark.browser
def test_pages_through_the_proxy_load_nothing_from_elsewhere_and_pass_the_csp(
    stack: Stack,
) -> None:
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    from browser_helpers import open_and_draw
    from devserver import CHROMIUM, CHROMIUM_ARGS  # on sys.path via browser_helpers

    from ggmi_app.page_list import PAGES

    base = f"http://127.0.0.1:{stack.proxy}/"
    foreign: list[str] = []
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(90_000)
            page = context.new_page()
            page.on(
                "request", lambda r: foreign.append(r.url) if not _is_own(r.url, base) else None
            )
            page.on(
                "console", lambda m: problems.append(m.text) if _is_csp_report(m.text) else None
            )
            for spec in PAGES:
                if spec.key == "diagnostics":
                    page.goto(base + spec.url_path)  # draws on demand: the title suffices
                    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1')
                else:
                    open_and_draw(page, base + spec.url_path)
                assert page.locator('[data-testid="stException"]').count() == 0, spec.key
                # The app's own inline script ran under the CSP (its hash is listed).
                assert page.evaluate("() => window.ggmiCloseSidebarOnTap === true"), spec.key
                # The tab icon is the app's own SVG, sent inline.
                icon = page.evaluate("() => document.querySelector(\"link[rel~='icon']\").href")
                assert icon.startswith("data:image/svg+xml"), (spec.key, icon[:80])
            # Lecture mode's scripts run too: slide fit sizes the chart's box, the tour's
            # present view has its full-screen control.
            open_and_draw(page, base + "Guided_tour?lecture=1&tour_step=2")
            page.wait_for_function("() => typeof window.ggmiSlideFit === 'function'")
            page.wait_for_function("() => typeof window.ggmiFullscreen === 'function'")
            _upload_and_download_through_the_proxy(page, base)
        finally:
            browser.close()
    assert foreign == []
    assert problems == []


def _upload_and_download_through_the_proxy(page: Any, base: str) -> None:
    """The limits and the CSP leave the app's uploads and PNG downloads working."""
    from browser_helpers import download_bytes, plotly_figure_json, wait_for_app_idle

    page.goto(base + "Diagnostics?diag_tab=Your+data")
    wait_for_app_idle(page)
    uploaders = page.locator('[data-testid="stFileUploader"]')
    for label, name in (("Anchor", "example_anchor.csv"), ("Synthetic", "example_synthetic.csv")):
        box = uploaders.filter(has_text=f"{label} embeddings").locator('input[type="file"]')
        box.set_input_files(str(ROOT / "assets" / name))
        wait_for_app_idle(page, expect_rerun=True)
    figure = plotly_figure_json(page, 0)
    assert [t["name"].split(" ")[0] for t in figure["data"]] == ["anchor", "synthetic"]
    name, data = download_bytes(page, "Download PNG")
    assert name.endswith(".png") and data[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.locator('[data-testid="stException"]').count() == 0


def _is_own(url: str, base: str) -> bool:
    return url.startswith((base, "data:", "blob:", "about:"))


def _is_csp_report(text: str) -> bool:
    return "Content Security Policy" in text or "Content-Security-Policy" in text


@needs_stack
def test_the_replicas_and_their_exporters_contact_nothing_outside(stack: Stack) -> None:
    assert stack.outbound is not None
    # The request that made Streamlit look its external IP up on the internet.
    direct = f"127.0.0.1:{stack.replicas[0]}"
    _exchange(
        stack.replicas[0], _upgrade(stack.replicas[0], host=direct, origin="http://evil.example")
    )
    # Each replica started its exporter's Chromium while warming up, more than the ~10 s
    # ago in which an unrestricted Chromium calls Google's services; give it 5 s more.
    time.sleep(5)
    assert stack.outbound.seen() == []
    logged = stack.outbound_log.read_text() if stack.outbound_log.exists() else ""
    assert logged == ""


# --- Lecture rooms through the proxy (issue 24), replayed end to end: sessions speak
# Streamlit's WebSocket protocol through HAProxy from their own loopback addresses (one
# client each, as the proxy and the app see it), the replica cookie picks the replica.
# Room state is asserted (who drives, who follows, which tour step), never timings.

#: A student's poll timer and the lecturer's retry timer, as the browser runs them.
_TIMER_S = 0.75
#: Long enough for any follow on a busy machine, far below a room's life.
_ROOM_WAIT_S = 45.0


def _room_code(tab: Any) -> str | None:
    from bench.lecture_hall import ROOM_CODE

    found = [code for text in tab.markdown for code in ROOM_CODE.findall(text)]
    return found[0] if found else None


def _query_value(query: str, name: str) -> str | None:
    from urllib.parse import parse_qs

    return (parse_qs(query).get(name) or [None])[0]


class _Tab:
    """A browser tab on the stack: one session at a time (a page move opens a new one)."""

    def __init__(self, stack: Stack, source: str, replica: str) -> None:
        from tests.stream_helpers import Session

        self.stack, self.source, self.cookie = stack, source, f"GGMI_REPLICA={replica}"
        self.session = Session(stack.proxy)
        self._socket: Any = None

    async def open(self, page: str, query: str = "") -> Any:
        from tests.stream_helpers import OK, open_socket

        await self.close()
        self.session = type(self.session)(self.stack.proxy)
        self.session.query = query
        self._socket = await open_socket(self.stack.proxy, source=self.source, cookie=self.cookie)
        self.session.ws = self._socket
        served = self._socket.response.headers.get("X-GGMI-Replica")
        assert served == self.cookie.split("=")[1], served  # the cookie chose the replica
        result = await self.session.send("open", page=page)
        assert result.status in OK and not result.exceptions, (result.status, result.exceptions)
        await self.follow_moves()
        return result

    async def follow_moves(self) -> None:
        """A following student whom the app sent to the lecturer's page loads it."""
        if self.session.move_to is not None:
            page, query = self.session.move_to
            await self.open(page, query)

    async def click(self, key: str) -> Any:
        result = await self.session.click(key)
        assert not result.exceptions, result.exceptions
        return result

    async def tick(self) -> None:
        """One turn of the page's fastest timer (a student's poll, a lecturer's retry)."""
        result = await self.session.poll()
        assert result is None or not result.exceptions, result.exceptions
        await self.follow_moves()

    def step(self) -> str | None:
        """The tour step this tab shows (from the address the app keeps in sync)."""
        return _query_value(self.session.query, "tour_step")

    def texts(self) -> str:
        return self.session.texts()

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
            self._socket = None


async def _until(check: Any, *tabs: _Tab, timeout_s: float = _ROOM_WAIT_S) -> bool:
    """Run the tabs' timers until ``check()`` holds; whether it did within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for tab in tabs:
            await tab.tick()
        if check():
            return True
        await asyncio.sleep(_TIMER_S)
    return False


async def _lecture(stack: Stack, lecturer_ip: str, student_ip: str) -> tuple[_Tab, _Tab, str]:
    """A lecturer on r1 opens a room on the tour at step 2; a student on r2 follows it."""
    lecturer = _Tab(stack, lecturer_ip, "r1")
    await lecturer.open("Guided_tour")
    await lecturer.click("ggmi_room_open")
    code = _room_code(lecturer.session)
    assert code, lecturer.texts()
    await lecturer.click("tour_next")
    assert lecturer.step() == "2"
    student = _Tab(stack, student_ip, "r2")  # the other replica: the room is in Redis
    await student.open("Home", f"room={code}")
    assert await _until(lambda: student.step() == "2", student), student.texts()
    assert f"Following room **{code}**" in student.texts()
    return lecturer, student, code


def _redis(stack: Stack) -> Any:
    import redis

    return redis.Redis(host="127.0.0.1", port=stack.redis, socket_timeout=10)


@needs_stack
def test_a_room_flood_through_the_proxy_blocks_only_the_flooder(stack: Stack) -> None:
    """Replay: 20 sessions x 3 "Open a room" from one address stopped every lecturer."""
    from ggmi_app import room_store

    async def replay() -> tuple[int, str, str | None]:
        opened, refusal = 0, ""
        for _ in range(20):  # twenty tabs of one address, all on replica r1
            tab = _Tab(stack, "127.0.0.41", "r1")
            await tab.open("Home")
            for _ in range(3):
                await tab.click("ggmi_room_open")
                if _room_code(tab.session):
                    opened += 1
                    await tab.click("ggmi_room_close")
                else:
                    refusal = tab.texts()
            await tab.close()
        # A lecturer at another address, on the same replica, right after the flood.
        lecturer = _Tab(stack, "127.0.0.42", "r1")
        await lecturer.open("Home")
        await lecturer.click("ggmi_room_open")
        code = _room_code(lecturer.session)
        if code:
            await lecturer.click("ggmi_room_close")
        await lecturer.close()
        return opened, refusal, code

    opened, refusal, code = asyncio.run(replay())
    assert opened == room_store.CREATE_PER_CLIENT, opened  # 60 attempts, one address's six
    assert "network address" in refusal, refusal
    assert code is not None  # the other client opened its room


@needs_stack
def test_a_3s_redis_pause_leaves_the_room_driven_and_followed_through_the_proxy(
    stack: Stack,
) -> None:
    """Replay: ``CLIENT PAUSE 3000 ALL`` during a lecture ended it for everyone."""

    async def replay() -> None:
        lecturer, student, code = await _lecture(stack, "127.0.0.43", "127.0.0.44")
        _redis(stack).execute_command("CLIENT", "PAUSE", 3000, "ALL")
        # At once, side by side: the lecturer's next step (a change the store cannot
        # take now) and the student's poll (the store does not answer).
        await asyncio.gather(lecturer.click("tour_next"), student.tick())
        # Unknown, not ended: the lecturer drives with the key, the student follows;
        # both saw the store not answer (so the replay fell within the pause).
        assert f"You drive room **{code}**" in lecturer.texts()
        assert "cannot be reached" in lecturer.texts()
        assert "no longer drive" not in lecturer.texts()
        assert "Lecturer key" in lecturer.session.popovers
        assert lecturer.step() == "3"
        assert "cannot be reached" in student.texts()
        assert "has ended" not in student.texts()
        assert student.step() == "2"  # the last state it saw
        # After the pause, the lecturer's retry publishes and the student catches up,
        # with nobody doing anything.
        assert await _until(lambda: student.step() == "3", lecturer, student), (
            lecturer.texts(), student.texts(),
        )  # fmt: skip
        assert f"Following room **{code}**" in student.texts()
        # The lecturer still drives: the next change reaches the student.
        await lecturer.click("tour_next")
        assert f"You drive room **{code}**" in lecturer.texts()
        assert "cannot be reached" not in lecturer.texts()
        assert lecturer.step() == "4"
        assert await _until(lambda: student.step() == "4", student), student.texts()
        await lecturer.click("ggmi_room_close")
        for tab in (lecturer, student):
            await tab.close()

    asyncio.run(replay())


@needs_stack
def test_a_full_redis_keeps_the_live_room_through_the_proxy(stack: Stack) -> None:
    """Replay: cache entries filling Redis to ``maxmemory`` evicted the room itself.

    The stack's Redis keeps its eviction policy (``run_stack.sh``: volatile-lru); its
    ``maxmemory`` is lowered to a little above what it holds, then signed result-cache
    entries far beyond that are written, as the replicas write them.
    """
    from ggmi_app.result_store import shared_results_from_env

    admin = _redis(stack)
    saved = admin.config_get("maxmemory")["maxmemory"]

    async def replay() -> int:
        lecturer, student, code = await _lecture(stack, "127.0.0.45", "127.0.0.46")
        evicted = int(admin.info("stats")["evicted_keys"])
        admin.config_set("maxmemory", int(admin.info("memory")["used_memory"]) + (2 << 20))
        cache = shared_results_from_env(
            {"GGMI_RESULT_CACHE": f"redis://127.0.0.1:{stack.redis}/0", "GGMI_CACHE_SECRET": SECRET}
        )
        assert cache is not None
        payload = bytes(64 * 1024)
        for i in range(200):  # 12.8 MB of cache entries into 2 MB of room
            cache.put(f"job1:{i:064x}", payload)
        evicted = int(admin.info("stats")["evicted_keys"]) - evicted
        # The room lives on: the student still follows, the lecturer still drives.
        await lecturer.click("tour_next")
        assert f"You drive room **{code}**" in lecturer.texts()
        assert "no longer drive" not in lecturer.texts()
        assert await _until(lambda: student.step() == "3", student), student.texts()
        assert "has ended" not in student.texts()
        await lecturer.click("ggmi_room_close")
        for tab in (lecturer, student):
            await tab.close()
        return evicted

    try:
        evicted = asyncio.run(replay())
    finally:
        admin.config_set("maxmemory", saved)
    assert evicted > 100, "the cache never came under memory pressure"
