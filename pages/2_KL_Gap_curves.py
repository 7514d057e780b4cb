"""KL Gap curves: the paper's Figure 4 (Section 4.4), as published and live.

A page script: ``app.py`` runs it through ``st.navigation`` inside the frame
(``ggmi_app.frame``: settings restored, URL written, page list, and after the page the
lecture switch, room and settings file). Its widgets and layout are the component
``ggmi_app.gap_curves_page``.
"""

from ggmi_app import gap_curves_page
from ggmi_app.frame import page_frame

with page_frame("gap-curves") as lecture:
    gap_curves_page.main(lecture)
