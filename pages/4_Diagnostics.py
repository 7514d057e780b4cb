"""Diagnostics: the paper's Appendix G checks on simulated or uploaded data.

A page script: ``app.py`` runs it through ``st.navigation`` inside the frame
(``ggmi_app.frame``: settings restored, URL written, page list, and after the page the
lecture switch, room and settings file). Its widgets and layout are the component
``ggmi_app.diagnostics_page``.
"""

from ggmi_app import diagnostics_page
from ggmi_app.frame import page_frame

with page_frame("diagnostics") as lecture:
    diagnostics_page.main(lecture)
