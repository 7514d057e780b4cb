"""The lecture-room store and its security, without Streamlit.

A room carries one lecturer's page and settings to many students (the session side is
``ggmi_app.rooms``). A room has a short *code* (six characters from an alphabet without
look-alikes such as 0/O and 1/I/L) that lets anyone *read* it, and a *secret* that lets
its lecturer publish to it and close it; the record keeps only the secret's SHA-256,
compared in constant time. Codes are checked strictly (length, alphabet) before any
lookup; a record that is malformed, too large or of another format is ignored.

Storage: a ``KeyValueStore`` from ``ggmi_app.result_store`` under its own key prefix, one
JSON document per room (never pickle), expiring ``ROOM_TTL_S`` after the lecturer's last
publish. In one process the store is in memory; with ``GGMI_RESULT_CACHE=redis://...``
it is Redis, so students on any replica follow a lecturer on any other. In Redis, room
records have no time to live, so a cache under memory pressure (``volatile-lru``) never
evicts them. A store that does not answer raises ``RoomUnavailable``: unknown, not ended.

Limits: room creation per client (the visitor's address, any number of tabs; optionally
behind a lecturers' passphrase, ``GGMI_ROOM_PASSPHRASE``) and guesses of codes of rooms
that are not open, per client, in this process (``ClientLimiter``); never one counter
for everyone. The per-session limit lives with the session (``ggmi_app.rooms``).
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

from ggmi_app.result_store import (
    RESULT_CACHE_ENV,
    KeyValueStore,
    MemoryKV,
    RedisKV,
    StoreUnavailable,
)

_LOG = logging.getLogger(__name__)


#: Characters of room codes: upper-case letters and digits without 0/O, 1/I/L.
CODE_ALPHABET: Final[str] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH: Final[int] = 6
#: Key prefix of rooms in the shared store (results use their own).
ROOM_PREFIX: Final[str] = "ggmi:room:v1:"
ROOM_FORMAT: Final[str] = "ggmi-room"
#: Seconds a room lives after the lecturer's last publish or heartbeat.
ROOM_TTL_S: Final[float] = 30 * 60.0
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


# ------------------------------------------------------------------ per-client limits


class ClientLimiter:
    """At most ``limit`` events per client in any ``window_s`` seconds (this process).

    The table keeps at most ``max_clients`` clients; the least recently seen go first.
    Thread-safe: every session of the process counts in the same table.
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

    def reset(self) -> None:
        """Forget every client's events."""
        with self._lock:
            self._events.clear()

    def _recent(self, client: str, now: float) -> deque[float]:
        events = self._events.setdefault(client, deque())
        while events and now - events[0] >= self.window_s:
            events.popleft()
        return events


#: Rooms opened per client (without, and with the deployer's passphrase), wrong
#: passphrases, and codes of rooms that are not open tried, per client.
CREATES = ClientLimiter(CREATE_PER_CLIENT, CREATE_WINDOW_S)
TRUSTED_CREATES = ClientLimiter(CREATE_PER_CLIENT_WITH_PASSPHRASE, CREATE_WINDOW_S)
PASSPHRASE_MISSES = ClientLimiter(PASSPHRASE_FAILURES, CREATE_WINDOW_S)
GUESSES = ClientLimiter(GUESSES_PER_CLIENT, GUESS_WINDOW_S)


def reset_limits() -> None:
    """Forget every client's counts (tests)."""
    for limiter in (CREATES, TRUSTED_CREATES, PASSPHRASE_MISSES, GUESSES):
        limiter.reset()


def minutes(seconds: float) -> int:
    """``seconds`` as whole minutes to wait, rounded up (at least 1)."""
    return int(max(0.0, seconds)) // 60 + 1


def passphrase_from_env(environ: Mapping[str, str] = os.environ) -> str:
    """The lecturers' passphrase (``GGMI_ROOM_PASSPHRASE``), or "" when rooms are open to all."""
    return environ.get(PASSPHRASE_ENV, "").strip()


def create_limiter(client: str, passphrase: str) -> ClientLimiter:
    """The limiter that counts ``client``'s room creations, or ``RoomError``.

    With a deployer's passphrase set, it must be given (wrong ones are limited per
    client too); a lecturer who gives it has a higher limit per client, for lecturers
    sharing one address (a university's network).
    """
    expected = passphrase_from_env()
    if not expected:
        return CREATES
    wait = PASSPHRASE_MISSES.wait_s(client)
    if wait > 0:
        raise RoomError(f"Too many wrong passphrases; try again in {minutes(wait)} min.")
    if not hmac.compare_digest(passphrase.encode(), expected.encode()):
        PASSPHRASE_MISSES.hit(client)
        raise RoomError("Opening a room needs the lecturers' passphrase of this server.")
    return TRUSTED_CREATES


def count_create(limiter: ClientLimiter, client: str) -> None:
    """Count one room creation of ``client``, or ``RoomError`` over its limit."""
    wait = limiter.wait_s(client)
    if wait > 0:
        raise RoomError(
            f"Rooms were opened from your network address {limiter.limit} times recently; "
            f"try again in {minutes(wait)} min."
        )
    limiter.hit(client)


# ------------------------------------------------------------------ the process's rooms

_ROOMS: Rooms | None = None
_ROOMS_LOCK = threading.Lock()


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
