"""Distributions: the paper's Figure 2 (Section 3.2), live.

A page script: ``app.py`` runs it through ``st.navigation`` inside the frame
(``ggmi_app.frame``: settings restored, URL written, page list, and after the page the
lecture switch, room and settings file). Its widgets and layout are the component
``ggmi_app.distributions_page``.
"""

from ggmi_app import distributions_page
from ggmi_app.frame import page_frame

with page_frame("distributions") as lecture:
    distributions_page.main(lecture)
