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

from typing import Final

import plotly.graph_objects as go

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
#: Human-readable names for the parts, same keys as ``PART_COLORS``.
PART_LABELS: Final[dict[int, str]] = {
    0: "anchor-sampled part",
    1: "unsampled part",
    2: "task-irrelevant part",
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

# Sizes in CSS pixels (PNG export multiplies them by the export scale).
NORMAL_FONT_SIZE: Final[int] = 14
LECTURE_FONT_SIZE: Final[int] = 24
NORMAL_LINE_WIDTH: Final[float] = 2.5
LECTURE_LINE_WIDTH: Final[float] = 5.0
NORMAL_MARKER_SIZE: Final[float] = 6.0
LECTURE_MARKER_SIZE: Final[float] = 10.0

#: Default PNG canvas in CSS pixels (16:9, slide-ready once multiplied by scale 2).
EXPORT_WIDTH: Final[int] = 1280
EXPORT_HEIGHT: Final[int] = 720

# Trace types whose line width we manage.
_LINE_TRACES: Final[tuple[str, ...]] = ("scatter", "scattergl", "contour", "histogram2dcontour")


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
        "title": {"font": {"size": round(font_size * 1.1)}},
        "automargin": True,
    }
    if lecture:
        # Fewer ticks mean fewer grid lines and less to read from the back row.
        axis["nticks"] = 6
    template = go.layout.Template(base)
    template.layout.update(
        font={"family": FONT_FAMILY, "size": font_size, "color": "#222222"},
        title={"font": {"size": round(font_size * 1.3)}, "x": 0.0, "xanchor": "left"},
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
    template.data.contour = [go.Contour(line={"width": line_width * 0.6})]
    return template


_TEMPLATES: dict[bool, go.layout.Template] = {}


def _template(lecture: bool) -> go.layout.Template:
    if lecture not in _TEMPLATES:
        _TEMPLATES[lecture] = build_template(lecture)
    return _TEMPLATES[lecture]


def _margins(lecture: bool) -> dict[str, int]:
    if lecture:
        return {"l": 90, "r": 40, "t": 90, "b": 80}
    return {"l": 70, "r": 30, "t": 70, "b": 60}


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


def apply_theme(fig: go.Figure, lecture: bool = False) -> go.Figure:
    """Pin the explicit template, fonts and margins on ``fig`` and return it.

    Mutates ``fig`` in place (and returns it for chaining). Idempotent. In lecture mode
    the type is much larger, lines thicker and grid lines fewer.
    """
    fig.update_layout(
        template=_template(lecture),
        margin=_margins(lecture),
        hovermode=fig.layout.hovermode or "closest",
    )
    if lecture:
        _thicken_explicit_lines(fig)
    return fig


def part_color(part: int) -> str:
    """Colour of component part ``part`` (0 anchor, 1 unsampled, 2 task-irrelevant)."""
    if part not in PART_COLORS:
        raise ValueError(f"part must be one of {sorted(PART_COLORS)}, got {part!r}")
    return PART_COLORS[part]


def with_alpha(hex_color: str, alpha: float) -> str:
    """Turn ``#RRGGBB`` into an ``rgba(...)`` string with opacity ``alpha`` in [0, 1]."""
    if not (0.0 <= alpha <= 1.0):
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    h = hex_color.lstrip("#")
    if len(h) != 6:
        raise ValueError(f"expected a colour like #RRGGBB, got {hex_color!r}")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:g})"
