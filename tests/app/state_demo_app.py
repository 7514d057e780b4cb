"""A tiny page used by tests/app/test_state.py to drive ggmi_app.state with AppTest.

It begins and ends like every page of the app (``begin_page``, ``end_page``); its own
settings carry no prefix.
"""

import streamlit as st

from ggmi_app.frame import begin_page, end_page
from ggmi_app.params import BoolParam, ChoiceParam, FloatParam, IntParam
from ggmi_app.scenario_params import LECTURE_PARAM
from ggmi_app.state import keyed, preset_buttons, sidebar_controls

SCHEMA = [
    IntParam("K", "Anchor components K", 3, 1, 10, help="how many"),
    FloatParam("noise", "Curation noise s", 0.5, 0.0, 2.0, 0.05),
    ChoiceParam("metric", "Metric", "js", ("js", "kl", "tv")),
    BoolParam("show_fit", "Show fits", True),
]
PRESETS = {"Paper figure 2": {"K": 5, "noise": 1.0, "metric": "kl", "show_fit": False}}
SHOWN = keyed([*SCHEMA, LECTURE_PARAM])

lecture = begin_page("State demo", SHOWN)
preset_buttons(PRESETS, SHOWN)
values = sidebar_controls(SCHEMA)
st.json({"values": values, "lecture": lecture})
end_page(SHOWN, "demo")
