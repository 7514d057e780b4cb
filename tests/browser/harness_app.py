"""A small page the harness test drives: one slider, one figure, PNG/CSV downloads."""

import pandas as pd
import plotly.graph_objects as go

from ggmi_app.figures import show_figure
from ggmi_app.layout import page_setup
from ggmi_app.params import IntParam
from ggmi_app.state import sidebar_controls

lecture = page_setup("Harness check")
values = sidebar_controls([IntParam("points", "Number of points", 3, 2, 12)])
n = values["points"]
xs = list(range(n))
fig = go.Figure(go.Scatter(x=xs, y=[x * x for x in xs], name="squares"))
fig.update_layout(title="Harness figure", width=600, height=400)
show_figure(fig, "harness", pd.DataFrame({"x": xs}), lecture=lecture)
