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

The room store (codes, the secret's hash, records, expiry, per-client limits) is
``ggmi_app.room_store``, without Streamlit; this module holds the session controls:
open, join, detach, resume, follow, and the per-session creation limit. An open
lecturer page refreshes its room every ``HEARTBEAT_S``. A student applies only settings
that the app's parameters accept, and only known pages.

Unknown is not ended: when the store does not answer (Redis down, paused or slow), a
student keeps the lecturer's last state and keeps polling, and a lecturer keeps the
room and its key and publishes again every ``RETRY_S``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Final

import streamlit as st
from streamlit.errors import StreamlitAPIException

from ggmi_app import client as clients
from ggmi_app.messages import escape_markdown
from ggmi_app.room_store import (
    CODE_LENGTH,
    CREATE_PER_SESSION,
    CREATE_WINDOW_S,
    GUESSES,
    RoomError,
    RoomState,
    RoomUnavailable,
    count_create,
    create_limiter,
    minutes,
    normalise_code,
    passphrase_from_env,
    rooms,
)
from ggmi_app.scenario_params import LECTURE_KEY
from ggmi_app.state import Keyed, written_settings

_LOG = logging.getLogger(__name__)

#: Seconds between a lecturer page's refreshes of its room while nothing changes.
HEARTBEAT_S: Final[float] = 120.0
#: Seconds between a student's looks at the room.
POLL_INTERVAL_S: Final[float] = 0.75
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


def _allow_create(now: float, client: str, passphrase: str) -> None:
    """Count one room creation, or ``RoomError`` over the session's or client's limit."""
    limiter = create_limiter(client, passphrase)
    mine = [t for t in st.session_state.get(_CREATED, []) if now - t < CREATE_WINDOW_S]
    if len(mine) >= CREATE_PER_SESSION:
        wait_s = CREATE_WINDOW_S - (now - mine[0])
        raise RoomError(
            f"You opened {len(mine)} rooms recently; try again in {minutes(wait_s)} min."
        )
    count_create(limiter, client)
    st.session_state[_CREATED] = [*mine, now]


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
        wait = GUESSES.wait_s(client)
        if wait > 0:
            raise RoomError(
                f"Too many room codes that are not open were tried from your network "
                f"address; try again in {int(wait) + 1} s."
            )
        code = normalise_code(text)
        if rooms().read(code) is None:
            GUESSES.hit(client)
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
