"""GGMI Explorer: run with ``streamlit run app.py``.

This script is the router: it registers every page of ``ggmi_app.registry.PAGES`` with
``st.navigation`` (Home as a function, the others by their entry files in ``pages/``).
"""

from __future__ import annotations

import streamlit as st

from ggmi_app.registry import PAGES, ROOT, run_page


def home() -> None:
    """Home (the default page)."""
    run_page("home")


def navigation() -> list:
    """Home first, then every page in reading order."""
    pages = []
    for page in PAGES:
        if page.entry:
            pages.append(st.Page(ROOT / page.entry, title=page.title, icon=page.icon))
        else:
            pages.append(st.Page(home, title=page.title, icon=page.icon, default=True))
    return pages


st.navigation(navigation()).run()
