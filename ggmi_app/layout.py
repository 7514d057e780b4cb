"""Page chrome: page config, the lecture-mode switch and its CSS.

Messages and error boundaries live in ``ggmi_app.messages``; running pool jobs behind a
progress bar in ``ggmi_app.jobs``.
"""

from __future__ import annotations

from typing import Final

import streamlit as st

from ggmi_app.scenario_params import LECTURE_KEY, LECTURE_PARAM
from ggmi_app.state import sidebar_controls

# Static CSS only: nothing built from user input goes into HTML.
_BASE_CSS: Final[str] = """
<style>
/* Keep the chart area wide; the sidebar carries the controls. */
[data-testid="stMainBlockContainer"] { padding-top: 2rem; }
</style>
"""

_LECTURE_CSS: Final[str] = """
<style>
/* Lecture mode: type readable from the back of a room, no decorative clutter. */
html { font-size: 20px; }
[data-testid="stMainBlockContainer"] { padding-top: 1rem; max-width: 100%; }
[data-testid="stMarkdownContainer"] p,
[data-testid="stMarkdownContainer"] li { font-size: 1.3rem; line-height: 1.5; }
[data-testid="stSidebar"] label p { font-size: 1.1rem; }
[data-testid="stToolbar"],
[data-testid="stDecoration"],
[data-testid="stAppDeployButton"],
[data-testid="stMainMenu"],
footer { display: none !important; }
</style>
"""


def page_setup(title: str, icon: str = "📈", *, layout: str = "wide") -> bool:
    """Configure the page, draw the lecture-mode toggle, inject CSS; return lecture.

    The toggle is kept in the URL as ``lecture=1``/``lecture=0`` (widget key
    ``"lecture"``). Call once at the top of every page, before other elements.
    """
    st.set_page_config(page_title=title, page_icon=icon, layout=layout)
    lecture = bool(sidebar_controls([LECTURE_PARAM])[LECTURE_KEY])
    st.html(_LECTURE_CSS if lecture else _BASE_CSS)
    return lecture
