"""The page loader, and how every page run begins.

The page list itself is data in ``ggmi_app.page_list`` (``PAGES``, re-exported here for
the entry files). This module imports the page modules (``page_module``). A page is a
module in ``ggmi_app`` with:

* ``SETTINGS``: its own settings as ``{key: Param}``, keys carrying the page's prefix;
* ``main(lecture: bool) -> None``: draws the page (widgets, cached calls, layout);
* optionally ``PRESETS`` (label -> ``{key: value}``), drawn by the page itself.

``pages/N_*.py`` are two-line entry files calling ``run_page``; ``app.py`` builds the
navigation from ``PAGES`` and ``page_links`` draws the page list in the sidebar; the soak
script and the tests read ``PAGES`` too. Adding a page means: its figure module, its page
module, one ``PageSpec`` in ``ggmi_app.page_list`` (and its entry file), its tests.

Page modules are imported by name (``importlib``) when first needed; a page module may
import ``ggmi_app.page_list`` but never this loader, so the imports form no circle.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from types import ModuleType
from typing import Any, Final, NoReturn
from urllib.parse import urlencode

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from ggmi_app.layout import lecture_switch, page_setup
from ggmi_app.page_list import (
    PAGES,
    PAGES_BY_KEY,
    SHARED_SETTINGS,
    SWITCH_KEY,
    PageSpec,
    link_to,
    record_page_settings,
    request_switch,
)
from ggmi_app.rooms import follow_room, room_controls
from ggmi_app.state import (
    Keyed,
    restore_state,
    session_url,
    settings_io,
    show_url_notices,
    sync_url,
    url_settings,
)
from ggmi_core.resources import project_root

ROOT: Final[Path] = project_root()
#: Re-exported for the entry files, which import this module only.
__all__ = [
    "PAGES",
    "PAGES_BY_KEY",
    "ROOT",
    "SHARED_SETTINGS",
    "PageSpec",
    "all_settings",
    "begin_page",
    "end_page",
    "link_to",
    "move_browser",
    "page_address",
    "page_links",
    "page_module",
    "page_settings",
    "request_switch",
    "run_page",
]


def page_module(page: PageSpec) -> ModuleType:
    """``page``'s module, imported on first use; its settings are recorded in the page list."""
    module = importlib.import_module(page.module_name)
    record_page_settings(page.key, module.SETTINGS)
    return module


def page_settings(page: PageSpec) -> Keyed:
    """``page``'s own settings (``{key: Param}``), importing its module if needed."""
    return page_module(page).SETTINGS


def all_settings() -> dict:
    """Every setting of the app: the shared ones and each page's own."""
    known = dict(SHARED_SETTINGS)
    for page in PAGES:
        known |= page_settings(page)
    return known


def _switch_to(key: str, known: Keyed) -> None:
    """Move this session to page ``key`` from the server side, settings and URL kept.

    Call before any widget is drawn. A switch the server starts reaches the new page
    without the browser's widget values, so every setting is first re-set through the
    Session State API (which survives it). A page run on its own (tests) cannot move.
    """
    for setting in known:
        if setting in st.session_state:
            st.session_state[setting] = st.session_state[setting]
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


def begin_page(title: str, known: Keyed, key: str) -> bool:
    """Start a page run: restore the one state, write the URL, set the page up.

    Shows the notices about refused URL values. Returns whether lecture mode is on; the
    switch itself is drawn by ``end_page``, below the page's own controls.
    """
    restore_state(known, page=key)
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


def run_page(key: str) -> None:
    """Run the page ``key``: ``begin_page`` with every setting of the app, then its ``main``.

    Restoring all settings, not only this page's, keeps the other pages' settings alive
    while this one is shown.
    """
    page = PAGES_BY_KEY[key]
    known = all_settings()
    # A student in a lecture room takes the lecturer's settings, and page.
    room_page = follow_room(key, known)
    if room_page in PAGES_BY_KEY and room_page != key:
        move_browser(PAGES_BY_KEY[room_page], st.query_params.to_dict())
    target = st.session_state.pop(SWITCH_KEY, None)
    if target in PAGES_BY_KEY and target != key:
        _switch_to(target, known)
    links = st.sidebar.container(key="ggmi_page_links")
    lecture = begin_page(page.title, all_settings(), page.key)
    page_links(links)
    try:
        page_module(page).main(lecture)
    finally:
        # Drawn after the page, also when it stops early (``st.stop`` on settings that
        # make no scenario), so the switch and the room are always there.
        end_page(dict(SHARED_SETTINGS) | page_settings(page), key)
