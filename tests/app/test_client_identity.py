"""Who a visitor is (``ggmi_app.client``) and the upload caps keyed by it."""

from __future__ import annotations

import pytest
from starlette.exceptions import HTTPException
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFileRec

from ggmi_app import client, serve
from ggmi_app.client import TrustedProxies, client_key, resolve_client, trusted_from_env
from ggmi_app.upload_limits import MIB, BoundedUploadedFileManager, UploadCaps

LOOPBACK = TrustedProxies.parse("127.0.0.1,::1")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("198.51.100.7", [], "ip:198.51.100.7"),  # direct: the socket's peer
        ("198.51.100.7", ["203.0.113.1"], "ip:198.51.100.7"),  # an untrusted peer's header
        ("127.0.0.1", ["203.0.113.1"], "ip:203.0.113.1"),  # the proxy names the visitor
        ("127.0.0.1", ["6.6.6.6, 203.0.113.1"], "ip:203.0.113.1"),  # visitor-written left
        ("127.0.0.1", ["6.6.6.6", "203.0.113.1"], "ip:203.0.113.1"),  # repeated headers
        ("127.0.0.1", ["203.0.113.1, 127.0.0.1"], "ip:203.0.113.1"),  # proxies skipped
        ("127.0.0.1", ["not-an-address"], "ip:127.0.0.1"),
        ("127.0.0.1", [], "ip:127.0.0.1"),
        ("::1", ["2001:db8:1:2:3:4:5:6"], "ip6:2001:db8:1:2::/64"),  # IPv6 per /64
        ("::ffff:198.51.100.7", [], "ip:198.51.100.7"),
        (None, [], "local"),
    ],
)
def test_the_client_is_the_peer_or_what_a_trusted_proxy_forwarded(
    peer: str | None, forwarded: list[str], expected: str
) -> None:
    assert resolve_client(peer, forwarded, LOOPBACK) == expected


def test_no_trusted_proxy_means_the_header_is_never_read() -> None:
    nobody = trusted_from_env({"GGMI_TRUSTED_PROXIES": "none"})
    assert resolve_client("127.0.0.1", ["203.0.113.1"], nobody) == "ip:127.0.0.1"
    assert nobody.uvicorn_value() == ""


def test_trusted_proxies_come_from_the_environment() -> None:
    assert trusted_from_env({}).trusts("127.0.0.1") and trusted_from_env({}).trusts("::1")
    nets = trusted_from_env({"GGMI_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.5"})
    assert nets.trusts("10.1.2.3") and nets.trusts("192.0.2.5") and not nets.trusts("127.0.0.1")
    assert trusted_from_env({"GGMI_TRUSTED_PROXIES": "bogus"}).networks == ()  # logged
    assert client_key("2001:db8::1") == client_key("2001:db8::ffff")


def test_the_launcher_gives_uvicorn_the_same_trusted_proxies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from streamlit.web.server import server as streamlit_server

    monkeypatch.setattr(streamlit_server, "MemoryUploadedFileManager", MemoryUploadedFileManager)
    environ = {"GGMI_TRUSTED_PROXIES": "10.0.0.0/8"}
    serve.protect_server(environ)
    assert environ["FORWARDED_ALLOW_IPS"] == "10.0.0.0/8"
    assert streamlit_server.MemoryUploadedFileManager is BoundedUploadedFileManager


def _file(file_id: str, size: int) -> UploadedFileRec:
    return UploadedFileRec(file_id=file_id, name="x.csv", type="text/csv", data=bytes(size))


def test_uploads_are_capped_per_session_client_and_process() -> None:
    clients = {"s1": "ip:A", "s2": "ip:A", "s3": "ip:B", "s4": "ip:C"}
    caps = UploadCaps(session_bytes=3 * MIB, client_bytes=5 * MIB, replica_bytes=8 * MIB)
    manager = BoundedUploadedFileManager("/up", caps, client_of=clients.__getitem__)
    for name in ("f1", "f2", "f3"):
        manager.add_file("s1", _file(name, MIB))
    with pytest.raises(HTTPException) as refused:
        manager.add_file("s1", _file("f4", MIB))  # the session's cap
    assert refused.value.status_code == 413
    manager.add_file("s1", _file("f1", MIB))  # replacing a file is no growth
    manager.add_file("s2", _file("g1", 2 * MIB))  # the same client, another tab
    with pytest.raises(HTTPException):
        manager.add_file("s2", _file("g2", MIB))  # the client's cap (5 MiB)
    manager.add_file("s3", _file("h1", 3 * MIB))  # another client is not affected
    with pytest.raises(HTTPException) as full:
        manager.add_file("s4", _file("i1", MIB))  # the process's cap (8 MiB)
    assert full.value.status_code == 503
    assert manager.held_bytes() == 8 * MIB and manager.refused == 3
    manager.remove_session_files("s1")
    manager.add_file("s4", _file("i1", MIB))
    assert manager.held_bytes() == 6 * MIB
    stats = manager.get_stats()  # Streamlit's metrics still see the store
    assert next(iter(stats.values()))[0].byte_length == 6 * MIB


def test_a_sessions_client_is_read_once_and_again_after_its_time(monkeypatch):
    """Every page run asks for its client; the connection is read once per session and
    read again once ``SESSION_CLIENT_TTL_S`` has passed (a reconnect from elsewhere)."""
    from cachetools import TTLCache

    now = [0.0]
    monkeypatch.setattr(
        client, "_SESSION_CLIENTS",
        TTLCache(maxsize=16, ttl=client.SESSION_CLIENT_TTL_S, timer=lambda: now[0]),
    )  # fmt: skip
    peers = {"s1": "198.51.100.7", "s2": "198.51.100.8"}
    reads: list[str] = []

    def connection(session_id: str):
        reads.append(session_id)
        return peers[session_id], []

    monkeypatch.setattr(client, "_connection", connection)
    assert client.client_of_session("s1") == "ip:198.51.100.7"
    assert client.client_of_session("s1") == "ip:198.51.100.7"
    assert client.client_of_session("s2") == "ip:198.51.100.8"
    assert reads == ["s1", "s2"]
    peers["s1"] = "203.0.113.9"  # the session reconnected from another network
    now[0] += client.SESSION_CLIENT_TTL_S + 1
    assert client.client_of_session("s1") == "ip:203.0.113.9"
    assert reads == ["s1", "s2", "s1"]
