"""Figures of the guided tour and its slide export (no Streamlit).

Every tour figure is drawn by an existing builder of ``ggmi_viz`` from the numbers it is
given: ``ggmi_core.tour_data.step_inputs(figure_id)`` (the recipes, the stored tables
and the one live scenario). This module only draws.

Slides: ``slide_png`` renders a figure with kaleido and places it on a 1920 x 1080 slide
with a title and a short text; ``slides_zip`` packs the slides into a ZIP archive.
"""

from __future__ import annotations

import base64
import io
import textwrap
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import pandas as pd
import plotly.graph_objects as go

from ggmi_viz import bounds as bound_figures
from ggmi_viz import diagnostics as diagnostic_figures
from ggmi_viz.distributions import figure_data, scenario_figure
from ggmi_viz.export import figure_to_png
from ggmi_viz.gap_curves import figure4_figure, gap_curve_figure, tables_by_letter
from ggmi_viz.gap_map import gap_map_data, gap_map_figure

#: Layers of the three one-scenario steps (keys of ``ggmi_viz.distributions.LAYERS``).
SCENARIO_LAYERS: Final[dict[str, frozenset[str]]] = {
    "world": frozenset({"target", "model", "components"}),
    "anchor": frozenset({"target", "anchor_samples", "fit_anchor"}),
    "model": frozenset({"target", "components", "synthetic_samples", "fit_synthetic"}),
}


# ------------------------------------------------------------------------ figures

#: What a step figure draws: ``ggmi_core.tour_data.step_inputs(figure_id)``.
Inputs = Mapping[str, Any]


def _scenario_step(kind: str, title: str) -> Callable[[Inputs, bool], go.Figure]:
    def build(inputs: Inputs, lecture: bool) -> go.Figure:
        return scenario_figure(
            inputs["view"], layers=SCENARIO_LAYERS[kind], lecture=lecture, title=title
        )

    return build


def _gap_step(letter: str) -> Callable[[Inputs, bool], go.Figure]:
    def build(inputs: Inputs, lecture: bool) -> go.Figure:
        summary = tables_by_letter(inputs["table"])[letter]
        fixed = ", ".join(f"{p} = 2" for p in ("K", "J", "L") if p != letter)
        rounds = int(summary["rounds"].iloc[0])
        return gap_curve_figure(
            summary,
            letter,
            "js",
            bands=("std",),
            fixed=f"{fixed}; {rounds:,} scenarios a value",
            lecture=lecture,
        )

    return build


def estimator_figure(inputs: Inputs, lecture: bool) -> go.Figure:
    """Figure 4 with the published estimator (top) and exact KL(fit || G) (bottom).

    Median and 10-90% band in both rows: exact KL's mean and standard deviation are
    dominated by a few scenarios (its gap is heavy-tailed).
    """
    tables = {
        "kl_published": tables_by_letter(inputs["published"]),
        "kl": tables_by_letter(inputs["exact"]),
    }
    return figure4_figure(
        tables,
        bands=("quantile",),
        lecture=lecture,
        title="Figure 4: published estimator (top), exact KL (bottom); median, 10-90%",
        row_titles={"kl_published": "published gap, nats", "kl": "exact KL gap, nats"},
    )


def lemma31_step(inputs: Inputs, lecture: bool) -> go.Figure:
    return bound_figures.lemma31_figure(inputs["terms"], lecture)


def jl_step(inputs: Inputs, lecture: bool) -> go.Figure:
    return bound_figures.jl_contrast_figure(
        inputs["sweeps"], metric=inputs["metric"], lecture=lecture
    )


def sample_size_step(inputs: Inputs, lecture: bool) -> go.Figure:
    return bound_figures.sample_size_figure(inputs["table"], lecture=lecture)


def hsic_step(inputs: Inputs, lecture: bool) -> go.Figure:
    return diagnostic_figures.hsic_sweep_figure(
        inputs["table"], inputs["summary"], "adherence", lecture
    )


def gap_map_step(inputs: Inputs, lecture: bool) -> go.Figure:
    return gap_map_figure(inputs["map"], inputs["metric"], lecture=lecture)


#: Figure id -> builder ``(inputs, lecture) -> go.Figure``. The scenario steps' chart
#: titles say what is drawn, not the step's heading again (the tour shows both, one above
#: the other); a PNG download keeps them, so it still says what it shows.
FIGURES: Final[dict[str, Callable[[Inputs, bool], go.Figure]]] = {
    "world": _scenario_step("world", "Target G and model M, components coloured by part"),
    "anchor": _scenario_step("anchor", "Anchor samples from K components and the fit on them"),
    "model": _scenario_step("model", "Synthetic samples from M and the fit on them"),
    "gap_J": _gap_step("J"),
    "gap_L": _gap_step("L"),
    "estimator": estimator_figure,
    "lemma31": lemma31_step,
    "jl": jl_step,
    "sample_size": sample_size_step,
    "hsic": hsic_step,
    "gap_map": gap_map_step,
}


def step_figure(figure_id: str, inputs: Inputs, lecture: bool = False) -> go.Figure:
    """The figure ``figure_id`` (a key of ``FIGURES``) drawn from its ``inputs``."""
    return FIGURES[figure_id](inputs, lecture)


def step_data(figure_id: str, inputs: Inputs) -> pd.DataFrame:
    """The numbers behind ``step_figure(figure_id, inputs)`` (for the CSV download)."""
    if figure_id in SCENARIO_LAYERS:
        return figure_data(inputs["view"])
    if figure_id in ("gap_J", "gap_L"):
        table = inputs["table"]
        return table[table["param"] == figure_id[-1]].reset_index(drop=True)
    if figure_id == "estimator":
        return pd.concat([inputs["published"], inputs["exact"]], ignore_index=True)
    if figure_id == "lemma31":
        return bound_figures.lemma31_data(inputs["terms"])
    if figure_id == "jl":
        return bound_figures.jl_contrast_data(inputs["sweeps"])
    if figure_id in ("sample_size", "hsic"):
        return inputs["table"]
    if figure_id == "gap_map":
        return gap_map_data(inputs["map"])
    raise ValueError(f"unknown tour figure {figure_id!r}; known: {', '.join(FIGURES)}")


# ------------------------------------------------------------------------- slides

SLIDE_WIDTH: Final[int] = 1920
SLIDE_HEIGHT: Final[int] = 1080
SLIDE_TITLE_SIZE: Final[int] = 52
SLIDE_TEXT_SIZE: Final[int] = 30
SLIDE_FOOTER_SIZE: Final[int] = 20
#: Pixel rows: where the slide text starts, per text line, gap above the figure, footer.
_TEXT_TOP_PX: Final[int] = 110
_TEXT_LINE_PX: Final[int] = 40
_GAP_PX: Final[int] = 20
_FOOTER_PX: Final[int] = 44
_MARGIN_PX: Final[int] = 40
#: Characters per line of the slide text (30 px Arial is ~15 px per character).
_WRAP_CHARS: Final[int] = 110
#: Interactive hints that mean nothing on a slide.
_HINT_WORDS: Final[tuple[str, ...]] = ("click", "hover", "double-click")


def wrap_for_slide(text: str, width: int = _WRAP_CHARS) -> str:
    """``text`` broken into lines of at most ``width`` characters joined by ``<br>``."""
    return "<br>".join(textwrap.wrap(text, width=width, break_long_words=False))


def _without_hints(fig: go.Figure) -> go.Figure:
    """A copy of ``fig`` whose legend title and annotations carry no interactive hints."""
    fig = go.Figure(fig)
    legend_title = fig.layout.legend.title.text
    if legend_title and any(word in legend_title.lower() for word in _HINT_WORDS):
        lines = [
            line
            for line in legend_title.split("<br>")
            if not any(w in line.lower() for w in _HINT_WORDS)
        ]
        fig.update_layout(legend_title_text="<br>".join(lines))
    return fig


def header_px(text: str) -> int:
    """Pixel rows above the figure: the title plus one row per wrapped line of ``text``."""
    lines = wrap_for_slide(text).count("<br>") + 1
    return _TEXT_TOP_PX + _TEXT_LINE_PX * lines + _GAP_PX


def slide_figure(figure_png: bytes, title: str, text: str, footer: str) -> go.Figure:
    """A 1920 x 1080 slide: ``title`` and ``text`` on top, the PNG below, ``footer`` last."""
    source = "data:image/png;base64," + base64.b64encode(figure_png).decode("ascii")
    top = 1 - header_px(text) / SLIDE_HEIGHT
    bottom = _FOOTER_PX / SLIDE_HEIGHT
    fig = go.Figure()
    fig.update_layout(
        width=SLIDE_WIDTH,
        height=SLIDE_HEIGHT,
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        paper_bgcolor="white",
        plot_bgcolor="white",
        xaxis={"visible": False, "range": [0, 1]},
        yaxis={"visible": False, "range": [0, 1]},
        images=[
            {
                "source": source,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": top,
                "sizex": 1 - 2 * _MARGIN_PX / SLIDE_WIDTH,
                "sizey": top - bottom,
                "xanchor": "center",
                "yanchor": "top",
                "sizing": "contain",
                "layer": "above",
            }
        ],
        annotations=[
            _slide_text(title, 1 - 28 / SLIDE_HEIGHT, SLIDE_TITLE_SIZE, bold=True),
            _slide_text(wrap_for_slide(text), 1 - _TEXT_TOP_PX / SLIDE_HEIGHT, SLIDE_TEXT_SIZE),
            {
                **_slide_text(footer, 10 / SLIDE_HEIGHT, SLIDE_FOOTER_SIZE),
                "yanchor": "bottom",
                "font": {"size": SLIDE_FOOTER_SIZE, "color": "#555555", "family": "Arial"},
            },
        ],
        showlegend=False,
    )
    return fig


def _slide_text(text: str, y: float, size: int, *, bold: bool = False) -> dict[str, Any]:
    return {
        "text": f"<b>{text}</b>" if bold else text,
        "xref": "paper",
        "yref": "paper",
        "x": _MARGIN_PX / SLIDE_WIDTH,
        "y": y,
        "xanchor": "left",
        "yanchor": "top",
        "align": "left",
        "showarrow": False,
        "font": {"size": size, "color": "#111111", "family": "Arial"},
    }


def slide_png(fig: go.Figure, title: str, text: str, footer: str, timeout_s: float = 30) -> bytes:
    """One 1920 x 1080 PNG slide of ``fig`` (rendered in lecture style) with its words."""
    width = SLIDE_WIDTH - 2 * _MARGIN_PX
    height = SLIDE_HEIGHT - header_px(text) - _FOOTER_PX
    inner = _without_hints(fig)
    # A figure drawn taller than the slide's space is rendered at its own height (and
    # shrunk into place) so that its stacked panels and axis titles do not collide.
    zoom = max(1.0, float(inner.layout.height or height) / height)
    width, height = round(width * zoom), round(height * zoom)
    inner.update_layout(width=width, height=height)
    figure_png = figure_to_png(inner, scale=1, width=width, height=height, timeout_s=timeout_s)
    slide = slide_figure(figure_png, title, text, footer)
    return figure_to_png(
        slide, scale=1, width=SLIDE_WIDTH, height=SLIDE_HEIGHT, timeout_s=timeout_s
    )


def slides_zip(slides: Iterable[tuple[str, bytes]]) -> bytes:
    """A ZIP archive of ``(file name, PNG bytes)`` pairs, in order."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in slides:
            archive.writestr(name, data)
    return buf.getvalue()


def slide_names(titles: Sequence[str]) -> list[str]:
    """File names ``01-<title>.png`` ... (ASCII letters, digits and dashes)."""
    names = []
    for i, title in enumerate(titles, start=1):
        stem = "".join(c.lower() if c.isascii() and c.isalnum() else "-" for c in title)
        stem = "-".join(part for part in stem.split("-") if part)[:48]
        names.append(f"{i:02d}-{stem}.png")
    return names
