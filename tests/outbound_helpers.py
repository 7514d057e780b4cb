"""Catch outbound traffic in tests: a recording proxy and a Python audit hook.

``RecordingProxy`` listens on loopback and is handed to a process as its HTTP(S) proxy
(``HTTP_PROXY``/``HTTPS_PROXY`` for Python, ``--proxy-server`` for Chromium). Every
request that reaches it is recorded (its first line: ``CONNECT host:443 HTTP/1.1`` or
``GET http://host/... HTTP/1.1``) and refused, so nothing passes through it. With
``hold_s`` it keeps each connection that long before refusing, like a host without
outbound access whose connections hang until the client's time-out.

``AUDIT_HOOK_CODE`` is Python source that, run first in a server process, writes every
name lookup and every socket connection to a non-loopback address to a file: it sees
attempts that would never reach a proxy (a direct socket, a DNS query).
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType


class RecordingProxy:
    """A loopback HTTP proxy that records each request's first line and refuses it."""

    def __init__(self, hold_s: float = 0.0) -> None:
        self.hold_s = hold_s
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.port: int = self._server.getsockname()[1]
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="recording-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def seen(self) -> list[str]:
        """The first lines of the requests received so far."""
        with self._lock:
            return list(self.requests)

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._record, args=(client,), daemon=True).start()

    def _record(self, client: socket.socket) -> None:
        with client:
            client.settimeout(5)
            try:
                head = client.recv(4096)
            except OSError:
                head = b""
            line = head.split(b"\r\n", 1)[0].decode("latin-1") or "(connection, no request)"
            with self._lock:
                self.requests.append(line)
            if self.hold_s > 0:
                time.sleep(self.hold_s)
            try:
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                pass

    def close(self) -> None:
        self._server.close()

    def __enter__(self) -> RecordingProxy:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


#: Source run at the top of a Python process (``python -c``) before anything else:
#: appends a line to the file named by ``GGMI_OUTBOUND_LOG`` for every name lookup of a
#: host other than localhost and every connect/sendto to a non-loopback IP address.
AUDIT_HOOK_CODE = r"""
import ipaddress, os, sys
_LOG = os.environ["GGMI_OUTBOUND_LOG"]
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}

def _is_local(host):
    if host is None:
        return True
    host = host.decode() if isinstance(host, bytes) else str(host)
    if host in _LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified

def _note(text):
    with open(_LOG, "a") as log:
        log.write(text + "\n")

def _hook(event, args):
    if event == "socket.getaddrinfo" and not _is_local(args[0]):
        _note(f"getaddrinfo {args[0]!r}")
    elif event == "socket.gethostbyname" and not _is_local(args[0]):
        _note(f"gethostbyname {args[0]!r}")
    elif event in ("socket.connect", "socket.sendto"):
        address = args[1]
        if isinstance(address, tuple) and address and not _is_local(address[0]):
            _note(f"{event} {address!r}")

sys.addaudithook(_hook)
"""
