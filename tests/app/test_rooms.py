"""Lecture rooms: the store-level API (memory and a real Redis) and the sidebar flow.

The unit tests drive ``ggmi_app.rooms.Rooms`` directly; the AppTests run the real app
(``app.py``) as a lecturer session and student sessions sharing this process's rooms.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from streamlit.testing.v1 import AppTest

from ggmi_app import rooms
from ggmi_app.registry import PAGES
from ggmi_app.result_store import MemoryKV, RedisKV
from ggmi_app.rooms import CODE_ALPHABET, CODE_LENGTH, ROOM_PREFIX, RoomError, Rooms

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
    codes = {rooms.new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
        assert rooms.normalise_code(code) == code


def test_code_alphabet_has_no_look_alikes() -> None:
    assert not set("0O1IL") & set(CODE_ALPHABET)


@pytest.mark.parametrize(
    ("text", "expected"), [("k7rm2q", "K7RM2Q"), (" K7R-M2Q ", "K7RM2Q"), ("k7r m2q", "K7RM2Q")]
)
def test_codes_are_normalised(text: str, expected: str) -> None:
    assert rooms.normalise_code(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "K7RM2", "K7RM2QQ", "K7RM2O", "K7RM21", "K7RM2!", "ABCDÉF", "x" * 500, None, 123456,
     "../../x", "K7RM2Q\n"[:5] + "\x00"],
)  # fmt: skip
def test_malformed_codes_are_refused(text: object, memory_rooms: Rooms) -> None:
    with pytest.raises(RoomError):
        rooms.normalise_code(text)
    if isinstance(text, str):
        with pytest.raises(RoomError):
            memory_rooms.read(text)


# ------------------------------------------------------------------ the store API


def test_create_then_read_shows_the_page_and_settings(memory_rooms: Rooms) -> None:
    code, secret = memory_rooms.create("tour", {"tour_step": "3", "K": "4"})
    state = memory_rooms.read(code)
    assert state is not None
    assert (state.page, state.settings, state.version) == ("tour", {"tour_step": "3", "K": "4"}, 1)
    raw = memory_rooms.store.get_many([ROOM_PREFIX + code])[0]
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
    memory_rooms.store.set(ROOM_PREFIX + code, blob, 60)
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
        ttl_ms = lecturer_side.store._client.pttl(ROOM_PREFIX + code)  # type: ignore[attr-defined]
        assert 0 < ttl_ms <= 30_000
        server.stop()  # Redis down: reads miss, publishing says the room is gone
        assert student_side.read(code) is None
        with pytest.raises(RoomError):
            lecturer_side.publish(code, secret, "home", {})
    finally:
        server.stop()


# ------------------------------------------------------------------ the sidebar flow


@pytest.fixture
def fresh_rooms(monkeypatch: pytest.MonkeyPatch) -> Iterator[Rooms]:
    """A new in-memory room store for this test's sessions (and no creation history)."""
    made = Rooms(MemoryKV())
    monkeypatch.setattr(rooms, "_ROOMS", made)
    monkeypatch.setattr(rooms, "_PROCESS_CREATED", rooms.deque())
    yield made


def _session(page: str | None = None, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if page:
        at.switch_page(page)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _move_address(at: AppTest) -> str | None:
    """The address ``registry.move_browser`` sent this session's browser to, if any."""
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
    for _ in range(rooms.CREATE_PER_SESSION):
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
