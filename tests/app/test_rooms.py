"""Lecture rooms: the store-level API (memory and a real Redis) and the sidebar flow.

The unit tests drive ``ggmi_app.room_store.Rooms`` directly; the AppTests run the real app
(``app.py``) as a lecturer session and student sessions sharing this process's rooms.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from streamlit.testing.v1 import AppTest

from ggmi_app import room_store
from ggmi_app.page_list import PAGES
from ggmi_app.result_store import MemoryKV, RedisKV
from ggmi_app.room_store import (
    CODE_ALPHABET,
    CODE_LENGTH,
    ROOM_PREFIX,
    RoomError,
    Rooms,
    RoomUnavailable,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from redis_helpers import RedisServer, needs_redis

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 60


class Clock:
    """A settable clock (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def memory_rooms(clock: Clock) -> Rooms:
    return Rooms(MemoryKV(clock=clock), ttl_s=60.0, clock=clock)


# ------------------------------------------------------------------ codes


def test_new_codes_have_the_length_and_alphabet_and_differ() -> None:
    codes = {room_store.new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
        assert room_store.normalise_code(code) == code


def test_code_alphabet_has_no_look_alikes() -> None:
    assert not set("0O1IL") & set(CODE_ALPHABET)


@pytest.mark.parametrize(
    ("text", "expected"), [("k7rm2q", "K7RM2Q"), (" K7R-M2Q ", "K7RM2Q"), ("k7r m2q", "K7RM2Q")]
)
def test_codes_are_normalised(text: str, expected: str) -> None:
    assert room_store.normalise_code(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "K7RM2", "K7RM2QQ", "K7RM2O", "K7RM21", "K7RM2!", "ABCDÉF", "x" * 500, None, 123456,
     "../../x", "K7RM2Q\n"[:5] + "\x00"],
)  # fmt: skip
def test_malformed_codes_are_refused(text: object, memory_rooms: Rooms) -> None:
    with pytest.raises(RoomError):
        room_store.normalise_code(text)
    if isinstance(text, str):
        with pytest.raises(RoomError):
            memory_rooms.read(text)


# ------------------------------------------------------------------ the store API


def test_create_then_read_shows_the_page_and_settings(memory_rooms: Rooms) -> None:
    code, secret = memory_rooms.create("tour", {"tour_step": "3", "K": "4"})
    state = memory_rooms.read(code)
    assert state is not None
    assert (state.page, state.settings, state.version) == ("tour", {"tour_step": "3", "K": "4"}, 1)
    raw = memory_rooms.store.get(ROOM_PREFIX + code)
    assert raw is not None
    doc = json.loads(raw)  # plain JSON, and the secret itself is not stored
    assert secret not in raw.decode() and len(doc["secret_sha256"]) == 64


def test_publish_bumps_the_version_only_on_change(memory_rooms: Rooms) -> None:
    code, secret = memory_rooms.create("home", {})
    assert memory_rooms.publish(code, secret, "home", {}) == 1
    assert memory_rooms.publish(code, secret, "home", {"K": "4"}) == 2
    assert memory_rooms.publish(code, secret, "home", {"K": "4"}) == 2
    assert memory_rooms.publish(code, secret, "tour", {"K": "4"}) == 3
    state = memory_rooms.read(code)
    assert state is not None and (state.version, state.page) == (3, "tour")


@pytest.mark.parametrize("wrong", ["", "guess", "x" * 40])
def test_publish_without_the_secret_changes_nothing(memory_rooms: Rooms, wrong: str) -> None:
    code, _ = memory_rooms.create("home", {"K": "2"})
    with pytest.raises(RoomError, match="Only the lecturer"):
        memory_rooms.publish(code, wrong, "tour", {"K": "5"})
    with pytest.raises(RoomError):
        memory_rooms.close(code, wrong)
    state = memory_rooms.read(code)
    assert state is not None and (state.page, state.settings, state.version) == (
        "home", {"K": "2"}, 1,
    )  # fmt: skip


def test_another_rooms_secret_does_not_drive(memory_rooms: Rooms) -> None:
    code_a, _ = memory_rooms.create("home", {})
    _, secret_b = memory_rooms.create("home", {})
    with pytest.raises(RoomError):
        memory_rooms.publish(code_a, secret_b, "tour", {})


def test_rooms_expire_unless_the_lecturer_publishes(memory_rooms: Rooms, clock: Clock) -> None:
    code, secret = memory_rooms.create("home", {})
    clock.now += 50
    memory_rooms.publish(code, secret, "home", {})  # renews the 60 s time to live
    clock.now += 50
    assert memory_rooms.read(code) is not None
    clock.now += 11
    assert memory_rooms.read(code) is None
    with pytest.raises(RoomError, match="no longer open"):
        memory_rooms.publish(code, secret, "home", {})


def test_closed_room_is_gone(memory_rooms: Rooms) -> None:
    code, secret = memory_rooms.create("home", {})
    memory_rooms.close(code, secret)
    assert memory_rooms.read(code) is None


@pytest.mark.parametrize(
    "blob",
    [b"\x80\x04pickle", b"[]", b'{"format": "ggmi-room"}', b"{" * 5000, b"x" * 20000,
     b'{"format":"ggmi-room","code":"OTHERC","secret_sha256":"' + b"0" * 64
     + b'","version":1,"page":"home","settings":{}}'],
)  # fmt: skip
def test_tampered_records_are_ignored(memory_rooms: Rooms, blob: bytes) -> None:
    code, secret = memory_rooms.create("home", {})
    memory_rooms.store.put(ROOM_PREFIX + code, blob, memory_rooms.clock() + 60)
    assert memory_rooms.read(code) is None
    with pytest.raises(RoomError):
        memory_rooms.publish(code, secret, "home", {})


def test_oversized_settings_are_refused(memory_rooms: Rooms) -> None:
    code, secret = memory_rooms.create("home", {})
    with pytest.raises(RoomError, match="too large"):
        memory_rooms.publish(code, secret, "home", {f"k{i}": "x" * 100 for i in range(200)})


@needs_redis
def test_rooms_in_redis_are_shared_between_processes_views(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    try:
        lecturer_side = Rooms(RedisKV(server.url), ttl_s=30)
        student_side = Rooms(RedisKV(server.url), ttl_s=30)  # another replica
        code, secret = lecturer_side.create("home", {})
        assert lecturer_side.publish(code, secret, "tour", {"tour_step": "4"}) == 2
        state = student_side.read(code)
        assert state is not None and state.settings == {"tour_step": "4"}
        with pytest.raises(RoomError):
            student_side.publish(code, "not-the-secret", "home", {})
        client = lecturer_side.store.kv._client  # type: ignore[attr-defined]
        # No Redis TTL (a cache's eviction must not end a lecture); the index holds
        # the time the room ends, 30 s after the last publish.
        assert client.pttl(ROOM_PREFIX + code) == -1
        ends = client.zscore(room_store.ROOM_INDEX, ROOM_PREFIX + code)
        assert ends is not None and 0 < ends - time.time() <= 30
        server.stop()  # Redis down: the room is unknown, not ended
        with pytest.raises(RoomUnavailable):
            student_side.read(code)
        with pytest.raises(RoomUnavailable):
            lecturer_side.publish(code, secret, "home", {})
    finally:
        server.stop()


# ------------------------------------------------------------------ the sidebar flow


@pytest.fixture
def fresh_rooms(monkeypatch: pytest.MonkeyPatch) -> Iterator[Rooms]:
    """A new in-memory room store for this test's sessions (and no creation history)."""
    made = Rooms(MemoryKV())
    monkeypatch.setattr(room_store, "_ROOMS", made)
    room_store.reset_limits()
    yield made
    room_store.reset_limits()


def _session(page: str | None = None, query: dict[str, str] | None = None) -> AppTest:
    """A new session on ``page`` (default: Home) with URL ``query``, run once.

    Started on the page script itself: from its second run on, AppTest runs the page
    script alone (Streamlit's ``pages/`` folder), framed by ``page_frame``; starting
    there keeps the frame's widgets (the room's inputs) the same widgets in every run.
    """
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(page or PAGES[0].entry)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _move_address(at: AppTest) -> str | None:
    """The address ``frame.move_browser`` sent this session's browser to, if any."""
    for element in at.info:
        found = re.fullmatch(r"Moving to the lecturer's page: \[.*\]\((.*)\)", element.value)
        if found:
            assert any("location.replace" in e.proto.body for e in at.get("html"))
            return found.group(1)
    return None


def _load_moved(at: AppTest) -> AppTest:
    """What the browser does with ``move_browser``: load that address in a new session."""
    address = _move_address(at)
    assert address is not None, "no browser move was asked for"
    path, _, query = address.partition("?")
    pages = {page.url_path or "./": page.entry for page in PAGES}
    assert path in pages, address
    return _session(pages[path], dict(parse_qsl(query)))


def _texts(at: AppTest) -> str:
    return " ".join(
        str(e.value) for kind in ("error", "warning", "info", "success") for e in getattr(at, kind)
    )


def test_lecturer_drives_and_students_follow(fresh_rooms: Rooms) -> None:
    lecturer = _session("pages/5_Guided_tour.py")
    lecturer.button(key="ggmi_room_open").click().run()
    lead = lecturer.session_state["_ggmi_room_lead"]
    code = lead["code"]
    assert lead["secret"] not in json.dumps(dict(lecturer.query_params))
    assert "room" not in lecturer.query_params
    assert any(code in c.value for c in lecturer.code)  # the link students open
    lecturer.button(key="tour_next").click().run()

    on_home = _session(query={"room": code})  # the lecturer is on the tour: move there
    assert _move_address(on_home) == f"Guided_tour?tour_step=2&room={code}"
    by_link = _load_moved(on_home)
    assert not by_link.exception and _move_address(by_link) is None
    assert by_link.session_state["tour_step"] == 2
    assert by_link.query_params["room"] == [code] or by_link.query_params["room"] == code
    typed = _session()
    typed.text_input(key="ggmi_room_join_code").input(code.lower()).run()
    typed.button(key="ggmi_room_join").click().run()
    typed = _load_moved(typed)
    assert typed.session_state["tour_step"] == 2

    lecturer.button(key="tour_next").click().run()
    for student in (by_link, typed):
        student.run()  # what the poll does: notice the new version, rerun the app
        assert student.session_state["tour_step"] == 3
        assert f"room **{code}**" in _texts(student)

    # Detach: the lecturer moves on, this student stays; re-join catches up.
    typed.button(key="ggmi_room_detach").click().run()
    lecturer.button(key="tour_next").click().run()
    by_link.run()
    typed.run()
    assert by_link.session_state["tour_step"] == 4
    assert typed.session_state["tour_step"] == 3
    assert "room" not in typed.query_params
    typed.button(key="ggmi_room_rejoin").click().run()
    assert typed.session_state["tour_step"] == 4
    assert not typed.exception and not by_link.exception


def test_a_following_student_on_another_page_is_moved_back(fresh_rooms: Rooms) -> None:
    """While following, the student's page is the lecturer's; after detaching, their own."""
    lecturer = _session("pages/5_Guided_tour.py")
    lecturer.button(key="ggmi_room_open").click().run()
    code = lecturer.session_state["_ggmi_room_lead"]["code"]
    student = _load_moved(_session(query={"room": code}))
    assert student.button(key="tour_next")  # followed from Home to the tour
    student.switch_page("pages/0_Home.py").run()  # the student clicks Home
    assert not student.exception, [e.value for e in student.exception]
    assert _move_address(student) == f"Guided_tour?room={code}", "not moved back"
    student.switch_page("pages/5_Guided_tour.py").run()
    student.button(key="ggmi_room_detach").click().run()
    student.switch_page("pages/0_Home.py").run()  # detached: free to go elsewhere
    assert _move_address(student) is None
    assert not [b for b in student.button if b.key == "tour_next"]


def test_a_reloaded_lecturer_resumes_with_the_code_and_key(fresh_rooms: Rooms) -> None:
    lecturer = _session("pages/5_Guided_tour.py")
    lecturer.button(key="ggmi_room_open").click().run()
    lead = lecturer.session_state["_ggmi_room_lead"]
    assert any(lead["secret"] == c.value for c in lecturer.code)  # in the key popover
    student = _load_moved(_session(query={"room": lead["code"]}))

    reloaded = _session("pages/5_Guided_tour.py")  # a reload: a new session, no key
    for code, key, refusal in (
        (lead["code"], "not-the-key", "Only the lecturer"),
        ("K7RM2O", lead["secret"], "room code"),
    ):
        reloaded.text_input(key="ggmi_room_resume_code").input(code)
        reloaded.text_input(key="ggmi_room_resume_key").input(key)
        reloaded.button(key="ggmi_room_resume").click().run()
        assert "_ggmi_room_lead" not in reloaded.session_state
        assert any(refusal in e.value for e in reloaded.error), _texts(reloaded)
    reloaded.text_input(key="ggmi_room_resume_code").input(lead["code"].lower())
    reloaded.text_input(key="ggmi_room_resume_key").input(lead["secret"])
    reloaded.button(key="ggmi_room_resume").click().run()
    assert reloaded.session_state["_ggmi_room_lead"]["code"] == lead["code"]
    assert lead["secret"] not in json.dumps(dict(reloaded.query_params))
    reloaded.button(key="tour_next").click().run()  # the resumed lecturer drives
    student.run()
    assert student.session_state["tour_step"] == 2


def test_students_keep_their_own_lecture_mode(fresh_rooms: Rooms) -> None:
    lecturer = _session(query={"lecture": "1", "K": "4"})
    lecturer.button(key="ggmi_room_open").click().run()
    code = lecturer.session_state["_ggmi_room_lead"]["code"]
    state = fresh_rooms.read(code)
    assert state is not None and state.settings == {"K": "4"}
    student = _session(query={"room": code})
    assert student.session_state["K"] == 4
    assert student.session_state["lecture"] is False


@pytest.mark.parametrize("bad", ["ZZZZZZ", "K7RM2O", "abc", "K7RM2Q<script>"])
def test_forged_or_malformed_codes_follow_nothing(fresh_rooms: Rooms, bad: str) -> None:
    lecturer = _session(query={"K": "4"})
    lecturer.button(key="ggmi_room_open").click().run()
    student = _session(query={"room": bad})
    assert not student.exception
    assert student.session_state["K"] == 2  # the default: nothing was followed
    assert "_ggmi_room_follow" not in student.session_state
    message = _texts(student)
    assert "room code" in message or "No open room" in message, message
    typed = _session()
    typed.text_input(key="ggmi_room_join_code").input(bad).run()
    typed.button(key="ggmi_room_join").click().run()
    assert not typed.exception and "_ggmi_room_follow" not in typed.session_state
    assert typed.error, "a refused code must say so"


def test_a_session_cannot_open_rooms_without_limit(fresh_rooms: Rooms) -> None:
    at = _session()
    for _ in range(room_store.CREATE_PER_SESSION):
        at.button(key="ggmi_room_open").click().run()
        at.button(key="ggmi_room_close").click().run()
    at.button(key="ggmi_room_open").click().run()
    assert "_ggmi_room_lead" not in at.session_state
    assert any("rooms recently" in e.value for e in at.error)


def test_a_closed_room_releases_its_students(fresh_rooms: Rooms) -> None:
    lecturer = _session()
    lecturer.button(key="ggmi_room_open").click().run()
    code = lecturer.session_state["_ggmi_room_lead"]["code"]
    student = _session(query={"room": code})
    lecturer.button(key="ggmi_room_close").click().run()
    student.run()
    assert "_ggmi_room_follow" not in student.session_state
    assert "has ended" in _texts(student)
    assert student.button(key="ggmi_room_rejoin")  # offered, though the room is gone


# ------------------------------------------------------------------ replays of issue 24


def _wait_until(check: object, timeout_s: float, step: object) -> bool:
    """Call ``step()`` until ``check()`` holds or ``timeout_s`` passes; whether it held."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        step()  # type: ignore[operator]
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.25)
    return False


@needs_redis
def test_a_3s_redis_pause_leaves_the_room_driven_and_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replay: ``CLIENT PAUSE 3000 ALL`` during a lecture ended it for everyone."""
    import redis

    server = RedisServer(tmp_path)
    server.start()
    try:
        monkeypatch.setattr(room_store, "_ROOMS", Rooms(RedisKV(server.url)))
        room_store.reset_limits()
        lecturer = _session("pages/5_Guided_tour.py")
        lecturer.button(key="ggmi_room_open").click().run()
        lead = dict(lecturer.session_state["_ggmi_room_lead"])
        lecturer.button(key="tour_next").click().run()
        student = _load_moved(_session(query={"room": lead["code"]}))
        assert student.session_state["tour_step"] == 2

        admin = redis.Redis.from_url(server.url)
        admin.execute_command("CLIENT", "PAUSE", 3000, "ALL")
        lecturer.button(key="tour_next").click().run()  # a change the store cannot take
        student.run()  # the poll: the store does not answer
        assert not lecturer.exception and not student.exception
        # Unknown, not ended: the lecturer still drives (and has the key), the student
        # still follows with the last state; both are told why nothing moves.
        assert lecturer.session_state["_ggmi_room_lead"] == lead
        assert lecturer.session_state["tour_step"] == 3
        assert "cannot be reached" in _texts(lecturer)
        assert "You no longer drive" not in _texts(lecturer)
        assert student.session_state["_ggmi_room_follow"] == lead["code"]
        assert student.session_state["tour_step"] == 2
        assert "has ended" not in _texts(student)
        assert "cannot be reached" in _texts(student)

        # After the pause (and the client's reconnection pause), the lecturer's retry
        # publishes the change and the student catches up; nobody had to do anything.
        assert _wait_until(
            lambda: "_ggmi_room_unsynced" not in lecturer.session_state, 20, lecturer.run
        ), _texts(lecturer)
        assert _wait_until(lambda: student.session_state["tour_step"] == 3, 10, student.run)
        assert student.session_state["_ggmi_room_follow"] == lead["code"]
        assert lecturer.session_state["_ggmi_room_lead"] == lead
        assert "cannot be reached" not in _texts(student) + _texts(lecturer)
    finally:
        server.stop()


@needs_redis
def test_a_full_redis_evicts_cache_entries_never_a_room(tmp_path: Path) -> None:
    """Replay: under memory pressure the room key itself was evicted (issue 24).

    Redis as ``run_stack.sh`` and ``compose.yaml`` start it (volatile-lru), with a small
    ``maxmemory``, filled with signed result-cache entries far beyond it.
    """
    from ggmi_app.result_store import SharedResults

    server = RedisServer(tmp_path, "--maxmemory", "3mb", "--maxmemory-policy", "volatile-lru")
    server.start()
    try:
        store = RedisKV(server.url)
        lecture = Rooms(store)
        code, secret = lecture.create("tour", {"tour_step": "5"})
        cache = SharedResults(store, b"x" * 32)
        payload = bytes(64 * 1024)
        for i in range(200):  # 12.8 MB of cache entries into 3 MB
            cache.put(f"job1:{i:064x}", payload)
        info = store._client.info("stats")  # type: ignore[attr-defined]
        assert info["evicted_keys"] > 100, "the cache never came under memory pressure"
        state = lecture.read(code)
        assert state is not None and state.settings == {"tour_step": "5"}
        assert lecture.publish(code, secret, "tour", {"tour_step": "6"}) == 2
        assert Rooms(RedisKV(server.url)).read(code).settings == {"tour_step": "6"}  # type: ignore[union-attr]
    finally:
        server.stop()


@pytest.fixture
def as_client(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Which client (address) the next AppTest run comes from: ``who["client"] = ...``."""
    from ggmi_app import client

    who = {"client": "ip:192.0.2.1"}
    monkeypatch.setattr(client, "current_client", lambda: who["client"])
    return who


def test_a_room_flood_blocks_only_the_flooder(
    fresh_rooms: Rooms, as_client: dict[str, str]
) -> None:
    """Replay: 20 sessions x 3 rooms stopped every lecturer for 10 minutes."""
    as_client["client"] = "ip:203.0.113.66"
    opened = 0
    for _ in range(20):  # twenty fresh sessions (tabs) of one address
        tab = _session()
        for _ in range(room_store.CREATE_PER_SESSION):
            tab.button(key="ggmi_room_open").click().run()
            if "_ggmi_room_lead" in tab.session_state:
                opened += 1
                tab.button(key="ggmi_room_close").click().run()
    assert opened == room_store.CREATE_PER_CLIENT
    assert "network address" in _texts(tab)

    as_client["client"] = "ip:198.51.100.7"  # a lecturer elsewhere, a fresh session
    lecturer = _session()
    lecturer.button(key="ggmi_room_open").click().run()
    assert "_ggmi_room_lead" in lecturer.session_state, _texts(lecturer)


def test_room_code_guessing_is_throttled_per_client(
    fresh_rooms: Rooms, as_client: dict[str, str]
) -> None:
    """Replay: 150 guesses in 6 s; now a client gets ``GUESSES_PER_CLIENT`` per window."""
    lecturer = _session()
    lecturer.button(key="ggmi_room_open").click().run()
    code = lecturer.session_state["_ggmi_room_lead"]["code"]
    wrong = next(c for c in ("AAAAAA", "BBBBBB") if c != code)

    as_client["client"] = "ip:203.0.113.66"
    guesser = _session()
    for _ in range(room_store.GUESSES_PER_CLIENT):
        guesser.text_input(key="ggmi_room_join_code").input(wrong).run()
        guesser.button(key="ggmi_room_join").click().run()
        assert "No open room" in _texts(guesser)
    guesser.text_input(key="ggmi_room_join_code").input(code).run()
    guesser.button(key="ggmi_room_join").click().run()  # even the right code: wait first
    assert "_ggmi_room_follow" not in guesser.session_state
    assert "Too many room codes" in _texts(guesser)

    as_client["client"] = "ip:198.51.100.7"  # a student elsewhere joins at once
    student = _session()
    student.text_input(key="ggmi_room_join_code").input(code).run()
    student.button(key="ggmi_room_join").click().run()
    assert student.session_state.get("_ggmi_room_follow") == code


def test_a_deployers_passphrase_guards_room_creation(
    fresh_rooms: Rooms, as_client: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(room_store.PASSPHRASE_ENV, "blue lecture hall")
    visitor = _session()
    visitor.button(key="ggmi_room_open").click().run()
    assert "_ggmi_room_lead" not in visitor.session_state
    assert "passphrase" in _texts(visitor)
    visitor.text_input(key="ggmi_room_passphrase").input("blue lecture hall").run()
    visitor.button(key="ggmi_room_open").click().run()
    assert "_ggmi_room_lead" in visitor.session_state


def test_the_room_store_loads_without_streamlit() -> None:
    """The store and its security are testable and usable without the UI framework."""
    code = "import sys, ggmi_app.room_store; print('streamlit' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
