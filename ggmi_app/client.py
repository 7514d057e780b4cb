"""Who is asking: one identity per visitor's machine, not per browser tab.

Streamlit gives every tab (every reload, every new WebSocket) a new session, and a new
session costs a visitor nothing. Limits that count sessions therefore limit nobody: ten
tabs are ten fresh budgets. The app's shared resources (the compute pool's turns, room
creation, room-code lookups, upload memory) are counted per *client* instead: the
address the visitor connects from.

Which address: the socket's peer, unless that peer is a *trusted proxy*, in which case
the proxy's ``X-Forwarded-For`` header names the visitor. The header is read from the
right (the entry the nearest proxy appended) and the first address that is not itself a
trusted proxy is the client; everything left of it was written by the visitor and is
never believed. A header from anyone else is ignored, so a visitor cannot pick their own
identity by sending one.

``GGMI_TRUSTED_PROXIES`` (comma-separated addresses or networks, e.g.
``127.0.0.1,::1`` or ``10.0.0.0/8``) names the proxies. Unset, it is loopback
(``127.0.0.1,::1``): the documented deployments put the proxy on the same host and let
the app listen on 127.0.0.1 only, and a loopback peer is then either that proxy or
someone already on the server. ``none`` trusts no proxy (a server reached directly).
``ggmi_app.serve`` hands the same list to uvicorn (``FORWARDED_ALLOW_IPS``), so the
server's own idea of the client address agrees with the app's.

IPv6 clients are counted per /64 network: one IPv6 customer usually holds a whole /64
and could otherwise take a fresh address per request.

This module reads Streamlit's runtime (the session's WebSocket handshake), which is
outside its public API (``st.context.ip_address`` hides loopback peers and applies no
proxy rule); every access is guarded, and without a connection (AppTest, bare mode) the
client is ``LOCAL_CLIENT``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

_LOG = logging.getLogger(__name__)

#: Environment variable listing trusted proxies (addresses or networks, comma-separated).
TRUSTED_PROXIES_ENV: Final[str] = "GGMI_TRUSTED_PROXIES"
#: Proxies trusted when the variable is unset: the same host.
DEFAULT_TRUSTED: Final[str] = "127.0.0.1,::1"
#: The client of a session without a network connection (tests, bare mode).
LOCAL_CLIENT: Final[str] = "local"
#: Prefix length IPv6 clients are grouped by.
IPV6_PREFIX: Final[int] = 64

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class TrustedProxies:
    """The networks whose ``X-Forwarded-For`` header is believed."""

    networks: tuple[Network, ...]

    @classmethod
    def parse(cls, text: str) -> TrustedProxies:
        """From ``"127.0.0.1, 10.0.0.0/8"``; ``"none"`` (or empty) trusts nobody.

        Raises:
            ValueError: an entry that is neither an address nor a network.
        """
        text = text.strip()
        if text.lower() in ("", "none"):
            return cls(())
        networks = []
        for item in text.split(","):
            item = item.strip()
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(
                    f"{TRUSTED_PROXIES_ENV}: {item!r} is not an IP address or network"
                ) from None
        return cls(tuple(networks))

    def trusts(self, address: str | None) -> bool:
        """Whether ``address`` (text) is one of the trusted proxies."""
        ip = _ip(address)
        return ip is not None and any(ip in net for net in self.networks)

    def uvicorn_value(self) -> str:
        """The same list in uvicorn's ``FORWARDED_ALLOW_IPS`` form ("" matches nobody)."""
        return ",".join(str(net) for net in self.networks)


def trusted_from_env(environ: Mapping[str, str] = os.environ) -> TrustedProxies:
    """``GGMI_TRUSTED_PROXIES`` (unset: loopback); an invalid value trusts nobody (logged)."""
    raw = environ.get(TRUSTED_PROXIES_ENV)
    try:
        return TrustedProxies.parse(DEFAULT_TRUSTED if raw is None else raw)
    except ValueError as exc:
        _LOG.warning("%s; trusting no proxy", exc)
        return TrustedProxies(())


def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not text:
        return None
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[v6]:port"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "v4:port"
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def client_key(address: str | None) -> str:
    """The identity of ``address``: the IPv4 address, an IPv6 /64, or the text itself."""
    ip = _ip(address)
    if ip is None:
        return LOCAL_CLIENT if not address else f"peer:{address[:64]}"
    if isinstance(ip, ipaddress.IPv6Address):
        net = ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False)
        return f"ip6:{net}"
    return f"ip:{ip}"


def resolve_client(peer: str | None, forwarded_for: Iterable[str], trusted: TrustedProxies) -> str:
    """The client's address: ``peer``, or what a trusted ``peer`` says it forwarded.

    Args:
        peer: the socket's remote address.
        forwarded_for: every ``X-Forwarded-For`` header value, in order.
        trusted: the proxies whose header is believed.

    Returns:
        The identity (``client_key``) of the first address, from the right of the
        forwarded chain, that is not a trusted proxy; ``peer``'s when the peer is not
        trusted or the chain is empty or names only proxies.
    """
    if not trusted.trusts(peer):
        return client_key(peer)
    chain = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(chain):
        if _ip(hop) is None:
            break  # a proxy appends addresses: anything else is the visitor's text
        if not trusted.trusts(hop):
            return client_key(hop)
    return client_key(peer)


_TRUSTED: TrustedProxies | None = None


def trusted() -> TrustedProxies:
    """This process's trusted proxies (read from the environment once)."""
    global _TRUSTED
    if _TRUSTED is None:
        _TRUSTED = trusted_from_env()
    return _TRUSTED


def client_of_session(session_id: str | None) -> str:
    """The client of the Streamlit session ``session_id``; ``LOCAL_CLIENT`` if unknown."""
    if not session_id:
        return LOCAL_CLIENT
    context = _connection(session_id)
    if context is None:
        return LOCAL_CLIENT
    peer, headers = context
    forwarded = [v for k, v in headers if k.lower() == "x-forwarded-for"]
    return resolve_client(peer, forwarded, trusted())


def current_client() -> str:
    """The client of the session running this script (``LOCAL_CLIENT`` outside one)."""
    try:
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx
    except ImportError:  # pragma: no cover - another Streamlit layout
        return LOCAL_CLIENT
    ctx = get_script_run_ctx()
    return client_of_session(ctx.session_id if ctx is not None else None)


def _connection(session_id: str) -> tuple[str | None, list[tuple[str, str]]] | None:
    """The peer address and handshake headers of a session's WebSocket, if it has one.

    A function of its own so tests can give AppTest sessions (which have no socket)
    distinct clients.
    """
    try:
        from streamlit import runtime

        if not runtime.exists():
            return None
        session_client = runtime.get_instance().get_client(session_id)
        context = getattr(session_client, "client_context", None)
        if context is None:
            return None
        return context.remote_ip, list(context.headers)
    except Exception:  # the runtime is not public API: never fail a page over it
        _LOG.debug("no connection details for session %s", session_id, exc_info=True)
        return None
