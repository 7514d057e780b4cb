"""Replay of "the upload route fills a replica's memory" against a real server (issue 24).

The attack: one session PUTs 25 files of 19 MiB, each to a new file id, to
``/_stcore/upload_file/<session>/<file id>``; Streamlit kept them all (476 MB more
memory, held for minutes). Here a server started as deployed (``python -m
ggmi_app.serve``) gets the same flood from one WebSocket session, a second tab of the
same address adds two files, and a session of another address (``X-Forwarded-For``
through the trusted loopback proxy) uploads one. Asserted: the uploaded-file store
(``/_stcore/metrics``) and the server's RSS stay within the caps plus a margin, the
flood's surplus files are refused (413), the address's cap spans its tabs, and the
other client's upload is still accepted (so the forwarded address is the identity).
"""

from __future__ import annotations

import asyncio
import http.client
import os
import re
import socket
import time
import urllib.request
import uuid
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.web.server.starlette.starlette_app_utils import generate_xsrf_token_string
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from ggmi_app.upload_limits import MIB, UploadCaps
from tests.stream_helpers import start_server

FILE_BYTES = 19 * MIB
FLOOD = 25
#: Besides the held files: one request in flight (its body and copies) and the
#: allocator's slack, MB.
RSS_MARGIN = 200 * MIB


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1)) * 1024  # type: ignore[union-attr]


def _uploaded_bytes(base: str) -> int:
    """The uploaded-file store's bytes, from Streamlit's metrics route."""
    text = urllib.request.urlopen(f"{base}/_stcore/metrics", timeout=10).read().decode()
    total = 0
    for line in text.splitlines():
        if line.startswith("cache_memory_bytes") and "UploadedFileManager" in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


async def _open_session(port: int, forwarded_for: str) -> tuple[str, str, object]:
    """A WebSocket session (as a browser opens it); its id, XSRF cookie and socket."""
    # The browser's XSRF token: the same value as cookie and header passes the check.
    xsrf = generate_xsrf_token_string()
    ws = await connect(
        f"ws://127.0.0.1:{port}/_stcore/stream",
        subprotocols=[Subprotocol("streamlit")],
        origin=f"http://127.0.0.1:{port}",  # type: ignore[arg-type]
        additional_headers={"X-Forwarded-For": forwarded_for},
        max_size=None,
        ping_interval=None,
        open_timeout=30,
    )
    await ws.send(BackMsg(rerun_script=ClientState(page_name="")).SerializeToString())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        msg = ForwardMsg()
        msg.ParseFromString(await asyncio.wait_for(ws.recv(), 60))
        if msg.WhichOneof("type") == "new_session":
            return msg.new_session.initialize.session_id, xsrf, ws
    raise AssertionError("no new_session message")


def _put(port: int, session_id: str, xsrf: str, forwarded_for: str, data: bytes) -> int:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    body = head + data + f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(
            "PUT",
            f"/_stcore/upload_file/{session_id}/{uuid.uuid4()}",
            body=body,
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "X-Xsrftoken": xsrf,
                "Cookie": f"_streamlit_xsrf={xsrf}",
                "X-Forwarded-For": forwarded_for,
            },
        )
        status = conn.getresponse().status
    finally:
        conn.close()
    return status


def test_an_upload_flood_from_one_session_is_bounded(tmp_path: Path) -> None:
    port = _free_port()
    proc = start_server(port, tmp_path / "server.log")
    base = f"http://127.0.0.1:{port}"
    caps = UploadCaps()

    async def replay() -> tuple[list[int], int, int, int]:
        session, xsrf, ws = await _open_session(port, "203.0.113.66")
        rss_before = _rss(proc.pid)
        data = os.urandom(FILE_BYTES)
        statuses = []
        peak = rss_before
        for _ in range(FLOOD):
            statuses.append(
                await asyncio.to_thread(_put, port, session, xsrf, "203.0.113.66", data)
            )
            peak = max(peak, _rss(proc.pid))
        held = _uploaded_bytes(base)
        # Another tab of the same address: its session may hold files, but the
        # address's cap (64 MiB) stops the second one.
        tab, tab_xsrf, tab_ws = await _open_session(port, "203.0.113.66")
        for _ in range(2):
            statuses.append(
                await asyncio.to_thread(_put, port, tab, tab_xsrf, "203.0.113.66", data)
            )
        # Another visitor (another forwarded address through the trusted loopback proxy)
        # is not counted with them.
        other, other_xsrf, other_ws = await _open_session(port, "198.51.100.7")
        other_status = await asyncio.to_thread(_put, port, other, other_xsrf, "198.51.100.7", data)
        for socket_ in (ws, tab_ws, other_ws):
            await socket_.close()  # type: ignore[attr-defined]
        return statuses, held, peak - rss_before, other_status

    try:
        statuses, held, grown, other_status = asyncio.run(replay())
    finally:
        proc.terminate()
        proc.wait(30)
    flood, tab = statuses[:FLOOD], statuses[FLOOD:]
    kept = flood.count(204)
    print(f"statuses {statuses}; held {held / MIB:.0f} MiB; RSS grew {grown / MIB:.0f} MiB")
    assert kept == caps.session_bytes // FILE_BYTES  # two 19 MiB files fit in 41 MiB
    assert flood.count(413) == FLOOD - kept
    assert tab == [204, 413]  # 3 x 19 MiB fit the address's 64 MiB, 4 do not
    assert held <= caps.session_bytes
    assert grown <= caps.client_bytes + RSS_MARGIN
    assert other_status == 204  # another visitor can still upload
