"""Home: the paper's claim in plain words, the generation chain drawn, the letters.

A page script: ``app.py`` runs it through ``st.navigation`` inside the frame
(``ggmi_app.frame``: settings restored, URL written, page list, and after the page the
lecture switch, room and settings file). This file is the page's layout; its widgets,
cached calls and figures are the functions of ``ggmi_app.home_page``.
"""

import streamlit as st

from ggmi_app import home_page as page
from ggmi_app.frame import page_frame
from ggmi_app.page_list import PAGES, PAGES_BY_KEY, link_to
from ggmi_app.prose import prose

with page_frame("home") as lecture:
    st.title("GGMI Explorer")
    if not lecture:
        st.markdown(prose(page.PAGE_TEXT, "intro"))
    # A first visit (and a projector) should meet the way in and the picture, not a wall
    # of text: the claims follow them.
    link_to(PAGES_BY_KEY["tour"], "Start the guided tour: the paper's argument in eleven steps")
    page.chain_drawing(lecture)
    page.claims()

    page.letters()
    page.recipe_notes_section()

    st.header("Pages")
    for other in PAGES:
        if other.key != "home":
            link_to(other, other.link_label)
            st.caption(other.description)
