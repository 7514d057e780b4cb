"""Follow the lecturer: rooms that carry one session's page and settings to many.

A lecturer opens a room and gets a short *code* (six characters from an alphabet without
look-alikes such as 0/O and 1/I/L) and a *secret* that stays in their session and never
appears in a URL. Students join by the room's link (``?room=CODE``) or by typing the code.

While the lecturer drives, each of their runs *publishes* the page they are on and the
URL texts of their settings (every setting off its default, the tour step included;
lecture mode is left out: it is each screen's own choice). A publish whose page or
settings differ from the room's bumps the room's version counter. A student's sidebar
polls the room (a fragment re-run every ``POLL_INTERVAL_S``); when the version changed it
stores the new state and reruns the whole app, whose first step (``follow_room``) writes
the lecturer's settings into the session and the URL; when the lecturer is on another
page, the browser loads that page (``frame.move_browser``) and its new session re-joins.
A student can detach (polling stops, they explore on their own) and re-join in one click.

Storage: a ``KeyValueStore`` from ``ggmi_app.result_store`` under its own key prefix, one
JSON document per room (never pickle), expiring ``ROOM_TTL_S`` after the lecturer's last
publish; an open lecturer page refreshes it every ``HEARTBEAT_S``. In one process the
store is in memory; with ``GGMI_RESULT_CACHE=redis://...`` it is Redis, so students on
any replica follow a lecturer on any other.

Security model: the code only lets one *read* a room (the lecturer's settings, which are
no secret in a lecture hall). Publishing needs the secret: the room keeps its SHA-256,
compared in constant time. Codes are checked strictly (length, alphabet) before any
lookup; a record that is malformed, too large or of another format is ignored; a
student applies only settings that the app's parameters accept, and only known pages.
Room creation is limited per session and per client (the visitor's address, any
number of tabs; optionally behind a lecturers' passphrase, ``GGMI_ROOM_PASSPHRASE``), never
by one counter for everyone; codes of rooms that are not open are limited per client.

Unknown is not ended: when the store does not answer (Redis down, paused or slow), a
student keeps the lecturer's last state and keeps polling, and a lecturer keeps the
room and its key and publishes again every ``RETRY_S``. In Redis, room records have no
time to live, so a cache under memory pressure (``volatile-lru``) never evicts them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

import streamlit as st
from streamlit.errors import StreamlitAPIException

from ggmi_app import client as clients
from ggmi_app.messages import escape_markdown
from ggmi_app.result_store import (
    RESULT_CACHE_ENV,
    KeyValueStore,
    MemoryKV,
    RedisKV,
    StoreUnavailable,
)
from ggmi_app.scenario_params import LECTURE_KEY
from ggmi_app.state import Keyed, written_settings

_LOG = logging.getLogger(__name__)

#: Characters of room codes: upper-case letters and digits without 0/O, 1/I/L.
CODE_ALPHABET: Final[str] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH: Final[int] = 6
#: Key prefix of rooms in the shared store (results use their own).
ROOM_PREFIX: Final[str] = "ggmi:room:v1:"
ROOM_FORMAT: Final[str] = "ggmi-room"
#: Seconds a room lives after the lecturer's last publish or heartbeat.
ROOM_TTL_S: Final[float] = 30 * 60.0
#: Seconds between a lecturer page's refreshes of its room while nothing changes.
HEARTBEAT_S: Final[float] = 120.0
#: Seconds between a student's looks at the room.
POLL_INTERVAL_S: Final[float] = 0.75
#: Largest room record read or written, in bytes (a real one is under 2 KB).
MAX_RECORD_BYTES: Final[int] = 16 * 1024
#: Rooms one session, and one client (a visitor's address, ``ggmi_app.client``: any
#: number of tabs), may open per ``CREATE_WINDOW_S``. There is no global limit: a flood
#: of rooms from one address blocks that address only.
CREATE_PER_SESSION: Final[int] = 3
CREATE_PER_CLIENT: Final[int] = 6
#: Rooms per client and window for lecturers who gave the deployer's passphrase.
CREATE_PER_CLIENT_WITH_PASSPHRASE: Final[int] = 30
CREATE_WINDOW_S: Final[float] = 600.0
#: Environment variable with the lecturers' passphrase (unset: anyone may open rooms).
PASSPHRASE_ENV: Final[str] = "GGMI_ROOM_PASSPHRASE"
#: Wrong passphrases one client may type per ``CREATE_WINDOW_S``.
PASSPHRASE_FAILURES: Final[int] = 5
#: Codes of rooms that are not open one client may try per ``GUESS_WINDOW_S``: a code
#: only lets one watch a room, but guessing should still be slow (31**6 codes).
GUESSES_PER_CLIENT: Final[int] = 10
GUESS_WINDOW_S: Final[float] = 60.0
#: Settings a student keeps their own of.
NOT_FOLLOWED: Final[frozenset[str]] = frozenset({LECTURE_KEY})

# Session-state keys (private to this module).
_LEAD: Final[str] = "_ggmi_room_lead"  # {"code", "secret"} while this session drives
_FOLLOW: Final[str] = "_ggmi_room_follow"  # code while following
_DETACHED: Final[str] = "_ggmi_room_detached"  # code after detaching (for re-join)
_VERSION: Final[str] = "_ggmi_room_version"  # room version last applied
_ROOM_PAGE: Final[str] = "_ggmi_room_page"  # the room's page at that version
_HERE: Final[str] = "_ggmi_room_here"  # the page this session's last full run showed
_PENDING: Final[str] = "_ggmi_room_pending"  # RoomState seen by the poll, to apply
_URL_SEEN: Final[str] = "_ggmi_room_url_seen"  # ?room= text already acted on
_MESSAGE: Final[str] = "_ggmi_room_message"  # (kind, text) shown in the sidebar
_CREATED: Final[str] = "_ggmi_room_created"  # times this session opened rooms
_UNREACHABLE: Final[str] = "_ggmi_room_unreachable"  # the follower's last read failed
_UNSYNCED: Final[str] = "_ggmi_room_unsynced"  # the lecturer's last publish failed
_PASSPHRASE: Final[str] = "ggmi_room_passphrase"
_JOIN_INPUT: Final[str] = "ggmi_room_join_code"
_RESUME_CODE: Final[str] = "ggmi_room_resume_code"
_RESUME_KEY: Final[str] = "ggmi_room_resume_key"
URL_KEY: Final[str] = "room"


class RoomError(ValueError):
    """A refusal with a message fit to show a visitor."""


class RoomUnavailable(RuntimeError):
    """The room store did not answer: the room's state is *unknown*, not ended.

    Students keep what they have and retry; a lecturer keeps the room and its key.
    """


#: Key of the index of rooms by expiry time (a Redis sorted set; codes are upper case,
#: so no room key can collide with it).
ROOM_INDEX: Final[str] = "ggmi:roomindex:v1"
#: Expired rooms removed per sweep (a sweep runs at each room creation).
SWEEP_BATCH: Final[int] = 100


class RoomStore(Protocol):
    """Where room records live. Every call raises ``StoreUnavailable`` when unsure."""

    def get(self, key: str) -> bytes | None:
        """The record under ``key``, ``None`` if there is none (the room is not open)."""
        ...

    def put(self, key: str, blob: bytes, expires_at: float) -> None:
        """Store the record; it may be dropped after ``expires_at`` (the rooms' clock)."""
        ...

    def delete(self, key: str) -> None:
        """Forget the record."""
        ...

    def sweep(self, now: float) -> int:
        """Remove records whose time is up; how many."""
        ...


class KVRoomStore:
    """Rooms in a plain ``KeyValueStore`` with its own expiry (one process's memory).

    Such a store answers every call, so nothing here is ever unknown.
    """

    def __init__(self, kv: KeyValueStore, clock: Callable[[], float] = time.time) -> None:
        self.kv, self.clock = kv, clock

    def get(self, key: str) -> bytes | None:
        return self.kv.get_many([key])[0]

    def put(self, key: str, blob: bytes, expires_at: float) -> None:
        if not self.kv.set(key, blob, max(1e-3, expires_at - self.clock())):
            raise StoreUnavailable("the room could not be stored")

    def delete(self, key: str) -> None:
        self.kv.delete(key)

    def sweep(self, now: float) -> int:
        return 0  # the key-value store expires entries itself


class RedisRoomStore:
    """Rooms in Redis as keys *without* a Redis time to live, safe from eviction.

    A Redis cache evicts under memory pressure; with ``maxmemory-policy volatile-lru``
    (what ``scripts/run_stack.sh`` and ``deploy/compose.yaml`` set) it evicts only keys
    that have a time to live. Result-cache entries have one; room records do not, so a
    full cache never ends a lecture. Expiry is kept by the app instead: each record
    carries its last-publish time (``Rooms`` treats an old one as ended), and a sorted
    set ``ROOM_INDEX`` of expiry times lets each room creation delete up to
    ``SWEEP_BATCH`` rooms whose time is up. Every failure raises ``StoreUnavailable``.
    """

    def __init__(self, kv: RedisKV) -> None:
        self.kv = kv
        policy = kv.eviction_policy()
        if policy is not None and policy.startswith("allkeys"):
            _LOG.warning(
                "Redis maxmemory-policy is %s: under memory pressure it may evict open "
                "lecture rooms; use volatile-lru (rooms carry no TTL, cache entries do)",
                policy,
            )

    def get(self, key: str) -> bytes | None:
        value = self.kv.strict(lambda c: c.get(key))
        return bytes(value) if value is not None else None

    def put(self, key: str, blob: bytes, expires_at: float) -> None:
        def write(c: Any) -> Any:
            pipe = c.pipeline(transaction=True)
            pipe.set(key, blob)
            pipe.zadd(ROOM_INDEX, {key: expires_at})
            return pipe.execute()

        self.kv.strict(write)

    def delete(self, key: str) -> None:
        self.kv.strict(
            lambda c: c.pipeline(transaction=True).delete(key).zrem(ROOM_INDEX, key).execute()
        )

    def sweep(self, now: float) -> int:
        due = self.kv.strict(
            lambda c: c.zrangebyscore(ROOM_INDEX, "-inf", now, start=0, num=SWEEP_BATCH)
        )
        for key in due or []:
            self.delete(key.decode() if isinstance(key, bytes) else str(key))
        return len(due or [])


def room_store(store: KeyValueStore | RoomStore, clock: Callable[[], float]) -> RoomStore:
    """``store`` as a ``RoomStore``: Redis keeps rooms un-evictable, others wrap."""
    if isinstance(store, RedisKV):
        return RedisRoomStore(store)
    if isinstance(store, KVRoomStore | RedisRoomStore):
        return store
    return KVRoomStore(store, clock)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RoomState:
    """What students see of a room.

    Attributes:
        code: the room code.
        version: bumped by every publish that changed ``page`` or ``settings``.
        page: the lecturer's page key (``ggmi_app.page_list.PAGES_BY_KEY``).
        settings: URL key -> URL text of the lecturer's settings off their defaults.
    """

    code: str
    version: int
    page: str
    settings: dict[str, str]


# ------------------------------------------------------------------ codes and records


def normalise_code(text: object) -> str:
    """``text`` as a room code (spaces and dashes dropped, upper case), or ``RoomError``."""
    if not isinstance(text, str) or len(text) > 4 * CODE_LENGTH:
        raise RoomError("That is not a room code.")
    code = text.strip().replace(" ", "").replace("-", "").upper()
    if len(code) != CODE_LENGTH:
        raise RoomError(f"A room code has {CODE_LENGTH} characters; that one has {len(code)}.")
    if any(ch not in CODE_ALPHABET for ch in code):
        raise RoomError(
            "A room code uses only capital letters and digits 2-9 (no 0, O, 1, I or L)."
        )
    return code


def new_code() -> str:
    """A random room code (31**6, about 8.9e8, possible codes)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _is_text_map(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _decode(code: str, blob: bytes | None) -> dict[str, Any] | None:
    """The room record in ``blob``, or ``None`` if missing or not a valid record (logged)."""
    if blob is None:
        return None
    if len(blob) > MAX_RECORD_BYTES:
        _LOG.warning("ignored room %s: record larger than %d bytes", code, MAX_RECORD_BYTES)
        return None
    try:
        doc = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        _LOG.warning("ignored room %s: record is not JSON", code)
        return None
    ok = (
        isinstance(doc, dict)
        and doc.get("format") == ROOM_FORMAT
        and doc.get("code") == code
        and isinstance(doc.get("secret_sha256"), str)
        and len(doc["secret_sha256"]) == 64
        and isinstance(doc.get("version"), int)
        and not isinstance(doc.get("version"), bool)
        and doc["version"] >= 0
        and isinstance(doc.get("page"), str)
        and _is_text_map(doc.get("settings"))
    )
    if not ok:
        _LOG.warning("ignored room %s: record has the wrong shape", code)
        return None
    return doc


class Rooms:
    """Rooms in a ``KeyValueStore``: create, read, publish, refresh, close.

    Args:
        store: where room records live (shared by replicas when it is Redis).
        ttl_s: seconds a room lives after its last publish or refresh.
        clock: wall clock (seconds) for the records' time stamps.
    """

    def __init__(
        self, store: KeyValueStore | RoomStore, ttl_s: float = ROOM_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self.store, self.ttl_s, self.clock = room_store(store, clock), ttl_s, clock

    def _get(self, code: str) -> dict[str, Any] | None:
        """The open room's record; ``None`` if none or expired; ``RoomUnavailable``."""
        try:
            doc = _decode(code, self.store.get(ROOM_PREFIX + code))
        except StoreUnavailable as exc:
            raise RoomUnavailable(str(exc)) from None
        if doc is None:
            return None
        updated = doc.get("updated")
        if isinstance(updated, int | float) and updated + self.ttl_s <= self.clock():
            return None  # its time is up (the store removes it at a later sweep)
        return doc

    def _put(self, doc: dict[str, Any]) -> None:
        blob = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode("utf-8")
        if len(blob) > MAX_RECORD_BYTES:
            raise RoomError("These settings are too large to share.")
        try:
            self.store.put(ROOM_PREFIX + doc["code"], blob, doc["updated"] + self.ttl_s)
        except StoreUnavailable as exc:
            raise RoomUnavailable(str(exc)) from None

    def create(self, page: str, settings: Mapping[str, str]) -> tuple[str, str]:
        """Open a room showing ``page`` and ``settings``; return ``(code, secret)``.

        Raises:
            RoomError: no free code found.
            RoomUnavailable: the store did not answer.
        """
        try:
            self.store.sweep(self.clock())
        except StoreUnavailable as exc:
            raise RoomUnavailable(str(exc)) from None
        for _ in range(8):
            code = new_code()
            if self._get(code) is None:
                break
        else:
            raise RoomError("Could not find a free room code; please try again.")
        secret = secrets.token_urlsafe(24)
        now = self.clock()
        doc = {
            "format": ROOM_FORMAT, "code": code, "secret_sha256": _secret_hash(secret),
            "version": 1, "page": page, "settings": dict(settings),
            "created": now, "updated": now,
        }  # fmt: skip
        self._put(doc)
        return code, secret

    def read(self, code: str) -> RoomState | None:
        """The room ``code``; ``None`` if not open.

        Raises:
            RoomError: a malformed code.
            RoomUnavailable: the store did not answer (the room may well be open).
        """
        code = normalise_code(code)
        doc = self._get(code)
        if doc is None:
            return None
        return RoomState(code, doc["version"], doc["page"], dict(doc["settings"]))

    def _owned(self, code: str, secret: str) -> dict[str, Any]:
        """The record of ``code`` if ``secret`` is its secret, else ``RoomError``."""
        code = normalise_code(code)
        doc = self._get(code)
        if doc is None:
            raise RoomError(f"Room {code} is no longer open (it ended or expired).")
        given = _secret_hash(secret if isinstance(secret, str) else "")
        if not hmac.compare_digest(given, doc["secret_sha256"]):
            raise RoomError(f"Only the lecturer who opened room {code} can drive it.")
        return doc

    def verify(self, code: str, secret: str) -> str:
        """The normalised ``code`` if ``secret`` drives that open room, else ``RoomError``."""
        return str(self._owned(code, secret)["code"])

    def publish(self, code: str, secret: str, page: str, settings: Mapping[str, str]) -> int:
        """Show ``page`` and ``settings`` in the room; return its version.

        The version grows only when something changed; every publish renews the room's
        time to live.

        Raises:
            RoomError: a malformed code, a closed room, or the wrong secret.
            RoomUnavailable: the store did not answer (nothing is known to have changed).
        """
        doc = self._owned(code, secret)
        settings = dict(settings)
        if doc["page"] != page or doc["settings"] != settings:
            doc["version"] += 1
            doc["page"], doc["settings"] = page, settings
        doc["updated"] = self.clock()
        self._put(doc)
        return int(doc["version"])

    def close(self, code: str, secret: str) -> None:
        """End the room (students see it is closed); ``RoomError`` without its secret.

        ``RoomUnavailable`` if the store did not answer (the room is still open).
        """
        doc = self._owned(code, secret)
        try:
            self.store.delete(ROOM_PREFIX + doc["code"])
        except StoreUnavailable as exc:
            raise RoomUnavailable(str(exc)) from None


# ------------------------------------------------------------------ the process's rooms

_ROOMS: Rooms | None = None
_ROOMS_LOCK = threading.Lock()


class ClientLimiter:
    """At most ``limit`` events per client in any ``window_s`` seconds (this process).

    The table keeps at most ``max_clients`` clients; the least recently seen go first.
    """

    def __init__(
        self, limit: int, window_s: float, max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.limit, self.window_s, self.max_clients, self.clock = (
            limit,
            window_s,
            max_clients,
            clock,
        )
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait_s(self, client: str) -> float:
        """Seconds until ``client`` may act again (0: now)."""
        with self._lock:
            events = self._recent(client, self.clock())
            if len(events) < self.limit:
                return 0.0
            return events[0] + self.window_s - self.clock()

    def hit(self, client: str) -> None:
        """Count one event of ``client``."""
        with self._lock:
            now = self.clock()
            self._recent(client, now).append(now)
            self._events.move_to_end(client)
            while len(self._events) > self.max_clients:
                self._events.popitem(last=False)

    def _recent(self, client: str, now: float) -> deque[float]:
        events = self._events.setdefault(client, deque())
        while events and now - events[0] >= self.window_s:
            events.popleft()
        return events


_CREATES = ClientLimiter(CREATE_PER_CLIENT, CREATE_WINDOW_S)
_TRUSTED_CREATES = ClientLimiter(CREATE_PER_CLIENT_WITH_PASSPHRASE, CREATE_WINDOW_S)
_PASSPHRASE_MISSES = ClientLimiter(PASSPHRASE_FAILURES, CREATE_WINDOW_S)
_GUESSES = ClientLimiter(GUESSES_PER_CLIENT, GUESS_WINDOW_S)


def reset_limits() -> None:
    """Forget every client's counts (tests)."""
    global _CREATES, _TRUSTED_CREATES, _PASSPHRASE_MISSES, _GUESSES
    _CREATES = ClientLimiter(CREATE_PER_CLIENT, CREATE_WINDOW_S)
    _TRUSTED_CREATES = ClientLimiter(CREATE_PER_CLIENT_WITH_PASSPHRASE, CREATE_WINDOW_S)
    _PASSPHRASE_MISSES = ClientLimiter(PASSPHRASE_FAILURES, CREATE_WINDOW_S)
    _GUESSES = ClientLimiter(GUESSES_PER_CLIENT, GUESS_WINDOW_S)


def _minutes(seconds: float) -> int:
    return int(max(0.0, seconds)) // 60 + 1


def store_from_env(environ: Mapping[str, str] = os.environ) -> KeyValueStore:
    """Redis when ``GGMI_RESULT_CACHE`` names it (replicas share rooms), else memory."""
    url = environ.get(RESULT_CACHE_ENV, "").strip()
    if url.startswith(("redis://", "rediss://")):
        try:
            return RedisKV(url)
        except (ImportError, ValueError) as exc:
            _LOG.warning("rooms stay in this process: %s", exc)
    return MemoryKV(max_entries=4096)


def rooms() -> Rooms:
    """This process's ``Rooms`` (made on first use)."""
    global _ROOMS
    with _ROOMS_LOCK:
        if _ROOMS is None:
            _ROOMS = Rooms(store_from_env())
        return _ROOMS


def passphrase_from_env(environ: Mapping[str, str] = os.environ) -> str:
    """The lecturers' passphrase (``GGMI_ROOM_PASSPHRASE``), or "" when rooms are open to all."""
    return environ.get(PASSPHRASE_ENV, "").strip()


def _allow_create(now: float, client: str, passphrase: str) -> None:
    """Count one room creation, or ``RoomError`` over the session's or client's limit.

    With a deployer's passphrase set, it must be given (wrong ones are limited per
    client too); a lecturer who gives it has a higher limit per client, for lecturers
    sharing one address (a university's network).
    """
    expected = passphrase_from_env()
    limiter = _CREATES
    if expected:
        wait = _PASSPHRASE_MISSES.wait_s(client)
        if wait > 0:
            raise RoomError(f"Too many wrong passphrases; try again in {_minutes(wait)} min.")
        if not hmac.compare_digest(passphrase.encode(), expected.encode()):
            _PASSPHRASE_MISSES.hit(client)
            raise RoomError("Opening a room needs the lecturers' passphrase of this server.")
        limiter = _TRUSTED_CREATES
    mine = [t for t in st.session_state.get(_CREATED, []) if now - t < CREATE_WINDOW_S]
    if len(mine) >= CREATE_PER_SESSION:
        wait_s = CREATE_WINDOW_S - (now - mine[0])
        raise RoomError(
            f"You opened {len(mine)} rooms recently; try again in {_minutes(wait_s)} min."
        )
    wait = limiter.wait_s(client)
    if wait > 0:
        raise RoomError(
            f"Rooms were opened from your network address {limiter.limit} times recently; "
            f"try again in {_minutes(wait)} min."
        )
    limiter.hit(client)
    st.session_state[_CREATED] = [*mine, now]


# ------------------------------------------------------------------ session side


def _say(kind: str, text: str) -> None:
    st.session_state[_MESSAGE] = (kind, text)


def _published_settings() -> dict[str, str]:
    """The URL texts of this session's settings (written this run), lecture mode left out."""
    return {k: v for k, v in written_settings().items() if k not in NOT_FOLLOWED}


def _start_following(code: str) -> None:
    st.session_state[_FOLLOW] = code
    st.session_state.pop(_DETACHED, None)
    st.session_state[_VERSION] = None  # apply the room's state at the next run's start
    st.session_state.pop(_ROOM_PAGE, None)
    st.session_state.pop(_PENDING, None)
    st.session_state.pop(_MESSAGE, None)


def is_following() -> bool:
    """Whether this session follows a lecture room (read only; for page layouts)."""
    return bool(st.session_state.get(_FOLLOW))


def _stop_following(kind: str, text: str) -> None:
    code = st.session_state.pop(_FOLLOW, None)
    st.session_state.pop(_PENDING, None)
    st.session_state.pop(_ROOM_PAGE, None)
    if code:
        st.session_state[_DETACHED] = code
    st.query_params.pop(URL_KEY, None)
    _say(kind, text)


def _join(text: object) -> None:
    """Follow the room ``text`` names, or say why not (the room must be open).

    Codes of rooms that are not open count against the client's guesses.
    """
    client = clients.current_client()
    try:
        wait = _GUESSES.wait_s(client)
        if wait > 0:
            raise RoomError(
                f"Too many room codes that are not open were tried from your network "
                f"address; try again in {int(wait) + 1} s."
            )
        code = normalise_code(text)
        if rooms().read(code) is None:
            _GUESSES.hit(client)
            raise RoomError(
                f"No open room has the code {code}: it may have ended or expired, or the "
                "code is mistyped."
            )
    except RoomError as exc:
        _say("error", str(exc))
        return
    except RoomUnavailable:
        _say("error", _UNREACHABLE_JOIN)
        return
    _start_following(code)
    st.query_params[URL_KEY] = code


def _apply(state: RoomState, known: Keyed) -> None:
    """Make this session hold the room's settings (before widgets are drawn)."""
    texts: dict[str, str] = {}
    for key, param in known.items():
        if key in NOT_FOLLOWED:
            if st.session_state.get(key, param.default) != param.default:
                texts[key] = param.to_url(st.session_state[key])
            continue
        value = param.default
        if key in state.settings:
            try:
                value = param.parse(state.settings[key])
                texts[key] = state.settings[key]
            except ValueError:
                _LOG.warning("room %s: ignored bad value for %s", state.code, key)
        st.session_state[key] = value
    st.session_state[_VERSION] = state.version
    st.session_state[_ROOM_PAGE] = state.page
    # The URL says what the session now holds (one history entry).
    query = texts | {URL_KEY: state.code}
    try:
        st.query_params.from_dict(query)
    except StreamlitAPIException:  # a key bound to a widget may not be rewritten
        st.query_params.update(query)


def follow_room(page_key: str, known: Keyed) -> str | None:
    """First step of every run: join from ``?room=``, apply what the poll saw.

    Args:
        page_key: the page this run shows.
        known: every setting of the app (key -> param).

    Returns:
        The key of the lecturer's page when the session should move there, else None.
    """
    if _LEAD in st.session_state:
        return None
    url_room = st.query_params.get(URL_KEY)
    if url_room is not None and url_room != st.session_state.get(_URL_SEEN):
        st.session_state[_URL_SEEN] = url_room
        if url_room != st.session_state.get(_FOLLOW):
            _join(url_room)
            if _FOLLOW not in st.session_state:
                st.query_params.pop(URL_KEY, None)
    code = st.session_state.get(_FOLLOW)
    if not code:
        return None
    st.session_state[_HERE] = page_key
    pending = st.session_state.pop(_PENDING, None)
    if pending is None and st.session_state.get(_VERSION) is not None:
        # Settled on this version, but not necessarily on its page (a student who
        # clicked another page while following): a following student's page is the
        # lecturer's, so move back.
        room_page = st.session_state.get(_ROOM_PAGE)
        return room_page if room_page not in (None, page_key) else None
    if pending is not None:
        state = pending
    else:
        try:
            state = rooms().read(code)
        except RoomUnavailable:
            _mark_unreachable(code)
            return None  # keep the last state; the poll keeps trying
    if state is None:
        _stop_following("warning", f"Room {code} has ended; you are on your own now.")
        return None
    _apply(state, known)
    return state.page if state.page != page_key else None


@st.fragment(run_every=POLL_INTERVAL_S)
def _poll(code: str) -> None:
    """The student's look at the room: rerun the app when the lecturer changed something.

    It draws nothing: every follower runs it every ``POLL_INTERVAL_S``, so what it would
    draw (the status and the Detach button, drawn by the full run instead) would be
    sent again each time for nothing.
    """
    try:
        state = rooms().read(code)
    except RoomError:
        state = None
    except RoomUnavailable:
        # Unknown is not ended: keep the lecturer's last state and look again next time.
        if not st.session_state.get(_UNREACHABLE):
            _mark_unreachable(code)
            st.rerun(scope="app")  # once, to show why nothing moves
        return
    if st.session_state.pop(_UNREACHABLE, None):
        st.session_state.pop(_MESSAGE, None)
        if state is not None:
            st.session_state[_PENDING] = state
        st.rerun(scope="app")  # reachable again: drop the notice, catch up
    if state is None:
        _stop_following("warning", f"Room {code} has ended; you are on your own now.")
        st.rerun(scope="app")
    elif state.version != st.session_state.get(_VERSION) or state.page != st.session_state.get(
        _HERE, state.page
    ):
        st.session_state[_PENDING] = state
        st.rerun(scope="app")


def _following_status(code: str) -> None:
    """What a following student sees, with the way out (a full run: drops the poll)."""
    st.success(
        f"Following room **{code}**: this page and its settings follow the lecturer's. "
        "Detach to explore on your own."
    )
    st.button(
        "Detach (explore on my own)",
        key="ggmi_room_detach",
        on_click=_stop_following,
        args=("info", f"Detached from room {code}."),
        icon=":material/link_off:",
    )


_UNREACHABLE_JOIN: Final[str] = (
    "The lecture rooms cannot be reached right now (the server's store does not "
    "answer); try again in a moment."
)
#: Seconds between a lecturer's retries while the store does not answer.
RETRY_S: Final[float] = 2.0


def _mark_unreachable(code: str) -> None:
    st.session_state[_UNREACHABLE] = True
    _say(
        "warning",
        f"Room {code} cannot be reached right now. You keep the lecturer's last page and "
        "settings; the app keeps trying and catches up when it answers again.",
    )


@st.fragment(run_every=HEARTBEAT_S)
def _heartbeat(page_key: str) -> None:
    """Keep the lecturer's room open while their page is open, even when nothing changes."""
    _publish(page_key)


@st.fragment(run_every=RETRY_S)
def _retry_publish(page_key: str) -> None:
    """While the store does not answer, publish again every ``RETRY_S`` seconds."""
    _publish(page_key, settings=st.session_state.get(_UNSYNCED))
    if not st.session_state.get(_UNSYNCED):
        st.rerun(scope="app")  # published: drop the notice and this fragment


def _publish(page_key: str, settings: Mapping[str, str] | None = None) -> None:
    """Show this run's page and settings in the lecturer's room.

    A refusal (room ended, wrong key) ends driving; an unanswered store does not: the
    lecturer keeps the room and its key, and ``_retry_publish`` tries again.
    """
    lead = st.session_state.get(_LEAD)
    if not lead:
        return
    if settings is None or not isinstance(settings, dict):
        settings = _published_settings()
    try:
        rooms().publish(lead["code"], lead["secret"], page_key, settings)
    except RoomError as exc:
        del st.session_state[_LEAD]
        st.session_state.pop(_UNSYNCED, None)
        _say("warning", f"{exc} You no longer drive a room.")
        return
    except RoomUnavailable:
        st.session_state[_UNSYNCED] = dict(settings)
        _say(
            "warning",
            f"Room {lead['code']} cannot be reached right now. You still drive it; your "
            "changes reach the students as soon as it answers again.",
        )
        return
    if st.session_state.pop(_UNSYNCED, None) is not None:
        st.session_state.pop(_MESSAGE, None)


def _take_lead(code: str, secret: str, message: str) -> None:
    """This session drives room ``code`` from now on (it follows no room)."""
    st.session_state.pop(_FOLLOW, None)
    st.session_state.pop(_DETACHED, None)
    st.session_state[_LEAD] = {"code": code, "secret": secret}
    st.query_params.pop(URL_KEY, None)
    _say("success", message)


def _open_room(page_key: str) -> None:
    """Callback: open a room showing this page (limited per session and per client)."""
    try:
        passphrase = str(st.session_state.get(_PASSPHRASE, "") or "")
        _allow_create(time.monotonic(), clients.current_client(), passphrase)
        code, secret = rooms().create(page_key, _published_settings())
    except RoomError as exc:
        _say("error", str(exc))
        return
    except RoomUnavailable:
        _say("error", _UNREACHABLE_JOIN)
        return
    _take_lead(code, secret, f"Room {code} is open.")


def _resume() -> None:
    """Callback: drive again the room whose code and lecturer key were typed (a reload
    starts a new session, which does not know the key)."""
    code_text = st.session_state.get(_RESUME_CODE, "")
    secret = str(st.session_state.get(_RESUME_KEY, "")).strip()
    try:
        code = rooms().verify(code_text, secret)
    except RoomError as exc:
        _say("error", str(exc))
        return
    except RoomUnavailable:
        _say("error", _UNREACHABLE_JOIN)
        return
    _take_lead(code, secret, f"You drive room {code} again.")


def _lecturer_key(secret: str) -> None:
    """The lecturer's key, shown only on request (the screen may be projected)."""
    with st.popover("Lecturer key", icon=":material/key:"):
        st.caption(
            "Keep this to yourself: with the room code it lets a new tab or a reloaded "
            "page drive the room again (under Lecture room, 'Resume driving')."
        )
        st.code(secret, language=None)


def _resume_form() -> None:
    with st.popover("Resume driving a room", icon=":material/key:"):
        st.text_input("Room code", key=_RESUME_CODE, max_chars=4 * CODE_LENGTH)
        st.text_input("Lecturer key", key=_RESUME_KEY, type="password", max_chars=64)
        st.button("Resume driving", key="ggmi_room_resume", on_click=_resume)


def _close_room() -> None:
    lead = st.session_state.get(_LEAD)
    if not lead:
        return
    try:
        rooms().close(lead["code"], lead["secret"])
    except RoomUnavailable:
        _say(
            "warning",
            f"Room {lead['code']} cannot be reached right now; close it again in a moment.",
        )
        return
    except RoomError:
        pass
    st.session_state.pop(_LEAD, None)
    st.session_state.pop(_UNSYNCED, None)
    _say("info", f"Room {lead['code']} is closed.")


def _join_typed() -> None:
    _join(st.session_state.get(_JOIN_INPUT, ""))


def _room_link(code: str) -> str:
    """The link students open: this app's address with ``?room=CODE`` and nothing else."""
    base = ""
    try:
        base = (st.context.url or "").split("?", 1)[0]
    except Exception:  # no browser context (tests)
        base = ""
    return f"{base}?{URL_KEY}={code}"


def room_controls(page_key: str) -> None:
    """The sidebar's room box; for the lecturer, publish this run's page and settings."""
    lead = st.session_state.get(_LEAD)
    if lead:
        _publish(page_key)
        lead = st.session_state.get(_LEAD)
    following = st.session_state.get(_FOLLOW)
    with st.sidebar.expander("Lecture room", icon=":material/co_present:", expanded=True):
        message = st.session_state.get(_MESSAGE)
        if message:
            kind, text = message
            getattr(st, kind)(escape_markdown(text))
        if lead:
            st.markdown(f"You drive room **{lead['code']}**.")
            st.caption("Students open this link or type the code under Lecture room:")
            st.code(_room_link(lead["code"]), language=None)
            st.button("Close the room", key="ggmi_room_close", on_click=_close_room)
            _lecturer_key(lead["secret"])
            _heartbeat(page_key)
            if st.session_state.get(_UNSYNCED) is not None:
                _retry_publish(page_key)
            return
        if following:
            _following_status(following)
            _poll(following)
            return
        detached = st.session_state.get(_DETACHED)
        if detached:
            st.button(
                f"Re-join room {detached}",
                key="ggmi_room_rejoin",
                on_click=_join,
                args=(detached,),
                icon=":material/link:",
                type="primary",
            )
        st.text_input(
            "Room code", key=_JOIN_INPUT, max_chars=4 * CODE_LENGTH, placeholder="e.g. K7RM2Q"
        )
        st.button("Join the room", key="ggmi_room_join", on_click=_join_typed)
        if passphrase_from_env():
            st.text_input("Lecturers' passphrase", key=_PASSPHRASE, type="password", max_chars=128)
        st.button(
            "Open a room (you drive)",
            key="ggmi_room_open",
            on_click=_open_room,
            args=(page_key,),
            icon=":material/cast_for_education:",
        )
        _resume_form()
