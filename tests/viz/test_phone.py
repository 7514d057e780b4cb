"""The phone layout of a figure: one column of panels, wrapped text, legend below."""

from __future__ import annotations

import itertools

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from summary_helpers import summary_of_gaps

from ggmi_viz.gap_curves import figure4_figure
from ggmi_viz.phone import (
    MODEBAR_ROOM,
    PHONE_HIDDEN,
    PHONE_PLAN_WIDTH,
    PHONE_SMALL,
    PHONE_TITLE_SIZE,
    for_phone,
)
from ggmi_viz.theme import apply_theme, visible_length

LONG_TITLE = "Figure 4: the gap as K, J or L grows (line: mean, light band: +- 1 std)"


def _grid(rows: int = 2, cols: int = 3) -> go.Figure:
    """A themed make_subplots grid like Figure 4: headings on the top row, shared y."""
    fig = make_subplots(
        rows=rows,
        cols=cols,
        shared_yaxes="rows",
        subplot_titles=[f"vary {p} (J = L = 2)" for p in "KJL"[:cols]] + [""] * (cols * (rows - 1)),
    )
    for row in range(1, rows + 1):
        for col in range(1, cols + 1):
            fig.add_trace(go.Scatter(x=[0, 1], y=[row, col], name=f"r{row}c{col}"), row, col)
            fig.update_xaxes(title_text="KJL"[col - 1], row=rows, col=col)
        fig.update_yaxes(title_text=f"metric {row} (nats)", row=row, col=1)
    fig.update_layout(title=LONG_TITLE, legend={"orientation": "v", "x": 1.02})
    return apply_theme(fig)


def _x_domains(fig: go.Figure) -> list[tuple[float, ...]]:
    return [tuple(fig.layout[k].domain) for k in fig.layout if k.startswith("xaxis")]


def _y_domains(fig: go.Figure) -> list[tuple[float, ...]]:
    return [tuple(fig.layout[k].domain) for k in fig.layout if k.startswith("yaxis")]


def test_the_original_figure_and_its_dict_are_left_unchanged():
    fig = _grid()
    before = fig.to_dict()
    phone = for_phone(fig)
    assert fig.to_dict() == before
    assert phone is not fig
    # a cached dict (what cached_figures hands to show_figure) works the same way
    from_dict = for_phone(before)
    assert from_dict.to_dict() == phone.to_dict()
    assert fig.to_dict() == before


def test_panels_side_by_side_are_stacked_in_one_column_without_overlap():
    phone = for_phone(_grid())
    assert len(set(_x_domains(_grid()))) == 3  # the desktop grid: three columns
    assert set(_x_domains(phone)) == {(0.0, 1.0)}
    ys = sorted(_y_domains(phone), reverse=True)
    assert len(ys) == 6
    for upper, lower in itertools.pairwise(ys):
        assert lower[1] < upper[0], "stacked panels overlap"
    # column by column: the two panels of "vary K" (shared x) sit at the top, together
    order = sorted((phone.layout[k].domain[1], k) for k in phone.layout if k.startswith("yaxis"))[
        ::-1
    ]
    assert [name for _, name in order[:2]] == ["yaxis", "yaxis4"]


def test_every_stacked_panel_has_its_heading_axis_titles_and_tick_labels():
    phone = for_phone(_grid())
    tops = {round(phone.layout[k].domain[1], 6) for k in phone.layout if k.startswith("yaxis")}
    headings = [a for a in phone.layout.annotations if a.text and a.text.startswith("vary")]
    assert len(headings) == 3
    for heading in headings:
        assert round(float(heading.y), 6) in tops and heading.yanchor == "bottom"
        assert heading.xanchor == "center" and float(heading.x) == 0.5
    assert len({float(h.y) for h in headings}) == 3  # no two headings on one line
    for key in phone.layout:
        if key.startswith(("xaxis", "yaxis")):
            axis = phone.layout[key]
            assert axis.title.text, f"{key} has no title once stacked"
            assert axis.showticklabels is True


def test_title_is_wrapped_to_the_phone_width_and_sits_under_the_toolbar():
    phone = for_phone(_grid())
    title = phone.layout.title
    lines = title.text.split("<br>")
    assert len(lines) >= 2
    assert " ".join(lines) == LONG_TITLE  # every word kept
    widest = max(visible_length(line) for line in lines)
    assert widest * PHONE_TITLE_SIZE * 0.5 <= PHONE_PLAN_WIDTH - 32
    assert title.font.size == PHONE_TITLE_SIZE
    assert title.yref == "paper" and title.yanchor == "bottom" and title.automargin is True
    assert title.pad.t == MODEBAR_ROOM and phone.layout.margin.t == MODEBAR_ROOM


def test_legend_goes_below_the_plot_as_a_horizontal_block_with_wrapped_entries():
    fig = _grid(rows=1, cols=1)
    fig.add_trace(
        go.Scatter(x=[0], y=[0], name="an ordinary bottleneck could only lose information")
    )
    phone = for_phone(fig)
    legend = phone.layout.legend
    assert legend.orientation == "h"
    assert (legend.yref, legend.y, legend.yanchor) == ("container", 0.0, "bottom")
    assert fig.layout.legend.orientation == "v"
    names = [t.name for t in phone.data]
    assert any("<br>" in name for name in names)
    for name in names:
        assert max(visible_length(line) for line in name.split("<br>")) * 12 * 0.56 < 300


def test_a_lone_plot_is_not_restacked_and_gets_room_for_its_legend():
    fig = _grid(rows=1, cols=1)
    phone = for_phone(fig)
    assert _x_domains(phone) == _x_domains(fig)
    assert _y_domains(phone) == _y_domains(fig)
    no_legend = go.Figure(fig)
    no_legend.update_layout(showlegend=False)
    assert for_phone(no_legend).layout.height < phone.layout.height


def test_the_real_figure4_is_stacked_and_grows_taller():
    rng = np.random.default_rng(0)
    values = [2, 4, 6]
    summary = summary_of_gaps(values, [rng.normal(size=30) for _ in values])
    fig4 = figure4_figure(
        {"kl_published": {p: summary for p in "KJL"}, "js": {p: summary for p in "KJL"}}
    )
    phone = for_phone(fig4)
    assert set(_x_domains(phone)) == {(0.0, 1.0)}
    assert phone.layout.height > fig4.layout.height  # six panels one under another


def test_notes_in_a_diagram_are_wrapped_to_their_share_of_a_line():
    fig = go.Figure(go.Scatter(x=[0, 4], y=[0, 0], mode="markers"))
    for i in range(5):
        fig.add_annotation(x=i, y=1, text=f"Synthetic data number {i}", showarrow=False)
    phone = for_phone(apply_theme(fig))
    for note in phone.layout.annotations:
        widest = max(visible_length(line) for line in note.text.split("<br>"))
        assert widest * note.font.size * 0.56 <= PHONE_PLAN_WIDTH / 5


def test_a_diagram_grows_until_its_stacked_box_labels_are_apart():
    from ggmi_viz.home import chain_figure

    desktop = chain_figure()
    # Home's chain with its formula lines kept on the phone: a label over a formula in
    # each of five boxes.
    for note in desktop.layout.annotations:
        note.name = None
    phone = for_phone(desktop)
    assert phone.layout.height > desktop.layout.height
    y0, y1 = phone.layout.yaxis.range
    # the plot area: the canvas less the reserved top (title) and bottom (axis, legend)
    px_per_unit = (phone.layout.height - 300) / abs(y1 - y0)
    notes = [a for a in phone.layout.annotations if a.text and a.xref != "paper"]
    pairs = 0
    for i, a in enumerate(notes):
        for b in notes[i + 1 :]:
            if a.x == b.x and a.y != b.y:
                pairs += 1
                half_heights = sum(n.text.count("<br>") + 1 for n in (a, b)) * 0.65
                needed = half_heights * max(a.font.size, b.font.size)
                assert abs(a.y - b.y) * px_per_unit >= needed * 0.8, (a.text, b.text)
    assert pairs >= 5  # a label over a formula in each of the five boxes


def test_phone_leaves_out_hidden_notes_and_draws_small_ones_at_the_least_size():
    from ggmi_viz.home import STAGES, chain_figure

    desktop = chain_figure()
    phone = for_phone(desktop)

    def unwrapped(fig: go.Figure) -> list[str]:
        return [(a.text or "").replace("<br>", " ") for a in fig.layout.annotations]

    for stage in STAGES:
        # the formula line is too wide for a fifth of the phone; the hover keeps it
        assert stage.symbol not in unwrapped(phone)
        assert stage.symbol in unwrapped(desktop)
    labels = [a for a in phone.layout.annotations if a.name == PHONE_SMALL]
    assert len(labels) == len(STAGES)
    for label in labels:
        assert label.font.size == min(a.font.size for a in phone.layout.annotations if a.text)
        # bold, inside a box: the widest line takes at most 80 % of its share of the width
        widest = max(visible_length(line) for line in label.text.split("<br>"))
        assert widest * label.font.size * 0.56 <= 0.8 * 0.8 * PHONE_PLAN_WIDTH / len(STAGES)
    assert [a.name for a in desktop.layout.annotations].count(PHONE_HIDDEN) == len(STAGES)
