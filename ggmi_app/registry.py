"""The app's pages, in reading order, and how every page run begins.

One ``PageSpec`` per page. A page is a module in ``ggmi_app`` with:

* ``SETTINGS``: its own settings as ``{key: Param}``, keys carrying the page's prefix;
* ``main(lecture: bool) -> None``: draws the page (widgets, cached calls, layout);
* optionally ``PRESETS`` (label -> ``{key: value}``), drawn by the page itself.

``pages/N_*.py`` are two-line entry files calling ``run_page``; ``app.py`` builds the
navigation from ``PAGES`` and ``page_links`` draws the page list in the sidebar; the soak
script and the tests read ``PAGES`` too. Adding a page means: its figure module, its page
module, one entry here (and its entry file), its tests.

Page modules are imported by name when first needed, so a page module may import this
registry (Home lists the pages) without an import cycle.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final, NoReturn
from urllib.parse import urlencode

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from ggmi_app.layout import lecture_switch, page_setup
from ggmi_app.rooms import follow_room, room_controls
from ggmi_app.scenario_params import SHARED_SCHEMA
from ggmi_app.state import (
    Keyed,
    keyed,
    restore_state,
    session_url,
    settings_io,
    show_url_notices,
    sync_url,
    url_settings,
)
from ggmi_core.resources import project_root

ROOT: Final[Path] = project_root()


@dataclass(frozen=True)
class PageSpec:
    """One page of the app.

    Attributes:
        key: short name (``run_page(key)``, settings-file names).
        title: sidebar and browser-tab title.
        link_label: text of the link on Home.
        description: one line under that link.
        icon: a Streamlit material icon (emoji do not render without an emoji font).
        entry: the entry file relative to the repository root (the first page is the
            default one, at the app's root URL).
        module_name: the ``ggmi_app`` module holding ``SETTINGS`` and ``main``.
        url_path: the page's address below the app's root ("" for the default page).
    """

    key: str
    title: str
    link_label: str
    description: str
    icon: str
    entry: str
    module_name: str
    url_path: str

    def module(self) -> ModuleType:
        """The page module (imported on first use)."""
        return importlib.import_module(self.module_name)

    def settings(self) -> Keyed:
        """This page's own settings (``{key: Param}``)."""
        return self.module().SETTINGS


PAGES: Final[tuple[PageSpec, ...]] = (
    PageSpec(
        "home", "Home", "Home", "The claim in plain words, the generation chain, the letters.",
        ":material/home:", "pages/0_Home.py", "ggmi_app.home_page", "",
    ),
    PageSpec(
        "distributions", "Distributions", "Distributions (the paper's Figure 2, live)",
        "One simulated scenario: target, model, fitted mixtures and samples, by part.",
        ":material/scatter_plot:", "pages/1_Distributions.py", "ggmi_app.distributions_page",
        "Distributions",
    ),
    PageSpec(
        "gap-curves", "KL Gap curves", "KL Gap curves (the paper's Figure 4, live)",
        "How the gain from synthetic data changes with K, J, L and more, over many scenarios.",
        ":material/show_chart:", "pages/2_KL_Gap_curves.py", "ggmi_app.gap_curves_page",
        "KL_Gap_curves",
    ),
    PageSpec(
        "bounds", "Bound terms", "Bound terms",
        "The terms of the paper's bounds, measured one by one in the simulation.",
        ":material/functions:", "pages/3_Bound_terms.py", "ggmi_app.bounds_page", "Bound_terms",
    ),
    PageSpec(
        "diagnostics", "Diagnostics", "Diagnostics",
        "The paper's Appendix G checks (HSIC, entropy) on simulated or uploaded data.",
        ":material/biotech:", "pages/4_Diagnostics.py", "ggmi_app.diagnostics_page", "Diagnostics",
    ),
    PageSpec(
        "tour", "Guided tour", "Guided tour (the paper's argument in eleven steps)",
        "One figure a step, each with the settings that make it; downloadable as slides.",
        ":material/tour:", "pages/5_Guided_tour.py", "ggmi_app.tour_page", "Guided_tour",
    ),
)  # fmt: skip
PAGES_BY_KEY: Final[dict[str, PageSpec]] = {page.key: page for page in PAGES}
SHARED_SETTINGS: Final[Keyed] = keyed(SHARED_SCHEMA)


def all_settings() -> dict:
    """Every setting of the app: the shared ones and each page's own."""
    known = dict(SHARED_SETTINGS)
    for page in PAGES:
        known |= page.settings()
    return known


def link_to(page: PageSpec, label: str) -> None:
    """A link to ``page`` that carries the URL's settings along.

    Without them Streamlit clears the URL when it switches pages, and writing the settings
    back then adds a second browser-history entry. Draw links after the URL is written.
    A page run on its own (tests, ``streamlit run pages/...``) has no navigation: no link.
    """
    with suppress(StreamlitPageNotFoundError):
        st.page_link(page.entry, label=label, icon=page.icon, query_params=url_settings())


_SWITCH: Final[str] = "_ggmi_switch_to"


def request_switch(key: str) -> None:
    """From a widget callback: move to page ``key`` when the next run begins."""
    st.session_state[_SWITCH] = key


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
    target = st.session_state.pop(_SWITCH, None)
    if target in PAGES_BY_KEY and target != key:
        _switch_to(target, known)
    links = st.sidebar.container(key="ggmi_page_links")
    lecture = begin_page(page.title, all_settings(), page.key)
    page_links(links)
    try:
        page.module().main(lecture)
    finally:
        # Drawn after the page, also when it stops early (``st.stop`` on settings that
        # make no scenario), so the switch and the room are always there.
        end_page(dict(SHARED_SETTINGS) | page.settings(), key)
