"""Show a plotly figure with PNG, SVG and CSV downloads that can never break the page.

The PNG and SVG bytes are built only when the visitor clicks the button: Streamlit (>= 1.50)
accepts a callable as ``st.download_button(data=...)`` and runs it on click, in a
worker thread, outside the script run. A failure there cannot reach the page, so the
callable records it in a per-session dict and the next run shows a warning pointing
to the toolbar's own PNG download, which works without any server-side browser.

``cached_figures`` keeps built, themed figures in a bounded ``st.cache_resource`` shared by
every session, so a rerun whose numbers come from cache neither rebuilds its figures nor
re-validates them (Streamlit re-validates a figure handed over as a dict: ~10-25 ms a chart),
nor converts them to a plotly dict again (``SharedFigure.spec`` is built once).
``fixed_figure`` does the same for single figures that depend only on the theme and the
stored tables (Home's chain, the tour's steps), in a pool of their own so a busy page's
figure sets never push them out. These two are the app's one way to hold figures for
the whole process (docs/ARCHITECTURE.md, "Caches").
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ggmi_app.cached import CACHE_MAX_ENTRIES_LARGE, CACHE_TTL_S
from ggmi_app.layout import SLIDE_KEY_PREFIX, viewer_is_phone
from ggmi_app.messages import error_boundary, escape_markdown
from ggmi_viz.export import (
    dataframe_to_csv_bytes,
    figure_to_png,
    figure_to_svg,
    png_export_available,
    warm_up_in_background,
)
from ggmi_viz.phone import for_phone
from ggmi_viz.theme import EXPORT_HEIGHT, EXPORT_WIDTH, apply_theme, lecture_least_height

_LOG = logging.getLogger(__name__)


def _warm_exporter_under_a_server() -> None:
    """Start the PNG exporter's browser in the background when a server loads this module.

    Every page imports this module on the server's first request, so a visitor's first
    download finds Chromium started. Only under ``streamlit run`` (which loads
    ``streamlit.web.bootstrap``): tests and scripts importing the module start nothing.
    """
    if "streamlit.web.bootstrap" in sys.modules:
        warm_up_in_background()


_warm_exporter_under_a_server()

PNG_SCALE: Final[int] = 2
PNG_TIMEOUT_S: Final[float] = 20.0
_FAILURES = "_ggmi_png_failures"
_UNSAFE_FILENAME: Final = re.compile(r"[^A-Za-z0-9._-]+")
TOOLBAR_HINT: Final[str] = (
    "Use the camera icon in the chart's toolbar to download a PNG from your browser."
)


@dataclass(frozen=True, eq=False)
class SharedFigure:
    """A themed figure built once and shown to every session that asks for the same one.

    Many sessions may draw it at the same moment, so nothing may change it: ``show_figure``
    neither re-themes it nor hands it to anything that edits in place (the phone layout
    and the image exports work on copies).
    """

    figure: go.Figure

    @cached_property
    def spec(self) -> dict[str, Any]:
        """The figure as the plotly dict a chart sends (arrays base64-encoded), built once.

        Never edit it: every session's chart of this figure reuses it.
        """
        return self.figure.to_dict()

    @cached_property
    def least_height(self) -> int:
        """Least on-screen height (CSS px) of the lecture-themed figure (slide fit)."""
        return lecture_least_height(self.figure)

    def for_chart(self) -> go.Figure:
        """A stand-in for ``st.plotly_chart`` that hands over ``spec`` as it is."""
        return _ReadySpec(self.spec)


class _ReadySpec(go.Figure):
    """An empty figure whose ``to_dict()`` returns a spec built earlier.

    ``st.plotly_chart`` turns a figure into its dict on every call: a deep copy with every
    array base64-encoded, 10-17 ms a chart, on every run of every session (a lecture
    hall's followers rerun the same page at the same moment). For a shared figure that
    dict never changes, so it is built once (``SharedFigure.spec``) and this stand-in
    passes it on. Only ever handed to ``st.plotly_chart``, which reads the dict and
    never edits it.
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self._ready_spec = spec

    def to_dict(self) -> dict[str, Any]:
        return self._ready_spec


#: A figure as ``show_figure`` takes it: a fresh ``go.Figure`` (themed in place), a
#: ``SharedFigure`` from ``cached_figures``, or an already themed plotly dict.
FigureLike = go.Figure | SharedFigure | dict[str, Any]


# Shared by every page and session: an entry is one page's figure set for one setting
# (Bound terms: one entry per figure, each built when it is shown), held twice once drawn
# (the figure and its ``spec``): Figure 2 ~0.3 MB in all, a flip-book ~2 MB, a
# Bound-terms figure far less, so twice the LARGE bound stays under
# ~64 MB even if every entry were a flip-book.
@st.cache_resource(max_entries=2 * CACHE_MAX_ENTRIES_LARGE, ttl=CACHE_TTL_S, show_spinner=False)
def _shared_figures(
    kind: str, key: Hashable, lecture: bool, _build: Callable[[], Sequence[go.Figure]]
) -> tuple[SharedFigure, ...]:
    """``_build()``'s figures, themed; one object per argument set for every session."""
    return tuple(SharedFigure(apply_theme(fig, lecture)) for fig in _build())


#: Figures that depend only on the theme and the stored tables: Home's chain and the
#: tour's steps, in both themes (24 today), with room to grow.
FIXED_FIGURE_ENTRIES: Final[int] = 64


@st.cache_resource(max_entries=FIXED_FIGURE_ENTRIES, ttl=CACHE_TTL_S, show_spinner=False)
def _fixed_figure(
    kind: str, key: Hashable, lecture: bool, _build: Callable[[], go.Figure]
) -> SharedFigure:
    """``_build()``, themed; one object per argument set for every session."""
    return SharedFigure(apply_theme(_build(), lecture))


def fixed_figure(
    kind: str, key: Hashable, lecture: bool, build: Callable[[], go.Figure]
) -> SharedFigure:
    """The figure of ``build()``, themed, built once per process for every session.

    For figures that depend on nothing but ``key`` and the theme (stored tables, fixed
    settings), built ahead by the server's warm-up. Same contract as ``cached_figures``:
    ``build`` is not hashed and runs only on a miss; never edit the result.
    """
    return _fixed_figure(kind, key, lecture, build)


def cached_figures(
    kind: str, key: Hashable, lecture: bool, build: Callable[[], Sequence[go.Figure]]
) -> list[SharedFigure]:
    """The figures of ``build()``, themed, built once per setting for all sessions.

    A rerun whose numbers come from cache would otherwise rebuild (and re-validate)
    every figure; a lecture hall of followers asking for the same page at the same
    moment gets the same objects, which go straight to ``show_figure``.

    Args:
        kind: names the figure set (e.g. ``"figure2"``), so sets of different pages with
            equal keys never collide.
        key: everything the figures depend on (settings dict, numbers, strings);
            ``build`` is not hashed, so ``key`` and ``lecture`` must determine its result.
        lecture: lecture-mode theme, applied before caching.
        build: makes the figures; called only on a cache miss.

    Returns:
        One ``SharedFigure`` per figure of ``build()``, in order; never edit them.
    """
    return list(_shared_figures(kind, key, lecture, build))


def safe_filename(name: str) -> str:
    """``name`` reduced to ``[A-Za-z0-9._-]`` (at most 80 chars), never empty."""
    cleaned = _UNSAFE_FILENAME.sub("-", name).strip("-.")[:80]
    return cleaned or "figure"


def plotly_config(name: str) -> dict[str, Any]:
    """The plotly.js config: toolbar PNG at scale 2 named after the figure."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {
            "format": "png",
            "filename": safe_filename(name),
            "scale": PNG_SCALE,
        },
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    }


def _export_size(fig: dict[str, Any] | go.Layout) -> tuple[int, int]:
    """Width and height (px) of a figure dict or of a figure's layout, or the export size."""
    if isinstance(fig, dict):
        layout = fig.get("layout", {})
        width, height = layout.get("width"), layout.get("height")
    else:
        width, height = fig.width, fig.height
    return int(width or EXPORT_WIDTH), int(height or EXPORT_HEIGHT)


def _image_maker(
    fig: FigureLike, name: str, fmt: str, failures: dict[str, str]
) -> Callable[[], bytes]:
    """A callable that renders ``fig`` as ``fmt`` ("png" or "svg") when its button is clicked.

    A fresh figure is held as a dict snapshot, so later edits cannot leak in; a shared
    figure never changes and is held as it is (no copy on every run). A failure is
    recorded under ``name`` for the next run's warning, then re-raised.
    """
    source: go.Figure | dict[str, Any]
    if isinstance(fig, SharedFigure):
        source = fig.figure
        width, height = _export_size(source.layout)
    else:
        source = fig.to_dict() if isinstance(fig, go.Figure) else fig
        width, height = _export_size(source)
    slot = _failure_slot(name, fmt)

    def make_image() -> bytes:
        try:
            if fmt == "svg":
                data = figure_to_svg(
                    go.Figure(source), width=width, height=height, timeout_s=PNG_TIMEOUT_S
                )
            else:
                data = figure_to_png(
                    go.Figure(source),
                    scale=PNG_SCALE,
                    width=width,
                    height=height,
                    timeout_s=PNG_TIMEOUT_S,
                )
        except Exception as exc:
            _LOG.warning("%s export of %s failed: %s", fmt.upper(), name, exc)
            failures[slot] = str(exc)
            raise
        failures.pop(slot, None)
        return data

    return make_image


def _failure_slot(name: str, fmt: str) -> str:
    """Where a failed export of figure ``name`` as ``fmt`` is recorded (PNG keeps ``name``)."""
    return name if fmt == "png" else f"{name}#{fmt}"


def _png_maker(fig: FigureLike, name: str, failures: dict[str, str]) -> Callable[[], bytes]:
    """A callable that renders ``fig`` as PNG when the PNG button is clicked."""
    return _image_maker(fig, name, "png", failures)


def show_figure(
    fig: FigureLike,
    name: str,
    data: pd.DataFrame | Callable[[], pd.DataFrame] | None = None,
    lecture: bool = False,
    *,
    key: str | None = None,
    fit: bool | None = None,
    downloads: Any = None,
    toolbar_name: str | None = None,
) -> None:
    """Draw ``fig`` themed, then PNG and SVG downloads (built on click) and a CSV of ``data``.

    Args:
        fig: the figure (themed in place with ``apply_theme(fig, lecture)``), or a
            ``SharedFigure`` from ``cached_figures`` or a themed dict, shown as it is.
        name: file name stem for the PNG/SVG/CSV and the toolbar PNG; unique per page.
        data: the numbers behind the figure, offered as CSV (omitted when None); a
            callable is called only when the CSV is downloaded.
        lecture: lecture-mode theme (large type, thick lines).
        key: element key prefix; defaults to ``safe_filename(name)``.
        fit: size the chart to the window (slide fit: whole on the screen below
            whatever precedes it, at any window size); defaults to ``lecture``. Needs
            ``ggmi_app.layout.slide_fit`` on the page (lecture mode injects it).
        downloads: a container to draw the download buttons in (e.g. an expander of a
            present view); by default they follow the chart.
        toolbar_name: file name stem of the toolbar's own PNG; defaults to ``name``. A
            chart whose ``name`` changes with a slider passes one that does not: the
            toolbar's file name is part of the chart's plotly.js config, and plotly.js
            redraws a chart whose config changed from scratch and then again (about
            twice the drawing of a data change).

    On a phone (``ggmi_app.layout.viewer_is_phone``) the chart is drawn from
    ``ggmi_viz.phone.for_phone(fig)``, in lecture mode too: panels stacked, text wrapped
    and the legend under the plot. The downloads are built from ``fig`` unchanged.
    """
    stem = safe_filename(name)
    key = key or stem
    toolbar = safe_filename(toolbar_name) if toolbar_name else stem
    with error_boundary(f"the figure '{name}'"):
        if isinstance(fig, SharedFigure):
            shown: go.Figure | dict[str, Any] = fig.figure
        else:
            shown = apply_theme(fig, lecture) if isinstance(fig, go.Figure) else fig
        # theme=None: Streamlit's own theme would restyle the chart, and then the
        # screen would no longer match the exported PNG.
        # On a phone the chart on screen is a re-laid-out copy; the downloads below keep
        # the figure's desktop/slide layout.
        if viewer_is_phone():
            on_screen = for_phone(shown)
            st.plotly_chart(
                on_screen, theme=None, config=plotly_config(toolbar), key=f"{key}-chart"
            )
        else:
            on_screen = fig.for_chart() if isinstance(fig, SharedFigure) else shown
            least = _least_height(fig) if (lecture if fit is None else fit) else 0
            _draw_chart(on_screen, toolbar, key, lecture if fit is None else fit, least)
    with error_boundary(f"the downloads for '{name}'"):
        if downloads is None:
            _download_row(fig, name, stem, key, data)
        else:
            with downloads:
                _download_row(fig, name, stem, key, data)


def _least_height(fig: FigureLike) -> int:
    """``lecture_least_height`` of ``fig`` (0, i.e. never scaled, for a plotly dict)."""
    if isinstance(fig, SharedFigure):
        return fig.least_height
    return lecture_least_height(fig) if isinstance(fig, go.Figure) else 0


def _draw_chart(
    fig: go.Figure | dict[str, Any], stem: str, key: str, fit: bool, least: int = 0
) -> None:
    """The chart itself; with ``fit`` sized to the window (slide fit).

    A projected chart must be whole on the screen, at any window size: with ``fit`` it is
    drawn in a box whose height the slide-fit script of ``ggmi_app.layout`` sets to the
    window's height below the box's top, and plotly fills that box
    (``height="stretch"``) instead of the figure's own height. The figure itself keeps
    its height, which the PNG and SVG downloads use. A window that leaves less than
    ``least`` px (the figure's least clean height) gets the chart drawn that tall and
    scaled down as a whole; the box's key carries ``least`` to the script.
    """
    if not fit:
        st.plotly_chart(fig, theme=None, config=plotly_config(stem), key=f"{key}-chart")
        return
    with st.container(key=f"{SLIDE_KEY_PREFIX}{least}_{key}"):
        st.plotly_chart(
            fig, theme=None, config=plotly_config(stem), key=f"{key}-chart", height="stretch"
        )


def _download_row(
    fig: FigureLike,
    name: str,
    stem: str,
    key: str,
    data: pd.DataFrame | Callable[[], pd.DataFrame] | None,
) -> None:
    failures: dict[str, str] = st.session_state.setdefault(_FAILURES, {})
    png_col, svg_col, csv_col = st.columns(3)
    ok, reason = png_export_available()
    if ok:
        png_col.download_button(
            "Download PNG",
            data=_png_maker(fig, name, failures),
            file_name=f"{stem}.png",
            mime="image/png",
            key=f"{key}-png",
            on_click="ignore",
            icon=":material/image:",
        )
        svg_col.download_button(
            "Download SVG",
            data=_image_maker(fig, name, "svg", failures),
            file_name=f"{stem}.svg",
            mime="image/svg+xml",
            key=f"{key}-svg",
            on_click="ignore",
            icon=":material/draw:",
            help="A vector image: sharp at any size on a slide.",
        )
        for fmt in ("png", "svg"):
            failed = failures.get(_failure_slot(name, fmt))
            if failed is not None:
                png_col.warning(
                    escape_markdown(f"The last {fmt.upper()} export failed: {failed} ")
                    + TOOLBAR_HINT,
                    icon=":material/warning:",
                )
    else:
        png_col.info(
            escape_markdown(f"Server-side image export is unavailable: {reason}. ") + TOOLBAR_HINT,
            icon=":material/info:",
        )
    if data is not None:
        # Built on click like the images: most runs are never downloaded, and bytes
        # handed over eagerly are written to every session's media store on every run.
        csv_col.download_button(
            "Download data (CSV)",
            data=lambda: dataframe_to_csv_bytes(data() if callable(data) else data),
            file_name=f"{stem}.csv",
            mime="text/csv",
            key=f"{key}-csv",
            on_click="ignore",
            icon=":material/table:",
        )
