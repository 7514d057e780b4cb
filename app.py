"""GGMI Explorer: run with ``streamlit run app.py``.

This script is the router: it registers every page of ``ggmi_app.registry.PAGES`` (their
entry files in ``pages/``) with ``st.navigation``; the first one, Home, is the default.
"""

from __future__ import annotations

import streamlit as st

from ggmi_app.registry import PAGES, ROOT

# No icons here: the list is hidden (the app draws its own links), and Streamlit's front
# end would set a page's Material icon as the tab icon by fetching it from Google.
pages = [
    st.Page(ROOT / page.entry, title=page.title, default=True)
    if i == 0
    else st.Page(ROOT / page.entry, title=page.title, url_path=page.url_path)
    for i, page in enumerate(PAGES)
]
st.navigation(pages, position="hidden").run()
