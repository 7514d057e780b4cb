"""Page chrome: page config, the lecture-mode switch and its CSS.

Messages and error boundaries live in ``ggmi_app.messages``; running pool jobs behind a
progress bar in ``ggmi_app.jobs``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import streamlit as st

from ggmi_app.scenario_params import LECTURE_KEY, LECTURE_PARAM
from ggmi_app.state import sidebar_controls

#: The browser tab's icon, an SVG file the server sends inline (a data: URL). A Material
#: icon here would make every visitor's browser fetch it from Google's font servers
#: (Streamlit's front end loads ``:material/...:`` favicons from fonts.gstatic.com).
FAVICON: Final[Path] = Path(__file__).resolve().parents[1] / "assets" / "favicon.svg"

# Static CSS only: nothing built from user input goes into HTML.
_BASE_CSS: Final[str] = """
<style>
/* Keep the chart area wide; the sidebar carries the controls. */
[data-testid="stMainBlockContainer"] { padding-top: 2rem; }
/* Streamlit fades captions to 60 % opacity (contrast about 3.7:1 on white); a solid dark
   grey keeps them secondary but readable (7.5:1, above the 4.5:1 of WCAG AA). */
div[data-testid="stCaptionContainer"] { opacity: 1; color: #555555; }
/* A phone-wide window: Streamlit's 2.75 rem page title takes a third of the screen. */
@media (max-width: 480px) {
  [data-testid="stMainBlockContainer"] h1 { font-size: 2rem; line-height: 1.2; }
  [data-testid="stMainBlockContainer"] h2 { font-size: 1.6rem; line-height: 1.2; }
}
</style>
"""

_LECTURE_CSS: Final[str] = """
<style>
/* Lecture mode: type readable from the back of a room, no decorative clutter.
   1 rem = 20 px here (16 px in normal mode), so every rem-sized text grows by 25 %. */
html { font-size: 20px; }
/* The header bar is empty in lecture mode (toolbar hidden) but would still cover the
   page title: make it see-through and let clicks through, except on its buttons. */
header[data-testid="stHeader"] { background: transparent; pointer-events: none; }
header[data-testid="stHeader"] button,
header[data-testid="stHeader"] a { pointer-events: auto; }
[data-testid="stMainBlockContainer"] {
  padding-top: 1.25rem; padding-bottom: 2rem; max-width: 100%;
  padding-left: 4rem; padding-right: 4rem;
}
/* Headings: larger than normal mode but compact, so the figure reaches the first screen. */
[data-testid="stMainBlockContainer"] h1 { font-size: 2.4rem; line-height: 1.15; }
[data-testid="stMainBlockContainer"] h2 { font-size: 1.9rem; line-height: 1.2; }
[data-testid="stMainBlockContainer"] h3 { font-size: 1.5rem; line-height: 1.2; }
[data-testid="stMarkdownContainer"] p,
[data-testid="stMarkdownContainer"] li { font-size: 1.3rem; line-height: 1.45; }
/* Captions, tables, metrics and tab labels grow with the body text. Captions lose
   Streamlit's 60 % opacity: a washed-out projector needs dark text (12.6:1 on white). */
div[data-testid="stCaptionContainer"],
div[data-testid="stCaptionContainer"] p { font-size: 1.05rem; line-height: 1.4; color: #333333; }
div[data-testid="stCaptionContainer"] { opacity: 1; }
[data-testid="stTable"] table,
[data-testid="stTable"] th,
[data-testid="stTable"] td { font-size: 1.05rem; line-height: 1.35; }
[data-testid="stMetricValue"],
[data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] p {
  font-size: 2.1rem; line-height: 1.2;
}
[data-testid="stMetricLabel"],
[data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"] p { font-size: 1.1rem; }
/* Metric labels and values wrap instead of ending in an ellipsis. */
[data-testid="stMetricLabel"] *,
[data-testid="stMetricValue"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
}
[data-testid="stMetric"] { overflow: visible; }
[data-testid="stExpander"] summary p { font-size: 1.2rem; }
/* The interactive grid draws on a canvas that ignores CSS fonts: scale the whole grid.
   zoom (not transform) keeps the layout box in step, so nothing overlaps; the width is
   divided by the zoom so the grid still ends at the column edge (it scrolls sideways). */
[data-testid="stFullScreenFrame"]:has(> [data-testid="stDataFrame"]) {
  zoom: 1.2; width: calc(100% / 1.2) !important; max-width: calc(100% / 1.2);
}
/* Three download buttons share a row: smaller type than the body, wrapped, never cut. */
[data-testid="stDownloadButton"] button p { font-size: 1rem; white-space: normal; }
[data-testid="stSidebar"] label p { font-size: 1.1rem; }
/* Slider value and tick labels stay clear of the track at the larger size. */
[data-testid="stSliderThumbValue"] { line-height: 1.1; transform: translateY(-0.45rem); }
[data-testid="stSliderTickBar"] { line-height: 1.1; }
/* The toolbar stays: it holds the button that opens the collapsed sidebar. */
[data-testid="stDecoration"],
[data-testid="stAppDeployButton"],
[data-testid="stMainMenu"],
footer { display: none !important; }
</style>
"""


def page_setup(title: str, *, layout: str = "wide") -> bool:
    """Configure the page, draw the lecture-mode toggle, inject CSS; return lecture.

    The toggle is kept in the URL as ``lecture=1``/``lecture=0`` (widget key
    ``"lecture"``). Call once at the top of every page, before other elements. In
    lecture mode the sidebar starts collapsed, so the figure gets the whole screen width
    (its arrow still opens it). The browser tab shows the app's own icon (``FAVICON``).
    """
    st.set_page_config(page_title=title, page_icon=str(FAVICON), layout=layout)
    lecture = bool(sidebar_controls([LECTURE_PARAM])[LECTURE_KEY])
    # A second call only overrides the sidebar state (the calls are additive), so it can
    # follow the toggle, whose value is only known once the sidebar control exists.
    st.set_page_config(initial_sidebar_state="collapsed" if lecture else "auto")
    st.html(_LECTURE_CSS if lecture else _BASE_CSS)
    return lecture


#: Markers of a phone in a User-Agent: "Mobi" is the one MDN recommends (every mobile
#: browser sends "Mobi" or "Mobile"; tablets mostly do not, and get the desktop layout).
_PHONE_UA_MARKER: Final[str] = "Mobi"


def is_phone(user_agent: str | None) -> bool:
    """Whether a browser sending ``user_agent`` is a phone (its UA contains "Mobi").

    The server never learns the viewport width, so the User-Agent is the only hint it
    has: a narrow desktop window therefore gets the normal (desktop) layout, and only a
    phone's browser the phone layout of the charts.
    """
    return bool(user_agent) and _PHONE_UA_MARKER in str(user_agent)


def viewer_is_phone() -> bool:
    """``is_phone`` of the current request's User-Agent (False outside a browser session)."""
    try:
        headers = st.context.headers
    except Exception:  # no script run context (bare mode, unit tests)
        return False
    return is_phone(headers.get("User-Agent", "") if headers else "")
