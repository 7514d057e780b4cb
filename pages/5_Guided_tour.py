"""Guided tour: the paper's argument in eleven steps, one figure each, and as slides.

A page script: ``app.py`` runs it through ``st.navigation`` inside the frame
(``ggmi_app.frame``: settings restored, URL written, page list, and after the page the
lecture switch, room and settings file). Its widgets and layout are the component
``ggmi_app.tour_page``.
"""

from ggmi_app import tour_page
from ggmi_app.frame import page_frame

with page_frame("tour") as lecture:
    tour_page.main(lecture)
