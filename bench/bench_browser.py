"""Browser benchmark: slider move -> redrawn chart (cold and cached) and warm PNG export.

What it measures (targets: cached under 0.3 s, cold under 1 s, warm PNG
export under 0.4 s):

* **Slider -> chart**, on the Distributions page and on the Bound terms page at the
  default settings, in Debian's headless Chromium driven by Playwright. Each repetition
  opens the page with a *fresh seed* (a value this server has never computed; the page
  load itself is not timed), then

  - COLD: presses ArrowRight on the K slider (K 2 -> 3 with that seed: never computed);
  - CACHED: presses ArrowLeft (back to K = 2, computed by the page load) and ArrowRight
    again (K = 3, computed by the cold step): two cached samples per repetition.

  The clock is ``performance.now()`` **inside the page**: it starts at the key event's
  timestamp and stops two animation frames after the first frame in which (a) the first
  plotly chart's data differ from before the key press (a checksum of every trace's
  x/y/z arrays and the title) and (b) the app is idle: script state ``notRunning``, no
  element marked stale, no "Running" status. Two frames later that frame has been
  painted. Beside it: how much of that time the page's main thread was busy with long
  tasks (over 50 ms: parsing, plotly.js, style, layout, paint; from the Long Tasks API),
  so the rest is mostly waiting for the server. (Timing WebSocket frames from Playwright,
  as ``load_test.py`` does, cannot split the two here: the renderer reports a frame only
  when its busy main thread gets to it.)
* **Warm PNG export**, two ways:

  - direct: ``ggmi_viz.export.figure_to_png`` on each page's actual default figure
    (Figure 2 of the Distributions page and the Lemma 3.1 chart of the Bound terms page,
    built with the ggmi_viz builders from a ggmi_core result at the page defaults and
    themed as the page themes them), at the size and scale the page's download button
    uses (scale 2), after one warm-up call; wall clock per call;
  - end to end: click the page's first "Download PNG" button (default settings) and time
    until the browser has the whole file (wall clock, click -> download complete), after
    one warm-up click.

* **More interactions** (same clock: from the event that starts them to the watched
  chart redrawn with new data and the app idle): a mouse drag of the Distributions K
  slider from 2 to 8 (clock starts at the release; fresh seed); on the KL Gap page the
  fixed-letter J slider (cold, cached; the watched chart is the visitor's sweep), the
  "Paper Figure 4: sweep K" preset click, the divergence switch published <-> JS on
  it and then the J slider under the preset (stored points and letter planes); the Bound
  terms tab switch ('How terms move' <-> 'Breakdown').
* **Flip-book step (in-browser)**: the Distributions page with ``?dist_flip=K`` (Figure 2
  for K = 1..8 precomputed, an in-figure slider over them); a click on the slider's rail
  at another step. Clock from the click's ``pointerdown`` to two animation frames after
  the chart shows the new step's title and visible traces; the WebSocket frames the
  page sent meanwhile are counted (a rerun would send one; none is expected).
  ``--only flipbook`` measures this row alone; ``--only sliders`` measures the slider
  rows (cold and cached) alone.
* **First loads**: each page opened in a fresh browser context against the warm server
  (navigation start to every chart drawn and the app idle), and ``--fresh-starts``
  servers started afresh: the first Distributions load of a fresh browser, then at once
  its first 'Download PNG' (click -> complete file), which meets a PNG exporter the
  server warmed in the background.

The machine's load average is sampled during the run and printed with the table.

Run from the repo root (starts its own server on a free 127.0.0.1 port)::

    python bench/bench_browser.py --repeats 5 --out bench/BROWSER_BENCHMARK.md
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import logging
import os
import platform
import shlex
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Server start, loopback check, Chromium flags and the page health check are
# shared with the load test (this directory is on sys.path when run as a script).
from load_test import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    HEALTH_JS,
    check_loopback,
    streamlit_server,
)

#: Slider targets per page: (cold, cached) seconds.
SLIDER_TARGETS_S: Final[dict[str, tuple[float, float]]] = {
    "Distributions": (0.4, 0.2),
    "Bound terms": (0.5, 0.5),
}
PNG_TARGET_S: Final[float] = 0.4
DRAG_TARGET_S: Final[float] = 0.2
GAP_COLD_TARGET_S: Final[float] = 0.8
GAP_CACHED_TARGET_S: Final[float] = 0.2
PRESET_TARGET_S: Final[float] = 1.0
TAB_TARGET_S: Final[float] = 0.2
FIRST_LOAD_TARGET_S: Final[float] = 1.2
#: A flip-book step is the in-browser way to move a letter: the drag's "figure follows
#: within 0.2 s" is its target.
FLIPBOOK_TARGET_S: Final[float] = DRAG_TARGET_S
#: Steps clicked in turn (slider positions of K = 1..8; the page opens on K = 2).
FLIPBOOK_STEPS: Final[tuple[int, ...]] = (4, 7, 0, 5, 2, 6, 3, 1)
FIRST_PNG_TARGET_S: Final[float] = 1.0
MIN_PNG_RUNS: Final[int] = 7
SLIDER_LABEL: Final[str] = "K: anchor-sampled components"
VIEWPORT: Final[dict[str, int]] = {"width": 1400, "height": 1000}
SERVER_ENV: Final[dict[str, str]] = {
    "MALLOC_ARENA_MAX": "2",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
}
NOTES_MARKER: Final[str] = "<!-- hand-written notes below this line are kept on rewrite -->"


@dataclass(frozen=True)
class PageSpec:
    """A page under test: its title in the table and its URL path."""

    title: str
    path: str


PAGES: Final[tuple[PageSpec, ...]] = (
    PageSpec("Distributions", "Distributions"),
    PageSpec("Bound terms", "Bound_terms"),
)

# Installed before any page script: remembers the timestamp of the first key event
# after the benchmark arms it, and a cheap checksum of a plotly chart.
INIT_JS = """
(() => {
  window.__bbArmed = false;
  window.__bbT0 = null;
  // Main-thread tasks over 50 ms (parsing, plotly.js, style, layout, paint).
  window.__bbLong = [];
  const keep = (entries) => {
    for (const e of entries) window.__bbLong.push([e.startTime, e.duration]);
  };
  try {
    window.__bbObserver = new PerformanceObserver((list) => keep(list.getEntries()));
    window.__bbObserver.observe({type: 'longtask'});
  } catch (e) { window.__bbObserver = null; }
  window.__bbBusy = (t0, t1) => {
    if (window.__bbObserver) keep(window.__bbObserver.takeRecords());
    let busy = 0;
    for (const [s, d] of window.__bbLong) {
      busy += Math.max(0, Math.min(s + d, t1) - Math.max(s, t0));
    }
    return busy;
  };
  // The event that starts the clock: 'keydown' (slider keys), 'pointerdown' (a click on
  // a button, tab or option) or 'pointerup' (the release that ends a drag; the slider
  // cancels the mouse events that would follow its pointer events).
  window.__bbEvent = 'keydown';
  for (const type of ['keydown', 'pointerdown', 'pointerup']) {
    document.addEventListener(type, (e) => {
      if (window.__bbArmed && e.type === window.__bbEvent) {
        window.__bbT0 = e.timeStamp; window.__bbArmed = false;
      }
    }, true);
  }
  // Which chart is watched: its index among the page's plotly charts (-1: the last).
  window.__bbChart = 0;
  const total = (v) => {
    if (v === null || v === undefined) return 0;
    if (ArrayBuffer.isView(v)) {
      let s = 0;
      for (let i = 0; i < v.length; i++) s += v[i];
      return s;
    }
    if (Array.isArray(v)) {
      let s = 0;
      for (const x of v) s += (typeof x === 'number') ? x : total(x);
      return s;
    }
    if (typeof v === 'object' && v._inputArray) return total(v._inputArray);
    return 0;
  };
  let last = {data: null, fp: null};
  window.__bbFingerprint = () => {
    const all = document.querySelectorAll('.js-plotly-plot');
    const el = all[window.__bbChart < 0 ? all.length + window.__bbChart : window.__bbChart];
    if (!el || !el.data) return null;
    if (el.data === last.data) return last.fp;  // same arrays: same checksum
    const title = (el.layout && el.layout.title && el.layout.title.text) || '';
    const fp = JSON.stringify([title, el.data.map(
      (t) => [t.name, t.type, total(t.x), total(t.y), total(t.z)])]);
    last = {data: el.data, fp};
    return fp;
  };
})();
"""

ARM_JS = """
([eventType, chart]) => {
  window.__bbEvent = eventType;
  window.__bbChart = chart;
  window.__bbBefore = window.__bbFingerprint();
  window.__bbT0 = null;
  window.__bbLong = [];
  window.__bbArmed = true;
  return window.__bbBefore !== null;
}
"""

# Resolves once the chart differs from before the key press and the app is idle, two
# animation frames later (so that frame has been painted). Times: page clock, ms.
WAIT_JS = """
(timeoutMs) => new Promise((resolve) => {
  const start = performance.now();
  const idle = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    if (document.querySelector('[data-stale="true"]')) return false;
    const status = document.querySelector('[data-testid="stStatusWidget"]');
    return !(status && /running/i.test(status.textContent || ''));
  };
  const tick = () => {
    if (performance.now() - start > timeoutMs) {
      resolve({timeout: true, t0: window.__bbT0});
      return;
    }
    if (window.__bbT0 !== null && idle()) {
      const fp = window.__bbFingerprint();
      if (fp !== null && fp !== window.__bbBefore) {
        const seen = performance.now();
        requestAnimationFrame(() => requestAnimationFrame(() => {
          const end = performance.now();
          resolve({timeout: false, t0: window.__bbT0, seen, end,
                   busy: window.__bbBusy(window.__bbT0, end)});
        }));
        return;
      }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})
"""

IDLE_JS = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
    && !document.querySelector('[data-stale="true"]')
    && document.querySelectorAll('.js-plotly-plot').length > 0;
}
"""


# ------------------------------------------------------------------ statistics


@dataclass
class Series:
    """Repeated measurements of one thing, in seconds."""

    values: list[float] = field(default_factory=list)
    busy: list[float] = field(default_factory=list)

    def stats(self) -> dict[str, float] | None:
        """``n``, ``median``, ``p90`` and ``min`` of ``values`` (None when empty)."""
        return summarize(self.values)


def summarize(values: list[float]) -> dict[str, float] | None:
    """``n``, ``median``, ``p90`` (linear interpolation) and ``min`` in seconds."""
    if not values:
        return None
    arr = np.asarray(values, dtype=float)
    return {
        "n": float(arr.size),
        "median": float(np.median(arr)),
        "p90": float(np.percentile(arr, 90)),
        "min": float(arr.min()),
    }


class LoadSampler:
    """Reads the 1-minute load average from /proc/loadavg every ``period_s`` seconds."""

    def __init__(self, period_s: float = 2.0) -> None:
        self.period_s = period_s
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loadavg", daemon=True)

    @staticmethod
    def read() -> tuple[float, float, float]:
        """The 1-, 5- and 15-minute load averages (runnable tasks, not percent)."""
        with open("/proc/loadavg") as f:
            one, five, fifteen = f.read().split()[:3]
        return float(one), float(five), float(fifteen)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.samples.append(self.read()[0])
            self._stop.wait(self.period_s)

    def __enter__(self) -> LoadSampler:
        self.start = self.read()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.end = self.read()


# ------------------------------------------------------------------ direct PNG export


def default_figures() -> dict[str, Any]:
    """Each page's first figure at the page defaults, themed as the page shows it.

    Returns ``{page title: plotly Figure}``. The numbers come from the same ggmi_core
    calls (and arguments) as the pages' cached functions.
    """
    # Streamlit logs a warning per cache decorator when imported without a server.
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    from ggmi_app import bounds_page
    from ggmi_app.cached import SCENARIO_METRIC, TABLE_MC
    from ggmi_app.distributions_page import DISPLAY_SCHEMA, layer_selection
    from ggmi_app.params import defaults
    from ggmi_app.scenario_params import SCENARIO_SCHEMA, SHARED_SCHEMA, scenario_config
    from ggmi_core.bounds import bound_terms
    from ggmi_core.scenario_report import view_from_result
    from ggmi_core.simulation import simulate
    from ggmi_viz import bounds as bound_figures
    from ggmi_viz.distributions import scenario_figure
    from ggmi_viz.theme import apply_theme

    values = defaults((*SCENARIO_SCHEMA, *DISPLAY_SCHEMA))
    result = simulate(scenario_config(values), rounds=1, metric=SCENARIO_METRIC, n_mc=TABLE_MC)
    figure2 = scenario_figure(
        view_from_result(result, 0),
        layers=layer_selection(values),
        projection=values["projection"],
    )
    b = defaults((*SHARED_SCHEMA, *bounds_page.BOUND_SCHEMA))
    terms = bound_terms(
        bounds_page.scenario_config(b),
        rounds=b["scenarios"],
        loss_cap=b["C"],
        n_mc=b["n_mc"],
        metric=b["metric"],
    )
    lemma31 = bound_figures.lemma31_figure(terms, False)
    return {
        "Distributions": apply_theme(figure2, False),
        "Bound terms": apply_theme(lemma31, False),
    }


def time_direct_export(
    fig: Any, runs: int, pause_s: float
) -> tuple[Series, Series, tuple[int, int]]:
    """Seconds per warm ``figure_to_png`` call, after one warm-up call.

    Returns ``(spaced, back_to_back, (width, height) in px)``: ``spaced`` calls come
    ``pause_s`` apart, as a visitor's clicks do; ``back_to_back`` calls follow each other
    at once, so each also waits for what the previous call left running.
    """
    from ggmi_viz.export import figure_to_png, png_size
    from ggmi_viz.theme import EXPORT_HEIGHT, EXPORT_WIDTH

    # The same canvas as the page's download button (ggmi_app.figures._export_size).
    width = int(fig.layout.width or EXPORT_WIDTH)
    height = int(fig.layout.height or EXPORT_HEIGHT)

    def export() -> float:
        t0 = time.perf_counter()
        figure_to_png(fig, scale=2, width=width, height=height, timeout_s=60)
        return time.perf_counter() - t0

    size = png_size(figure_to_png(fig, scale=2, width=width, height=height, timeout_s=60))
    spaced, back_to_back = Series(), Series()
    for _ in range(runs):
        time.sleep(pause_s)
        spaced.values.append(export())
    back_to_back.values = [export() for _ in range(runs)]
    return spaced, back_to_back, size


# ------------------------------------------------------------------ browser


def check_health(page: Any, what: str) -> None:
    """Fail loudly if the page shows an exception, an error box or lost its server."""
    health = page.evaluate(HEALTH_JS)
    problems = []
    if health["exceptions"] or health["traceback"]:
        problems.append("an exception")
    if health["disconnected"]:
        problems.append("a connection error")
    problems += [f"error: {e}" for e in health["errors"]]
    if problems:
        raise RuntimeError(f"{what}: the page shows {'; '.join(problems)}")


def open_page(page: Any, url: str, timeout_s: float) -> None:
    """Load ``url`` and wait until the app is idle with at least one chart drawn."""
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function(IDLE_JS, timeout=timeout_s * 1000, polling=100)
    check_health(page, url)


def slider_thumb(page: Any, label: str) -> Any:
    """The focusable part of the sidebar slider whose label contains ``label``."""
    return (
        page.locator('[data-testid="stSidebar"] [data-testid="stSlider"]')
        .filter(has_text=label)
        .locator('input[type="range"], [role="slider"]')
        .first
    )


def time_action(
    page: Any,
    act: Any,
    what: str,
    timeout_s: float,
    *,
    event: str = "keydown",
    chart: int = 0,
) -> tuple[float, float]:
    """Run ``act()``; seconds from its first ``event`` until chart number ``chart`` shows
    new data and the app is idle (two frames later), and main-thread long-task time."""
    if not page.evaluate(ARM_JS, [event, chart]):
        raise RuntimeError(f"{what}: no plotly chart number {chart} before the action")
    act()
    result = page.evaluate(WAIT_JS, timeout_s * 1000)
    if result["timeout"] or result["t0"] is None:
        raise TimeoutError(f"{what}: chart did not change and settle within {timeout_s:g} s")
    check_health(page, f"after {what}")
    return (result["end"] - result["t0"]) / 1000, result["busy"] / 1000


def time_key(
    page: Any, thumb: Any, key: str, timeout_s: float, chart: int = 0
) -> tuple[float, float]:
    """Press ``key`` on ``thumb``; return (latency, main thread busy in long tasks), in s."""
    thumb.focus()
    return time_action(page, lambda: thumb.press(key), key, timeout_s, chart=chart)


def time_sliders(
    page: Any, base_url: str, spec: PageSpec, seeds: list[int], timeout_s: float
) -> tuple[Series, Series]:
    """COLD and CACHED slider latencies on one page, one fresh seed per repetition."""
    cold, cached = Series(), Series()
    for seed in seeds:
        open_page(page, f"{base_url}/{spec.path}?seed={seed}", timeout_s)  # K = 2: not timed
        thumb = slider_thumb(page, SLIDER_LABEL)
        for series, key in ((cold, "ArrowRight"), (cached, "ArrowLeft"), (cached, "ArrowRight")):
            latency, busy = time_key(page, thumb, key, timeout_s)
            series.values.append(latency)
            series.busy.append(busy)
        print(
            f"  {spec.title} seed {seed}: cold {cold.values[-1]:.2f} s, "
            f"cached {cached.values[-2]:.2f} / {cached.values[-1]:.2f} s",
            flush=True,
        )
    return cold, cached


def time_png_downloads(
    page: Any, base_url: str, spec: PageSpec, runs: int, pause_s: float, timeout_s: float
) -> tuple[Series, tuple[int, int]]:
    """Seconds from clicking the first 'Download PNG' to the finished file (warm).

    Clicks come ``pause_s`` apart, as a visitor's do.
    """
    from ggmi_viz.export import png_size

    open_page(page, f"{base_url}/{spec.path}", timeout_s)
    button = page.get_by_role("button", name="Download PNG").first
    button.scroll_into_view_if_needed()
    button.hover()

    def download() -> tuple[float, bytes]:
        t0 = time.perf_counter()
        with page.expect_download(timeout=timeout_s * 1000) as info:
            button.click()
        data = Path(info.value.path()).read_bytes()  # path() waits for the whole file
        return time.perf_counter() - t0, data

    _, data = download()  # warm-up: the server's kaleido browser may still be cold
    size = png_size(data)
    series = Series()
    for _ in range(runs):
        time.sleep(pause_s)
        seconds, data = download()
        png_size(data)  # raises unless it is a PNG
        series.values.append(seconds)
    check_health(page, f"{spec.title} PNG downloads")
    return series, size


# ---------------------------------------------------------------- more interactions

GAP_PAGE: Final[PageSpec] = PageSpec("KL Gap curves", "KL_Gap_curves")
HOME_PAGE: Final[PageSpec] = PageSpec("Home", "")
FIXED_LETTER_LABEL: Final[str] = "J: unsampled components"
PRESET_BUTTON: Final[str] = "Paper Figure 4: sweep K"
METRIC_OPTIONS: Final[dict[str, str]] = {
    "js": "Jensen-Shannon JS(fit, G), exact Monte Carlo",
    "kl_published": "KL(fit || G), published histogram estimator",
}
TABS: Final[tuple[str, str]] = ("How terms move", "Breakdown")

# Resolves when the app is idle with ``charts`` plotly charts drawn, two frames later;
# returns the page clock then (ms since navigation start).
LOADED_JS = """
([charts, timeoutMs]) => new Promise((resolve) => {
  const tick = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    const idle = app && app.getAttribute('data-test-script-state') === 'notRunning'
      && !document.querySelector('[data-stale="true"]');
    const drawn = [...document.querySelectorAll('.js-plotly-plot')]
      .filter((el) => el.data && el.querySelector('.main-svg')).length;
    if (idle && drawn >= charts) {
      requestAnimationFrame(() => requestAnimationFrame(
        () => resolve({timeout: false, end: performance.now()})));
      return;
    }
    if (performance.now() > timeoutMs) { resolve({timeout: true}); return; }
    requestAnimationFrame(tick);
  };
  tick();
})
"""

#: Charts each page draws at its defaults (the load is done when all are drawn).
PAGE_CHARTS: Final[dict[str, int]] = {
    "Home": 1, "Distributions": 1, "KL Gap curves": 2, "Bound terms": 1,
}  # fmt: skip


def time_first_load(context: Any, base_url: str, spec: PageSpec, timeout_s: float) -> float:
    """Seconds from navigation start (fresh page of ``context``) to charts drawn, idle."""
    page = context.new_page()
    try:
        return load_seconds(page, base_url, spec, timeout_s)
    finally:
        page.close()


def load_seconds(page: Any, base_url: str, spec: PageSpec, timeout_s: float) -> float:
    """Open ``spec`` in ``page``; seconds from navigation start to its charts drawn, idle."""
    page.goto(f"{base_url}/{spec.path}", wait_until="commit")
    result = page.evaluate(LOADED_JS, [PAGE_CHARTS[spec.title], timeout_s * 1000])
    if result["timeout"]:
        raise TimeoutError(f"{spec.title}: not loaded within {timeout_s:g} s")
    check_health(page, f"{spec.title} first load")
    return result["end"] / 1000


def time_fresh_loads(
    browser: Any, base_url: str, pages: tuple[PageSpec, ...], repeats: int, timeout_s: float
) -> dict[str, Series]:
    """First load of each page in a fresh browser context (empty cache), warm server."""
    out = {spec.title: Series() for spec in pages}
    for _ in range(repeats):
        for spec in pages:
            context = browser.new_context(viewport=VIEWPORT)
            try:
                out[spec.title].values.append(time_first_load(context, base_url, spec, timeout_s))
            finally:
                context.close()
    return out


def time_drag(
    page: Any, base_url: str, seeds: list[int], timeout_s: float
) -> tuple[Series, list[int]]:
    """Drag the Distributions K slider from 2 to 8 with the mouse (fresh seed each time):
    seconds from the release to the new figure drawn; also the K each drag landed on."""
    series, landed = Series(), []
    for seed in seeds:
        open_page(page, f"{base_url}/Distributions?seed={seed}", timeout_s)
        thumb = slider_thumb(page, SLIDER_LABEL)
        thumb.scroll_into_view_if_needed()
        slider = page.locator('[data-testid="stSidebar"] [data-testid="stSlider"]').filter(
            has_text=SLIDER_LABEL
        )
        # react-aria slider: the track is the group's first child; the thumb's box is
        # its hidden range input's parent.
        track = slider.locator('[role="group"] > div').first.bounding_box()
        box = thumb.locator("xpath=..").bounding_box()
        lo, hi = float(thumb.get_attribute("min")), float(thumb.get_attribute("max"))
        x0, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        x1 = track["x"] + track["width"] * (8 - lo) / (hi - lo)

        def drag(x0: float = x0, x1: float = x1, y: float = y) -> None:
            page.mouse.move(x0, y)
            page.mouse.down()
            for step in range(1, 13):  # a person's drag: a dozen moves over ~0.25 s
                page.mouse.move(x0 + (x1 - x0) * step / 12, y)
                time.sleep(0.02)
            page.mouse.up()

        latency, busy = time_action(page, drag, "drag K", timeout_s, event="pointerup")
        series.values.append(latency)
        series.busy.append(busy)
        landed.append(int(float(thumb.input_value())))
        print(f"  drag seed {seed}: K -> {landed[-1]} in {latency:.2f} s", flush=True)
    return series, landed


def time_gap_page(
    page: Any, base_url: str, seeds: list[int], timeout_s: float
) -> dict[str, Series]:
    """KL Gap page: fixed-letter slider (cold, cached), the Figure-4 preset click and the
    divergence switch (published <-> JS) on it. The watched chart is the visitor's sweep."""
    out = {k: Series() for k in ("cold", "cached", "preset", "switch", "held")}
    for seed in seeds:
        open_page(page, f"{base_url}/{GAP_PAGE.path}?seed={seed}", timeout_s)
        page.wait_for_function(IDLE_JS, timeout=timeout_s * 1000, polling=100)
        thumb = slider_thumb(page, FIXED_LETTER_LABEL)
        for kind, key in (
            ("cold", "ArrowRight"),
            ("cached", "ArrowLeft"),
            ("cached", "ArrowRight"),
        ):
            latency, busy = time_key(page, thumb, key, timeout_s, chart=-1)
            out[kind].values.append(latency)
            out[kind].busy.append(busy)
        button = page.locator('[data-testid="stSidebar"] button').filter(has_text=PRESET_BUTTON)
        if not button.first.is_visible():  # the presets sit in a closed sidebar expander
            page.locator('[data-testid="stSidebar"] summary').filter(has_text="Presets").click()
            button.first.wait_for(state="visible")
        latency, busy = time_action(
            page, button.first.click, "preset", timeout_s, event="pointerdown", chart=-1
        )
        out["preset"].values.append(latency)
        out["preset"].busy.append(busy)
        for metric in ("js", "kl_published"):
            select = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(
                has_text="Divergence"
            )
            # The combobox lists options as one types; Enter picks the one left.
            box = select.locator('input[role="combobox"]').first
            box.click()
            box.fill(METRIC_OPTIONS[metric])
            page.locator('[role="option"]').filter(has_text=METRIC_OPTIONS[metric]).wait_for()
            latency, busy = time_action(
                page, lambda box=box: box.press("Enter"), f"metric {metric}", timeout_s,
                chart=-1,
            )  # fmt: skip
            out["switch"].values.append(latency)
            out["switch"].busy.append(busy)
        # Under the preset a held letter's move lands on a stored letter plane.
        thumb = slider_thumb(page, FIXED_LETTER_LABEL)
        latency, busy = time_key(page, thumb, "ArrowRight", timeout_s, chart=-1)
        out["held"].values.append(latency)
        out["held"].busy.append(busy)
        print(
            f"  KL Gap seed {seed}: J cold {out['cold'].values[-1]:.2f} s, cached "
            f"{out['cached'].values[-1]:.2f} s, preset {out['preset'].values[-1]:.2f} s, "
            f"switch {out['switch'].values[-2]:.2f} / {out['switch'].values[-1]:.2f} s, "
            f"J under the preset {out['held'].values[-1]:.2f} s",
            flush=True,
        )
    return out


# The first chart's title and trace visibility: what a flip-book step changes (its data
# arrays stay the same, so the data checksum of WAIT_JS would not see it).
FLIPBOOK_STATE_JS = """
() => {
  const plot = document.querySelector('.js-plotly-plot');
  return JSON.stringify([plot.layout.title.text, plot.data.map((t) => t.visible)]);
}
"""

# Resolves two animation frames after the chart's flip-book state differs from
# ``before`` (page clock, ms), like WAIT_JS; no server involved, so no idle check.
FLIPBOOK_WAIT_JS = """
([before, timeoutMs]) => new Promise((resolve) => {
  const start = performance.now();
  const plot = document.querySelector('.js-plotly-plot');
  const state = () => JSON.stringify([plot.layout.title.text, plot.data.map((t) => t.visible)]);
  const tick = () => {
    if (performance.now() - start > timeoutMs) {
      resolve({timeout: true, t0: window.__bbT0});
      return;
    }
    if (window.__bbT0 !== null && state() !== before) {
      requestAnimationFrame(() => requestAnimationFrame(() => {
        const end = performance.now();
        resolve({timeout: false, t0: window.__bbT0, end,
                 busy: window.__bbBusy(window.__bbT0, end)});
      }));
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})
"""


def click_flipbook_step(page: Any, index: int) -> None:
    """Click the flip-book slider's rail above step label ``index`` (mouse input only)."""
    slider = page.locator(".js-plotly-plot .slider-container").first
    label = slider.locator(".slider-labels .slider-label").nth(index).bounding_box()
    rail = slider.locator(".slider-rail-rect").bounding_box()
    if label is None or rail is None:
        raise RuntimeError("flip-book: no slider step to click")
    page.mouse.click(label["x"] + label["width"] / 2, rail["y"] + rail["height"] / 2)


def time_flipbook(page: Any, base_url: str, repeats: int, timeout_s: float) -> tuple[Series, int]:
    """Distributions ``?dist_flip=K``: click flip-book steps in turn, ``repeats`` rounds of
    ``FLIPBOOK_STEPS``; the latencies and the WebSocket frames the page sent meanwhile."""
    sent: list[int] = []

    def watch(ws: Any) -> None:
        ws.on("framesent", lambda _frame: sent.append(1))

    page.on("websocket", watch)  # before the page opens its socket
    try:
        open_page(page, f"{base_url}/Distributions?dist_flip=K", timeout_s)
        page.wait_for_selector(".js-plotly-plot .slider-container")
        page.wait_for_timeout(500)  # the page's own start-up messages are out
        before_steps = len(sent)
        series = Series()
        for _ in range(repeats):
            for index in FLIPBOOK_STEPS:
                if not page.evaluate(ARM_JS, ["pointerdown", 0]):
                    raise RuntimeError("flip-book: no chart before the step")
                before = page.evaluate(FLIPBOOK_STATE_JS)
                click_flipbook_step(page, index)
                result = page.evaluate(FLIPBOOK_WAIT_JS, [before, timeout_s * 1000])
                if result["timeout"] or result["t0"] is None:
                    raise TimeoutError(f"flip-book step {index}: no redraw within {timeout_s:g} s")
                series.values.append((result["end"] - result["t0"]) / 1000)
                series.busy.append(result["busy"] / 1000)
        page.wait_for_timeout(500)  # a rerun request would be out by now
        check_health(page, "after the flip-book steps")
    finally:
        page.remove_listener("websocket", watch)
    print(
        f"  flip-book: median {statistics.median(series.values) * 1000:.0f} ms over "
        f"{len(series.values)} steps; messages sent {len(sent) - before_steps}",
        flush=True,
    )
    return series, len(sent) - before_steps


def flipbook_row(series: Series, sent: int) -> tuple[str, str, Series, float | None, str]:
    """The table row of ``time_flipbook``'s result."""
    note = _busy_note(series, f"K = 1..8 precomputed; {sent} messages sent to the server")
    return ("flip-book step (in-browser)", "Distributions", series, FLIPBOOK_TARGET_S, note)


def time_tabs(page: Any, base_url: str, repeats: int, timeout_s: float) -> Series:
    """Bound terms: click 'How terms move', then 'Breakdown' (each time the open tab's
    chart is drawn), ``repeats`` times at the defaults."""
    open_page(page, f"{base_url}/Bound_terms", timeout_s)
    series = Series()
    for _ in range(repeats):
        for label in TABS:
            tab = page.get_by_role("tab", name=label)
            latency, busy = time_action(
                page, tab.click, f"tab {label}", timeout_s, event="pointerdown"
            )
            series.values.append(latency)
            series.busy.append(busy)
    print(f"  tabs: median {statistics.median(series.values):.2f} s", flush=True)
    return series


def time_fresh_server(browser: Any, args: argparse.Namespace) -> tuple[float, float]:
    """A freshly started server: first load of Distributions in a fresh browser, then at
    once its first 'Download PNG' (click -> complete file). Seconds each."""
    log_path = Path(tempfile.mkdtemp(prefix="ggmi-bench-fresh-")) / "server.log"
    with streamlit_server(log_path) as (base_url, _pid):
        context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        try:
            page = context.new_page()
            load = load_seconds(page, base_url, PAGES[0], args.timeout)
            button = page.get_by_role("button", name="Download PNG").first
            button.scroll_into_view_if_needed()
            t0 = time.perf_counter()
            with page.expect_download(timeout=args.timeout * 1000) as info:
                button.click()
            Path(info.value.path()).read_bytes()
            first_png = time.perf_counter() - t0
        finally:
            context.close()
    print(f"  fresh server: first load {load:.2f} s, first PNG {first_png:.2f} s", flush=True)
    return load, first_png


@dataclass
class Results:
    """Everything one run measured (seconds)."""

    cold: dict[str, Series] = field(default_factory=dict)
    cached: dict[str, Series] = field(default_factory=dict)
    direct_png: dict[str, Series] = field(default_factory=dict)
    direct_png_busy: dict[str, Series] = field(default_factory=dict)
    direct_png_px: dict[str, tuple[int, int]] = field(default_factory=dict)
    e2e_png: dict[str, Series] = field(default_factory=dict)
    e2e_png_px: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: (measurement, page, series, target in s or None, note), in table order.
    extra: list[tuple[str, str, Series, float | None, str]] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    png_pause_s: float = 1.0
    versions: dict[str, str] = field(default_factory=dict)


def run_browser(args: argparse.Namespace, base_url: str, results: Results) -> None:
    """Drive Chromium against ``base_url`` and fill the slider and download results."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        results.versions["Chromium"] = browser.version
        try:
            context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
            context.set_default_timeout(args.timeout * 1000)
            context.add_init_script(INIT_JS)
            page = context.new_page()
            if args.only == "flipbook":
                print("Distributions: flip-book steps ...", flush=True)
                results.extra.append(flipbook_row(*time_flipbook(
                    page, base_url, args.repeats, args.timeout)))  # fmt: skip
                context.close()
                return
            # A server that has been up a while: modules imported, pages opened once.
            for spec in PAGES:
                open_page(page, f"{base_url}/{spec.path}", args.timeout)
            for spec in PAGES:
                print(f"{spec.title}: slider latency ...", flush=True)
                results.cold[spec.title], results.cached[spec.title] = time_sliders(
                    page, base_url, spec, results.seeds, args.timeout
                )
            if args.only == "sliders":
                context.close()
                return
            for spec in PAGES:
                print(f"{spec.title}: PNG download ...", flush=True)
                runs = max(MIN_PNG_RUNS, args.repeats)
                series, size = time_png_downloads(
                    page, base_url, spec, runs, args.png_pause, args.timeout
                )
                results.e2e_png[spec.title], results.e2e_png_px[spec.title] = series, size
            run_interactions(args, base_url, browser, page, results)
            context.close()
            if args.fresh_starts:
                print("fresh servers: first load and first PNG ...", flush=True)
                loads, pngs = Series(), Series()
                for _ in range(args.fresh_starts):
                    load, png = time_fresh_server(browser, args)
                    loads.values.append(load)
                    pngs.values.append(png)
                results.extra += [
                    ("first page load, fresh server and browser", "Distributions", loads,
                     FIRST_LOAD_TARGET_S, "a server just started; its first visitor"),
                    ("first PNG download after start (click -> file)", "Distributions", pngs,
                     FIRST_PNG_TARGET_S, "clicked as soon as that first load finished"),
                ]  # fmt: skip
        finally:
            browser.close()


def _busy_note(series: Series, extra: str = "") -> str:
    busy = summarize(series.busy)
    note = "" if busy is None else f"page busy (long tasks): median {busy['median']:.2f} s"
    return "; ".join(x for x in (note, extra) if x)


def run_interactions(
    args: argparse.Namespace, base_url: str, browser: Any, page: Any, results: Results
) -> None:
    """The drag, the KL Gap page, the tabs and fresh-browser loads (warm server)."""
    seeds = [seed + 10_000 for seed in results.seeds]  # fresh again: never computed
    print("Distributions: mouse drag K 2 -> 8 ...", flush=True)
    drag, landed = time_drag(page, base_url, seeds, args.timeout)
    results.extra.append(
        ("mouse drag K 2 -> 8, release -> chart (cold)", "Distributions", drag, DRAG_TARGET_S,
         _busy_note(drag, f"landed on K = {', '.join(map(str, sorted(set(landed))))}"))
    )  # fmt: skip
    print("KL Gap curves: fixed letter, preset, divergence switch ...", flush=True)
    gap = time_gap_page(page, base_url, [seed + 20_000 for seed in results.seeds], args.timeout)
    results.extra += [
        ("fixed-letter slider (J) -> sweep, cold", GAP_PAGE.title, gap["cold"],
         GAP_COLD_TARGET_S, _busy_note(gap["cold"], "K swept 2..15, 20 scenarios a value")),
        ("fixed-letter slider (J) -> sweep, cached", GAP_PAGE.title, gap["cached"],
         GAP_CACHED_TARGET_S, _busy_note(gap["cached"])),
        ("Figure-4 preset click -> sweep", GAP_PAGE.title, gap["preset"],
         PRESET_TARGET_S, _busy_note(gap["preset"], "published estimator; stored points")),
        ("divergence switch on the preset (published <-> JS)", GAP_PAGE.title, gap["switch"],
         PRESET_TARGET_S, _busy_note(gap["switch"], "stored points")),
        ("fixed-letter slider (J) under the preset -> sweep", GAP_PAGE.title, gap["held"],
         GAP_COLD_TARGET_S, _busy_note(gap["held"], "stored letter plane (J = 3)")),
    ]  # fmt: skip
    print("Distributions: flip-book steps ...", flush=True)
    results.extra.append(
        flipbook_row(*time_flipbook(page, base_url, max(1, args.repeats // 2), args.timeout))
    )
    print("Bound terms: tab switches ...", flush=True)
    tabs = time_tabs(page, base_url, args.repeats, args.timeout)
    results.extra.append(
        ("tab switch -> chart", "Bound terms", tabs, TAB_TARGET_S,
         _busy_note(tabs, "'How terms move' <-> 'Breakdown', cached after the first"))
    )  # fmt: skip
    print("first loads in a fresh browser (warm server) ...", flush=True)
    pages = (HOME_PAGE, *PAGES, GAP_PAGE)
    for title, series in time_fresh_loads(
        browser, base_url, pages, max(3, args.repeats // 2), args.timeout
    ).items():
        results.extra.append(
            ("first page load, fresh browser (warm server)", title, series, FIRST_LOAD_TARGET_S,
             "navigation start -> every chart drawn, app idle")
        )  # fmt: skip


# ------------------------------------------------------------------ report


def _cell(stats: dict[str, float] | None, key: str) -> str:
    return "n/a" if stats is None else f"{stats[key]:.2f} s"


def _verdict(stats: dict[str, float] | None, target: float | None) -> str:
    if stats is None or target is None:
        return "–"
    return "yes" if stats["median"] < target else "**no**"


def table(results: Results) -> str:
    """The markdown table: measurements beside their targets (judged on the median)."""
    rows: list[tuple[str, str, Series, float | None, str]] = []
    for spec in PAGES:
        t = spec.title
        cold_target, cached_target = SLIDER_TARGETS_S[t]
        for label, series, target in (
            ("slider -> chart, cold", results.cold.get(t), cold_target),
            ("slider -> chart, cached", results.cached.get(t), cached_target),
        ):
            if series is not None:
                busy = summarize(series.busy)
                note = (
                    "" if busy is None else f"page busy (long tasks): median {busy['median']:.2f} s"
                )
                rows.append((label, t, series, target, note))
    for spec in PAGES:
        t = spec.title
        if t in results.direct_png:
            w, h = results.direct_png_px[t]
            busy = summarize(results.direct_png_busy[t].values)
            rows.append(
                ("PNG export, warm (figure_to_png)", t, results.direct_png[t], PNG_TARGET_S,
                 f"{w} x {h} px; back to back: median {busy['median']:.2f} s" if busy else "")
            )  # fmt: skip
    for spec in PAGES:
        t = spec.title
        if t in results.e2e_png:
            w, h = results.e2e_png_px[t]
            rows.append(
                ("PNG download, click -> file (warm)", t, results.e2e_png[t], None,
                 f"{w} x {h} px; no target, shown for the whole path")
            )  # fmt: skip
    rows += results.extra
    lines = [
        "| measurement | page | n | median | p90 | min | target | meets (median) | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, page, series, target, note in rows:
        st = series.stats()
        n = "0" if st is None else f"{st['n']:.0f}"
        goal = "–" if target is None else f"< {target:g} s"
        lines.append(
            f"| {label} | {page} | {n} | {_cell(st, 'median')} | {_cell(st, 'p90')} "
            f"| {_cell(st, 'min')} | {goal} | {_verdict(st, target)} | {note} |"
        )
    return "\n".join(lines)


def report(results: Results, load: LoadSampler, command: str, started: datetime.datetime) -> str:
    """The results file: command, date, machine load, the table and how it was measured."""
    samples = load.samples or [load.start[0]]
    lines = [
        "# Browser benchmark: slider -> chart latency and PNG export",
        "",
        f"Command (from the repo root): `{command}`",
        "",
        f"Date: {started:%Y-%m-%d %H:%M} (local time); machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        + ", ".join(f"{name} {version}" for name, version in results.versions.items())
        + ".",
        "",
        f"Load average during the run (1-minute value from /proc/loadavg, sampled every "
        f"{load.period_s:g} s): min {min(samples):.1f}, median {statistics.median(samples):.1f}, "
        f"max {max(samples):.1f}; at start {load.start[0]:.1f} / {load.start[1]:.1f} / "
        f"{load.start[2]:.1f}, at end {load.end[0]:.1f} / {load.end[1]:.1f} / {load.end[2]:.1f} "
        f"(1 / 5 / 15 min). On {os.cpu_count()} cores a load above {os.cpu_count()} means "
        "processes were queueing for CPU, which inflates every time below.",
        "",
        table(results),
        "",
        "How it was measured:",
        "",
        "* Slider -> chart: page clock (`performance.now()` in Chromium), from the key "
        "event's timestamp to two animation frames after the first frame in which the "
        "first chart's data had changed *and* the app was idle (not running, nothing "
        "stale, no 'Running' status). K moves 2 -> 3 (cold: a seed this server had never "
        "computed, fresh every repetition: "
        f"{', '.join(map(str, results.seeds))}), then 3 -> 2 and 2 -> 3 (cached: both "
        "computed before). Other settings at the page defaults. 'Page busy': time within "
        "the measured interval that the page's main thread spent in tasks over 50 ms "
        "(Long Tasks API); the rest is mostly waiting for the server's rerun.",
        "* PNG export, warm: wall clock of `ggmi_viz.export.figure_to_png` in the benchmark "
        "process on each page's default figure (Figure 2; Lemma 3.1 chart), scale 2 at the "
        "page's export canvas, after one warm-up call, calls "
        f"{results.png_pause_s:g} s apart (a visitor's clicks); 'back to back' in the note: "
        "the same calls without the pause, each also waiting for kaleido's page reload "
        "left from the previous one.",
        "* PNG download: wall clock from clicking the page's first 'Download PNG' button "
        "(default settings) to the complete file in the browser, after one warm-up click, "
        f"clicks {results.png_pause_s:g} s apart; includes the server-side export, the "
        "WebSocket round trip and the HTTP download.",
    ]
    return "\n".join(lines) + "\n"


def write_report(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, keeping hand-written notes below ``NOTES_MARKER``."""
    kept = ""
    if path.is_file():
        old = path.read_text()
        if NOTES_MARKER in old:
            kept = old[old.index(NOTES_MARKER) :]
    path.write_text(text + ("\n" + kept if kept else "\n" + NOTES_MARKER + "\n"))


# ------------------------------------------------------------------ main


def fresh_seeds(count: int, base: int | None) -> list[int]:
    """``count`` seeds no earlier run used: consecutive from ``base`` (default: the clock)."""
    if base is None:
        # Seconds since 2020 times 100: a rerun against the same server never meets them.
        base = (int(time.time()) - 1_577_836_800) * 100 % (2**31 - 100_000)
    return [base + i for i in range(count)]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="cold samples per page")
    parser.add_argument("--url", help="a running server on loopback (default: start one)")
    parser.add_argument("--out", type=Path, help="also write the report (markdown) here")
    parser.add_argument("--seed-base", type=int, help="first fresh seed (default: clock)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per wait")
    parser.add_argument("--skip-direct", action="store_true", help="no direct PNG timing")
    parser.add_argument(
        "--png-pause", type=float, default=1.0, help="seconds between timed PNG exports"
    )
    parser.add_argument(
        "--fresh-starts", type=int, default=3,
        help="servers started afresh for the first-load and first-PNG rows (0: skip)",
    )  # fmt: skip
    parser.add_argument(
        "--only", choices=("all", "flipbook", "sliders"), default="all",
        help="'flipbook': only the flip-book step row (no PNG, sliders or fresh servers); "
        "'sliders': only the slider rows (cold and cached)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


@contextlib.contextmanager
def server(url: str | None) -> Iterator[str]:
    """Yield the base URL: ``url`` (loopback only) or a fresh ``streamlit run app.py``."""
    if url:
        yield check_loopback(url)
        return
    log_path = Path(tempfile.mkdtemp(prefix="ggmi-bench-browser-")) / "server.log"
    with streamlit_server(log_path) as (base_url, pid):
        print(f"server: {base_url} (pid {pid}, log {log_path})", flush=True)
        yield base_url


def measure_direct(args: argparse.Namespace, results: Results) -> None:
    """Time ``figure_to_png`` on the default figures, then close kaleido's browser."""
    from ggmi_viz import export

    print("direct PNG export ...", flush=True)
    try:
        for title, fig in default_figures().items():
            spaced, busy, size = time_direct_export(
                fig, max(MIN_PNG_RUNS, args.repeats), args.png_pause
            )
            results.direct_png[title], results.direct_png_px[title] = spaced, size
            results.direct_png_busy[title] = busy
    finally:
        export.shutdown()  # its Chromium must not compete with the browser runs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not os.access(CHROMIUM, os.X_OK):
        raise SystemExit(f"no Chromium at {CHROMIUM}; install Debian's 'chromium'")
    command = shlex.join(["python", "bench/bench_browser.py", *sys.argv[1:]])
    started = datetime.datetime.now()
    results = Results(seeds=fresh_seeds(args.repeats, args.seed_base), png_pause_s=args.png_pause)
    for package in ("streamlit", "plotly", "kaleido"):
        results.versions[package] = importlib.metadata.version(package)
    with LoadSampler() as load:
        if not args.skip_direct and args.only == "all":
            measure_direct(args, results)
        # The server's environment as scripts/run_app.sh sets it (unless already set).
        for name, value in SERVER_ENV.items():
            os.environ.setdefault(name, value)
        with server(args.url) as base_url:
            run_browser(args, base_url, results)
    text = report(results, load, command, started)
    print()
    print(text)
    if args.out:
        write_report(args.out, text)
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
