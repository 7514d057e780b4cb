"""Bounds on the uploaded bytes a server process holds: per session, per client, in all.

Streamlit keeps every file PUT to ``/_stcore/upload_file/<session>/<file id>`` in memory
(``MemoryUploadedFileManager``) until the session's widget drops it or the session ends
(``server.disconnectedSessionTTL`` after its socket closes). ``server.maxUploadSize``
bounds one file, not how many: any file id is accepted, so one open session could PUT
files until the process ran out of memory (25 x 19 MiB in 1.6 s held 476 MB).

``BoundedUploadedFileManager`` is Streamlit's manager with three caps checked, under its
own lock, before a file is kept:

* a **session** holds at most ``GGMI_UPLOAD_SESSION_MB`` (default 41 MiB: the
  Diagnostics page's two embedding files of up to 20 MiB each, plus a settings file);
* a **client** (a visitor's address, ``ggmi_app.client``: all its tabs together) at most
  ``GGMI_UPLOAD_CLIENT_MB`` (default 64 MiB);
* the **process** at most ``GGMI_UPLOAD_REPLICA_MB`` (default 256 MiB).

A file over a cap is refused with HTTP 413 (session, client) or 503 (process) and its
bytes are released at once; the uploader widget shows the upload as failed. Memory in
flight (requests still being received) is bounded by the proxy's limits on concurrent
uploads per address. ``ggmi_app.serve`` installs the manager before Streamlit starts; a
plain ``streamlit run`` keeps Streamlit's unbounded one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFileRec

from ggmi_app.client import client_of_session
from ggmi_app.env_settings import number_from_env

_LOG = logging.getLogger(__name__)

MIB: Final[int] = 1024 * 1024
SESSION_ENV: Final[str] = "GGMI_UPLOAD_SESSION_MB"
CLIENT_ENV: Final[str] = "GGMI_UPLOAD_CLIENT_MB"
REPLICA_ENV: Final[str] = "GGMI_UPLOAD_REPLICA_MB"


@dataclass(frozen=True)
class UploadCaps:
    """Most uploaded bytes held per session, per client and per process."""

    session_bytes: int = 41 * MIB
    client_bytes: int = 64 * MIB
    replica_bytes: int = 256 * MIB

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> UploadCaps:
        """The caps from ``GGMI_UPLOAD_*_MB`` (MiB; unset or invalid: the default)."""
        default = cls()
        return cls(
            _mib(environ, SESSION_ENV, default.session_bytes),
            _mib(environ, CLIENT_ENV, default.client_bytes),
            _mib(environ, REPLICA_ENV, default.replica_bytes),
        )


def _mib(environ: Mapping[str, str], name: str, default: int) -> int:
    """Bytes from a variable in MiB (a positive number up to 2**20; else ``default``)."""
    mib = number_from_env(
        environ, name, default / MIB, whole=False, low=0, high=1 << 20, low_inclusive=False
    )
    return int(mib * MIB)


def _http_error(status: int, detail: str) -> Exception:
    """Starlette's ``HTTPException`` (the upload route returns it as its response)."""
    from starlette.exceptions import HTTPException

    return HTTPException(status_code=status, detail=detail)


class BoundedUploadedFileManager(MemoryUploadedFileManager):
    """Streamlit's in-memory upload store with caps per session, client and process.

    It reuses the parent's storage and lock (``file_storage``, ``_lock``,
    ``_total_bytes``, ``_file_count``: ``tests/app/test_upload_limits.py`` fails if a
    Streamlit release renames them).
    """

    def __init__(
        self, upload_endpoint: str, caps: UploadCaps | None = None,
        client_of: Callable[[str], str] = client_of_session,
    ) -> None:  # fmt: skip
        super().__init__(upload_endpoint)
        self.caps = caps or UploadCaps.from_env()
        self._client_of = client_of
        self._clients: dict[str, str] = {}  # session id -> client
        self.refused = 0

    def add_file(self, session_id: str, file: UploadedFileRec) -> None:
        client = self._client_of(session_id)  # reads the runtime: outside our lock
        size = len(file.data)
        with self._lock:
            session = self.file_storage.get(session_id, {})
            old = session.get(file.file_id)
            delta = size - (len(old.data) if old is not None else 0)
            held_by_session = sum(len(f.data) for f in session.values())
            held_by_client = sum(
                len(f.data)
                for sid, files in self.file_storage.items()
                if self._clients.get(sid) == client
                for f in files.values()
            )
            refusal = None
            if held_by_session + delta > self.caps.session_bytes:
                refusal = (413, "This session holds too many uploaded bytes")
            elif held_by_client + delta > self.caps.client_bytes:
                refusal = (413, "Too many uploaded bytes from your address")
            elif self._total_bytes + delta > self.caps.replica_bytes:
                refusal = (503, "The server holds too many uploads; try again later")
            if refusal is None:
                self._clients[session_id] = client
                storage = self.file_storage[session_id]
                if old is not None:
                    self._total_bytes -= len(old.data)
                else:
                    self._file_count += 1
                storage[file.file_id] = file
                self._total_bytes += size
                return
            self.refused += 1
        _LOG.warning("upload refused (%s bytes, client %s): %s", size, client, refusal[1])
        raise _http_error(*refusal)

    def remove_session_files(self, session_id: str) -> None:
        super().remove_session_files(session_id)
        with self._lock:
            self._clients.pop(session_id, None)

    def held_bytes(self) -> int:
        """Bytes of uploads held now (all sessions)."""
        with self._lock:
            return self._total_bytes


def install() -> None:
    """Make the next Streamlit server use ``BoundedUploadedFileManager``.

    Streamlit's ``Server`` builds its manager from the name in its own module when it is
    created (inside ``streamlit run``), so rebinding that name before is enough.
    """
    from streamlit.web.server import server as streamlit_server

    streamlit_server.MemoryUploadedFileManager = BoundedUploadedFileManager  # type: ignore[misc]
