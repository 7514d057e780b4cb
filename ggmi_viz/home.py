"""The Home page's drawing: the generation chain and the reverse-bottleneck idea.

One plotly figure, two rows sharing one horizontal axis of five stages:

* top row: the chain anchor data -> prompt -> model -> curation -> synthetic data, as
  boxes joined by arrows, with the model's own knowledge flowing in from above;
* bottom row: a sketch of how much information each stage carries. The prompt squeezes
  the anchor data (a bottleneck), then the model *adds* what the prompt did not hold, so
  the band widens again: the "reverse bottleneck". A dashed outline shows what an
  ordinary encoder/decoder bottleneck would do (it can never regain what it lost).

The band heights are illustrative, not measured; the figure says so. No LaTeX anywhere
(kaleido would fetch MathJax), Greek letters are plain Unicode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import plotly.graph_objects as go

from ggmi_viz.phone import PHONE_HIDDEN, PHONE_SMALL
from ggmi_viz.theme import GREY, OKABE_ITO, PART_COLORS, apply_theme, fit_label, with_alpha


@dataclass(frozen=True)
class Stage:
    """One box of the chain: short label, symbol line, and the hover explanation."""

    label: str
    symbol: str
    explanation: str
    info: float  # illustrative information content, 0..1 (reverse-bottleneck band)
    plain_info: float  # what an ordinary bottleneck would keep, 0..1


STAGES: Final[tuple[Stage, ...]] = (
    Stage(
        "Anchor data",
        "S_anchor (real, scarce)",
        "A few real examples of the task. They cover only part of what the task needs.",
        0.55,
        0.55,
    ),
    Stage(
        "Prompt",
        "p = φ_T(S_anchor)",
        "The anchor examples are packed into an instruction for the generator. "
        "Packing loses detail: this is the narrow point.",
        0.30,
        0.30,
    ),
    Stage(
        "Model M",
        "an LLM answers p",
        "The generator answers from the prompt AND from what it learned in pre-training. "
        "That extra knowledge is the information gain ΔI = H(e_M | e_p).",
        0.95,
        0.27,
    ),
    Stage(
        "Curation",
        "+ noise ε (filter, edit)",
        "Answers are filtered and edited. In the simulation this is Gaussian noise of "
        "size s added to every synthetic point.",
        0.85,
        0.25,
    ),
    Stage(
        "Synthetic data",
        "S_gen = M(p) + ε",
        "The data the post-trained model actually learns from. It can hold more than the "
        "anchor data did, which is why it can generalise better.",
        0.85,
        0.25,
    ),
)

#: Half-width of a chain box (stages are 1 apart). The normal figure is also the phone's
#: source, where a box is a fifth of 358 px: its boxes are a little wider.
_BOX_HALF_WIDTH: Final[float] = 0.44
_LECTURE_BOX_HALF_WIDTH: Final[float] = 0.42
_CHAIN_Y: Final[float] = 3.0  # centre of the chain boxes
#: Longest legend line (characters).
_LEGEND_CHARS: Final[int] = 48
_BOX_HALF_HEIGHT: Final[float] = 1.05  # room for two label lines and three symbol lines
_BAND_Y: Final[float] = 0.0  # centre line of the information band
_BAND_SCALE: Final[float] = 1.1  # half-height of the band for info = 1
#: Lecture mode enlarges the diagram's own text less than the theme does elsewhere: the
#: box labels must still fit inside their boxes.
_LECTURE_TEXT_SCALE: Final[float] = 1.3

#: Colours of the drawing: anchor data shares the anchor part's colour with the other
#: pages, the model's extra knowledge the task-irrelevant/extra part colour.
_ANCHOR_COLOR: Final[str] = PART_COLORS[0]
_GAIN_COLOR: Final[str] = OKABE_ITO["bluish_green"]
_BOX_COLORS: Final[tuple[str, ...]] = (
    _ANCHOR_COLOR,
    OKABE_ITO["sky_blue"],
    OKABE_ITO["vermillion"],
    GREY,
    _GAIN_COLOR,
)


def chain_figure(lecture: bool = False) -> go.Figure:
    """The generation chain with the reverse-bottleneck band beneath it.

    Args:
        lecture: large type and thick lines for projection in a lecture hall.

    Returns:
        A themed ``go.Figure`` (x: stage index 0..4, y: layout units without meaning).
    """
    fig = go.Figure()
    scale = _LECTURE_TEXT_SCALE if lecture else 1.0
    _add_chain(fig, scale, lecture)
    _add_knowledge_inflow(fig, scale, _BOX_HALF_HEIGHT)
    _add_information_band(fig, scale)
    _add_hover_points(fig)
    # Half a stage either side of the outer boxes: no wider, so the boxes get all the
    # width the chart has (on a phone a fifth of 358 px must hold "Synthetic").
    fig.update_xaxes(visible=False, range=[-0.5, len(STAGES) - 0.5])
    fig.update_yaxes(visible=False, range=[-1.75, 5.4])
    fig.update_layout(
        # Two lines: one would run past a laptop's chart with the sidebar open.
        title="How synthetic data is made,<br>and why it can carry more than its anchor data",
        showlegend=True,
        legend={"orientation": "h", "x": 0.0, "y": -0.02, "yanchor": "top"},
        height=680 if lecture else 560,
        dragmode=False,
    )
    apply_theme(fig, lecture=lecture)
    # The diagram needs no axis furniture even though the theme adds some.
    fig.update_xaxes(showline=False, showgrid=False, ticks="")
    fig.update_yaxes(showline=False, showgrid=False, ticks="")
    return fig


def _add_chain(fig: go.Figure, scale: float, lecture: bool) -> None:
    half_height = _BOX_HALF_HEIGHT
    half_width = _LECTURE_BOX_HALF_WIDTH if lecture else _BOX_HALF_WIDTH
    for i, (stage, color) in enumerate(zip(STAGES, _BOX_COLORS, strict=True)):
        fig.add_shape(
            type="rect",
            x0=i - half_width,
            x1=i + half_width,
            y0=_CHAIN_Y - half_height,
            y1=_CHAIN_Y + half_height,
            line={"color": color, "width": 3},
            fillcolor=with_alpha(color, 0.15),
            layer="below",
        )
        # A narrow box (a laptop with the sidebar open gives each ~110 px, a projector's
        # large type the same): the label and the symbol line each wrap onto short lines.
        label = stage.label.replace(" ", "<br>") if len(stage.label) > 8 else stage.label
        symbol = _wrap(stage.symbol, 13)
        if lecture:
            fig.add_annotation(
                x=i,
                y=_CHAIN_Y + 0.12,
                yanchor="bottom",
                text=f"<b>{label}</b>",
                showarrow=False,
                font={"size": round(16 * scale)},
            )
            fig.add_annotation(
                x=i,
                y=_CHAIN_Y - 0.05,
                yanchor="top",
                text=symbol,
                showarrow=False,
                font={"size": round(11 * scale)},
            )
        else:
            # Centred notes: the phone layout (this figure is its source) spaces them
            # apart by their centres, draws the label small and leaves the symbol out
            # (its hover text repeats it).
            fig.add_annotation(
                x=i,
                y=_CHAIN_Y + 0.45,
                text=f"<b>{label}</b>",
                showarrow=False,
                font={"size": 13},
                name=PHONE_SMALL,
            )
            fig.add_annotation(
                x=i,
                y=_CHAIN_Y - 0.42,
                text=symbol,
                showarrow=False,
                font={"size": 10},
                name=PHONE_HIDDEN,
            )
        if i + 1 < len(STAGES):
            _add_arrow(
                fig,
                tail=(i + half_width, _CHAIN_Y),
                head=(i + 1 - half_width, _CHAIN_Y),
                size=1.2,
                width=2.5,
                color="#333333",
            )


def _add_arrow(
    fig: go.Figure,
    tail: tuple[float, float],
    head: tuple[float, float],
    *,
    size: float,
    width: float,
    color: str,
) -> None:
    """A plain arrow from ``tail`` to ``head``, both in data coordinates."""
    fig.add_annotation(
        x=head[0],
        y=head[1],
        ax=tail[0],
        ay=tail[1],
        xref="x",
        yref="y",
        axref="x",
        ayref="y",
        showarrow=True,
        arrowhead=3,
        arrowsize=size,
        arrowwidth=width,
        arrowcolor=color,
        text="",
    )


def _add_knowledge_inflow(fig: go.Figure, scale: float, half_height: float) -> None:
    """Arrow from 'pre-trained knowledge' down into the model box: the information gain."""
    model_x = 2
    _add_arrow(
        fig,
        tail=(model_x, _CHAIN_Y + half_height + 1.0),
        head=(model_x, _CHAIN_Y + half_height),
        size=1.3,
        width=4,
        color=_GAIN_COLOR,
    )
    fig.add_annotation(
        x=model_x,
        y=_CHAIN_Y + half_height + 1.2,
        text="<b>the model's own knowledge</b> → information gain ΔI",
        showarrow=False,
        font={"size": round(15 * scale), "color": _GAIN_COLOR},
    )


def _band_polygon(heights: list[float]) -> tuple[list[float], list[float]]:
    """Closed outline of a band centred on _BAND_Y whose half-height follows ``heights``."""
    xs = list(range(len(heights)))
    upper = [_BAND_Y + h * _BAND_SCALE for h in heights]
    lower = [_BAND_Y - h * _BAND_SCALE for h in heights]
    return xs + xs[::-1] + [xs[0]], upper + lower[::-1] + [upper[0]]


def _add_information_band(fig: go.Figure, scale: float) -> None:
    info = [s.info for s in STAGES]
    plain = [s.plain_info for s in STAGES]
    x, y = _band_polygon(info)
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="lines",
            fill="toself",
            fillcolor=with_alpha(_GAIN_COLOR, 0.30),
            line={"color": _GAIN_COLOR, "width": 3},
            # Legend entries in two lines: one would run past a laptop's chart with the
            # sidebar open (~560 px at 1024).
            name=fit_label(
                "information carried (reverse bottleneck: narrows at the prompt, widens again)",
                _LEGEND_CHARS,
            ),
            hoverinfo="skip",
        )
    )
    x, y = _band_polygon(plain)
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="lines",
            line={"color": "#333333", "width": 2.5, "dash": "dash"},
            name=fit_label(
                "an ordinary bottleneck (encoder/decoder) could only lose information",
                _LEGEND_CHARS,
            ),
            hoverinfo="skip",
        )
    )
    fig.add_annotation(
        x=1,
        y=_BAND_Y - 0.30 * _BAND_SCALE - 0.35,
        text="bottleneck",
        showarrow=False,
        font={"size": round(14 * scale)},
    )
    fig.add_annotation(
        x=3.0,
        y=_BAND_Y + 0.9 * _BAND_SCALE + 0.25,
        text="gain: more than the anchor data held",
        showarrow=False,
        font={"size": round(14 * scale), "color": _GAIN_COLOR},
    )
    fig.add_annotation(
        x=-0.5,
        y=_BAND_Y - 1.55,
        xanchor="left",
        text="Band heights are a sketch of the idea, not measurements.",
        showarrow=False,
        font={"size": round(12 * scale), "color": "#555555"},
    )


def _add_hover_points(fig: go.Figure) -> None:
    """Invisible markers on each box that carry the hover explanation."""
    fig.add_trace(
        go.Scatter(
            x=list(range(len(STAGES))),
            y=[_CHAIN_Y] * len(STAGES),
            mode="markers",
            marker={"size": 60, "opacity": 0.0, "symbol": "square"},
            hovertext=[f"<b>{s.label}</b>: {s.symbol}<br>{_wrap(s.explanation)}" for s in STAGES],
            hoverinfo="text",
            showlegend=False,
            name="stages",
        )
    )


def _wrap(text: str, width: int = 48) -> str:
    """Break a hover sentence into lines of about ``width`` characters (plotly needs <br>)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        lines.append(current)
    return "<br>".join(lines)


#: The letters every page uses (published code, Appendix B) and what the paper's
#: Section 3.1 calls the same thing. Columns: letter, meaning, Section 3.1 wording.
LETTERS: Final[tuple[tuple[str, str, str], ...]] = (
    ("K", "target components the anchor data is drawn from", "J"),
    ("J", "target components the anchor data never shows", "K - J (their K counts all of G)"),
    ("L", "extra components only the model has (task-irrelevant)", "L (same meaning)"),
    ("N_k", "anchor samples drawn from each of the K components", "(no letter)"),
    ("n", "synthetic samples drawn from the model", "(no letter)"),
    ("d", "data dimension (the paper draws d = 2)", "(no letter)"),
    ("s", "curation noise: standard deviation added to synthetic points", "ε (noise)"),
    ("b", "prompt adherence: chance the model answers from the named component", "(no letter)"),
)


def letters_table() -> list[dict[str, str]]:
    """The letters table as rows for display (keys: letter, meaning, in Section 3.1)."""
    return [
        {"letter": letter, "meaning here": meaning, "Section 3.1 of the paper": paper}
        for letter, meaning, paper in LETTERS
    ]


def stages_table() -> list[dict[str, object]]:
    """The diagram's content as rows (for CSV export): stage, symbol, meaning, band heights.

    ``information_sketch`` and ``ordinary_bottleneck_sketch`` are the illustrative band
    half-heights (0..1) drawn in the figure, not measurements.
    """
    return [
        {
            "stage": s.label,
            "symbol": s.symbol,
            "meaning": s.explanation,
            "information_sketch": s.info,
            "ordinary_bottleneck_sketch": s.plain_info,
        }
        for s in STAGES
    ]
