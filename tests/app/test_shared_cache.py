"""The result cache shared by replicas (``ggmi_app.result_store``) against a real Redis.

Two ``ComputeService`` objects pointed at one ``redis-server`` stand for two replicas.
"""

from __future__ import annotations

import logging
import math
import pickle
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ggmi_app import result_store as rs
from ggmi_app.compute import ComputeService
from ggmi_app.job_keys import Job, canonical
from ggmi_core.config import ScenarioConfig
from ggmi_core.simulation import gap_point
from tests.redis_helpers import RedisServer, needs_redis

SECRET = b"a test secret of enough length"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def replica(
    url: str, secret: bytes = SECRET, workers: int = 0, **store_options: float
) -> ComputeService:
    """A service like one replica's, sharing results through Redis at ``url``."""
    store = rs.RedisKV(url, **store_options)
    return ComputeService(workers=workers, shared=rs.SharedResults(store, secret))


def raw_client(server: RedisServer):  # type: ignore[no-untyped-def]
    import redis

    return redis.Redis.from_url(server.url)


def store_key(job: Job) -> str:
    return rs.RESULT_PREFIX + job.key()


@needs_redis
def test_a_result_computed_on_one_replica_is_a_hit_on_another(redis_server: RedisServer) -> None:
    job = Job.of(gap_point, ScenarioConfig(K=3, seed=11), "K", 6, "js", 300)
    first, second = replica(redis_server.url, workers=1), replica(redis_server.url)
    try:
        [(row_a, gaps_a)] = first.run([job])
        [(row_b, gaps_b)] = second.run([job])
    finally:
        first.shutdown()
    assert row_a == row_b
    np.testing.assert_array_equal(gaps_a, gaps_b)
    assert (first.stats().computed, first.stats().remote_hits) == (1, 0)
    assert (second.stats().computed, second.stats().remote_hits) == (0, 1)
    # Another job is still a miss, on both.
    other = Job.of(gap_point, ScenarioConfig(K=3, seed=12), "K", 6, "js", 300)
    second.run([other])
    assert second.stats().computed == 1


@needs_redis
def test_entries_expire_in_redis_after_the_ttl(redis_server: RedisServer) -> None:
    service = ComputeService(
        workers=0,
        shared=rs.SharedResults(rs.RedisKV(redis_server.url), SECRET, ttl_s=30),
    )
    job = Job.of(math.factorial, 30)
    service.run([job])
    ttl_ms = raw_client(redis_server).pttl(store_key(job))
    assert 0 < ttl_ms <= 30_000


@needs_redis
def test_replicas_with_another_secret_refuse_each_others_entries(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    job = Job.of(math.factorial, 40)
    replica(redis_server.url).run([job])
    stranger = replica(redis_server.url, secret=b"some other secret, also long")
    with caplog.at_level(logging.WARNING, logger="ggmi_app.result_store"):
        assert stranger.run([job]) == [math.factorial(40)]
    assert stranger.stats().computed == 1
    assert stranger.shared is not None and stranger.shared.refused == 1
    assert "bad signature" in caplog.text


class _Planted:
    """A pickle that would create a file when loaded: it must never be loaded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.path,))


def _envelope(payload: bytes, version: int = rs.FORMAT_VERSION, length: int | None = None):
    header = struct.pack(">6sBQ32s", rs.MAGIC, version, len(payload) if length is None else length,
                         b"\0" * 32)  # fmt: skip
    return header + payload


def _bad_entries(job: Job, tmp_path: Path) -> dict[str, bytes]:
    signer = rs.SharedResults(rs.MemoryKV(), SECRET)
    good = signer.seal(job.key(), pickle.dumps(123))
    flipped = bytearray(good)
    flipped[-1] ^= 1
    huge = rs.SharedResults(rs.MemoryKV(), SECRET, max_bytes=10**7)
    return {
        "garbage": b"not an envelope at all, just bytes" * 3,
        "too short": good[:20],
        "wrong magic": b"XXXXXX" + good[6:],
        "wrong version": good[:6] + bytes([rs.FORMAT_VERSION + 1]) + good[7:],
        "truncated": good[:-3],
        "tampered": bytes(flipped),
        "oversized": huge.seal(job.key(), b"\0" * 200_000),
        "unsigned pickle": _envelope(pickle.dumps(_Planted(tmp_path / "planted"))),
    }


@needs_redis
@pytest.mark.parametrize(
    "kind",
    ["garbage", "too short", "wrong magic", "wrong version", "truncated", "tampered",
     "oversized", "unsigned pickle"],
)  # fmt: skip
def test_corrupt_oversized_and_foreign_entries_are_refused_and_recomputed(
    redis_server: RedisServer, tmp_path: Path, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    job = Job.of(math.factorial, 25)
    raw_client(redis_server).set(store_key(job), _bad_entries(job, tmp_path)[kind])
    shared = rs.SharedResults(rs.RedisKV(redis_server.url), SECRET, max_bytes=100_000)
    service = ComputeService(workers=0, shared=shared)
    with caplog.at_level(logging.WARNING, logger="ggmi_app.result_store"):
        assert service.run([job]) == [math.factorial(25)]
    assert (service.stats().computed, service.stats().remote_hits, shared.refused) == (1, 0, 1)
    assert "refused shared cache entry" in caplog.text
    assert not (tmp_path / "planted").exists()
    # The fresh result replaced the bad entry: a new replica now gets a hit.
    again = replica(redis_server.url)
    assert again.run([job]) == [math.factorial(25)]
    assert again.stats().remote_hits == 1


def test_a_result_too_large_for_the_shared_cache_is_not_written() -> None:
    kv = rs.MemoryKV()
    service = ComputeService(workers=0, shared=rs.SharedResults(kv, SECRET, max_bytes=1000))
    service.run([Job.of(bytes, 5000), Job.of(bytes, 10)])
    assert kv.get_many([rs.RESULT_PREFIX + Job.of(bytes, 5000).key()]) == [None]
    assert kv.get_many([rs.RESULT_PREFIX + Job.of(bytes, 10).key()]) != [None]


def _warnings(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(text in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


@needs_redis
def test_redis_killed_mid_run_then_restarted(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    service = replica(redis_server.url, min_backoff_s=0.2, max_backoff_s=0.4)

    def kill_after_first(done: int, total: int) -> None:
        if done == 1:
            redis_server.stop()

    with caplog.at_level(logging.WARNING, logger="ggmi_app.result_store"):
        jobs = [Job.of(math.factorial, n) for n in range(50, 56)]
        assert service.run(jobs, kill_after_first) == [math.factorial(n) for n in range(50, 56)]
        # Still down: more runs answer, computed here, and the outage is logged once.
        for n in range(60, 64):
            assert service.run([Job.of(math.factorial, n)]) == [math.factorial(n)]
            time.sleep(0.15)  # past a retry time now and then: retries fail quietly
        assert _warnings(caplog, "unreachable") == 1
        assert service.stats().computed == 10

        redis_server.start()  # same port, empty
        time.sleep(0.5)  # longer than the largest pause between retries
        assert service.run([Job.of(math.factorial, 70)]) == [math.factorial(70)]
        assert _warnings(caplog, "reachable again") == 1
    other = replica(redis_server.url)
    assert other.run([Job.of(math.factorial, 70)]) == [math.factorial(70)]
    assert other.stats().remote_hits == 1


def test_an_unreachable_redis_at_start_up_is_one_warning_and_local_work(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.redis_helpers import free_port

    service = replica(f"redis://127.0.0.1:{free_port()}/0", min_backoff_s=60)
    with caplog.at_level(logging.WARNING, logger="ggmi_app.result_store"):
        for n in range(3):
            assert service.run([Job.of(abs, -n)]) == [n]
    assert _warnings(caplog, "unreachable") == 1
    assert service.stats().computed == 3


def test_job_keys_are_the_same_in_another_process() -> None:
    job = Job.of(gap_point, ScenarioConfig(K=4, noise_std=0.25, seed=5), "K", 10, "js", 500)
    code = (
        "from ggmi_app.job_keys import Job\n"
        "from ggmi_core.config import ScenarioConfig\n"
        "from ggmi_core.simulation import gap_point\n"
        "print(Job.of(gap_point, ScenarioConfig(K=4, noise_std=0.25, seed=5), 'K', 10, 'js',"
        " 500).key())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.strip() == job.key()
    assert job.key().startswith("job1:")


def test_canonical_forms_tell_apart_what_may_change_a_result() -> None:
    assert canonical(1) != canonical(1.0) != canonical(True)
    assert canonical({"a": 1, "b": 2}) == canonical({"b": 2, "a": 1})
    assert canonical((1, 2)) != canonical([1, 2])
    assert canonical(0.1) != canonical(float(np.nextafter(0.1, 1.0)))  # one ulp apart
    assert canonical(np.arange(3.0)) != canonical(np.arange(3))
    assert canonical(ScenarioConfig(seed=1)) != canonical(ScenarioConfig(seed=2))
    with pytest.raises(TypeError):
        canonical({1, 2})


def test_jobs_without_a_canonical_form_stay_in_this_process() -> None:
    kv = rs.MemoryKV()
    service = ComputeService(workers=0, shared=rs.SharedResults(kv, SECRET))
    job = Job.of(sorted, {3, 1, 2})
    assert job.key().startswith("local:")
    assert service.run([job]) == [[1, 2, 3]]
    assert kv.get_many([rs.RESULT_PREFIX + job.key()]) == [None]


def test_memory_kv_expires_and_bounds_entries() -> None:
    now = [0.0]
    kv = rs.MemoryKV(max_entries=2, clock=lambda: now[0])
    kv.set("a", b"1", ttl_s=10)
    kv.set("b", b"2", ttl_s=100)
    kv.set("c", b"3", ttl_s=100)  # drops "a", the oldest
    assert kv.get_many(["a", "b", "c"]) == [None, b"2", b"3"]
    now[0] = 150.0
    assert kv.get_many(["b"]) == [None]


def test_settings_from_the_environment(caplog: pytest.LogCaptureFixture) -> None:
    assert rs.shared_results_from_env({}) is None
    with caplog.at_level(logging.WARNING, logger="ggmi_app.result_store"):
        assert rs.shared_results_from_env({"GGMI_RESULT_CACHE": "memcached://x"}) is None
        made = rs.shared_results_from_env(
            {"GGMI_RESULT_CACHE": "redis://127.0.0.1:1/0", "GGMI_CACHE_SECRET": "x" * 20}
        )
        assert isinstance(made, rs.SharedResults) and isinstance(made.store, rs.RedisKV)
        assert "random per-process key" not in caplog.text
        short = rs.secret_from_env({"GGMI_CACHE_SECRET": "short"})
    assert len(short) == 32 and "shorter than 16" in caplog.text
    assert rs.secret_from_env({"GGMI_CACHE_SECRET": "y" * 16}) == b"y" * 16
    assert rs.secret_from_env({}) != rs.secret_from_env({})  # random, per process
    with pytest.raises(ValueError, match="secret"):
        rs.SharedResults(rs.MemoryKV(), b"short")
