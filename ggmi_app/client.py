"""Who is asking: one identity per visitor's machine, not per browser tab.

Streamlit gives every tab (every reload, every new WebSocket) a new session, and a new
session costs a visitor nothing. Limits that count sessions therefore limit nobody: ten
tabs are ten fresh budgets. The app's shared resources (the compute pool's turns, room
creation, room-code lookups, upload memory, page runs) are counted per *client*
instead: the address the visitor connects from.

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
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from cachetools import TTLCache

from ggmi_app.env_settings import number_from_env

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


#: Seconds a session's client is remembered. A session keeps its socket, so its client
#: rarely changes; a reconnect from another address is seen again within this time.
SESSION_CLIENT_TTL_S: Final[float] = 30.0
_SESSION_CLIENTS: TTLCache[str, str] = TTLCache(maxsize=10_000, ttl=SESSION_CLIENT_TTL_S)
_SESSION_CLIENTS_LOCK = threading.Lock()


def client_of_session(session_id: str | None) -> str:
    """The client of the Streamlit session ``session_id``; ``LOCAL_CLIENT`` if unknown.

    Looked up once per session every ``SESSION_CLIENT_TTL_S`` seconds, not on every run:
    every page run asks (its turn), and reading the connection's headers each time
    would cost more than the answer changes.
    """
    if not session_id:
        return LOCAL_CLIENT
    with _SESSION_CLIENTS_LOCK:
        known = _SESSION_CLIENTS.get(session_id)
    if known is not None:
        return known
    found = _client_from_connection(session_id)
    with _SESSION_CLIENTS_LOCK:
        _SESSION_CLIENTS[session_id] = found
    return found


def _client_from_connection(session_id: str) -> str:
    """The client of ``session_id`` read from its WebSocket's peer and headers."""
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


# ------------------------------------------------------------------ turns for page runs
#
# Every page run costs the server process CPU of its own (the script, building and
# serialising figures) that the compute pool's turns do not see. All sessions share one
# interpreter, so ten tabs of one client rerunning at once take ten shares of it and
# every other visitor waits behind them. A client's page runs therefore take turns:
#
# * at most ``GGMI_PAGE_RUNS_PER_CLIENT`` of them run at once; the others wait, first
#   come first served, without costing anything;
# * while other clients use the process too, a client's runs may take at most
#   ``GGMI_PAGE_RUN_SHARE`` of one core over time (a token bucket of the script
#   thread's CPU seconds, ``PAGE_RUN_BURST_S`` deep): a client over its share waits
#   until it is back within it. A client alone on the server is never held back.
#
# One client's tabs then slow each other, and another client's page shares the process
# with at most one of them, part of the time.

#: Environment variable: page runs one client may have going at once (0: no turns at all).
PAGE_RUNS_ENV: Final[str] = "GGMI_PAGE_RUNS_PER_CLIENT"
#: Page runs per client at once when the variable is unset.
DEFAULT_PAGE_RUNS: Final[int] = 1
#: Environment variable: share of one core (0..1) a client's page runs may use while
#: others are served too (0: no share, only the turns).
PAGE_RUN_SHARE_ENV: Final[str] = "GGMI_PAGE_RUN_SHARE"
#: The share when the variable is unset.
DEFAULT_PAGE_RUN_SHARE: Final[float] = 0.25
#: CPU seconds charged for each run beyond its script thread's own: the server's work
#: around a run in its main thread (taking the request, starting the run's thread,
#: sending its messages), about as much again as a small cached page's script (measured
#: on the Distributions page: 15-25 ms in the script thread, 40-60 ms a rerun in all).
PAGE_RUN_OVERHEAD_S: Final[float] = 0.02
#: CPU seconds a client may spend at once beyond its share (the bucket's depth).
PAGE_RUN_BURST_S: Final[float] = 2.0
#: Another client counts as "using the process" this long after its last run (s).
CONTENTION_S: Final[float] = 10.0
#: Longest a page run waits for its client's turn (s) before it gives up with a message.
PAGE_RUN_WAIT_S: Final[float] = 30.0
#: How often a waiting run looks whether its session asked for a rerun or a stop (s).
_WAIT_SLICE_S: Final[float] = 0.05


@dataclass
class _Usage:
    """One client's page runs: running now, waiting (tickets in order), CPU bucket."""

    running: int = 0
    queue: deque[object] | None = None
    tokens: float = PAGE_RUN_BURST_S  # CPU seconds (may go below 0 after a long run)
    stamp: float = 0.0  # when ``tokens`` was last brought up to date (monotonic s)
    last_active: float = 0.0  # when a run of the client last started or ended


class PageRunGate:
    """Turns for page runs: ``limit`` at once per client, and a CPU ``share`` under contention.

    Thread-safe: every Streamlit session runs its script in a thread of its own.
    ``clock`` (monotonic seconds) drives the CPU buckets and is injectable for tests; the
    wait for a turn is always timed in real seconds.
    """

    def __init__(
        self,
        limit: int,
        share: float = DEFAULT_PAGE_RUN_SHARE,
        *,
        burst_s: float = PAGE_RUN_BURST_S,
        wait_s: float = PAGE_RUN_WAIT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1:
            raise ValueError(f"a client needs at least one page run at a time, not {limit}")
        if not 0 <= share <= 1:
            raise ValueError(f"the CPU share is a fraction of one core (0..1), not {share}")
        self.limit, self.share, self.burst_s, self.wait_s = limit, share, burst_s, wait_s
        self._clock = clock
        self._cond = threading.Condition()
        self._usage: dict[str, _Usage] = {}

    def acquire(self, client: str, check: Callable[[], None] | None = None) -> bool:
        """Wait for a turn of ``client``; whether it came within ``wait_s`` seconds.

        ``check`` is called between short waits and may raise to abandon the wait (a
        session that asked for a rerun or a stop); the turn is then not taken.
        """
        ticket = object()
        deadline = time.monotonic() + self.wait_s
        with self._cond:
            usage = self._usage.setdefault(client, _Usage(stamp=self._clock()))
            if usage.queue is None:
                usage.queue = deque()
            queue = usage.queue
            queue.append(ticket)
            try:
                while not self._may_start(client, usage, ticket):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._cond.wait(min(_WAIT_SLICE_S, remaining))
                    if check is not None:
                        check()
                usage.running += 1
                usage.last_active = self._clock()
                return True
            finally:
                queue.remove(ticket)
                if not queue:
                    usage.queue = None
                self._cond.notify_all()  # the next in line may be at the head now

    def release(self, client: str, cpu_s: float = 0.0) -> None:
        """End one run of ``client`` (admitted by ``acquire``) that used ``cpu_s`` CPU seconds."""
        with self._cond:
            usage = self._usage.get(client)
            if usage is None or usage.running < 1:
                return
            self._refill(usage)
            usage.running -= 1
            usage.tokens -= max(0.0, cpu_s)
            usage.last_active = self._clock()
            self._forget_idle()
            self._cond.notify_all()

    def running(self, client: str) -> int:
        """How many runs of ``client`` hold a turn now."""
        with self._cond:
            usage = self._usage.get(client)
            return usage.running if usage else 0

    def waiting(self, client: str) -> int:
        """How many runs of ``client`` wait for a turn now."""
        with self._cond:
            usage = self._usage.get(client)
            return len(usage.queue) if usage and usage.queue else 0

    def _may_start(self, client: str, usage: _Usage, ticket: object) -> bool:
        assert usage.queue is not None
        if usage.queue[0] is not ticket or usage.running >= self.limit:
            return False
        if self.share <= 0:
            return True
        self._refill(usage)
        return usage.tokens >= 0 or not self._others_active(client)

    def _refill(self, usage: _Usage) -> None:
        now = self._clock()
        usage.tokens = min(self.burst_s, usage.tokens + (now - usage.stamp) * self.share)
        usage.stamp = now

    def _others_active(self, client: str) -> bool:
        """Whether another client runs, waits or ran a page within ``CONTENTION_S``."""
        now = self._clock()
        return any(
            other != client
            and (usage.running or usage.queue or now - usage.last_active < CONTENTION_S)
            for other, usage in self._usage.items()
        )

    def _forget_idle(self) -> None:
        """Drop clients idle long enough to have a full bucket (keeps the table small)."""
        if len(self._usage) < 64:
            return
        now = self._clock()
        horizon = max(CONTENTION_S, self.burst_s / self.share if self.share > 0 else 0.0)
        for client in [
            c
            for c, u in self._usage.items()
            if not u.running and not u.queue and now - u.last_active > horizon
        ]:
            del self._usage[client]


def page_runs_from_env(environ: Mapping[str, str] = os.environ) -> int:
    """``GGMI_PAGE_RUNS_PER_CLIENT`` (unset or invalid: ``DEFAULT_PAGE_RUNS``; 0: no turns)."""
    return number_from_env(environ, PAGE_RUNS_ENV, DEFAULT_PAGE_RUNS, whole=True, low=0)


def page_run_share_from_env(environ: Mapping[str, str] = os.environ) -> float:
    """``GGMI_PAGE_RUN_SHARE`` in 0..1 (unset or invalid: ``DEFAULT_PAGE_RUN_SHARE``)."""
    return number_from_env(
        environ, PAGE_RUN_SHARE_ENV, DEFAULT_PAGE_RUN_SHARE, whole=False, low=0, high=1
    )


_GATE: PageRunGate | None = None
_GATE_READ = False
_GATE_LOCK = threading.Lock()


def page_run_gate() -> PageRunGate | None:
    """This process's gate (from the environment, once); None when runs are unlimited."""
    global _GATE, _GATE_READ
    with _GATE_LOCK:
        if not _GATE_READ:
            limit = page_runs_from_env()
            _GATE = PageRunGate(limit, page_run_share_from_env()) if limit > 0 else None
            _GATE_READ = True
        return _GATE


_WAITED_TOO_LONG: Final[str] = (
    "Many pages from your network address are running on this server at the moment, "
    "and this one waited {seconds:.0f} s for its turn. Reload it in a moment, or close "
    "a few tabs."
)


@contextmanager
def page_run_turn() -> Iterator[None]:
    """Hold one of this client's turns for the page run inside the ``with`` block.

    Wrap every page run in it. A run without a network client (AppTest, bare mode) or
    with turns off passes at once. A run whose session asks for a rerun or a stop
    while it waits leaves the queue at once (Streamlit's own check raises). A run that
    waits ``PAGE_RUN_WAIT_S`` shows a short message and stops. The run's CPU time (this
    thread's) is charged to the client when it ends.
    """
    gate = page_run_gate()
    client = current_client() if gate is not None else LOCAL_CLIENT
    if gate is None or client == LOCAL_CLIENT:
        yield
        return
    if not gate.acquire(client, _yield_check()):
        import streamlit as st

        st.info(_WAITED_TOO_LONG.format(seconds=gate.wait_s), icon=":material/hourglass_top:")
        st.stop()
    try:
        yield
    finally:
        gate.release(client, _thread_cpu_since_last_charge() + PAGE_RUN_OVERHEAD_S)


_CHARGED = threading.local()


def _thread_cpu_since_last_charge() -> float:
    """CPU seconds this thread used since its last charge (or since it started).

    A session's script thread does more per run than the page itself (starting the
    script, the entry files, Streamlit's clean-up after the previous run); all of it is
    the client's, so a run is charged everything its thread spent since the last one.
    """
    now = time.thread_time()
    spent = now - getattr(_CHARGED, "cpu_s", 0.0)
    _CHARGED.cpu_s = now
    return spent


def _yield_check() -> Callable[[], None] | None:
    """The running script's check for a pending rerun or stop (raises), if there is one."""
    try:
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_run_yield_check

        return get_run_yield_check()
    except Exception:  # not public API: without it a waiting run only waits
        return None
