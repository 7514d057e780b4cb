"""Guided tour: the paper's argument in eleven steps, one figure each.

A page script: ``app.py`` runs it through ``st.navigation`` inside the frame
(``ggmi_app.frame``: settings restored, URL written, page list, and after the page the
lecture switch, room and settings file). This file is the page's layout; its widgets,
cached calls and figures are the functions of ``ggmi_app.tour_page``.
"""

import streamlit as st

from ggmi_app import tour_page as page
from ggmi_app.frame import page_frame
from ggmi_app.messages import INFO_ICON, error_boundary, escape_markdown
from ggmi_app.state import sidebar_controls

with page_frame("tour") as lecture:
    page.start_warm_up()  # the other steps' figures are built beside this run
    page.hide_clicker_buttons()
    with st.sidebar:
        st.subheader("Tour")
    step_no = int(sidebar_controls([page.STEP_PARAM], prefix=page.PREFIX)[page.STEP_PARAM.name])
    page.slides_button(st.sidebar)
    step = page.STEPS[step_no - 1]
    if page.is_present_view(lecture):
        with st.container(key="ggmi_present"):
            page.present_step(step_no, step, lecture)
    else:
        st.caption(f"Guided tour of Gan & Liu (ICLR 2025), step {step_no} of {len(page.STEPS)}")
        st.title(step.title)
        page.nav_row(step_no)
        with error_boundary("this step"):
            st.markdown(escape_markdown(page.step_body(step)))
            page.step_chart(step_no, step, lecture)
            st.caption(page.settings_line(step))
            page.open_button(step_no, step)
        if step_no == len(page.STEPS):
            st.info(
                "End of the tour. Every figure came from the Gaussian-mixture simulation of "
                "Appendix B; the pages in the sidebar let you change any setting.",
                icon=INFO_ICON,
            )
