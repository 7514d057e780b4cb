"""A phone-sized copy of a themed figure: one column of panels, wrapped text, legend below.

Plotly never wraps text and lays panels, titles and legends out without regard for one
another. At desktop width that is fine; in the main column of a 390 px phone (about
358 px for the chart) a legend beside the plot squeezes the plot into a strip, three
panels side by side leave their headings printed over each other, and one-line titles
are cut at the right edge. ``for_phone`` returns a copy laid out for that width; the
original (used for the PNG, SVG and CSV downloads) keeps its desktop/slide layout.

Pixel sizes below are CSS px.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import plotly.graph_objects as go

from ggmi_viz.flipbook import plain_frame
from ggmi_viz.theme import TITLE_PAD_PX, fit_label, subplot_titles, visible_length

#: Chart width a phone layout is planned for: a 390 px screen less Streamlit's padding.
PHONE_PLAN_WIDTH: Final[int] = 358
PHONE_FONT_SIZE: Final[int] = 12
PHONE_TITLE_SIZE: Final[int] = 15
PHONE_AXIS_TITLE_SIZE: Final[int] = 13
#: Height of one panel's plot area once panels are stacked.
PHONE_PANEL_HEIGHT: Final[int] = 220
#: Height of a lone plot area (a figure without side-by-side panels), at most / at least.
PHONE_MAX_PLOT_HEIGHT: Final[int] = 420
PHONE_MIN_PLOT_HEIGHT: Final[int] = 260
#: A diagram may grow taller than a plot to keep its labels apart, up to this height.
PHONE_MAX_DIAGRAM_HEIGHT: Final[int] = 640
#: Space between stacked panels: tick labels and x title of one, heading of the next.
PHONE_PANEL_GAP: Final[int] = 92
#: Room above the title for plotly's toolbar (the mode bar), drawn over the chart's top.
MODEBAR_ROOM: Final[int] = 34

_GLYPH_EM: Final[float] = 0.56  # average glyph width in em (a slight overestimate)
_LINE_EM: Final[float] = 1.3  # plotly's multi-line text line height in em
_X_AXIS_ROOM: Final[int] = 48  # tick labels and a one-line x title under the plot
_NOTE_SCALE: Final[float] = 0.85  # notes in a diagram: a little under the body size
_MIN_NOTE_SIZE: Final[int] = 9
_MARGINS: Final[dict[str, int]] = {"l": 10, "r": 12, "b": 8}
#: Annotation names a figure builder may give a note in a diagram (plotly keeps an
#: annotation's ``name`` and draws nothing with it): a detail the phone leaves out (the
#: hover text should repeat it), and a label drawn at the smallest note size on a phone
#: (a box label that must stay inside a box a fifth of the phone wide).
PHONE_HIDDEN: Final[str] = "phone:hidden"
PHONE_SMALL: Final[str] = "phone:small"


def for_phone(fig: go.Figure | dict[str, Any]) -> go.Figure:
    """A copy of ``fig`` laid out for a phone screen; ``fig`` itself is left unchanged.

    Panels side by side are stacked into one column (column by column, so panels that
    share an x axis stay together), each keeping its heading, axis titles and tick
    labels. The title, subtitle, panel headings and long y titles are wrapped to the
    phone width in smaller type; the legend becomes a horizontal block under the plot,
    with its height reserved in the bottom margin; room is left above the title for the
    chart's toolbar. Line widths, colours and data are untouched. Annotations named
    ``PHONE_HIDDEN`` are left out, those named ``PHONE_SMALL`` get the smallest note size.

    Args:
        fig: a themed figure (``ggmi_viz.theme.apply_theme``) or its ``to_dict()``.

    A flip-book (``ggmi_viz.flipbook``) becomes its active frame without the slider: its
    steps would not fit beside each other on a phone, and a tap on the chart is a pan.

    Returns:
        A new figure, sized (``layout.height``) for its content.
    """
    out = plain_frame(fig)
    stacked = _stack_side_by_side_panels(out)
    headings = _wrap_panel_headings(out)
    top_room = _place_title(out, headings)
    _set_phone_fonts(out)
    _shrink_notes_in_the_plot(out)
    legend_room = _legend_below(out)
    plot_height = _plot_height(out, stacked)
    out.layout.height = round(top_room + plot_height + _X_AXIS_ROOM + legend_room)
    out.layout.margin.update(_MARGINS)
    _wrap_y_titles(out, plot_height, stacked)
    return out


@dataclass(frozen=True)
class _Panel:
    x_axis: str  # layout key, e.g. "xaxis2"
    y_axis: str  # layout key of the y axis it is anchored to
    x_domain: tuple[float, float]
    y_domain: tuple[float, float]


def _axis_key(ref: str) -> str:
    """``"y2"`` -> ``"yaxis2"``."""
    return f"{ref[0]}axis{ref[1:]}"


def _panels(fig: go.Figure) -> list[_Panel]:
    """One entry per plot area: each x axis that overlays no other, with its y axis."""
    panels = []
    for name in fig.layout:
        if not name.startswith("xaxis"):
            continue
        axis = fig.layout[name]
        if axis.overlaying:
            continue
        y_key = _axis_key(axis.anchor) if axis.anchor and axis.anchor != "free" else "yaxis"
        y_axis = fig.layout[y_key]
        panels.append(
            _Panel(
                name,
                y_key,
                tuple(float(v) for v in (axis.domain or (0.0, 1.0))),
                tuple(float(v) for v in (y_axis.domain or (0.0, 1.0))),
            )
        )
    return panels


def _columns(panels: list[_Panel]) -> list[float]:
    return sorted({round(p.x_domain[0], 3) for p in panels})


def _stack_side_by_side_panels(fig: go.Figure) -> int:
    """Move panels laid out side by side into one column; return the number of panels.

    Returns 1 (and changes nothing) when no two panels sit side by side.
    """
    panels = _panels(fig)
    columns = _columns(panels)
    if len(columns) < 2:
        return 1
    rows = sorted({round(p.y_domain[1], 3) for p in panels}, reverse=True)
    order = sorted(
        panels,
        key=lambda p: (columns.index(round(p.x_domain[0], 3)), rows.index(round(p.y_domain[1], 3))),
    )
    headings = _headings_by_panel(fig, panels)
    n = len(order)
    plot_px = n * PHONE_PANEL_HEIGHT + (n - 1) * PHONE_PANEL_GAP
    gap = PHONE_PANEL_GAP / plot_px
    height = PHONE_PANEL_HEIGHT / plot_px
    for i, panel in enumerate(order):
        top = 1.0 - i * (height + gap)
        domain = (max(top - height, 0.0), top)
        x_axis, y_axis = fig.layout[panel.x_axis], fig.layout[panel.y_axis]
        x_axis.update(domain=(0.0, 1.0), showticklabels=True)
        y_axis.update(domain=domain, showticklabels=True)
        if not x_axis.title.text:
            x_axis.title.text = _title_in_column(fig, panels, panel, "x")
        if not y_axis.title.text:
            y_axis.title.text = _title_in_column(fig, panels, panel, "y")
        for heading in headings.get(panel.x_axis, []):
            heading.update(x=0.5, xanchor="center", y=top, yanchor="bottom")
    return n


def _title_in_column(fig: go.Figure, panels: list[_Panel], panel: _Panel, letter: str) -> str:
    """An axis title of the panel's column (x) or row (y), for a panel drawn without one.

    Side by side, a row of panels shows its y title once, on the left; a column shows
    its x title once, at the bottom. Stacked, every panel needs its own.
    """
    for other in panels:
        same = (
            other.x_domain[0] == panel.x_domain[0]
            if letter == "x"
            else other.y_domain == panel.y_domain
        )
        key = other.x_axis if letter == "x" else other.y_axis
        text = fig.layout[key].title.text if same else None
        if text:
            return str(text)
    return ""


def _headings_by_panel(
    fig: go.Figure, panels: list[_Panel]
) -> dict[str, list[go.layout.Annotation]]:
    """Each heading, keyed by the x axis of the panel it stands on."""
    found: dict[str, list[go.layout.Annotation]] = {}
    for ann in subplot_titles(fig):
        x, y = float(ann.x), float(ann.y)
        for panel in panels:
            (x0, x1), top = panel.x_domain, panel.y_domain[1]
            if x0 - 0.01 <= x <= x1 + 0.01 and abs(y - top) <= 0.05:
                found.setdefault(panel.x_axis, []).append(ann)
                break
    return found


def _chars(width_px: float, font_size: float) -> int:
    return int(width_px / (font_size * _GLYPH_EM))


def _lines(text: str | None) -> int:
    return 0 if not text else text.count("<br>") + 1


def _wrap_panel_headings(fig: go.Figure) -> int:
    """Wrap every heading to the chart width in the axis-title size; return the lines
    of the tallest heading over the top panel (0 when there is none)."""
    top_lines = 0
    for ann in subplot_titles(fig):
        ann.font.size = PHONE_AXIS_TITLE_SIZE
        ann.text = fit_label(ann.text, _chars(PHONE_PLAN_WIDTH - 20, PHONE_AXIS_TITLE_SIZE))
        if float(ann.y) >= 0.97:
            top_lines = max(top_lines, _lines(ann.text))
    return top_lines


def _place_title(fig: go.Figure, heading_lines: int) -> float:
    """Wrap the title and subtitle, sit them on the plot area under the toolbar's room;
    return the estimated top margin (px)."""
    heading_room = heading_lines * PHONE_AXIS_TITLE_SIZE * _LINE_EM + (8 if heading_lines else 0)
    title = fig.layout.title
    usable = PHONE_PLAN_WIDTH - 2 * TITLE_PAD_PX
    if not title.text:
        fig.layout.margin.t = round(MODEBAR_ROOM + heading_room)
        return MODEBAR_ROOM + heading_room
    title.font.size = PHONE_TITLE_SIZE
    title.text = fit_label(title.text, _chars(usable, PHONE_TITLE_SIZE))
    room = heading_room + 8
    subtitle = title.subtitle
    if subtitle is not None and subtitle.text:
        subtitle.font.size = PHONE_FONT_SIZE
        subtitle.text = fit_label(subtitle.text, _chars(usable, PHONE_FONT_SIZE))
        # plotly's title automargin does not count the subtitle drawn under it
        room += _lines(subtitle.text) * PHONE_FONT_SIZE * _LINE_EM + 6
    # Anchored on the plot area with automargin, plotly grows the top margin to fit the
    # title however many lines it has; the top pad keeps it under the toolbar, the
    # bottom pad keeps the subtitle and panel headings clear of it.
    title.update(
        yref="paper",
        y=1.0,
        yanchor="bottom",
        automargin=True,
        pad={"t": MODEBAR_ROOM, "b": round(room), "l": TITLE_PAD_PX},
    )
    fig.layout.margin.t = MODEBAR_ROOM
    return MODEBAR_ROOM + _lines(title.text) * PHONE_TITLE_SIZE * _LINE_EM + room


def _set_phone_fonts(fig: go.Figure) -> None:
    """Body, tick and axis-title type for a phone (lecture type would fill the screen)."""
    fig.layout.font.size = PHONE_FONT_SIZE
    for name in fig.layout:
        if name.startswith(("xaxis", "yaxis")):
            axis = fig.layout[name]
            axis.title.font.size = PHONE_AXIS_TITLE_SIZE
            axis.tickfont.size = PHONE_FONT_SIZE - 1
            # Fewer ticks: a 358 px axis has no room for the desktop's labels.
            if axis.nticks is None or axis.nticks > 6:
                axis.nticks = 6


def _shrink_notes_in_the_plot(fig: go.Figure) -> None:
    """Smaller, wrapped text for notes placed in data coordinates (labels in a diagram).

    Notes that share a line (about the same y) share the width: each is wrapped to its
    share, so neighbouring labels do not run into each other.
    """
    fig.layout.annotations = [ann for ann in fig.layout.annotations if ann.name != PHONE_HIDDEN]
    notes = [
        ann
        for ann in fig.layout.annotations
        if ann.text and ann.xref != "paper" and ann.yref != "paper"
    ]
    per_line: dict[float, int] = {}
    for ann in notes:
        per_line[round(float(ann.y), 1)] = per_line.get(round(float(ann.y), 1), 0) + 1
    for ann in notes:
        size = min(ann.font.size or PHONE_FONT_SIZE, PHONE_FONT_SIZE) * _NOTE_SCALE
        ann.font.size = (
            _MIN_NOTE_SIZE if ann.name == PHONE_SMALL else max(round(size), _MIN_NOTE_SIZE)
        )
        share = PHONE_PLAN_WIDTH * 0.8 / per_line[round(float(ann.y), 1)]
        if ann.name == PHONE_SMALL:
            # A label inside a box, often bold: it keeps clear of the box's edges.
            share *= 0.8
        ann.text = fit_label(ann.text, _chars(share, ann.font.size))


def _legend_entries(fig: go.Figure) -> list[str]:
    return [
        str(trace.name)
        for trace in fig.data
        if trace.name and trace.showlegend is not False and trace.visible is not False
    ]


def _legend_below(fig: go.Figure) -> float:
    """Put the legend under the plot as a horizontal block; return its estimated height.

    Pinned to the bottom of the canvas (container coordinates), plotly reserves its
    height in the margin, so it can never cover the plot, tick labels or axis titles.
    """
    entries = _legend_entries(fig)
    if fig.layout.showlegend is False or not entries:
        return 0.0
    fig.layout.legend.update(
        orientation="h",
        xref="container",
        x=TITLE_PAD_PX / PHONE_PLAN_WIDTH,
        xanchor="left",
        yref="container",
        y=0.0,
        yanchor="bottom",
        font={"size": PHONE_FONT_SIZE},
        entrywidthmode="pixels",
        entrywidth=0,
    )
    # Entry texts wrap: plotly never breaks a legend entry, so a long one runs off.
    for trace in fig.data:
        if trace.name and trace.showlegend is not False:
            trace.name = fit_label(trace.name, _chars(PHONE_PLAN_WIDTH - 80, PHONE_FONT_SIZE))
    title = fig.layout.legend.title
    title_lines = 0
    if title.text:
        title.side = "top"
        title.text = fit_label(title.text, _chars(PHONE_PLAN_WIDTH - 20, PHONE_FONT_SIZE))
        title_lines = _lines(title.text)
    # An entry is its symbol (40 px) and its text; rows fill the width left to right.
    entries = _legend_entries(fig)
    widths = [
        40 + max(visible_length(line) for line in name.split("<br>")) * PHONE_FONT_SIZE * _GLYPH_EM
        for name in entries
    ]
    extra_lines = sum(_lines(name) - 1 for name in entries)
    rows = _rows_needed(widths, PHONE_PLAN_WIDTH - 20) + extra_lines
    return (rows + title_lines) * PHONE_FONT_SIZE * 1.7 + 16


def _rows_needed(widths: list[float], line_width: float) -> int:
    rows, used = 1, 0.0
    for width in widths:
        if used and used + width > line_width:
            rows, used = rows + 1, 0.0
        used += width
    return rows


def _plot_height(fig: go.Figure, panels: int) -> float:
    """Height of the plot area(s): stacked panels at their fixed height, a lone plot at
    about its desktop height within phone bounds."""
    if panels > 1:
        return panels * PHONE_PANEL_HEIGHT + (panels - 1) * PHONE_PANEL_GAP
    desktop = (fig.layout.height or 450) - 150
    lone = float(min(max(desktop, PHONE_MIN_PLOT_HEIGHT), PHONE_MAX_PLOT_HEIGHT))
    return min(max(lone, _height_keeping_notes_apart(fig)), PHONE_MAX_DIAGRAM_HEIGHT)


def _height_keeping_notes_apart(fig: go.Figure) -> float:
    """Plot height (px) at which notes stacked in data coordinates (a label over a
    formula in a diagram box) no longer overlap, once wrapped; 0 when nothing needs it.

    Only for a fixed y range: the notes' distance in data units is then a known share
    of the plot height.
    """
    y_range = fig.layout.yaxis.range
    if y_range is None:
        return 0.0
    span = abs(float(y_range[1]) - float(y_range[0]))
    notes = [
        ann
        for ann in fig.layout.annotations
        if ann.text and ann.xref != "paper" and ann.yref != "paper" and ann.x is not None
    ]
    needed = 0.0
    for i, a in enumerate(notes):
        for b in notes[i + 1 :]:
            apart = abs(float(a.y) - float(b.y))
            if abs(float(a.x) - float(b.x)) > 0.01 or apart == 0:
                continue
            # Centred notes: half of each one's height must fit between the centres.
            px = sum(_lines(n.text) * n.font.size * _LINE_EM for n in (a, b)) / 2 + 2
            needed = max(needed, px / apart * span)
    return needed


def _wrap_y_titles(fig: go.Figure, plot_height: float, panels: int) -> None:
    """Wrap y titles longer than their panel is tall (they would run into the heading)."""
    panel_px = plot_height if panels <= 1 else PHONE_PANEL_HEIGHT
    for name in fig.layout:
        if name.startswith("yaxis") and fig.layout[name].title.text:
            axis = fig.layout[name]
            axis.title.text = fit_label(
                axis.title.text, _chars(panel_px * 0.95, PHONE_AXIS_TITLE_SIZE)
            )
