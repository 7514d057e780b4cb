"""Colours, fonts and the explicit plotly template shared by every figure.

Why an explicit template: importing streamlit sets ``plotly.io.templates.default`` to
its own "streamlit" template, so a figure that relies on the default would look one way
in the app and another way in a PNG made by a process that never imported streamlit.
``apply_theme`` pins the template on the figure itself, so screen and PNG match (the
page must also pass ``theme=None`` to ``st.plotly_chart``; ``ggmi_app.figures`` does).

Colours follow the Okabe-Ito palette, which stays distinguishable under the common
forms of colour blindness. Figure text must never contain LaTeX: kaleido would try to
fetch MathJax from the internet while exporting.
"""

from __future__ import annotations

import re
import textwrap
from typing import Final

import plotly.graph_objects as go

from ggmi_core.config import PART_LABELS

# Okabe & Ito (2008), "Color Universal Design". Yellow is left out of the role colours
# because it is nearly invisible on white.
OKABE_ITO: Final[dict[str, str]] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
GREY: Final[str] = "#7F7F7F"

#: Colour of each component part (``ScenarioConfig`` letters: K, J, L).
#: Keys are the ints used by ``ScenarioBatch.model_part``.
PART_COLORS: Final[dict[int, str]] = {
    0: OKABE_ITO["blue"],  # anchor-sampled part (K components)
    1: OKABE_ITO["orange"],  # unsampled part (J components)
    2: OKABE_ITO["reddish_purple"],  # task-irrelevant part (L components)
}
#: Legend names of the parts, same keys as ``PART_COLORS`` (from ``config.PART_LABELS``).
PART_LEGEND_LABELS: Final[dict[int, str]] = {
    code: f"{name} part" for code, name in enumerate(PART_LABELS)
}

#: Colour of each distribution role drawn in the figures.
ROLE_COLORS: Final[dict[str, str]] = {
    "target G": OKABE_ITO["black"],
    "model M": OKABE_ITO["vermillion"],
    "fit on anchor": OKABE_ITO["sky_blue"],
    "fit on synthetic": OKABE_ITO["bluish_green"],
}
#: Dash pattern per role, so roles differ by more than colour alone.
ROLE_DASH: Final[dict[str, str]] = {
    "target G": "solid",
    "model M": "dot",
    "fit on anchor": "dash",
    "fit on synthetic": "dashdot",
}

#: Cycle for generic series (sweep curves, several metrics): black last, it is used
#: for the target.
COLORWAY: Final[tuple[str, ...]] = (
    OKABE_ITO["blue"],
    OKABE_ITO["orange"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["black"],
)

# Fonts that exist on Debian (Chromium used by kaleido) and on most visitors' machines.
FONT_FAMILY: Final[str] = "Arial, 'Liberation Sans', 'DejaVu Sans', Helvetica, sans-serif"

# Sizes in CSS pixels (PNG export multiplies them by the export scale). Lecture type is
# sized for a 1024 px wide projector: larger ones push titles and legends off the chart.
NORMAL_FONT_SIZE: Final[int] = 14
LECTURE_FONT_SIZE: Final[int] = 20
#: Subplot titles (panel headings) in lecture mode: the axis-title size.
LECTURE_SUBPLOT_TITLE_SIZE: Final[int] = round(LECTURE_FONT_SIZE * 1.1)
NORMAL_LINE_WIDTH: Final[float] = 2.5
LECTURE_LINE_WIDTH: Final[float] = 5.0
NORMAL_MARKER_SIZE: Final[float] = 6.0
LECTURE_MARKER_SIZE: Final[float] = 10.0

#: Interactive-only hint in legend titles: ``ggmi_viz.export`` drops it from exports.
INTERACTIVE_HINT: Final[str] = "click an entry to hide it"

#: Default PNG canvas in CSS pixels (16:9, slide-ready once multiplied by scale 2).
EXPORT_WIDTH: Final[int] = 1280
EXPORT_HEIGHT: Final[int] = 720

# Trace types whose line width we manage (the line-drawing ones of TEMPLATE_TRACE_TYPES).
_LINE_TRACES: Final[tuple[str, ...]] = ("scatter", "scattergl")

#: The trace types our figures draw; the template keeps plotly_white's defaults for these
#: only. Its other ~18 types (maps, 3-D, polar, tables...) would style nothing here, yet
#: every rerun paid to validate and send them (~25 ms and ~4 KB per chart).
TEMPLATE_TRACE_TYPES: Final[tuple[str, ...]] = (
    "bar", "box", "heatmap", "histogram", "scatter", "scattergl",
)  # fmt: skip


def build_template(lecture: bool = False) -> go.layout.Template:
    """Return the explicit template used by ``apply_theme``.

    Built on plotly's ``plotly_white`` (a white page prints well on slides), with the
    Okabe-Ito colourway, our fonts, and lighter or fewer grid lines in lecture mode.
    """
    import plotly.io as pio

    base = pio.templates["plotly_white"]
    font_size = LECTURE_FONT_SIZE if lecture else NORMAL_FONT_SIZE
    line_width = LECTURE_LINE_WIDTH if lecture else NORMAL_LINE_WIDTH
    marker_size = LECTURE_MARKER_SIZE if lecture else NORMAL_MARKER_SIZE
    axis = {
        "showgrid": True,
        "gridcolor": "#E5E5E5" if not lecture else "#EFEFEF",
        "gridwidth": 1,
        "zeroline": False,
        "showline": True,
        "linecolor": "#444444",
        "linewidth": 2 if lecture else 1,
        "ticks": "outside",
        "tickwidth": 2 if lecture else 1,
        "title": {"font": {"size": round(font_size * 1.1)}, "standoff": 12 if lecture else 8},
        "automargin": True,
    }
    if lecture:
        # Fewer ticks mean fewer grid lines and less to read from the back row.
        axis["nticks"] = 6
    template = go.layout.Template(
        layout=base.layout,
        data={kind: base.data[kind] for kind in TEMPLATE_TRACE_TYPES},
    )
    template.layout.update(
        font={"family": FONT_FAMILY, "size": font_size, "color": "#222222"},
        # Left-aligned, but never on the canvas edge (exports are cropped to the canvas).
        title={
            "font": {"size": round(font_size * 1.3)},
            "x": 0.0,
            "xanchor": "left",
            "pad": {"l": TITLE_PAD_PX},
        },
        colorway=list(COLORWAY),
        xaxis=axis,
        yaxis=axis,
        legend={"font": {"size": font_size}, "bgcolor": "rgba(255,255,255,0.8)"},
        hoverlabel={"font": {"family": FONT_FAMILY, "size": max(font_size - 2, 12)}},
        paper_bgcolor="white",
        plot_bgcolor="white",
    )
    template.data.scatter = [go.Scatter(line={"width": line_width}, marker={"size": marker_size})]
    template.data.scattergl = [
        go.Scattergl(line={"width": line_width}, marker={"size": marker_size})
    ]
    return template


#: Left padding of the figure title and the smallest margins of every figure (CSS px).
TITLE_PAD_PX: Final[int] = 16

_TEMPLATES: dict[bool, go.layout.Template] = {}


def _template(lecture: bool) -> go.layout.Template:
    if lecture not in _TEMPLATES:
        _TEMPLATES[lecture] = build_template(lecture)
    return _TEMPLATES[lecture]


#: Attribute marking a figure's template object as one ``_pin_template`` set (its value:
#: the ``lecture`` flag it was built for).
_PINNED: Final[str] = "_ggmi_pinned_theme"


def _pin_template(fig: go.Figure, lecture: bool) -> None:
    """Set ``fig``'s template to ours, unless this very template object is already it.

    Plotly copies and validates a template on every assignment (~5-12 ms: it is most of
    ``apply_theme``), and a figure is themed twice on its way to the screen (by its
    builder, then by the figure cache), so the second time keeps the copy the first made.
    The mark sits on the figure's own template object: a figure copied (``go.Figure(fig)``,
    ``to_dict``) or given another template gets a fresh object without it, and is pinned.
    """
    if getattr(fig.layout.template, _PINNED, None) is lecture:
        return
    fig.update_layout(template=_template(lecture))
    setattr(fig.layout.template, _PINNED, lecture)


def _margins(lecture: bool, diagram: bool = False) -> dict[str, int]:
    if lecture:
        # A diagram draws no axis: side room for tick labels would only narrow it.
        side = {"l": TITLE_PAD_PX, "r": TITLE_PAD_PX} if diagram else {"l": 90, "r": 40}
        return {**side, "t": 90, "b": 80}
    return {"l": 70, "r": 30, "t": 70, "b": 60}


def _is_diagram(fig: go.Figure) -> bool:
    """Whether every axis of ``fig`` is hidden (a drawing, not a chart)."""
    axes = [fig.layout[name] for name in fig.layout if name.startswith(("xaxis", "yaxis"))]
    return bool(axes) and all(axis.visible is False for axis in axes)


def _thicken_explicit_lines(fig: go.Figure) -> None:
    """Raise explicitly set line widths/marker sizes to the lecture minimum.

    A max (not a multiplication) keeps ``apply_theme`` idempotent: theming a figure
    twice gives the same figure. Zero widths (filled bands without an edge) stay zero.
    """
    for trace in fig.data:
        if trace.type not in _LINE_TRACES:
            continue
        line = getattr(trace, "line", None)
        if line is not None and line.width is not None and line.width > 0:
            line.width = max(line.width, LECTURE_LINE_WIDTH * 0.6)
        marker = getattr(trace, "marker", None)
        size = getattr(marker, "size", None) if marker is not None else None
        if isinstance(size, int | float) and size > 0:
            marker.size = max(size, LECTURE_MARKER_SIZE * 0.8)


# ------------------------------------------------------------- lecture-mode layout
# Plotly never wraps text and places titles, subplot titles and legends without regard
# for each other. In lecture mode the type is large, so ``apply_theme`` wraps long texts
# for the narrowest screen a lecture is planned for and reserves room for each block.

#: Chart width (CSS px) lecture layouts are planned for: the narrowest main column a
#: lecture is shown in, a 1280 px wide screen with the lecturer's sidebar (300 px) open
#: (820 px; a 1024 px screen with the sidebar collapsed gives 864). Wider screens only
#: add room.
LECTURE_PLAN_WIDTH: Final[int] = 820
#: Room a legend entry takes besides its text: the line sample and the gaps around it.
_LEGEND_SYMBOL_PX: Final[int] = 60
#: Figure height (CSS px) when a figure sets none: plotly's 450 squashes panels once
#: lecture type and a legend take their share.
LECTURE_DEFAULT_HEIGHT: Final[int] = 600
#: Chart height (CSS px) lecture layouts are planned for: on screen a lecture chart is as
#: tall as the window leaves it (slide fit, ``ggmi_app.layout``), at least about this much
#: on a 1280 x 720 screen below a page title and a section heading. Texts that run along
#: the height (y-axis titles) are wrapped for it; a taller chart only adds room.
LECTURE_PLAN_HEIGHT: Final[int] = 480
#: Least type size (CSS px) of a y-axis title made smaller to fit a short panel.
_LEAST_Y_TITLE_SIZE: Final[int] = 14
#: Average glyph width of the sans-serif fonts above, in em (a slight overestimate).
_GLYPH_EM: Final[float] = 0.56
#: Line height of plotly's multi-line text, in em.
_LINE_EM: Final[float] = 1.3
_TITLE_TOP_PAD: Final[int] = 12
_TAG: Final = re.compile(r"<[^>]+>")


def visible_length(text: str) -> int:
    """Characters of ``text`` that are drawn (plotly's pseudo-HTML tags removed)."""
    return len(_TAG.sub("", text))


#: Stands for a space inside a bracket while ``textwrap`` fills (it breaks only at
#: whitespace, and this private-use character is none).
_BRACKET_SPACE: Final[str] = "\ue000"
#: First of the private-use characters that stand for plotly's tags while ``textwrap``
#: fills (a tag is then one character wide instead of none: a slight overestimate).
_TAG_BASE: Final[int] = 0xE100


def _textwrap_lines(line: str, max_chars: int, *, keep_brackets: bool = True) -> list[str]:
    """``line`` (no ``<br>``) filled by ``textwrap`` into lines of at most ``max_chars``.

    Words are never cut and hyphens never broken at (a long word or bracket overflows its
    line instead); with ``keep_brackets`` the spaces inside a bracket are not break
    points (``_unbreakable_words``). Tags are hidden from ``textwrap`` while it fills.
    """
    tags: list[str] = []

    def hide(match: re.Match[str]) -> str:
        tags.append(match.group(0))
        return chr(_TAG_BASE + len(tags) - 1)

    hidden = _TAG.sub(hide, line)
    if keep_brackets:
        hidden = " ".join(w.replace(" ", _BRACKET_SPACE) for w in _unbreakable_words(hidden))
    filled = textwrap.wrap(
        hidden, width=max_chars, break_long_words=False, break_on_hyphens=False,
        expand_tabs=False, replace_whitespace=False,
    )  # fmt: skip
    shown = re.compile("[" + chr(_TAG_BASE) + "-" + chr(_TAG_BASE + max(len(tags), 1)) + "]")
    return [
        shown.sub(lambda m: tags[ord(m.group(0)) - _TAG_BASE], out.replace(_BRACKET_SPACE, " "))
        for out in filled
    ] or [""]


def wrap_label(text: str, max_chars: int) -> str:
    """Break ``text`` with ``<br>`` so no line is longer than ``max_chars`` (words kept).

    ``textwrap``'s greedy fill, line by line: existing ``<br>`` breaks stay; a bracket
    is kept on one line; a single word (or bracket) longer than ``max_chars`` stays
    whole. Idempotent.
    """
    max_chars = max(max_chars, 8)
    return "<br>".join(
        "<br>".join(_textwrap_lines(part, max_chars)) for part in text.split("<br>")
    )


def fit_label(text: str, max_chars: int) -> str:
    """Break ``text`` into as few lines of at most ``max_chars`` as ``wrap_label`` needs,
    those lines about equally long; a long bracket that fits on no line is split at
    spaces (where a text must fit, a bracket over two lines beats a line cut at the edge).

    ``textwrap`` fills greedily and leaves a short last line; the even lines come from
    filling at the narrowest width that needs no more lines. Idempotent: existing
    ``<br>`` breaks stay.
    """
    max_chars = max(max_chars, 8)
    lines = _fill(text, max_chars).count("<br>")
    # The narrowest fill with no more lines: a greedy fill leaves a short last line.
    for width in range(max(-(-visible_length(text) // (lines + 1)), 8), max_chars):
        if (filled := _fill(text, width)).count("<br>") <= lines:
            return filled
    return _fill(text, max_chars)


def _fill(text: str, max_chars: int) -> str:
    """``wrap_label``; a paragraph it leaves longer than ``max_chars`` (a long bracket
    kept whole) is instead filled at every space."""
    paragraphs = []
    for paragraph in text.split("<br>"):
        wrapped = wrap_label(paragraph, max_chars)
        if any(visible_length(line) > max_chars for line in wrapped.split("<br>")):
            wrapped = "<br>".join(_even_lines(paragraph, max_chars))
        paragraphs.append(wrapped)
    return "<br>".join(paragraphs)


def _even_lines(paragraph: str, max_chars: int) -> list[str]:
    """``paragraph`` filled at every space in as few lines of at most ``max_chars`` as a
    greedy fill needs, the lines made about equally long."""
    count = len(_textwrap_lines(paragraph, max_chars, keep_brackets=False))
    width = min(-(-visible_length(paragraph) // count), max_chars)  # the even share
    while len(lines := _textwrap_lines(paragraph, width, keep_brackets=False)) > count:
        width += 1
    return lines


def _unbreakable_words(line: str) -> list[str]:
    """Words of ``line`` split at spaces, except inside brackets.

    A bracket holds one thought ("KL(fit || G)", "(J = L = 2)"): a line break inside it
    reads as two unrelated fragments, so its words stay together.
    """
    words: list[str] = []
    depth = 0
    for word in line.split(" "):
        if depth > 0 and words:
            words[-1] = f"{words[-1]} {word}"
        else:
            words.append(word)
        opened = word.count("(") + word.count("[")
        depth = max(depth + opened - word.count(")") - word.count("]"), 0)
    return words


def _line_count(text: str | None) -> int:
    return 0 if not text else text.count("<br>") + 1


def _chars_for(width_px: float, font_size: float) -> int:
    return int(width_px / (font_size * _GLYPH_EM))


def subplot_titles(fig: go.Figure) -> list[go.layout.Annotation]:
    """Annotations placed like ``make_subplots`` titles: above a panel, in paper units."""
    return [
        ann
        for ann in fig.layout.annotations
        if ann.text
        and ann.showarrow is False
        and ann.xref == "paper"
        and ann.yref == "paper"
        and ann.yanchor == "bottom"
    ]


def _panel_columns(fig: go.Figure) -> int:
    """Number of panels side by side (distinct x-axis domains starting at different x)."""
    starts = set()
    for name in fig.layout:
        if name.startswith("xaxis"):
            domain = fig.layout[name].domain
            starts.add(round(float(domain[0]), 3) if domain is not None else 0.0)
    return max(len(starts), 1)


def _lecture_layout(fig: go.Figure) -> None:
    """Wrap titles, size subplot titles, move the legend to the bottom, reserve room.

    Mutates ``fig``; idempotent (wrapped text is not wrapped again, sizes are set, not
    scaled).
    """
    size = LECTURE_FONT_SIZE
    title_size = round(size * 1.3)
    # Subplot titles head whole panels: as large as the axis titles, read from afar.
    subplot_size = LECTURE_SUBPLOT_TITLE_SIZE
    height = fig.layout.height or LECTURE_DEFAULT_HEIGHT
    if fig.layout.height is None:
        fig.layout.height = height
    usable = LECTURE_PLAN_WIDTH - 2 * TITLE_PAD_PX

    columns = _panel_columns(fig)
    panel_width = (LECTURE_PLAN_WIDTH - 130) / columns * 0.92
    top_row_lines = 0
    for ann in subplot_titles(fig):
        ann.font.size = subplot_size
        ann.text = wrap_label(ann.text, _chars_for(panel_width, subplot_size))
        if float(ann.y) >= 0.97:  # a title above the top row of panels
            top_row_lines = max(top_row_lines, _line_count(ann.text))
    # Room for the subplot titles of the top row, between the figure title and the plot.
    subplot_room = round(top_row_lines * subplot_size * _LINE_EM) + 12

    title = fig.layout.title
    if title.text:
        title.text = wrap_label(title.text, _chars_for(usable, title_size))
        subtitle = title.subtitle
        if subtitle is not None and subtitle.text:
            subtitle.font.size = size
            subtitle.text = wrap_label(subtitle.text, _chars_for(usable, size))
            # plotly's title automargin does not count the subtitle drawn under it
            subplot_room += round(_line_count(subtitle.text) * size * _LINE_EM) + 6
        # Sat on the plot area with automargin, plotly grows the top margin to fit the
        # title however many lines it has (anchored to the canvas top instead, a
        # multi-line title is drawn partly above the canvas); the bottom padding keeps
        # the subplot titles clear of it.
        title.update(
            yref="paper",
            y=1.0,
            yanchor="bottom",
            automargin=True,
            pad={"b": subplot_room, "l": TITLE_PAD_PX},
        )
        fig.layout.margin.t = _TITLE_TOP_PAD
    else:
        fig.layout.margin.t = max(subplot_room + _TITLE_TOP_PAD, 30)

    _wrap_y_titles(fig, min(height, LECTURE_PLAN_HEIGHT))
    _wrap_x_titles(fig)

    if fig.layout.showlegend is not False:
        _wrap_legend_names(fig, _chars_for(usable - _LEGEND_SYMBOL_PX, size))
        # A horizontal legend pinned to the bottom of the canvas: plotly then reserves
        # its height in the margin, so it can never cover axis titles or tick labels.
        fig.layout.legend.update(
            orientation="h",
            xref="container",
            x=0.0,
            xanchor="left",
            yref="container",
            y=0.0,
            yanchor="bottom",
            font={"size": size},
        )


def _wrap_y_titles(fig: go.Figure, height: float) -> None:
    """Wrap y-axis titles longer than their panel is tall (they would spill into titles).

    A word longer than its panel (stacked panels on a short slide) cannot be wrapped:
    that title's type is made smaller until its longest line fits, down to
    ``_LEAST_Y_TITLE_SIZE``.
    """
    # A rough plot height: the canvas less the typical title, axis and legend room.
    plot_height = height - 220
    axis_size = round(LECTURE_FONT_SIZE * 1.1)
    for name in fig.layout:
        if not name.startswith("yaxis"):
            continue
        axis = fig.layout[name]
        text = axis.title.text
        if not text:
            continue
        domain = axis.domain if axis.domain is not None else (0.0, 1.0)
        panel_px = max(plot_height * (float(domain[1]) - float(domain[0])), 80.0) * 0.95
        axis.title.text = wrap_label(text, _chars_for(panel_px, axis_size))
        longest = max(visible_length(line) for line in axis.title.text.split("<br>"))
        if longest * axis_size * _GLYPH_EM > panel_px:
            fitting = int(panel_px / (longest * _GLYPH_EM))
            axis.title.font.size = max(_LEAST_Y_TITLE_SIZE, min(axis_size, fitting))


def _wrap_x_titles(fig: go.Figure) -> None:
    """Wrap x-axis titles wider than their panel (side by side they run into each other)."""
    axis_size = round(LECTURE_FONT_SIZE * 1.1)
    plot_width = LECTURE_PLAN_WIDTH - 130  # the canvas less the lecture side margins
    for name in fig.layout:
        if not name.startswith("xaxis"):
            continue
        axis = fig.layout[name]
        if not axis.title.text:
            continue
        domain = axis.domain if axis.domain is not None else (0.0, 1.0)
        panel_px = plot_width * (float(domain[1]) - float(domain[0]))
        axis.title.text = fit_label(axis.title.text, _chars_for(panel_px * 0.95, axis_size))


def _wrap_legend_names(fig: go.Figure, max_chars: int) -> None:
    """Wrap legend entries longer than the chart is wide: plotly moves a long entry to a
    row of its own but never wraps it, so it would run off the chart's right edge."""
    for trace in fig.data:
        if trace.name and trace.showlegend is not False:
            trace.name = fit_label(trace.name, max_chars)


def apply_theme(fig: go.Figure, lecture: bool = False) -> go.Figure:
    """Pin the explicit template, fonts and margins on ``fig`` and return it.

    Mutates ``fig`` in place (and returns it for chaining). Idempotent. In lecture mode
    the type is much larger, lines thicker and grid lines fewer; long titles, x titles
    of side-by-side panels and long legend entries are wrapped, subplot titles take the
    body size and the legend sits below the chart, with room reserved for each, so
    nothing overlaps in an 820 px chart (``LECTURE_PLAN_WIDTH``); y titles are wrapped
    for a chart of ``LECTURE_PLAN_HEIGHT``, the least a window gives it on screen. A
    diagram (every axis hidden) keeps only small side margins.
    """
    _pin_template(fig, lecture)
    fig.update_layout(
        margin=_margins(lecture, _is_diagram(fig)),
        hovermode=fig.layout.hovermode or "closest",
    )
    if lecture:
        _thicken_explicit_lines(fig)
        _lecture_layout(fig)
    if fig.layout.sliders:
        _place_slider(fig, lecture)
    return fig


# ------------------------------------------------------------- in-figure slider
# A flip-book's slider (``ggmi_viz.flipbook``) sits between the title and the plot: under
# the plot it would meet the x title and, in lecture mode, the legend pinned to the
# canvas bottom (plotly reserves margin for each on its own, it does not stack them).

#: Plotly's fixed slider geometry below the current value (px): tick offset, tick
#: length and label offset (plotly.js slider constants and the default ``ticklen``).
_SLIDER_RAIL_PX: Final[int] = 25 + 7 + 8
#: Gap (px) between the current value's offset and the value text, and below the labels.
_SLIDER_VALUE_OFFSET: Final[int] = 10
_SLIDER_GAP_PX: Final[int] = 14
#: Height (px) of plotly's toolbar row at the top of the canvas.
_MODEBAR_ROOM_PX: Final[int] = 34


def slider_room(lecture: bool) -> int:
    """Height (CSS px) an in-figure slider takes above the plot, gap included."""
    size = LECTURE_FONT_SIZE if lecture else NORMAL_FONT_SIZE
    value_size = round(size * 1.3)
    return (
        round(value_size * _LINE_EM + _SLIDER_VALUE_OFFSET + _SLIDER_RAIL_PX + size * _LINE_EM)
        + 2 * _SLIDER_GAP_PX
    )


def _place_slider(fig: go.Figure, lecture: bool) -> None:
    """Type, place and make room for ``fig``'s in-figure slider(s) above the plot.

    The step labels take the body size and the current value the title size, so a
    lecture hall reads which frame is shown. The title sits on the plot area, padded by
    the slider's height, under a fixed top margin that holds the toolbar row, the title
    and the slider. Idempotent: sizes and paddings are set, never added to earlier ones,
    except in lecture mode, where ``_lecture_layout`` has just set the title's own padding.
    """
    size = LECTURE_FONT_SIZE if lecture else NORMAL_FONT_SIZE
    for slider in fig.layout.sliders:
        slider.update(
            x=0.0, xanchor="left", len=1.0, y=1.0, yanchor="bottom",
            pad={"t": 0, "b": _SLIDER_GAP_PX, "l": 0, "r": 0},
            font={"size": size},
            currentvalue={"font": {"size": round(size * 1.3)}, "xanchor": "left",
                          "offset": _SLIDER_VALUE_OFFSET},
        )  # fmt: skip
    title = fig.layout.title
    if not title.text:
        return  # the slider's own automargin makes room at the top
    below_title = title.pad.b if lecture and title.pad.b is not None else _TITLE_TOP_PAD
    title_size = title.font.size or round(size * 1.3)
    title_height = round(_line_count(title.text) * title_size * _LINE_EM)
    # A fixed top margin, not the title's automargin: with the slider pushing the margin
    # too, plotly.js sometimes settled without the title's push and drew the title above
    # the canvas (seen in headless Chromium with the sidebar open).
    title.update(
        yref="paper",
        y=1.0,
        yanchor="bottom",
        automargin=False,
        pad={"t": 0, "b": below_title + slider_room(lecture), "l": TITLE_PAD_PX},
    )
    # the toolbar (mode bar) keeps its row above the title, or it covers the title's end
    # while the pointer is on the chart
    fig.layout.margin.t = _MODEBAR_ROOM_PX + title_height + below_title + slider_room(lecture)


def with_alpha(hex_color: str, alpha: float) -> str:
    """Turn ``#RRGGBB`` into an ``rgba(...)`` string with opacity ``alpha`` in [0, 1]."""
    if not (0.0 <= alpha <= 1.0):
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    h = hex_color.lstrip("#")
    if len(h) != 6:
        raise ValueError(f"expected a colour like #RRGGBB, got {hex_color!r}")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:g})"


# ------------------------------------------------------------- least slide height
# On screen a lecture chart is as tall as the window leaves it (``ggmi_app.layout``'s
# slide fit). Plotly keeps every text at its size and gives the plot what is left, so a
# chart with many lines of title, legend and axis titles needs a least height; below it
# the chart is drawn at that height and scaled down as a whole (type included), never
# squeezed into overlapping texts.

#: Least height (CSS px) of one row of panels.
_LEAST_ROW_PX: Final[int] = 120
#: Safety factor on the estimate (plotly's automargin rounds up, lines have padding).
_LEAST_SAFETY: Final[float] = 1.2
#: An estimate above this share of the figure's own height gives way to that height.
_NEAR_OWN: Final[float] = 0.8


def _text_block(text: str | None, size: float) -> float:
    return _line_count(text) * size * _LINE_EM


def _legend_rows(fig: go.Figure, size: float) -> list[int]:
    """Lines of each row of a horizontal legend packed into the planned chart width."""
    width = LECTURE_PLAN_WIDTH - 2 * TITLE_PAD_PX
    rows: list[int] = []
    used = width + 1.0
    for trace in fig.data:
        if not trace.name or trace.showlegend is False:
            continue
        lines = trace.name.split("<br>")
        entry = max(visible_length(line) for line in lines) * size * _GLYPH_EM
        entry += _LEGEND_SYMBOL_PX
        if used + entry > width:
            rows.append(len(lines))
            used = entry
        else:
            rows[-1] = max(rows[-1], len(lines))
            used += entry
    return rows


def _panel_rows(fig: go.Figure) -> int:
    """Number of panel rows (distinct y-axis domains starting at different heights)."""
    starts = set()
    for name in fig.layout:
        if name.startswith("yaxis"):
            domain = fig.layout[name].domain
            starts.add(round(float(domain[0]), 3) if domain is not None else 0.0)
    return max(len(starts), 1)


def lecture_least_height(fig: go.Figure) -> int:
    """Least on-screen height (CSS px) at which a lecture-themed ``fig`` lays out cleanly.

    An estimate from its texts: title, subtitle and subplot-title lines, legend rows
    (packed into ``LECTURE_PLAN_WIDTH``), x-axis titles and tick labels, and
    ``_LEAST_ROW_PX`` per row of panels; never more than the figure's own height, and
    that height itself when the estimate comes near it, and for a diagram (every axis
    hidden), whose labels sit in boxes drawn to its proportions.
    """
    if _is_diagram(fig):  # a drawing keeps its proportions: labels sit in its boxes
        return int(fig.layout.height or LECTURE_DEFAULT_HEIGHT)
    size = LECTURE_FONT_SIZE
    title = fig.layout.title
    title_size = (title.font.size if title.font is not None else None) or round(size * 1.3)
    top = float(fig.layout.margin.t or 0)
    if title.text and not fig.layout.sliders:
        top += _text_block(title.text, title_size) + float(title.pad.b or 0)
    axis_size = round(size * 1.1)
    x_titles = [
        fig.layout[name].title.text
        for name in fig.layout
        if name.startswith("xaxis") and fig.layout[name].title.text
    ]
    x_room = max((_text_block(text, axis_size) for text in x_titles), default=0.0)
    bottom = x_room + size * _LINE_EM + 24 + float(fig.layout.margin.b or 0) * 0.5
    if fig.layout.showlegend is not False:
        rows = _legend_rows(fig, size)
        bottom += sum(lines * size * _LINE_EM + 8 for lines in rows) + (20 if rows else 0)
    plot = _panel_rows(fig) * _LEAST_ROW_PX
    least = round((top + plot + bottom) * _LEAST_SAFETY)
    own = int(fig.layout.height or least)
    # Near the figure's own height the rough estimate is not to be trusted (a chart 15 %
    # below its own height was seen with its subtitle on its panel headings): the height
    # its layout was made and checked for is used instead.
    return own if least > _NEAR_OWN * own else least
