"""The least on-screen height of a lecture figure (slide fit) and y titles on short slides."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ggmi_viz.theme import (
    LECTURE_FONT_SIZE,
    LECTURE_PLAN_HEIGHT,
    apply_theme,
    lecture_least_height,
)


def _chart(legend_entries: int, rows: int = 1, height: int = 1200) -> go.Figure:
    fig = make_subplots(rows=rows, cols=1)
    for i in range(legend_entries):
        fig.add_trace(
            go.Scatter(x=[0, 1], y=[i, i + 1], name=f"a fairly long legend entry number {i}"),
            row=1 + i % rows,
            col=1,
        )
    fig.update_layout(title="A title", height=height)
    return apply_theme(fig, lecture=True)


def test_more_legend_rows_and_panel_rows_need_more_height() -> None:
    few, many = _chart(1), _chart(8)
    assert lecture_least_height(many) > lecture_least_height(few)
    assert lecture_least_height(_chart(2, rows=3)) > lecture_least_height(_chart(2, rows=1))


def test_the_least_height_is_never_above_the_figures_own_height() -> None:
    fig = _chart(8, rows=3, height=500)
    assert lecture_least_height(fig) == 500
    roomy = _chart(1, height=3000)
    assert lecture_least_height(roomy) < 3000


def test_a_diagram_keeps_its_own_height() -> None:
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], name="box"))
    fig.update_layout(height=680, xaxis_visible=False, yaxis_visible=False)
    apply_theme(fig, lecture=True)
    assert lecture_least_height(fig) == 680


def test_a_long_word_in_a_short_stacked_panel_gets_smaller_type_once() -> None:
    fig = make_subplots(rows=3, cols=1)
    for row in (1, 2, 3):
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1]), row=row, col=1)
    fig.update_yaxes(title_text="informationally, nats", row=1, col=1)
    fig.update_layout(height=960)
    apply_theme(fig, lecture=True)
    size = fig.layout.yaxis.title.font.size
    # Planned for a LECTURE_PLAN_HEIGHT slide, not the figure's 960 px.
    assert size is not None and size < round(LECTURE_FONT_SIZE * 1.1)
    assert LECTURE_PLAN_HEIGHT < 960
    text = fig.layout.yaxis.title.text
    apply_theme(fig, lecture=True)  # idempotent
    assert fig.layout.yaxis.title.font.size == size and fig.layout.yaxis.title.text == text
