"""A result cache shared by several server processes (replicas), and its storage backends.

``ggmi_app.compute`` keeps finished results in an in-process bounded cache; a single
machine needs nothing more. With ``GGMI_RESULT_CACHE=redis://host:port/db`` it also reads
and writes a ``SharedResults`` in Redis, so identical work asked of any replica is done
once (results are deterministic in the job: function, arguments, seed).

Layers:

* ``KeyValueStore``: bytes under string keys with a time to live. ``MemoryKV`` (one
  process) and ``RedisKV`` (shared; survives Redis being down or restarted: callers get
  misses, one warning per outage, and reconnection after a growing pause). The same small
  get/set-with-TTL API can hold other shared state later (for example lecture rooms)
  under another key prefix.
* ``SharedResults``: Python values in a ``KeyValueStore`` inside a signed envelope.

Trust: entries are unpickled only after their HMAC-SHA256 checks out, because an
allow-list unpickler would have to name numpy and pandas internals and still trust
anyone who can write to Redis. The key comes from ``GGMI_CACHE_SECRET``; without it each
process signs with its own random key, which is safe but means replicas cannot read each
other's entries (a warning says so): set the same secret on every replica.

Envelope (big-endian): magic ``b"GGMIRC"``, format version (1 byte), payload length
(8 bytes), HMAC-SHA256 (32 bytes) over magic, version, length, the entry's key and the
payload, then the payload (a pickle). Entries that are too short, have another magic or
version, a length that disagrees or exceeds ``max_bytes``, or a bad signature are
refused: a miss, logged, and later overwritten by a fresh result.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import pickle
import secrets
import struct
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol

from ggmi_app.memory_cache import MemoryCache

_LOG = logging.getLogger(__name__)

#: Environment variable naming the shared cache (unset or empty: none).
RESULT_CACHE_ENV: Final[str] = "GGMI_RESULT_CACHE"
#: Environment variable with the HMAC key of shared entries (same on every replica).
SECRET_ENV: Final[str] = "GGMI_CACHE_SECRET"
#: Shortest accepted secret, in characters.
MIN_SECRET_CHARS: Final[int] = 16
#: Envelope format; part of both the key and the envelope, bumped on any format change.
FORMAT_VERSION: Final[int] = 1
MAGIC: Final[bytes] = b"GGMIRC"
_HEADER = struct.Struct(">6sBQ32s")  # magic, version, payload length, HMAC
#: Key prefix of results; other shared state should use its own prefix.
RESULT_PREFIX: Final[str] = f"ggmi:result:v{FORMAT_VERSION}:"


class StoreUnavailable(RuntimeError):
    """The store did not answer (down, paused, slow or in an outage's pause): unknown."""


class KeyValueStore(Protocol):
    """Bytes under string keys, each with a time to live. Failures read as misses."""

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The stored bytes of each key (``None``: missing, expired or unreachable)."""
        ...

    def set(self, key: str, value: bytes, ttl_s: float) -> bool:
        """Store ``value`` for ``ttl_s`` seconds; False if it could not be stored."""
        ...

    def delete(self, key: str) -> None:
        """Forget ``key`` (no error if it is missing or the store is unreachable)."""
        ...


class MemoryKV:
    """A ``KeyValueStore`` in this process: at most ``max_entries``, oldest use dropped.

    For tests and for one-process deployments of state that would otherwise live in Redis.
    """

    def __init__(self, max_entries: int = 1024, clock: Callable[[], float] = time.monotonic):
        self.max_entries = max_entries
        self.clock = clock
        self._items = MemoryCache(max_entries, clock=clock)  # thread-safe

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [self._items.get(key) for key in keys]

    def set(self, key: str, value: bytes, ttl_s: float) -> bool:
        self._items.put(key, bytes(value), ttl_s)
        return True

    def delete(self, key: str) -> None:
        self._items.pop(key)


class RedisKV:
    """A ``KeyValueStore`` in Redis that keeps the app answering while Redis is down.

    Every call has short socket timeouts and no client-side retries. The first failure
    starts an outage: one warning, then calls return misses at once (no network) until
    the next retry time; the pause doubles from ``min_backoff_s`` up to ``max_backoff_s``.
    The first success after an outage logs one line and resets the pause.

    ``redis`` is imported here, so a deployment without a shared cache never loads it.
    """

    def __init__(
        self,
        url: str,
        timeout_s: float = 0.5,
        min_backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.url = url
        self.min_backoff_s, self.max_backoff_s = min_backoff_s, max_backoff_s
        self.clock = clock
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
        )
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._backoff = min_backoff_s
        self.outages = 0  # outages seen (for tests and logs)

    @property
    def available(self) -> bool:
        """False during an outage (until a retry succeeds)."""
        return self._down_since is None

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        got = self._attempt(lambda: self._client.mget(list(keys)))
        return [None] * len(keys) if got is None else list(got)

    def set(self, key: str, value: bytes, ttl_s: float) -> bool:
        ms = max(1, int(ttl_s * 1000))
        return self._attempt(lambda: self._client.set(key, value, px=ms)) is not None

    def delete(self, key: str) -> None:
        self._attempt(lambda: self._client.delete(key))

    def ping(self) -> bool:
        """True if Redis answers now (an outage's pause is respected)."""
        return self._attempt(self._client.ping) is not None

    def strict(self, call: Callable[[Any], Any]) -> Any:
        """``call(client)``'s result, or ``StoreUnavailable`` (never a silent miss).

        For state whose absence means something (a lecture room: missing is "ended",
        unreachable is "unknown"). Shares the outage bookkeeping of the other calls:
        during an outage's pause it raises at once, without touching the network.
        """
        marker = object()
        got = self._attempt(lambda: marker if (r := call(self._client)) is None else r)
        if got is None:
            raise StoreUnavailable(f"{_redacted(self.url)} did not answer")
        return None if got is marker else got

    def eviction_policy(self) -> str | None:
        """Redis's ``maxmemory-policy`` (None if it cannot be read, e.g. CONFIG is off)."""
        try:  # not through the outage bookkeeping: a refused CONFIG is no outage
            found = self._client.config_get("maxmemory-policy")
        except Exception:  # unreachable, or CONFIG renamed or refused (managed Redis)
            return None
        value = (found or {}).get("maxmemory-policy")
        return value.decode() if isinstance(value, bytes) else value

    def close(self) -> None:
        self._client.close()

    def _attempt(self, call: Callable[[], Any]) -> Any:
        """``call()``, or ``None`` if Redis is unreachable (outage bookkeeping here)."""
        with self._lock:
            if self._down_since is not None and self.clock() < self._retry_at:
                return None
        try:
            result = call()
        except self._errors as exc:
            self._failed(exc)
            return None
        self._succeeded()
        return True if result is None else result

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            now = self.clock()
            if self._down_since is None:
                self._down_since, self._backoff = now, self.min_backoff_s
                self.outages += 1
                _LOG.warning(
                    "shared result cache %s unreachable (%s); computing locally and "
                    "retrying in the background",
                    _redacted(self.url),
                    type(exc).__name__,
                )
            else:
                self._backoff = min(self._backoff * 2, self.max_backoff_s)
            self._retry_at = now + self._backoff

    def _succeeded(self) -> None:
        with self._lock:
            if self._down_since is None:
                return
            down_for = self.clock() - self._down_since
            self._down_since = None
            _LOG.warning(
                "shared result cache %s reachable again after %.0f s",
                _redacted(self.url),
                down_for,
            )


def _redacted(url: str) -> str:
    """``url`` without a password (``redis://:secret@host`` -> ``redis://***@host``)."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"


class SharedResults:
    """Pickled results in a ``KeyValueStore``, signed, size-capped and expiring.

    Args:
        store: where the envelopes live.
        secret: HMAC key (bytes); replicas that share results need the same one.
        max_bytes: largest payload written or accepted.
        ttl_s: seconds an entry lives.
        prefix: prepended to every key in the store (a namespace).
    """

    def __init__(
        self, store: KeyValueStore, secret: bytes, max_bytes: int = 8 * 1024 * 1024,
        ttl_s: float = 3600.0, prefix: str = RESULT_PREFIX,
    ) -> None:  # fmt: skip
        if len(secret) < MIN_SECRET_CHARS:
            raise ValueError(f"the cache secret must have at least {MIN_SECRET_CHARS} bytes")
        if max_bytes < 1 or ttl_s <= 0:
            raise ValueError("max_bytes and ttl_s must be positive")
        self.store, self.max_bytes, self.ttl_s, self.prefix = store, max_bytes, ttl_s, prefix
        self._secret = secret
        self.refused = 0  # entries refused (corrupt, oversized, wrong version, bad HMAC)

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        """The values found for ``keys`` (missing and refused keys are left out)."""
        found: dict[str, Any] = {}
        blobs = self.store.get_many([self.prefix + key for key in keys])
        for key, blob in zip(keys, blobs, strict=True):
            if blob is None:
                continue
            payload = self.open_envelope(key, blob)
            if payload is None:
                continue
            try:
                found[key] = pickle.loads(payload)
            except Exception as exc:  # signed by us, yet unreadable (say, a changed class)
                self._refuse(key, f"cannot be unpickled ({type(exc).__name__})")
        return found

    def put(self, key: str, payload: bytes) -> bool:
        """Store a pickled value; False if it is too large or the store failed."""
        if len(payload) > self.max_bytes:
            return False
        return self.store.set(self.prefix + key, self.seal(key, payload), self.ttl_s)

    def seal(self, key: str, payload: bytes) -> bytes:
        """The envelope of ``payload`` stored under ``key``."""
        return _HEADER.pack(MAGIC, FORMAT_VERSION, len(payload), self._mac(key, payload)) + payload

    def open_envelope(self, key: str, blob: bytes) -> bytes | None:
        """The payload of an envelope read under ``key``, or ``None`` (refused, logged)."""
        if len(blob) < _HEADER.size:
            return self._refuse(key, "shorter than its header")
        magic, version, length, mac = _HEADER.unpack_from(blob)
        payload = blob[_HEADER.size :]
        if magic != MAGIC:
            return self._refuse(key, "has no cache magic")
        if version != FORMAT_VERSION:
            return self._refuse(key, f"has format version {version}, not {FORMAT_VERSION}")
        if length > self.max_bytes or len(payload) > self.max_bytes:
            return self._refuse(key, f"is larger than {self.max_bytes} bytes")
        if length != len(payload):
            return self._refuse(key, "is truncated or padded")
        if not hmac.compare_digest(mac, self._mac(key, payload)):
            return self._refuse(key, "has a bad signature (another secret, or tampered)")
        return payload

    def _mac(self, key: str, payload: bytes) -> bytes:
        header = struct.pack(">6sBQ", MAGIC, FORMAT_VERSION, len(payload))
        digest = hmac.new(self._secret, header, hashlib.sha256)
        digest.update((self.prefix + key).encode())
        digest.update(b"\0")
        digest.update(payload)
        return digest.digest()

    def _refuse(self, key: str, reason: str) -> None:
        self.refused += 1
        _LOG.warning("refused shared cache entry %s: it %s", key, reason)
        return None


def secret_from_env(environ: Mapping[str, str] = os.environ) -> bytes:
    """``GGMI_CACHE_SECRET`` as bytes; unset or too short: a random per-process key.

    The random key keeps entries trustworthy but private to this process, so replicas
    would not share results: the warning says to set the variable.
    """
    raw = environ.get(SECRET_ENV, "")
    if len(raw) >= MIN_SECRET_CHARS:
        return raw.encode()
    reason = "is unset" if not raw else f"is shorter than {MIN_SECRET_CHARS} characters"
    _LOG.warning(
        "%s %s: signing shared cache entries with a random per-process key, so replicas "
        "will not reuse each other's results; set the same secret on every replica",
        SECRET_ENV,
        reason,
    )
    return secrets.token_bytes(32)


def shared_results_from_env(
    environ: Mapping[str, str] = os.environ, max_bytes: int = 8 * 1024 * 1024,
    ttl_s: float = 3600.0,
) -> SharedResults | None:  # fmt: skip
    """The shared cache that ``GGMI_RESULT_CACHE`` names, or ``None`` (unset, or invalid).

    Accepts ``redis://host:port/db`` (``rediss://`` for TLS). An unsupported scheme is
    logged and ignored: the app still runs with its in-process cache.
    """
    url = environ.get(RESULT_CACHE_ENV, "").strip()
    if not url:
        return None
    if not url.startswith(("redis://", "rediss://")):
        _LOG.warning("ignoring %s=%r: expected redis://host:port/db", RESULT_CACHE_ENV, url)
        return None
    try:
        store = RedisKV(url)
    except (ImportError, ValueError) as exc:
        _LOG.warning("ignoring %s: %s", RESULT_CACHE_ENV, exc)
        return None
    return SharedResults(store, secret_from_env(environ), max_bytes=max_bytes, ttl_s=ttl_s)
