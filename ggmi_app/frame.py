"""The frame around every page: what ``app.py`` runs before and after the page script.

``app.py`` hands the page scripts (``pages/N_*.py``, listed as data in
``ggmi_app.page_list``) to ``st.navigation``, which says which page this run shows, and
runs that page inside ``frame``:

1. ``begin_frame``: a student in a lecture room follows the lecturer (settings, page);
   a page move a callback asked for happens; the settings store takes what a new URL
   says and the URL what the store holds (``ggmi_app.state``); the page is set up
   (title, lecture-mode CSS) and the page list drawn at the top of the sidebar;
2. the page script runs (``StreamlitPage.run``): its widgets and layout, calling the
   ``ggmi_app`` components (``*_page`` modules);
3. ``end_frame``: below the page's controls, the lecture-mode switch, the lecture room
   and the settings file, also when the page stopped early (``st.stop``).

Every page script enters ``page_frame``, which draws the frame only when ``app.py`` did
not (a page script run alone: AppTest from its second run on, a fresh server in
Streamlit's ``pages/``-folder mode, ``streamlit run pages/...``).

The frame knows every setting of the app without running a page: each page's own
settings are data in ``ggmi_app.page_settings``. Nothing here imports a page script.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Any, Final, NoReturn
from urllib.parse import urlencode

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError
from streamlit.navigation.page import StreamlitPage

from ggmi_app.client import page_run_turn
from ggmi_app.layout import lecture_mode, lecture_switch, page_setup
from ggmi_app.page_list import (
    PAGES,
    PAGES_BY_KEY,
    SHARED_SETTINGS,
    SWITCH_KEY,
    PageSpec,
    all_settings,
    link_to,
    page_of,
    page_settings,
)
from ggmi_app.rooms import follow_room, room_controls
from ggmi_app.state import (
    Keyed,
    restore_state,
    session_url,
    settings_io,
    show_page,
    show_url_notices,
    sync_url,
    url_settings,
)
from ggmi_core.resources import project_root

ROOT: Final[Path] = project_root()


def navigation_pages() -> list[StreamlitPage]:
    """One ``st.Page`` per page script of ``PAGES``; the first one, Home, is the default.

    No icons: the list is hidden (the frame draws its own links), and Streamlit's front
    end would set a page's Material icon as the tab icon by fetching it from Google.
    """
    return [
        st.Page(ROOT / page.entry, title=page.title, default=True)
        if i == 0
        else st.Page(ROOT / page.entry, title=page.title, url_path=page.url_path)
        for i, page in enumerate(PAGES)
    ]


def _switch_to(key: str, known: Keyed) -> None:
    """Move this session to page ``key`` from the server side, settings and URL kept.

    Call before any widget is drawn. The settings store lives under keys no widget owns,
    so it survives the move as it is; the new page's URL carries the same settings.
    """
    others = {k: v for k, v in url_settings().items() if k not in known}
    with suppress(StreamlitPageNotFoundError):
        st.switch_page(PAGES_BY_KEY[key].entry, query_params=others | session_url(known))


_MOVE_KEY: Final[str] = "ggmi_move_browser"
_MOVE_SCRIPT: Final[str] = """<script>
(function go(tries) {
  const link = document.querySelector(".st-key-ggmi_move_browser a[href]");
  if (link) { window.location.replace(link.href); }
  else if (tries > 0) { setTimeout(function () { go(tries - 1); }, 100); }
})(50);
</script>"""


def page_address(page: PageSpec, query: Mapping[str, str]) -> str:
    """``page``'s address relative to the current one (so it works under any base path)."""
    encoded = urlencode(dict(query))
    return (page.url_path or "./") + (f"?{encoded}" if encoded else "")


def move_browser(page: PageSpec, query: Mapping[str, str]) -> NoReturn:
    """Load ``page`` with ``query`` in the browser itself, then end this run.

    For a student following a room. A server-side ``st.switch_page`` races the student's
    poll timer: the browser can send a poll with its previous page while the switch is
    under way, and the page goes blank (Streamlit 1.67 front end, "Bad delta path
    index"). A browser load has no such race; the new session re-joins from ``?room=``.
    """
    with st.container(key=_MOVE_KEY):  # the link is also the way without JavaScript
        st.info(f"Moving to the lecturer's page: [{page.title}]({page_address(page, query)})")
    # A constant script: the address reaches it only through Streamlit's own link.
    st.html(_MOVE_SCRIPT, unsafe_allow_javascript=True)
    st.stop()


#: On a narrow screen the sidebar lies over the page; Streamlit's own page list closes it
#: after a tap, our links (``page_links``) do not, so this constant script does. Added
#: once per browser page (the flag), it listens for taps on those links only.
_CLOSE_SIDEBAR_ON_NARROW_TAP: Final[str] = """<script>
(function () {
  if (window.ggmiCloseSidebarOnTap) { return; }
  window.ggmiCloseSidebarOnTap = true;
  document.addEventListener("click", function (event) {
    if (window.innerWidth >= 768) { return; }
    if (!event.target.closest || !event.target.closest(".st-key-ggmi_page_links a")) { return; }
    setTimeout(function () {
      var button = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
      if (button) { button.click(); }
    }, 0);
  }, true);
})();
</script>"""


def page_links(slot: Any) -> None:
    """The page list in ``slot`` (top of the sidebar; Streamlit's own list is off)."""
    with slot:
        for page in PAGES:
            link_to(page, page.title)
        st.html(_CLOSE_SIDEBAR_ON_NARROW_TAP, unsafe_allow_javascript=True)


def begin_page(title: str, known: Keyed) -> bool:
    """Restore the settings store from a new URL, write the URL, set the page up.

    Shows the notices about refused URL values. Returns whether lecture mode is on; the
    switch itself is drawn by ``end_page``, below the page's own controls.
    """
    restore_state(known)
    sync_url(known)
    lecture = page_setup(title, draw_switch=False)
    show_url_notices()
    return lecture


def end_page(shown: Keyed, key: str) -> None:
    """The sidebar's chrome, below the page's controls (the sliders come first).

    The lecture-mode switch, the lecture room (the lecturer publishes, students poll)
    and the settings file controls for ``shown`` (the shared settings and the page's own).
    """
    st.sidebar.divider()
    lecture_switch()
    room_controls(key)
    settings_io(shown, page=key)


def begin_frame(page: PageSpec, *, by_app: bool = True) -> None:
    """Everything before the page script runs (see the module docstring).

    ``by_app``: drawn by ``app.py`` (else by a page script run alone). Streamlit tells a
    widget drawn by ``app.py`` from the same widget drawn by a page script, so the two
    count as different pages for the widgets' seeding (``state.show_page``).

    Works with every setting of the app, not only this page's, so the URL keeps the
    other pages' settings while this one is shown.
    """
    known = all_settings()
    # A student in a lecture room takes the lecturer's settings, and page.
    room_page = follow_room(page.key, known)
    if room_page in PAGES_BY_KEY and room_page != page.key:
        move_browser(PAGES_BY_KEY[room_page], st.query_params.to_dict())
    target = st.session_state.pop(SWITCH_KEY, None)
    if target in PAGES_BY_KEY and target != page.key:
        _switch_to(target, known)
    show_page(page.key if by_app else f"{page.key} (page script alone)")
    links = st.sidebar.container(key="ggmi_page_links")
    begin_page(page.title, known)
    page_links(links)


def end_frame(page: PageSpec) -> None:
    """Everything after the page script: ``end_page`` with its settings and the shared ones."""
    end_page(dict(SHARED_SETTINGS) | page_settings(page.key), page.key)


#: The page whose frame this script thread is drawing (Streamlit runs a session's
#: script in a thread of its own), so a page script inside ``app.py`` draws no second one.
_CURRENT = threading.local()


@contextmanager
def _framed(page: PageSpec, *, by_app: bool) -> Iterator[bool]:
    if getattr(_CURRENT, "page", None) is not None:
        yield lecture_mode()  # inside app.py's frame already
        return
    # The whole run holds one of its client's turns (``client.page_run_turn``): many tabs
    # of one visitor cannot take the server's process from everyone else.
    with page_run_turn():
        begin_frame(page, by_app=by_app)
        _CURRENT.page = page.key
        try:
            yield lecture_mode()
        finally:
            _CURRENT.page = None
            # Also when the page stops early (``st.stop`` on settings that make no
            # scenario), so the switch, the room and the settings file are always there.
            end_frame(page)


def frame(shown: StreamlitPage) -> AbstractContextManager[bool]:
    """``app.py``: the frame around ``shown`` (``st.navigation``'s page); yields lecture mode."""
    return _framed(page_of(shown.url_path), by_app=True)


def page_frame(key: str) -> AbstractContextManager[bool]:
    """A page script: the frame around page ``key``; yields whether lecture mode is on.

    Inside ``app.py`` (a visitor's every run) the frame is there already and this only
    reads lecture mode. A page script run on its own (``AppTest.switch_page``, which runs
    the file alone, or ``streamlit run pages/...``) draws the frame itself.
    """
    return _framed(PAGES_BY_KEY[key], by_app=False)
