"""Diagnostics: the paper's Appendix G checks (HSIC, entropy) on simulated or uploaded data."""

from __future__ import annotations

import streamlit as st

from ggmi_app import diagnostics_page as dp
from ggmi_app.layout import page_setup
from ggmi_app.state import settings_io

lecture = page_setup(dp.PAGE_TITLE, icon="🔬")
st.title("Diagnostics: how much do synthetic data depend on the anchor data?")
if not lecture:
    st.markdown(
        "The paper checks real synthetic data with two statistics (its Appendix G): HSIC, "
        "the dependence of each synthetic sample on the anchor data behind its prompt (low "
        "dependence: the generator added information of its own), and semantic entropy, "
        "how widely the synthetic data spread over meanings. The first tab runs both on the "
        "Gaussian-mixture simulation, where the true values are known; the second runs "
        "them on embeddings you upload."
    )

values = dp.draw_controls()
settings_io(dp.SIM_SCHEMA, values, prefix=dp.SIM_PREFIX, page="diagnostics")
dp.render_tabs(values, lecture)
