"""A tiny page used by tests/app/test_state.py to drive ggmi_app.state with AppTest."""

import streamlit as st

from ggmi_app.layout import page_setup
from ggmi_app.params import BoolParam, ChoiceParam, FloatParam, IntParam
from ggmi_app.state import preset_buttons, settings_io, sidebar_controls

SCHEMA = [
    IntParam("K", "Anchor components K", 3, 1, 10, help="how many"),
    FloatParam("noise", "Curation noise s", 0.5, 0.0, 2.0, 0.05),
    ChoiceParam("metric", "Metric", "js", ("js", "kl", "tv")),
    BoolParam("show_fit", "Show fits", True),
]
PRESETS = {"Paper figure 2": {"K": 5, "noise": 1.0, "metric": "kl", "show_fit": False}}

lecture = page_setup("State demo")
preset_buttons(PRESETS, SCHEMA)
values = sidebar_controls(SCHEMA)
settings_io(SCHEMA, values, page="demo")
st.json({"values": values, "lecture": lecture})
