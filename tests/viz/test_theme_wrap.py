"""Lecture-mode text wrapping of the figure theme: words and brackets stay whole."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ggmi_viz.theme import LECTURE_SUBPLOT_TITLE_SIZE, apply_theme, visible_length, wrap_label


def test_a_bracket_is_never_split_across_lines():
    wrapped = wrap_label("KL Gap, exact KL(fit || G)<br>(nats)", 16)
    assert wrapped.split("<br>") == ["KL Gap, exact", "KL(fit || G)", "(nats)"]
    assert wrap_label("vary K (J = L = 2)", 10) == "vary K<br>(J = L = 2)"


def test_wrapping_keeps_every_word_and_is_idempotent():
    text = "the gap follows the task divergence (Lemma 3.1), not the information gain"
    once = wrap_label(text, 20)
    assert wrap_label(once, 20) == once
    assert once.replace("<br>", " ") == text
    assert all(visible_length(line) <= 20 for line in once.split("<br>") if "(" not in line)


def test_lecture_subplot_titles_take_the_axis_title_size_and_fit_their_panel():
    fig = make_subplots(rows=1, cols=3, subplot_titles=[f"vary {p} (J = L = 2)" for p in "KJL"])
    for col in (1, 2, 3):
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1]), row=1, col=col)
    apply_theme(fig, lecture=True)
    headings = [a for a in fig.layout.annotations if a.text.startswith("vary")]
    assert len(headings) == 3
    axis_title_size = fig.layout.template.layout.xaxis.title.font.size
    for heading in headings:
        assert heading.font.size == LECTURE_SUBPLOT_TITLE_SIZE == axis_title_size
        # three panels on an 840 px plan: a heading wider than a panel would run into the next
        longest = max(visible_length(line) for line in heading.text.split("<br>"))
        assert longest * LECTURE_SUBPLOT_TITLE_SIZE * 0.56 < 840 / 3


def test_template_keeps_plotly_white_defaults_only_for_the_trace_types_we_draw():
    import plotly.io as pio

    from ggmi_viz.theme import TEMPLATE_TRACE_TYPES, build_template

    base = pio.templates["plotly_white"]
    for lecture in (False, True):
        template = build_template(lecture).to_plotly_json()
        assert set(template["data"]) <= set(TEMPLATE_TRACE_TYPES)
        assert template["data"]["heatmap"] == base.data.to_plotly_json()["heatmap"]
        assert template["layout"]["colorscale"] == base.layout.colorscale.to_plotly_json()
    assert not {"scattergeo", "surface", "table"} & set(build_template().to_plotly_json()["data"])

