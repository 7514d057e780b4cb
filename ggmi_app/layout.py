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
from ggmi_core.resources import assets_dir

#: The browser tab's icon, an SVG file the server sends inline (a data: URL). A Material
#: icon here would make every visitor's browser fetch it from Google's font servers
#: (Streamlit's front end loads ``:material/...:`` favicons from fonts.gstatic.com).
FAVICON: Final[Path] = assets_dir() / "favicon.svg"

# Static CSS only: nothing built from user input goes into HTML.
_BASE_CSS: Final[str] = """
<style>
/* Keep the chart area wide; the sidebar carries the controls. */
[data-testid="stMainBlockContainer"] { padding-top: 2rem; }
/* Streamlit fades captions to 60 % opacity (contrast about 3.7:1 on white); a solid dark
   grey keeps them secondary but readable (7.5:1, above the 4.5:1 of WCAG AA). */
div[data-testid="stCaptionContainer"] { opacity: 1; color: #555555; }
/* Streamlit keeps a page link's label on one line and cuts it off; a long label (Home's
   tour link on a phone) wraps instead. */
[data-testid="stPageLink-NavLink"] span:has(> [data-testid="stMarkdownContainer"]),
[data-testid="stPageLink-NavLink"] [data-testid="stMarkdownContainer"],
[data-testid="stPageLink-NavLink"] [data-testid="stMarkdownContainer"] p {
  white-space: normal; overflow: visible;
}
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
/* Streamlit keeps a page link's label on one line and cuts it off; a long label (Home's
   tour link on a phone) wraps instead. */
[data-testid="stPageLink-NavLink"] span:has(> [data-testid="stMarkdownContainer"]),
[data-testid="stPageLink-NavLink"] [data-testid="stMarkdownContainer"],
[data-testid="stPageLink-NavLink"] [data-testid="stMarkdownContainer"] p {
  white-space: normal; overflow: visible;
}
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

#: Class prefix (after Streamlit's ``st-key-``) of the box each lecture-mode chart is
#: drawn in (``ggmi_app.figures.show_figure``).
SLIDE_KEY_PREFIX: Final[str] = "ggmi_slide_"
#: Least chart height (CSS px) slide fit gives: lower, a lecture-type chart has no plot.
SLIDE_MIN_HEIGHT_PX: Final[int] = 300
#: Room (CSS px) kept free under a chart that fits its window, and above one that has
#: to be scrolled to.
SLIDE_BOTTOM_GAP_PX: Final[int] = 12

#: Slide fit's CSS: the size of a chart's box until the script has measured (or without
#: it); a present view (the tour's) keeps little room under its last row.
_SLIDE_FIT_CSS: Final[str] = """
<style>
[class*="st-key-ggmi_slide_"] {
  height: calc(100vh - 12rem); min-height: 300px; flex: 0 0 auto !important;
  overflow: hidden;
}
/* The chart's own boxes take the slide box's height (not their content's), so the
   chart, which measures its box (height="stretch"), follows the window. */
[class*="st-key-ggmi_slide_"] > .stElementContainer { flex: 1 1 0; min-height: 0; height: 100%; }
[class*="st-key-ggmi_slide_"] > .stElementContainer > div,
[class*="st-key-ggmi_slide_"] .stPlotlyChart { height: 100%; }
[data-testid="stMainBlockContainer"]:has(.st-key-ggmi_present) { padding-bottom: 0.5rem; }
</style>
"""

# Slide fit, in the browser: the server never learns the window's size, so this constant
# script sizes every lecture chart's box to the window. The first chart on the page takes
# the window's height below its top (below the page heading, the tour's navigation, the
# tabs); a chart so far down that less than ``SLIDE_MIN_HEIGHT_PX`` is left takes the
# whole window less a gap (it is a slide of its own, scrolled to). Plotly follows the box
# (``height="stretch"``). In a present view (a container keyed ``ggmi_present``, the
# tour's) the first chart leaves room for what follows it in that view, so the whole view
# is one screen. Runs on window resizes (full screen included) and whenever the
# page's content changes; installed once per browser page (the flag).
_SLIDE_FIT_SCRIPT: Final[str] = """<script>
(function () {
  if (window.ggmiSlideFit) { window.ggmiSlideFit(); return; }
  var MIN = 300, GAP = 12, PREFIX = "st-key-ggmi_slide_";
  function scrolled(el) {
    var sum = window.scrollY || 0;
    for (var p = el.parentElement; p; p = p.parentElement) { sum += p.scrollTop || 0; }
    return sum;
  }
  function fit() {
    var view = window.innerHeight;
    var boxes = document.querySelectorAll('[class*="' + PREFIX + '"]');
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      var rect = box.getBoundingClientRect();
      var top = rect.top + scrolled(box);
      var below = view - top - GAP;
      var present = box.closest('[class*="st-key-ggmi_present"]');
      if (present && i === 0) {
        var main = document.querySelector('[data-testid="stMainBlockContainer"]');
        var end = (main || present).getBoundingClientRect().bottom;
        below -= Math.max(0, end - rect.bottom);
      }
      var height = Math.floor(below >= MIN ? below : Math.max(MIN, view - 2 * GAP));
      if (Math.abs((parseFloat(box.style.height) || 0) - height) >= 1) {
        box.style.height = height + "px";
      }
      scale(box, height);
    }
  }
  // Below the figure's least clean height (in the box's key) the chart is drawn that
  // tall and scaled down as a whole (narrower too: plotly takes the column's width), so
  // its texts never run into each other.
  function scale(box, height) {
    var match = box.className.match(/st-key-ggmi_slide_([0-9]+)_/);
    var least = match ? parseInt(match[1], 10) : 0;
    var holder = box.querySelector(".stPlotlyChart");
    var plot = holder && holder.querySelector(".js-plotly-plot");
    if (!plot) { return; }
    // Streamlit sizes the figure to the holder it measures; the plot inside is scaled.
    if (least > height) {
      holder.style.height = least + "px";
      plot.style.transformOrigin = "0 0";
      plot.style.transform = "scale(" + (height / least).toFixed(4) + ")";
    } else if (plot.style.transform) {
      holder.style.height = plot.style.transformOrigin = plot.style.transform = "";
    }
  }
  var queued = false;
  function later() {
    if (queued) { return; }
    queued = true;
    window.requestAnimationFrame(function () { queued = false; fit(); });
  }
  window.ggmiSlideFit = fit;
  window.addEventListener("resize", later);
  document.addEventListener("fullscreenchange", later);
  new MutationObserver(later).observe(document.body, {childList: true, subtree: true});
  fit();
})();
</script>"""


def page_setup(
    title: str,
    *,
    layout: str = "wide",
    draw_switch: bool = True,
) -> bool:
    """Configure the page and inject its CSS; return whether lecture mode is on.

    With ``draw_switch`` the lecture-mode switch is drawn here, at the top of the sidebar
    (kept in the URL as ``lecture=1``/``lecture=0``, widget key ``"lecture"``). The app's
    pages pass False and draw it with ``lecture_switch`` below their own controls, so the
    sidebar starts with the scenario sliders; lecture mode is then read from the session,
    where ``restore_state`` has put it. Call once at the top of every page, before other
    elements. In lecture mode the sidebar starts collapsed, so the figure gets the whole
    screen width (its arrow still opens it), and every chart is sized to the window
    (``slide_fit``). The browser tab shows the app's own icon (``FAVICON``).
    """
    st.set_page_config(page_title=title, page_icon=str(FAVICON), layout=layout)
    if draw_switch:
        lecture = lecture_switch()
    else:
        lecture = lecture_mode()
    # A second call only overrides the sidebar state (the calls are additive), so it can
    # follow the switch, whose value is only known once the sidebar control exists.
    st.set_page_config(initial_sidebar_state="collapsed" if lecture else "auto")
    st.html(_LECTURE_CSS if lecture else _BASE_CSS)
    if lecture:
        slide_fit()
    return lecture


def lecture_mode() -> bool:
    """Whether lecture mode is on, as the settings store holds it (the frame restored it)."""
    return bool(st.session_state.get(LECTURE_KEY, LECTURE_PARAM.default))


def slide_fit() -> None:
    """Size every chart drawn with ``show_figure(..., fit=True)`` to the window.

    Lecture mode turns it on for every page; the tour's present view calls it too.
    """
    st.html(_SLIDE_FIT_CSS)
    st.html(_SLIDE_FIT_SCRIPT, unsafe_allow_javascript=True)


def lecture_switch() -> bool:
    """Draw the lecture-mode switch (in the sidebar, below the page's controls).

    Its value was already read by ``page_setup``; a click reruns the page in the other mode.
    """
    return bool(sidebar_controls([LECTURE_PARAM])[LECTURE_KEY])


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
