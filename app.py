"""GGMI Explorer: run with ``streamlit run app.py``.

The frame of every page (``ggmi_app.frame``): ``st.navigation`` over the page scripts in
``pages/`` (Home is the default), the shared part of every run before the page (settings
from the URL, the URL, the lecture room, the page list), the page script itself, then
the sidebar's lecture switch, room and settings file below the page's own controls.
"""

from __future__ import annotations

import streamlit as st

from ggmi_app.frame import frame, navigation_pages

shown = st.navigation(navigation_pages(), position="hidden")
with frame(shown):
    shown.run()
