"""Browser benchmark: slider move -> redrawn chart (cold and cached) and warm PNG export.

What it measures (issue 3's targets: cached under 0.3 s, cold under 1 s, warm PNG
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

The machine's load average is sampled during the run and printed with the table.

Run from the repo root (starts its own server on a free 127.0.0.1 port)::

    /tmp/venv/bin/python bench/bench_browser.py --repeats 7 --out bench/BROWSER_BENCHMARK.md
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

COLD_TARGET_S: Final[float] = 1.0
CACHED_TARGET_S: Final[float] = 0.3
PNG_TARGET_S: Final[float] = 0.4
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
  document.addEventListener('keydown', (e) => {
    if (window.__bbArmed) { window.__bbT0 = e.timeStamp; window.__bbArmed = false; }
  }, true);
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
    const el = document.querySelector('.js-plotly-plot');
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
() => {
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
    from ggmi_app.params import defaults
    from ggmi_app.scenario_params import (
        DISPLAY_SCHEMA,
        SCENARIO_SCHEMA,
        layer_selection,
        scenario_config,
    )
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
    b = defaults(bounds_page.SIDEBAR_SCHEMA)
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


def time_key(page: Any, thumb: Any, key: str, timeout_s: float) -> tuple[float, float]:
    """Press ``key`` on ``thumb``; return (latency, main thread busy in long tasks), in s."""
    thumb.focus()
    if not page.evaluate(ARM_JS):
        raise RuntimeError("no plotly chart on the page before the key press")
    thumb.press(key)
    result = page.evaluate(WAIT_JS, timeout_s * 1000)
    if result["timeout"] or result["t0"] is None:
        raise TimeoutError(f"{key}: chart did not change and settle within {timeout_s:g} s")
    check_health(page, f"after {key}")
    return (result["end"] - result["t0"]) / 1000, result["busy"] / 1000


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
            # A server that has been up a while: modules imported, pages opened once.
            for spec in PAGES:
                open_page(page, f"{base_url}/{spec.path}", args.timeout)
            for spec in PAGES:
                print(f"{spec.title}: slider latency ...", flush=True)
                results.cold[spec.title], results.cached[spec.title] = time_sliders(
                    page, base_url, spec, results.seeds, args.timeout
                )
            for spec in PAGES:
                print(f"{spec.title}: PNG download ...", flush=True)
                runs = max(MIN_PNG_RUNS, args.repeats)
                series, size = time_png_downloads(
                    page, base_url, spec, runs, args.png_pause, args.timeout
                )
                results.e2e_png[spec.title], results.e2e_png_px[spec.title] = series, size
            context.close()
        finally:
            browser.close()


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
        for label, series, target in (
            ("slider -> chart, cold", results.cold.get(t), COLD_TARGET_S),
            ("slider -> chart, cached", results.cached.get(t), CACHED_TARGET_S),
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
    command = shlex.join(["/tmp/venv/bin/python", "bench/bench_browser.py", *sys.argv[1:]])
    started = datetime.datetime.now()
    results = Results(seeds=fresh_seeds(args.repeats, args.seed_base), png_pause_s=args.png_pause)
    for package in ("streamlit", "plotly", "kaleido"):
        results.versions[package] = importlib.metadata.version(package)
    with LoadSampler() as load:
        if not args.skip_direct:
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
