"""Home: the paper's claim in plain words, the generation chain drawn, the letters.

A page script: ``app.py`` runs it through ``st.navigation`` inside the frame
(``ggmi_app.frame``: settings restored, URL written, page list, and after the page the
lecture switch, room and settings file). Its widgets and layout are the component
``ggmi_app.home_page``.
"""

from ggmi_app import home_page
from ggmi_app.frame import page_frame

with page_frame("home") as lecture:
    home_page.main(lecture)
