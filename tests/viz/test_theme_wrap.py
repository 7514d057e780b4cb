"""Lecture-mode text wrapping of the figure theme: words and brackets stay whole."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ggmi_viz.theme import (
    LECTURE_PLAN_WIDTH,
    LECTURE_SUBPLOT_TITLE_SIZE,
    apply_theme,
    fit_label,
    visible_length,
    wrap_label,
)


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
        # three panels on the lecture plan: a heading wider than a panel would run into the next
        longest = max(visible_length(line) for line in heading.text.split("<br>"))
        assert longest * LECTURE_SUBPLOT_TITLE_SIZE * 0.56 < LECTURE_PLAN_WIDTH / 3


def test_fit_label_splits_a_bracket_only_when_no_line_could_hold_it():
    # The bracket fits on a line of its own: it stays whole.
    assert fit_label("n, synthetic samples (dotted: n = m)", 23) == (
        "n, synthetic samples<br>(dotted: n = m)"
    )
    # It does not: the text is filled at every space, in two even lines, not three.
    assert fit_label("L (task-irrelevant model components)", 23) == (
        "L (task-irrelevant<br>model components)"
    )


def test_fit_label_keeps_the_line_count_evens_the_lines_and_is_idempotent():
    text = "an ordinary bottleneck (encoder/decoder) could only lose information"
    fitted = fit_label(text, 60)
    lines = fitted.split("<br>")
    assert len(lines) == len(wrap_label(text, 60).split("<br>")) == 2
    assert fitted.replace("<br>", " ") == text
    assert all(visible_length(line) <= 60 for line in lines)
    assert min(map(visible_length, lines)) > 20  # not one word left alone on a line
    assert fit_label(fitted, 60) == fitted


def test_lecture_theme_wraps_side_by_side_x_titles_and_long_legend_entries():
    fig = make_subplots(rows=1, cols=2)
    long_name = "information carried (reverse bottleneck: narrows at the prompt, widens again)"
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], name=long_name), row=1, col=1)
    fig.add_trace(go.Scatter(x=[0, 1], y=[1, 0], name="short"), row=1, col=2)
    fig.update_xaxes(title_text="L (task-irrelevant model components)")
    apply_theme(fig, lecture=True)
    size = fig.layout.template.layout.xaxis.title.font.size
    for axis in (fig.layout.xaxis, fig.layout.xaxis2):
        panel_px = (LECTURE_PLAN_WIDTH - 130) * (axis.domain[1] - axis.domain[0])
        longest = max(visible_length(line) for line in axis.title.text.split("<br>"))
        assert longest * size * 0.56 <= panel_px
    names = [trace.name for trace in fig.data]
    assert names[0].replace("<br>", " ") == long_name and "<br>" in names[0]
    assert names[1] == "short"
    assert apply_theme(go.Figure(fig), lecture=True).to_dict() == fig.to_dict()


def test_template_keeps_plotly_white_defaults_only_for_the_trace_types_we_draw():
    import plotly.io as pio

    from ggmi_viz.theme import TEMPLATE_TRACE_TYPES, build_template

    base = pio.templates["plotly_white"]
    for lecture in (False, True):
        template = build_template(lecture).to_plotly_json()
        assert set(template["data"]) <= set(TEMPLATE_TRACE_TYPES)
        assert template["data"]["histogram"] == base.data.to_plotly_json()["histogram"]
        assert template["layout"]["colorscale"] == base.layout.colorscale.to_plotly_json()
    assert not {"scattergeo", "surface", "table", "contour"} & set(
        build_template().to_plotly_json()["data"]
    )
