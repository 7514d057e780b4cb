"""Streamlit sessions spoken over the WebSocket protocol, for replays of attacks.

A ``Session`` is ``bench/lecture_hall.py``'s protocol client (page, URL, widgets,
buttons, fragment timers, page moves) that also keeps the last run's alerts and code
blocks, and connects from a chosen loopback source address (the proxy's client), with
an ``X-Forwarded-For`` header (a client behind the trusted loopback proxy, for a replica
reached directly) or a replica cookie. ``start_server`` starts one replica as deployed.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from bench.lecture_hall import OK, Client, Log
from bench.ws_load_test import RunResult, _widget_from_element

ROOT = Path(__file__).resolve().parents[1]
__all__ = ["OK", "Session", "free_port", "open_socket", "start_server"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """``python -m ggmi_app.serve`` on 127.0.0.1:``port`` (the loopback proxy trusted),
    healthy on return. ``env`` adds environment variables."""
    environ = {**os.environ, "GGMI_WORKERS": "0", "MALLOC_ARENA_MAX": "2", **env}
    environ.pop("GGMI_TRUSTED_PROXIES", None)  # default: the loopback proxy is trusted
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "ggmi_app.serve", "--server.address=127.0.0.1",
            f"--server.port={port}", "--server.headless=true",
        ],
        cwd=ROOT, env=environ, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(log.read_text()[-3000:])
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
            return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise AssertionError("the server did not become healthy")


def open_socket(
    port: int,
    *,
    source: str = "127.0.0.1",
    forwarded_for: str | None = None,
    cookie: str | None = None,
    timeout_s: float = 60,
) -> Any:
    """Open ``/_stcore/stream`` on ``port`` as a browser tab does, from ``source``."""
    headers = {}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    if cookie is not None:
        headers["Cookie"] = cookie
    return connect(
        f"ws://127.0.0.1:{port}/_stcore/stream",
        subprotocols=[Subprotocol("streamlit")],
        origin=f"http://127.0.0.1:{port}",  # type: ignore[arg-type]
        additional_headers=headers,
        max_size=None,
        ping_interval=None,
        open_timeout=timeout_s,
        local_addr=(source, 0),
    )


class Session(Client):
    """One tab: ``bench/lecture_hall.py``'s client, plus the last run's alerts and code.

    Unlike the bench client, a widget keeps a value the script set (as in the browser),
    also in later runs that do not set it again.
    """

    def __init__(self, port: int, timeout_s: float = 90, index: int = 0) -> None:
        self.port = port
        super().__init__(
            index, f"ws://127.0.0.1:{port}/_stcore/stream", f"http://127.0.0.1:{port}",
            timeout_s, Log(),
        )  # fmt: skip
        self.alerts: list[str] = []
        self.codes: list[str] = []
        self.popovers: list[str] = []

    async def send(self, kind: str, *args: Any, **kwargs: Any) -> RunResult:
        """One rerun, as ``Client.send``, keeping what the page shows now.

        A whole run's texts replace the last ones; a fragment run that stayed a fragment
        run (a room's poll) adds its own to those of the last whole run, as on screen.
        """
        before = (self.markdown, self.alerts, self.codes, self.popovers)
        self.markdown, self.alerts, self.codes, self.popovers = [], [], [], []
        result = await super().send(kind, *args, **kwargs)
        if result.status != "FINISHED_SUCCESSFULLY" and kwargs.get("fragment"):
            now = (self.markdown, self.alerts, self.codes, self.popovers)
            for kept, new in zip(before, now, strict=True):
                kept.extend(new)
            self.markdown, self.alerts, self.codes, self.popovers = before
        return result

    def _note(self, msg: ForwardMsg, widgets: dict[str, Any]) -> None:
        super()._note(msg, widgets)
        if msg.WhichOneof("type") == "delta":
            delta = msg.delta
            if delta.WhichOneof("type") == "new_element":
                element = delta.new_element
                kind = element.WhichOneof("type")
                if kind == "alert":
                    self.alerts.append(element.alert.body)
                elif kind == "code":
                    self.codes.append(element.code.code_text)
                elif getattr(getattr(element, str(kind)), "set_value", False):
                    # A value the script set is what the browser's widget holds from now
                    # on (the bench client would fall back to the widget's default).
                    widget = _widget_from_element(element, {})
                    if widget is not None:
                        self.last_sent[widget.id] = widget.state
            elif delta.WhichOneof("type") == "add_block":
                block = delta.add_block
                if block.WhichOneof("type") == "popover":
                    self.popovers.append(block.popover.label)

    def texts(self) -> str:
        """The last run's markdown and alerts, one string."""
        return "\n".join(self.markdown + self.alerts)

    async def poll(self) -> RunResult | None:
        """One run of the room's poll fragment, as the browser's timer sends it (or None)."""
        if not self.fragments:
            return None
        fragment = min(self.fragments, key=self.fragments.__getitem__)
        return await self.send("poll", fragment=fragment)


async def sleep(seconds: float) -> None:
    """``asyncio.sleep`` (re-exported so tests read as steps)."""
    await asyncio.sleep(seconds)
