"""Figures of the guided tour and its slide export (no Streamlit).

Every tour figure is made by an existing builder of ``ggmi_viz`` from numbers that are
either cheap (one seeded scenario, ~20 ms) or precomputed by
``bench/make_tour_assets.py`` into ``assets/tour/`` (small CSV/JSON tables). The
recipes below are the single source of how those numbers were made; the app's pages use
the same recipes, so "open this on the page" shows the same numbers.

Slides: ``slide_png`` renders a figure with kaleido and places it on a 1920 x 1080 slide
with a title and a short text; ``slides_zip`` packs the slides into a ZIP archive.
"""

from __future__ import annotations

import base64
import io
import json
import textwrap
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ggmi_core.bounds import BoundTerms
from ggmi_core.config import ScenarioConfig
from ggmi_core.diagnostics import summarise_sweep
from ggmi_core.estimate import Estimate
from ggmi_core.gap_map import load_stored_map
from ggmi_core.resources import assets_dir, project_root
from ggmi_core.scenario_report import ScenarioView, view_from_result
from ggmi_viz import bounds as bound_figures
from ggmi_viz import diagnostics as diagnostic_figures
from ggmi_viz.distributions import figure_data, scenario_figure
from ggmi_viz.export import figure_to_png
from ggmi_viz.gap_curves import FIGURE4_FILES, figure4_figure, figure4_tables, gap_curve_figure
from ggmi_viz.gap_map import gap_map_data, gap_map_figure

ROOT: Final[Path] = project_root()
ASSETS: Final[Path] = assets_dir()
TOUR_ASSETS: Final[Path] = ASSETS / "tour"

# ---------------------------------------------------------------- recipes (seeded)

#: Every tour number comes from the default scenario setting (K = J = L = 2, N_k = 50,
#: n = 200, d = 2, published covariance recipe, seed 0).
TOUR_CONFIG: Final[ScenarioConfig] = ScenarioConfig()
#: Divergence and Monte Carlo draws of the Bound-terms steps (the app's defaults).
TOUR_METRIC: Final[str] = "js"
TOUR_N_MC: Final[int] = 2000
#: Loss cap C (nats) of the Lemma 3.1 steps: the Bound-terms page's default.
TOUR_LOSS_CAP: Final[float] = 10.0
#: Scenarios of the Lemma 3.1 breakdown (the Bound-terms page's default).
BREAKDOWN_ROUNDS: Final[int] = 50
#: J/L contrast and Lemma 4.8 comparison: the Bound-terms page's grids and scenario count.
JL_GRID: Final[tuple[int, ...]] = (2, 5, 8, 11, 15)
N_GRID: Final[tuple[int, ...]] = (50, 100, 200, 400, 800, 1600)
LESSON_ROUNDS: Final[int] = 20
#: Exact-KL Figure 4: K, J and L each over 2..15, this many scenarios a value.
KL_EXACT_VALUES: Final[tuple[int, ...]] = tuple(range(2, 16))
KL_EXACT_ROUNDS: Final[int] = 300
#: Appendix G step: HSIC against prompt adherence (the Diagnostics page's default sweep).
HSIC_GRID: Final[tuple[float, ...]] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
HSIC_ROUNDS: Final[int] = 10
HSIC_PERMUTATIONS: Final[int] = 99
#: Monte Carlo draws of the one-scenario view (as on the Distributions page).
SCENARIO_MC: Final[int] = 4000

ASSET_FILES: Final[dict[str, str]] = {
    "kl_exact": "figure4_kl_exact.csv",
    "lemma31": "lemma31_terms.json",
    "jl": "jl_contrast.csv",
    "sample_size": "sample_size.csv",
    "hsic": "hsic_adherence.csv",
}

#: Layers of the three one-scenario steps (keys of ``ggmi_viz.distributions.LAYERS``).
SCENARIO_LAYERS: Final[dict[str, frozenset[str]]] = {
    "world": frozenset({"target", "model", "components"}),
    "anchor": frozenset({"target", "anchor_samples", "fit_anchor"}),
    "model": frozenset({"target", "components", "synthetic_samples", "fit_synthetic"}),
}


def asset_path(name: str) -> Path:
    """Path of the tour asset ``name`` (a key of ``ASSET_FILES``)."""
    return TOUR_ASSETS / ASSET_FILES[name]


# ------------------------------------------------------------- BoundTerms as JSON

_ESTIMATE_FIELDS: Final[tuple[str, ...]] = tuple(
    f.name for f in fields(BoundTerms) if f.type in ("Estimate", Estimate)
)


def terms_to_json(terms: BoundTerms) -> dict[str, Any]:
    """``terms`` without its scenarios as plain JSON (per-scenario arrays as lists)."""
    return {
        "config": terms.config.to_dict(),
        "loss_cap": terms.loss_cap,
        "n_mc": terms.n_mc,
        "metric": terms.metric,
        "estimates": {
            name: {
                "value": np.asarray(getattr(terms, name).value, dtype=float).tolist(),
                "stderr": np.asarray(getattr(terms, name).stderr, dtype=float).tolist(),
            }
            for name in _ESTIMATE_FIELDS
        },
        "extras": {k: np.asarray(v, dtype=float).tolist() for k, v in terms.extras.items()},
    }


def terms_from_json(doc: Mapping[str, Any]) -> BoundTerms:
    """Inverse of ``terms_to_json`` (arrays of shape (R,), ``scenarios=None``)."""
    estimates = {
        name: Estimate(np.asarray(e["value"], dtype=float), np.asarray(e["stderr"], dtype=float))
        for name, e in doc["estimates"].items()
    }
    return BoundTerms(
        config=ScenarioConfig.from_dict(doc["config"]),
        loss_cap=float(doc["loss_cap"]),
        n_mc=int(doc["n_mc"]),
        metric=str(doc["metric"]),
        extras={k: np.asarray(v, dtype=float) for k, v in doc["extras"].items()},
        **estimates,
    )


# ------------------------------------------------------------------ loading data


@lru_cache(maxsize=1)
def tour_scenario() -> ScenarioView:
    """The one scenario of steps 1-3 (default settings, seed 0), fits included.

    Made exactly as the Distributions page makes it (``simulate`` with one scenario),
    so that page shows the same points.
    """
    from ggmi_core.simulation import simulate

    result = simulate(TOUR_CONFIG, rounds=1, metric=TOUR_METRIC, n_mc=SCENARIO_MC)
    return view_from_result(result, 0)


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"tour asset {path.name} is missing; run bench/make_tour_assets.py")
    return pd.read_csv(path)


@lru_cache(maxsize=8)
def load_table(name: str) -> pd.DataFrame:
    """A tour CSV asset (``ASSET_FILES`` key) or a Figure-4 table (``FIGURE4_FILES`` key)."""
    if name in FIGURE4_FILES:
        return _read_csv(ASSETS / FIGURE4_FILES[name])
    return _read_csv(asset_path(name))


@lru_cache(maxsize=1)
def load_lemma31_terms() -> BoundTerms:
    """The Lemma 3.1 breakdown (``BREAKDOWN_ROUNDS`` scenarios) from its JSON asset."""
    path = asset_path("lemma31")
    if not path.is_file():
        raise FileNotFoundError(f"tour asset {path.name} is missing; run bench/make_tour_assets.py")
    return terms_from_json(json.loads(path.read_text(encoding="utf-8")))


def jl_sweeps() -> dict[str, pd.DataFrame]:
    """``{"J": table, "L": table}`` of the J/L contrast asset."""
    table = load_table("jl")
    return {p: table[table["param"] == p].reset_index(drop=True) for p in ("J", "L")}


# ------------------------------------------------------------------------ figures


def _scenario_step(kind: str, title: str) -> Callable[[bool], go.Figure]:
    def build(lecture: bool) -> go.Figure:
        return scenario_figure(
            tour_scenario(), layers=SCENARIO_LAYERS[kind], lecture=lecture, title=title
        )

    return build


def _gap_step(letter: str) -> Callable[[bool], go.Figure]:
    def build(lecture: bool) -> go.Figure:
        summary = figure4_tables(load_table("js"))[letter]
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


def estimator_figure(lecture: bool) -> go.Figure:
    """Figure 4 with the published estimator (top) and exact KL(fit || G) (bottom).

    Median and 10-90% band in both rows: exact KL's mean and standard deviation are
    dominated by a few scenarios (its gap is heavy-tailed).
    """
    tables = {
        "kl_published": figure4_tables(load_table("kl_published")),
        "kl": figure4_tables(load_table("kl_exact")),
    }
    return figure4_figure(
        tables,
        bands=("quantile",),
        lecture=lecture,
        title="Figure 4: published estimator (top), exact KL (bottom); median, 10-90%",
    )


def lemma31_step(lecture: bool) -> go.Figure:
    return bound_figures.lemma31_figure(load_lemma31_terms(), lecture)


def jl_step(lecture: bool) -> go.Figure:
    return bound_figures.jl_contrast_figure(jl_sweeps(), metric=TOUR_METRIC, lecture=lecture)


def sample_size_step(lecture: bool) -> go.Figure:
    return bound_figures.sample_size_figure(load_table("sample_size"), lecture=lecture)


def hsic_step(lecture: bool) -> go.Figure:
    per_scenario = load_table("hsic")
    return diagnostic_figures.hsic_sweep_figure(
        per_scenario, summarise_sweep(per_scenario), "adherence", lecture
    )


#: The closing step's map: the stored exact-JS map (``bench/make_gap_map.py``).
MAP_METRIC: Final[str] = "js"


def gap_map_step(lecture: bool) -> go.Figure:
    return gap_map_figure(load_stored_map(MAP_METRIC), MAP_METRIC, lecture=lecture)


#: Figure id -> builder ``(lecture) -> go.Figure``. The scenario steps' chart titles say
#: what is drawn, not the step's heading again (the tour shows both, one above the other);
#: a PNG download keeps them, so it still says what it shows.
FIGURES: Final[dict[str, Callable[[bool], go.Figure]]] = {
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


def step_figure(figure_id: str, lecture: bool = False) -> go.Figure:
    """The themed figure ``figure_id`` (a key of ``FIGURES``)."""
    return FIGURES[figure_id](lecture)


def step_data(figure_id: str) -> pd.DataFrame:
    """The numbers behind ``step_figure(figure_id)`` (for the CSV download)."""
    if figure_id in SCENARIO_LAYERS:
        return figure_data(tour_scenario())
    if figure_id in ("gap_J", "gap_L"):
        table = load_table("js")
        return table[table["param"] == figure_id[-1]].reset_index(drop=True)
    if figure_id == "estimator":
        return pd.concat([load_table("kl_published"), load_table("kl_exact")], ignore_index=True)
    if figure_id == "lemma31":
        return bound_figures.lemma31_data(load_lemma31_terms())
    if figure_id == "jl":
        return bound_figures.jl_contrast_data(jl_sweeps())
    if figure_id == "sample_size":
        return load_table("sample_size")
    if figure_id == "hsic":
        return load_table("hsic")
    if figure_id == "gap_map":
        return gap_map_data(load_stored_map(MAP_METRIC))
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
