"""Guided tour: the paper's argument in eleven steps, one figure each, and as slides.

Each step has a title, a few plain sentences citing the paper (its words in
``assets/content/tour/<figure>.md``, read by ``ggmi_app.content``), one figure and the
settings that produce it, with a button that applies those settings on the page where
they can be changed live. The step lives in the URL (``tour_step``), so every step has
its own link and the browser's back button returns to it.

Speed: the figures come from precomputed tables (``assets/tour/``, written by
``bench/make_tour_assets.py``) or from one seeded scenario; a background thread started
when this module is first imported (any page run imports every page module) builds all
of them in both themes, so a step opens without waiting.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ggmi_app import content
from ggmi_app.content import plain_text
from ggmi_app.figures import SharedFigure, fixed_figure, show_figure
from ggmi_app.layout import slide_fit
from ggmi_app.messages import error_boundary, escape_markdown
from ggmi_app.page_list import PAGES_BY_KEY, SHARED_SETTINGS, request_switch
from ggmi_app.page_settings import PAGE_SETTINGS, TOUR_PREFIX, TOUR_STEP_PARAM
from ggmi_app.rooms import is_following
from ggmi_app.scenario_params import SCENARIO_SCHEMA
from ggmi_app.state import apply_preset
from ggmi_core import tour_data
from ggmi_core.bounds import CAP_WARN_SHARE
from ggmi_core.quoted import quoted
from ggmi_viz import tour
from ggmi_viz.diagnostics import paper_results_table
from ggmi_viz.export import png_export_available

_LOG = logging.getLogger(__name__)

PREFIX: Final[str] = TOUR_PREFIX

#: Scenario settings of every step: the defaults, i.e. the paper's published recipe.
SCENARIO: Final[dict[str, Any]] = {
    p.name: getattr(tour_data.TOUR_CONFIG, p.name) for p in SCENARIO_SCHEMA
}
_LAYER_KEYS: Final[tuple[str, ...]] = (
    "target", "model", "gen", "fit_anchor", "fit_synthetic", "components",
    "anchor_samples", "synthetic_samples",
)  # fmt: skip


def _layers(kind: str) -> dict[str, Any]:
    """Distributions-page layer toggles showing exactly the layers of tour figure ``kind``."""
    shown = tour.SCENARIO_LAYERS[kind]
    return {f"dist_show_{key}": key in shown for key in _LAYER_KEYS} | {
        "dist_projection": "coordinates"
    }


def _gap_page(letter: str, metric: str, band: str) -> dict[str, Any]:
    start, stop = float(min(tour_data.KL_EXACT_VALUES)), float(max(tour_data.KL_EXACT_VALUES))
    return {
        "metric": metric, "n_mc": tour_data.TOUR_N_MC, "gap_sweep": letter,
        "gap_sweep_from": start, "gap_sweep_to": stop,
        "gap_sweep_points": len(tour_data.KL_EXACT_VALUES), "gap_band": band,
    }  # fmt: skip


_BOUNDS_PAGE: Final[dict[str, Any]] = {
    "metric": tour_data.TOUR_METRIC,
    "n_mc": tour_data.TOUR_N_MC,
    "bounds_C": tour_data.TOUR_LOSS_CAP,
    "bounds_scenarios": tour_data.BREAKDOWN_ROUNDS,
}


@dataclass(frozen=True)
class Step:
    """One step of the tour (its words from ``assets/content/tour/<figure>.md``).

    Attributes:
        title: the step's heading (and slide title).
        body: two to four sentences (shown as typed); ``{{name}}`` placeholders are
            filled from ``numbers()``, measured from the same tables as the figure.
        slide: one or two short sentences for the slide.
        cites: where in the paper the step comes from (slide footer).
        figure: a key of ``ggmi_viz.tour.FIGURES``.
        page: key of the page where the figure can be explored (``page_list.PAGES``).
        settings: the settings that produce the figure there (shared and page keys).
        tab: ``(key, label)`` of a page tab to open there, if any.
    """

    title: str
    body: str
    slide: str
    cites: str
    figure: str
    page: str
    settings: Mapping[str, Any]
    tab: tuple[str, str] | None = field(default=None)


def _step(
    figure: str, page: str, settings: Mapping[str, Any], tab: tuple[str, str] | None = None
) -> Step:
    """Step ``figure``: its words from ``assets/content/tour/<figure>.md``, the rest here."""
    words = {part: plain_text(content.section(f"tour/{figure}", part)) for part in _PARTS}
    return Step(**words, figure=figure, page=page, settings=settings, tab=tab)


#: A step's sections in its content file (``Step``'s fields of the same names).
_PARTS: Final[tuple[str, ...]] = ("title", "body", "slide", "cites")

STEPS: Final[tuple[Step, ...]] = (
    _step("world", "distributions", SCENARIO | _layers("world")),
    _step("anchor", "distributions", SCENARIO | _layers("anchor")),
    _step("model", "distributions", SCENARIO | _layers("model")),
    _step("gap_J", "gap-curves", SCENARIO | _gap_page("J", "js", "std")),
    _step("gap_L", "gap-curves", SCENARIO | _gap_page("L", "js", "std")),
    _step("estimator", "gap-curves", SCENARIO | _gap_page("L", "kl", "quantile")),
    _step("lemma31", "bounds", SCENARIO | _BOUNDS_PAGE, ("bounds_tab", "Breakdown")),
    _step("jl", "bounds", SCENARIO | _BOUNDS_PAGE, ("bounds_tab", "How terms move")),
    _step("sample_size", "bounds", SCENARIO | _BOUNDS_PAGE, ("bounds_tab", "How terms move")),
    _step(
        "hsic",
        "diagnostics",
        SCENARIO
        | {
            "diag_sweep": "adherence",
            "diag_scenarios": tour_data.HSIC_ROUNDS,
            "diag_permutations": tour_data.HSIC_PERMUTATIONS,
        },
        ("diag_tab", "Simulation"),
    ),
    _step(
        "gap_map",
        "gap-curves",
        SCENARIO | {"metric": "js", "n_mc": tour_data.TOUR_N_MC, "gap_map": True},
    ),
)

#: The current step (declared in ``ggmi_app.page_settings``, which knows the step count).
STEP_PARAM: Final = TOUR_STEP_PARAM
STEP_KEY: Final[str] = PREFIX + STEP_PARAM.name
#: This page's own settings (URL/store key -> param): the current step.
SETTINGS: Final = PAGE_SETTINGS["tour"]

# Visually hidden but mounted: the second button of each direction only carries the
# clicker's PageUp/PageDown shortcut. Static CSS, nothing from user input.
_HIDDEN_NAV_CSS: Final[str] = """
<style>
.st-key-tour_clicker { position: absolute; left: -10000px; width: 1px; height: 1px;
  overflow: hidden; }
</style>
"""


def hide_clicker_buttons() -> None:
    """Mount the clicker's PageUp/PageDown buttons out of sight (constant CSS)."""
    st.html(_HIDDEN_NAV_CSS)


# ------------------------------------------------------------------- numbers


@lru_cache(maxsize=1)
def numbers() -> dict[str, Any]:
    """Values quoted in the step texts, read from the same tables as the figures."""
    out: dict[str, Any] = {
        "K": tour_data.TOUR_CONFIG.K,
        "J": tour_data.TOUR_CONFIG.J,
        "N_k": tour_data.TOUR_CONFIG.n_anchor_per_component,
        "n": tour_data.TOUR_CONFIG.n_synthetic,
        "C": tour_data.TOUR_LOSS_CAP,
        "m": tour_data.TOUR_CONFIG.K * tour_data.TOUR_CONFIG.n_anchor_per_component,
    }
    # Every measured number below is a stored value that ``tests/core/test_quoted.py``
    # recomputes from its recipe (``ggmi_core.quoted``).
    js = quoted("js_ends")
    for letter in ("K", "J", "L"):
        out[f"js_{letter}_first"] = js["base_gap_mean"]
        out[f"js_{letter}_last"] = js[f"{letter}15_gap_mean"]
    out["js_rounds"] = int(js["base_rounds"])
    kl = quoted("kl_exact_base")
    out["kl_median"], out["kl_q90"] = kl["gap_median"], kl["gap_q90"]
    out["pub_median"] = quoted("kl_published_base")["gap_median"]
    lemma = quoted("lemma31")
    out |= {
        "info_gain": lemma["info_gain"],
        "task": lemma["task_term"],
        "generation": lemma["generation_term"],
        "sampling": lemma["sampling_term"],
        "err": lemma["err_synthetic"],
        "holds": int(lemma["holds"]),
        "rounds": int(lemma["rounds"]),
        "cap_share_synthetic": lemma["cap_share_synthetic"],
        "cap_share_anchor": lemma["cap_share_anchor"],
        "cap_warn": CAP_WARN_SHARE,
    }
    out |= quoted("task_ends")
    size = quoted("sample_size")
    out |= size | {"n_first": int(size["n_first"])}
    paper = paper_results_table()
    gpt = paper[paper["paper table"] == "Tables 2-3"]["HSIC"]
    out["paper_hsic_first"], out["paper_hsic_last"] = float(gpt.iloc[0]), float(gpt.iloc[-1])
    out |= quoted("hsic")
    cells = quoted("map_cells")
    for cell in ("J15_L2", "J2_L15"):
        out |= {f"{cell}_{k}": cells[f"{cell}_{k}"] for k in ("gap_mean", "positive_share")}
    out |= {"K15_J15_gap_mean": cells["K15_J15_gap_mean"], "map_rounds": cells["J15_L2_rounds"]}
    return out


def step_body(step: Step) -> str:
    """The step's sentences with their numbers filled in (each step quotes some of
    ``numbers()``; a test checks that the steps together quote every one)."""
    where = f"content file assets/content/tour/{step.figure}.md, section 'body'"
    return content.fill(step.body, numbers(), where=where, every_value_used=False)


# ------------------------------------------------------------------- figures

#: (figure, lecture) of every step figure the warm-up built (appended by its thread).
_WARMED: list[tuple[str, bool]] = []


def step_figure_shared(figure_id: str, lecture: bool) -> SharedFigure:
    """The themed figure ``figure_id``, built once per process and theme for every session."""
    return fixed_figure(
        "tour",
        figure_id,
        lecture,
        lambda: tour.step_figure(figure_id, tour_data.step_inputs(figure_id), lecture),
    )


@lru_cache(maxsize=len(tour.FIGURES))
def step_table(figure_id: str) -> pd.DataFrame:
    """The numbers behind step figure ``figure_id`` (its CSV download), once per process.

    Rebuilt on every run they cost 10-40 ms a step (the scenario steps reshape the whole
    scenario); they depend on nothing but the stored tables. Callers must not modify it.
    """
    return tour.step_data(figure_id, tour_data.step_inputs(figure_id))


def _warm_up() -> None:
    """Build every step's figure in both themes (and the quoted numbers) in the background."""
    try:
        numbers()
        for lecture in (False, True):
            for step in STEPS:
                step_figure_shared(step.figure, lecture)
                _WARMED.append((step.figure, lecture))
        for step in STEPS:
            step_table(step.figure)
    except Exception:  # a missing asset is reported on the page itself
        _LOG.warning("guided-tour warm-up failed", exc_info=True)


# Started by the first page run that shows the tour, or by ``ggmi_app.serve`` before the
# server starts (which then waits for it), never by importing this module: importing
# must stay free of side effects (tests, tools and the docs import it).
_WARM_UP: Final[threading.Thread] = threading.Thread(
    target=_warm_up, name="tour-warm-up", daemon=True
)
_WARM_UP_START = threading.Lock()


def start_warm_up() -> None:
    """Start building the step figures in the background (once per process)."""
    with _WARM_UP_START:
        if _WARM_UP.ident is None:
            _WARM_UP.start()


def wait_for_warm_up(timeout_s: float | None = None) -> bool:
    """Start the warm-up if needed and wait (at most ``timeout_s`` seconds) for it.

    Returns True when the figures are built.
    """
    start_warm_up()
    _WARM_UP.join(timeout_s)
    return not _WARM_UP.is_alive()


def warmed_figures() -> list[tuple[str, bool]]:
    """``(figure, lecture)`` of the step figures the warm-up built (steps x themes)."""
    return list(_WARMED)


def cached_figure_count() -> int:
    """How many themed step figures the warm-up built (steps x themes when warm)."""
    return len(_WARMED)


# ------------------------------------------------------------------- slides


def _slides_zip() -> bytes:
    """Every step as a 1920 x 1080 PNG slide, zipped; runs when the button is clicked."""
    try:
        names = tour.slide_names([s.title for s in STEPS])
        pngs = []
        for i, step in enumerate(STEPS, start=1):
            fig = go.Figure(step_figure_shared(step.figure, True).figure)
            footer = (
                f"Gan & Liu (ICLR 2025): {step.cites}. GGMI Explorer guided tour, "
                f"step {i} of {len(STEPS)}; Gaussian-mixture simulation."
            )
            pngs.append(tour.slide_png(fig, f"{i}. {step.title}", step.slide, footer))
    except Exception as exc:
        _LOG.warning("slide export failed: %s", exc)
        _SLIDE_ERRORS["last"] = str(exc)
        raise
    _SLIDE_ERRORS.pop("last", None)
    return tour.slides_zip(zip(names, pngs, strict=True))


#: The last slide-export failure (the download runs outside the script run).
_SLIDE_ERRORS: dict[str, str] = {}


def slides_button(container: Any) -> None:
    ok, reason = png_export_available()
    if not ok:
        container.info(escape_markdown(f"Slides need server-side PNG export: {reason}."))
        return
    container.download_button(
        "Download the tour as slides (ZIP)",
        data=_slides_zip,
        file_name="ggmi-guided-tour-slides.zip",
        mime="application/zip",
        key="tour_slides",
        on_click="ignore",
        icon=":material/slideshow:",
        help=f"{len(STEPS)} slides, 1920 x 1080 PNG each; takes about half a minute.",
    )
    if "last" in _SLIDE_ERRORS:
        container.warning(escape_markdown(f"The last slide export failed: {_SLIDE_ERRORS['last']}"))


# ------------------------------------------------------------------- navigation


def _go(delta: int) -> None:
    """Callback: move ``delta`` steps, staying inside the tour."""
    current = int(st.session_state.get(STEP_KEY, 1))
    st.session_state[STEP_KEY] = min(max(current + delta, 1), len(STEPS))


def _open_on_page(index: int) -> None:
    """Callback: apply step ``index``'s settings; the run then switches to its page."""
    step = STEPS[index]
    target = PAGES_BY_KEY[step.page]
    apply_preset(step.settings, dict(SHARED_SETTINGS) | PAGE_SETTINGS[target.key])
    if step.tab is not None:
        key, label = step.tab
        st.session_state[key] = label
    request_switch(target.key)


#: The present view keeps the heading and the navigation tight: every pixel they do not
#: take goes to the chart. Static CSS, nothing from user input.
_PRESENT_CSS: Final[str] = """
<style>
.st-key-ggmi_present h1 { padding-bottom: 0.25rem; }
.st-key-ggmi_present { gap: 0.5rem; }
</style>
"""
#: In lecture mode the header bar is see-through, so the heading may start at the top;
#: in normal mode (a student following a room) the bar would cover it.
_PRESENT_LECTURE_CSS: Final[str] = """
<style>.st-key-ggmi_present h1 { padding-top: 0; }</style>
"""

#: The present view's full-screen button and its F key: the browser's fullscreen API
#: needs a user's gesture, which a server-side button callback is not, so this constant
#: script toggles it in the browser (installed once per browser page; F is ignored while
#: typing in a field or with a modifier key).
_FULLSCREEN_BUTTON: Final[str] = """
<button type="button" class="ggmi-fullscreen" title="Full screen (F)"
  aria-label="Full screen (key F)">Full screen</button>
<style>
.ggmi-fullscreen { font: inherit; font-size: 1.1rem; padding: 0.4rem 0.9rem; cursor: pointer;
  border: 1px solid rgba(49, 51, 63, 0.3); border-radius: 0.5rem; background: #ffffff;
  color: #31333f; line-height: 1.6; }
.ggmi-fullscreen:hover { border-color: #ff4b4b; color: #ff4b4b; }
</style>
<script>
(function () {
  if (window.ggmiFullscreen) { return; }
  window.ggmiFullscreen = function () {
    if (document.fullscreenElement) { return document.exitFullscreen(); }
    var root = document.documentElement;
    return root.requestFullscreen ? root.requestFullscreen() : null;
  };
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest(".ggmi-fullscreen")) {
      window.ggmiFullscreen();
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "f" && event.key !== "F") { return; }
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) { return; }
    var t = event.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) { return; }
    if (!document.querySelector(".ggmi-fullscreen")) { return; }
    event.preventDefault();
    window.ggmiFullscreen();
  });
})();
</script>
"""


def nav_row(step_no: int) -> Any:
    """Previous, the step number and Next (with the clicker's hidden pair); returns the
    row, so the present view can add its own controls to it."""
    first, last = step_no == 1, step_no == len(STEPS)
    row = st.container(horizontal=True, vertical_alignment="center", key="tour_nav")
    row.button("Previous", key="tour_prev", on_click=_go, args=(-1,), disabled=first,
               shortcut="Left")  # fmt: skip
    row.markdown(f"**Step {step_no} of {len(STEPS)}**")
    row.button("Next", key="tour_next", on_click=_go, args=(1,), disabled=last,
               shortcut="Right", type="primary")  # fmt: skip
    # Presentation clickers send PageUp/PageDown; one shortcut per button, so a second,
    # visually hidden pair carries them.
    hidden = st.container(key="tour_clicker")
    hidden.button("Previous (clicker)", key="tour_prev_page", on_click=_go, args=(-1,),
                  disabled=first, shortcut="PageUp")  # fmt: skip
    hidden.button("Next (clicker)", key="tour_next_page", on_click=_go, args=(1,),
                  disabled=last, shortcut="PageDown")  # fmt: skip
    return row


def settings_line(step: Step) -> str:
    page = PAGES_BY_KEY[step.page]
    own = {k: v for k, v in step.settings.items() if k not in SCENARIO}
    scenario = ", ".join(f"{k} = {SCENARIO[k]}" for k in ("K", "J", "L"))
    extra = "; ".join(f"{k} = {v}" for k, v in own.items() if not str(k).startswith("dist_show"))
    shown = sorted(
        k[len("dist_show_") :] for k, v in own.items() if k.startswith("dist_show") and v
    )
    config = tour_data.TOUR_CONFIG
    recipe = f"N_k = {config.n_anchor_per_component}, n = {config.n_synthetic}, seed {config.seed}"
    parts = [f"Made with the published recipe ({scenario}, {recipe})"]
    if extra:
        parts.append(extra)
    if shown:
        parts.append("layers: " + ", ".join(shown))
    return escape_markdown(f"{'; '.join(parts)}. Explore it live on the {page.title} page.")


# ------------------------------------------------------------------- the page


def is_present_view(lecture: bool) -> bool:
    """Whether the tour shows its present view: in lecture mode, and for a student
    following a lecture room (lecture mode is each screen's own choice, the view is not)."""
    return lecture or is_following()


def step_chart(step_no: int, step: Step, lecture: bool, **layout: Any) -> None:
    """The step's shared figure with its downloads (``layout``: ``show_figure``'s
    ``fit`` and ``downloads``, which the present view sets)."""
    show_figure(
        step_figure_shared(step.figure, lecture),
        f"tour-{step_no:02d}-{step.figure}",
        step_table(step.figure),
        lecture,
        key=f"tour-{step.figure}",
        **layout,
    )


def open_button(step_no: int, step: Step) -> None:
    st.button(
        f"Open this on the {PAGES_BY_KEY[step.page].title} page",
        key="tour_open",
        on_click=_open_on_page,
        args=(step_no - 1,),
        icon=":material/open_in_new:",
    )


def present_step(step_no: int, step: Step, lecture: bool) -> None:
    """One step as one screen: the heading, one row of controls, the chart filling the rest.

    The row holds the navigation, the full-screen toggle and a popover with the whole
    step (claim, text, citations, settings, downloads, the page link), so nothing follows
    the chart and nothing scrolls. The chart's title says the step's point, so the short
    claim is not repeated above it (it opens the popover). Slide fit sizes the chart to
    what the window leaves.
    """
    if not lecture:  # lecture mode has put slide fit on every page already
        slide_fit()
    st.html(_PRESENT_CSS + (_PRESENT_LECTURE_CSS if lecture else ""))
    st.title(step.title)
    row = nav_row(step_no)
    with row:
        st.html(_FULLSCREEN_BUTTON, unsafe_allow_javascript=True)
        more = st.popover(
            "Step text",
            icon=":material/notes:",
            help="The whole step: text, citations, settings, downloads, the page to explore it on.",
        )
    with error_boundary("this step"):
        with more:
            st.markdown(f"**{escape_markdown(step.slide)}**")
            st.markdown(escape_markdown(step_body(step)))
            st.caption(settings_line(step))
            open_button(step_no, step)
        step_chart(step_no, step, lecture, fit=True, downloads=more)
