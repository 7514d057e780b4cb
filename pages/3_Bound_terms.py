"""Bound terms: the paper's bounds measured term by term.

A page script: ``app.py`` runs it through ``st.navigation`` inside the frame
(``ggmi_app.frame``: settings restored, URL written, page list, and after the page the
lecture switch, room and settings file). Its widgets and layout are the component
``ggmi_app.bounds_page``.
"""

from ggmi_app import bounds_page
from ggmi_app.frame import page_frame

with page_frame("bounds") as lecture:
    bounds_page.main(lecture)
