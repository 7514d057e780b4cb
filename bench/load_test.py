"""Load test: many concurrent browser sessions clicking around a live dashboard.

Starts ``streamlit run app.py`` on a free 127.0.0.1 port (or uses ``--url``, which must
be a loopback address), opens ``--sessions`` pages in Debian's headless Chromium (one
browser process, one context per session, so every page is its own Streamlit session),
and lets each session move sliders, flip switches and change pages at random, with a
short pause between interactions, until it has done ``--interactions`` of them or
``--duration`` seconds have passed.

For every interaction it measures the time from the key press or click to the moment
the rerun it caused has finished, no element is stale any more and the browser has
painted the redrawn chart (two animation frames later). It reports errors (exception
boxes, traceback text, dropped WebSockets, page crashes, timeouts), error messages the
app showed, the median and 95th-percentile latency, page loads, and the server's
resident memory and cache sizes (from ``/_stcore/metrics``).

Run from the repo root::

    /tmp/venv/bin/python bench/load_test.py --sessions 20

Targets: zero errors; p95 under 3 s at the default settings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import re
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # ggmi_app
from devserver import CHROMIUM, ServerStartError, run_streamlit
from devserver import CHROMIUM_ARGS as BASE_CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    *BASE_CHROMIUM_ARGS,
    # Background tabs must not be throttled: every session is "in front" of its user.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
MB = 1024 * 1024

# Records every change of the app's script state with a timestamp (page clock, ms).
INIT_JS = """
(() => {
  window.__ggmiRuns = [];
  const watch = () => {
    const obs = new MutationObserver((muts) => {
      for (const m of muts) {
        window.__ggmiRuns.push({s: m.target.getAttribute('data-test-script-state'),
                                t: performance.now()});
      }
    });
    obs.observe(document.documentElement,
                {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
  };
  if (document.documentElement) watch();
  else document.addEventListener('DOMContentLoaded', watch);
})();
"""

# True once a run that started at or after t0 has finished and nothing is stale.
DONE_JS = """
(t0) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  const status = document.querySelector('[data-testid="stStatusWidget"]');
  if (status && /running/i.test(status.textContent || '')) return false;
  return (window.__ggmiRuns || []).some((r) => r.t >= t0 && r.s !== 'notRunning');
}
"""

IDLE_JS = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
    && !document.querySelector('[data-stale="true"]');
}
"""

# What the page looks like when a wait gave up (for the error message).
STATE_JS = """
(t0) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const stale = document.querySelectorAll('[data-stale="true"]');
  const runs = (window.__ggmiRuns || []).filter((r) => r.t >= t0).map((r) => r.s);
  return `state=${app ? app.getAttribute('data-test-script-state') : 'no app'}, `
    + `stale=${stale.length}`
    + (stale.length ? ` (first: ${stale[0].getAttribute('data-testid')})` : '')
    + `, runs since=${runs.join('>') || 'none'}, url=${location.pathname}`;
}
"""

PAINTED_JS = """
() => new Promise((resolve) =>
  requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now()))))
"""

HEALTH_JS = """
() => ({
  exceptions: document.querySelectorAll('[data-testid="stException"]').length,
  traceback: /Traceback \\(most recent call last\\)|File "[^"]+", line \\d+/
    .test(document.body ? document.body.innerText : ''),
  errors: Array.from(document.querySelectorAll('[data-testid="stAlertContentError"]'))
    .map((e) => e.innerText.slice(0, 160)),
  charts: document.querySelectorAll('.js-plotly-plot').length,
  disconnected: /Connection error|Is Streamlit still running/
    .test(document.body ? document.body.innerText : ''),
})
"""

SLIDER_STATE_JS = """
(el) => {
  const n = (v) => (v === null || v === undefined || v === '' ? NaN : Number(v));
  return [n(el.getAttribute('aria-valuenow') ?? el.value),
          n(el.getAttribute('aria-valuemin') ?? el.min),
          n(el.getAttribute('aria-valuemax') ?? el.max)];
}
"""


# ------------------------------------------------------------------ server


def check_loopback(url: str) -> str:
    """Return ``url`` without a trailing slash; refuse anything but a loopback host."""
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or ""
    if parsed.scheme not in {"http", "https"}:
        raise SystemExit(f"--url must be http(s), got {url!r}")
    if host != "localhost":
        try:
            if not ipaddress.ip_address(host).is_loopback:
                raise ValueError
        except ValueError:
            raise SystemExit(f"--url must point to a loopback address, got {host!r}") from None
    return url.rstrip("/")


@contextlib.contextmanager
def streamlit_server(log_path: Path, timeout_s: float = 120) -> Iterator[tuple[str, int]]:
    """Run ``streamlit run app.py`` on 127.0.0.1; yield ``(base_url, pid)``; stop it after."""
    try:
        with run_streamlit(ROOT / "app.py", log_path, timeout_s) as server:
            yield server
    except ServerStartError as err:
        raise SystemExit(f"{err}\n(full log: {log_path})") from None


def server_rss_mb(pid: int | None) -> float | None:
    """Resident memory of the server process and its children (MB), or None."""
    if pid is None:
        return None
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
        return sum(p.memory_info().rss for p in procs) / MB
    except psutil.Error:
        return None


def _tree_cpu_s(root: psutil.Process, exclude: set[int] = frozenset()) -> float:
    """User + system CPU seconds of ``root`` and its descendants (minus ``exclude`` trees)."""
    total = 0.0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    skipped: set[int] = set()
    for pid in exclude:
        with contextlib.suppress(psutil.Error):
            skipped |= {pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))}
    for proc in procs:
        if proc.pid in skipped:
            continue
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def process_cpu_s(pid: int | None) -> float | None:
    """User + system CPU seconds of process ``pid`` alone (not its children), or None."""
    if pid is None:
        return None
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return times.user + times.system


def cpu_snapshot(server_pid: int | None) -> tuple[float | None, float]:
    """CPU seconds so far of the server tree (None if unknown) and of this load generator."""
    me = psutil.Process()
    server = None
    if server_pid is not None:
        with contextlib.suppress(psutil.Error):
            server = _tree_cpu_s(psutil.Process(server_pid))
    client = _tree_cpu_s(me, exclude={server_pid} if server_pid else set())
    return server, client


def cache_metrics(base_url: str) -> dict[str, float]:
    """``cache_memory_bytes`` per cache from ``/_stcore/metrics`` (MB), empty if absent."""
    try:
        with urllib.request.urlopen(f"{base_url}/_stcore/metrics", timeout=5) as resp:
            text = resp.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return {}
    found: dict[str, float] = {}
    pattern = re.compile(r'^cache_memory_bytes\{cache_type="([^"]*)",cache="([^"]*)"\} (\S+)$')
    for line in text.splitlines():
        match = pattern.match(line)
        if match:
            kind, name, value = match.groups()
            found[name or kind] = found.get(name or kind, 0.0) + float(value) / MB
    return found


# ------------------------------------------------------------------ sessions


def script_finished(payload: Any) -> bool:
    """Whether a WebSocket frame from the server says a script run has ended for good.

    Runs that end early because a newer rerun replaced them do not count.
    """
    if not isinstance(payload, bytes | bytearray) or len(payload) > 512:
        return False  # the end-of-run message is tiny; deltas are not worth decoding
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    try:
        msg = ForwardMsg.FromString(bytes(payload))
    except Exception:
        return False
    return (
        msg.WhichOneof("type") == "script_finished"
        and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN
    )


@dataclass
class Sample:
    """One measured interaction (latency in seconds; None when it did not finish)."""

    session: int
    page: str
    kind: str
    latency_s: float | None
    note: str = ""
    server_s: float | None = None


@dataclass
class SessionLog:
    """Everything one session saw."""

    index: int
    samples: list[Sample] = field(default_factory=list)
    loads: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    no_ops: int = 0


def page_paths() -> dict[str, str]:
    """URL path of every page of the registry: '' for Home (the default page), then
    'Distributions', 'KL_Gap_curves', ..."""
    from ggmi_app.page_list import PAGES

    return {re.sub(r"^\d+_", "", Path(page.entry).stem): page.url_path for page in PAGES}


class _NoChange(Exception):
    """The interaction changed nothing, so no rerun will follow."""


class Session:
    """One visitor: a browser context with one page, driven at random."""

    def __init__(
        self, index: int, browser: Any, base_url: str, args: argparse.Namespace, deadline: float
    ):
        self.index = index
        self.browser = browser
        self.base_url = base_url
        self.args = args
        self.deadline = deadline
        self.rng = np.random.default_rng([args.seed, index])
        self.log = SessionLog(index)
        self.offsets: dict[tuple[str, str], int] = {}
        self.current = "Home"
        self.closing = False
        self.frames_sent = 0
        self.frames_received = 0
        self.runs_finished = 0
        self.first_sent_at: float | None = None
        self.finished_at: float | None = None

    def _choice(self, items: list[Any]) -> Any:
        return items[int(self.rng.integers(len(items)))]

    async def run(self) -> SessionLog:
        context = await self.browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(self.args.timeout * 1000)
        await context.add_init_script(INIT_JS)
        page = await context.new_page()
        page.on("pageerror", lambda exc: self.log.errors.append(f"page error: {exc}"[:300]))
        page.on("crash", lambda _: self.log.errors.append("page crashed"))
        page.on("websocket", self._watch_socket)
        try:
            # Visitors arrive over a few seconds, not in the same millisecond.
            await asyncio.sleep(float(self.rng.uniform(0, self.args.ramp)))
            await self._open(page, self._choice(list(page_paths())))
            done = 0
            while done < self.args.interactions and time.monotonic() < self.deadline:
                await asyncio.sleep(float(self.rng.uniform(*self.args.think)))
                await self._interact(page)
                done += 1
        except Exception as exc:  # any failure is a finding to report
            self.log.errors.append(
                f"session {self.index} aborted: {type(exc).__name__}: {exc}"[:300]
            )
        finally:
            self.closing = True
            with contextlib.suppress(Exception):
                await context.close()
        return self.log

    def _watch_socket(self, ws: Any) -> None:
        if "_stcore/stream" not in ws.url:
            return

        def closed(_: Any) -> None:
            if not self.closing:
                self.log.errors.append(f"WebSocket closed during the session ({self.current})")

        def sent(_: Any) -> None:
            self.frames_sent += 1
            if self.first_sent_at is None:
                self.first_sent_at = time.perf_counter()

        def received(payload: Any) -> None:
            self.frames_received += 1
            if script_finished(payload):
                self.runs_finished += 1
                self.finished_at = time.perf_counter()

        ws.on("close", closed)
        ws.on("socketerror", lambda err: self.log.errors.append(f"WebSocket error: {err}"))
        ws.on("framesent", sent)
        ws.on("framereceived", received)

    async def _open(self, page: Any, name: str) -> None:
        runs = self.runs_finished
        t0 = time.perf_counter()
        await page.goto(f"{self.base_url}/{page_paths()[name]}", wait_until="domcontentloaded")
        await self._wait_for_run(page, runs)
        self.current = name
        self.log.loads.append(Sample(self.index, name, "load", time.perf_counter() - t0))
        await self._check(page, "load")

    async def _interact(self, page: Any) -> None:
        roll = self.rng.random()
        if roll < self.args.p_navigate and len(page_paths()) > 1:
            await self._navigate(page)
        elif roll < self.args.p_navigate + self.args.p_toggle:
            await self._toggle(page)
        else:
            await self._slider(page)

    async def _wait_for_run(self, page: Any, runs_before: int) -> None:
        """Wait until a script run has finished since ``runs_before`` and the page shows it.

        The run's end is the server's ``script_finished`` message on the WebSocket: a
        CPU-starved browser may process a whole run's messages in one go and never show
        the 'running' state at all. Then the page must be idle (nothing stale) and paint.
        """
        deadline = time.monotonic() + self.args.timeout
        while self.runs_finished <= runs_before:
            if time.monotonic() > deadline:
                raise TimeoutError
            await asyncio.sleep(0.02)
        remaining_ms = max(1.0, deadline - time.monotonic()) * 1000
        await page.wait_for_function(IDLE_JS, timeout=remaining_ms, polling=50)
        await page.evaluate(PAINTED_JS)

    async def _measure(self, page: Any, kind: str, action: Any, note: str) -> None:
        """Run ``action`` (which must cause a rerun) and time it until the chart is painted."""
        t_page = await page.evaluate("performance.now()")
        sent, received, runs = self.frames_sent, self.frames_received, self.runs_finished
        self.first_sent_at = None
        t0 = time.perf_counter()
        await action()
        try:
            await self._wait_for_run(page, runs)
        except Exception:  # a timeout is a finding, reported below
            self.log.samples.append(Sample(self.index, self.current, kind, None, note))
            state = await page.evaluate(STATE_JS, t_page)
            self.log.errors.append(
                f"{self.current}: {kind} {note} did not finish in {self.args.timeout:g} s "
                f"({state}; WebSocket frames since: {self.frames_sent - sent} sent, "
                f"{self.frames_received - received} received)"
            )
            return
        latency = time.perf_counter() - t0
        # The server's share: from the browser's request to the end-of-run message.
        server = None
        if self.first_sent_at is not None and self.finished_at is not None:
            server = max(0.0, self.finished_at - self.first_sent_at)
        self.log.samples.append(Sample(self.index, self.current, kind, latency, note, server))
        await self._check(page, f"{kind} {note}")

    async def _check(self, page: Any, what: str) -> None:
        health = await page.evaluate(HEALTH_JS)
        where = f"{self.current}: after {what}"
        if health["exceptions"]:
            self.log.errors.append(f"{where}: {health['exceptions']} exception box(es)")
        if health["traceback"]:
            self.log.errors.append(f"{where}: traceback text on the page")
        if health["disconnected"]:
            self.log.errors.append(f"{where}: connection error shown")
        self.log.messages.extend(f"{self.current}: {m}" for m in health["errors"])

    async def _slider(self, page: Any) -> None:
        sliders = page.locator('[data-testid="stSidebar"] [data-testid="stSlider"]')
        count = await sliders.count()
        if count == 0:
            await self._toggle(page)
            return
        slider = sliders.nth(int(self.rng.integers(count)))
        label = (await slider.locator('[data-testid="stWidgetLabel"]').first.inner_text()).strip()
        thumb = slider.locator('input[type="range"], [role="slider"]').first
        now, low, high = await thumb.evaluate(SLIDER_STATE_JS)
        # A random walk that stays within two steps of where this slider started.
        key = (self.current, label)
        offset = self.offsets.get(key, 0)
        step = 1 if self.rng.random() < 0.5 else -1
        if abs(offset + step) > self.args.max_steps:
            step = -step
        if (step > 0 and now >= high) or (step < 0 and now <= low):
            step = -step
        self.offsets[key] = offset + step
        await thumb.focus()
        press = "ArrowRight" if step > 0 else "ArrowLeft"

        async def move() -> None:
            await thumb.press(press)
            after = await thumb.evaluate(SLIDER_STATE_JS)
            if after[0] == now:
                raise _NoChange

        try:
            await self._measure(page, "slider", move, label[:40])
        except _NoChange:
            self.log.no_ops += 1  # e.g. a one-value range: nothing to rerun

    async def _toggle(self, page: Any) -> None:
        switches = page.locator('[data-testid="stSidebar"] [data-testid="stCheckbox"] label')
        count = await switches.count()
        if count == 0:
            await self._navigate(page)
            return
        switch = switches.nth(int(self.rng.integers(count)))
        label = (await switch.inner_text()).strip()
        await self._measure(page, "toggle", switch.click, label[:40])

    async def _navigate(self, page: Any) -> None:
        others = [name for name in page_paths() if name != self.current]
        target = self._choice(others)
        path = page_paths()[target]
        link = page.locator(f'[data-testid="stSidebarNav"] a[href$="/{path}"]')
        if await link.count() == 0:
            await self._open(page, target)
            return
        previous = self.current
        self.current = target
        await self._measure(page, "navigate", link.first.click, f"{previous} -> {target}")


# ------------------------------------------------------------------ report


@dataclass
class Report:
    """Aggregated results; latencies in seconds, memory in MB."""

    sessions: int
    interactions: int
    no_ops: int
    errors: list[str]
    messages: int
    median_s: float | None
    p95_s: float | None
    max_s: float | None
    load_median_s: float | None
    load_p95_s: float | None
    server_median_s: float | None
    server_p95_s: float | None
    server_cores: float | None
    client_cores: float | None
    rss_start_mb: float | None
    rss_peak_mb: float | None
    rss_end_mb: float | None
    wall_s: float
    by_page: dict[str, dict[str, float]] = field(default_factory=dict)
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    caches_mb: dict[str, float] = field(default_factory=dict)


def latency_stats(values: list[float]) -> dict[str, float]:
    """``n``, ``median``, ``p95`` and ``max`` of latencies in seconds (non-empty)."""
    arr = np.asarray(values, dtype=float)
    return {
        "n": float(arr.size),
        "median": float(np.median(arr)),
        "p95": float(np.percentile(arr, 95)),
        "max": float(arr.max()),
    }


def build_report(
    logs: list[SessionLog],
    rss: list[float],
    wall_s: float,
    caches: dict[str, float],
    cpu_s: tuple[float | None, float | None] = (None, None),
) -> Report:
    samples = [s for log in logs for s in log.samples]
    timed = [s.latency_s for s in samples if s.latency_s is not None]
    loads = [s.latency_s for log in logs for s in log.loads if s.latency_s is not None]
    overall = latency_stats(timed) if timed else None
    load = latency_stats(loads) if loads else None
    server_times = [s.server_s for s in samples if s.server_s is not None]
    server = latency_stats(server_times) if server_times else None
    by_page: dict[str, list[float]] = {}
    by_kind: dict[str, list[float]] = {}
    for s in samples:
        if s.latency_s is not None:
            by_page.setdefault(s.page, []).append(s.latency_s)
            by_kind.setdefault(s.kind, []).append(s.latency_s)
    return Report(
        sessions=len(logs),
        interactions=len(samples),
        no_ops=sum(log.no_ops for log in logs),
        errors=[e for log in logs for e in log.errors],
        messages=sum(len(log.messages) for log in logs),
        median_s=overall["median"] if overall else None,
        p95_s=overall["p95"] if overall else None,
        max_s=overall["max"] if overall else None,
        load_median_s=load["median"] if load else None,
        load_p95_s=load["p95"] if load else None,
        server_median_s=server["median"] if server else None,
        server_p95_s=server["p95"] if server else None,
        server_cores=None if cpu_s[0] is None else cpu_s[0] / wall_s,
        client_cores=None if cpu_s[1] is None else cpu_s[1] / wall_s,
        rss_start_mb=rss[0] if rss else None,
        rss_peak_mb=max(rss) if rss else None,
        rss_end_mb=rss[-1] if rss else None,
        wall_s=wall_s,
        by_page={k: latency_stats(v) for k, v in sorted(by_page.items())},
        by_kind={k: latency_stats(v) for k, v in sorted(by_kind.items())},
        caches_mb=caches,
    )


def _fmt(value: float | None, unit: str = "s", digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} {unit}"


def markdown(report: Report) -> str:
    lines = [
        "| sessions | interactions | errors | app error messages | median | p95 | max "
        "| page load median / p95 | server RSS start / peak / end | wall time |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {report.sessions} | {report.interactions} (+{report.no_ops} no-op) "
        f"| {len(report.errors)} | {report.messages} | {_fmt(report.median_s)} "
        f"| {_fmt(report.p95_s)} | {_fmt(report.max_s)} "
        f"| {_fmt(report.load_median_s)} / {_fmt(report.load_p95_s)} "
        f"| {_fmt(report.rss_start_mb, 'MB', 0)} / {_fmt(report.rss_peak_mb, 'MB', 0)} / "
        f"{_fmt(report.rss_end_mb, 'MB', 0)} | {report.wall_s:.0f} s |",
        "",
        f"Server share of each interaction (browser request sent -> end-of-run message "
        f"received): median {_fmt(report.server_median_s)}, p95 {_fmt(report.server_p95_s)}. "
        f"CPU used during the run: server {_fmt(report.server_cores, 'cores')}, "
        f"browsers and driver {_fmt(report.client_cores, 'cores')} "
        f"(of {os.cpu_count()} on this machine).",
        "",
        "| by | n | median | p95 | max |",
        "|---|---|---|---|---|",
    ]
    for prefix, table in (("page", report.by_page), ("kind", report.by_kind)):
        for name, st in table.items():
            lines.append(
                f"| {prefix}: {name} | {st['n']:.0f} | {st['median']:.2f} s "
                f"| {st['p95']:.2f} s | {st['max']:.2f} s |"
            )
    if report.caches_mb:
        lines += ["", "| server cache | size |", "|---|---|"]
        lines += [f"| {k} | {v:.2f} MB |" for k, v in sorted(report.caches_mb.items())]
    return "\n".join(lines)


# ------------------------------------------------------------------ main


async def sample_rss(pid: int | None, out: list[float], stop: asyncio.Event) -> None:
    """Append the server tree's RSS (MB) to ``out`` every second until ``stop`` is set."""
    while not stop.is_set():
        value = server_rss_mb(pid)
        if value is not None:
            out.append(value)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)


async def _warm_up(browser: Any, base_url: str, timeout_s: float) -> None:
    """One visitor opens every page once, as a server that has been up a while has."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    try:
        for path in page_paths().values():
            await page.goto(f"{base_url}/{path}", wait_until="domcontentloaded")
            await page.wait_for_function(IDLE_JS, timeout=timeout_s * 1000, polling=200)
    finally:
        await context.close()


async def run_load(args: argparse.Namespace, base_url: str, pid: int | None) -> Report:
    from playwright.async_api import async_playwright

    rss: list[float] = []
    stop = asyncio.Event()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            if args.warmup:
                print("warming up: one visitor opens every page ...", flush=True)
                await _warm_up(browser, base_url, args.timeout)
            sampler = asyncio.create_task(sample_rss(pid, rss, stop))
            print(f"running {args.sessions} sessions ...", flush=True)
            cpu0 = cpu_snapshot(pid)
            t0 = time.monotonic()
            deadline = t0 + args.duration
            sessions = [Session(i, browser, base_url, args, deadline) for i in range(args.sessions)]
            logs = await asyncio.gather(*(s.run() for s in sessions))
            wall = time.monotonic() - t0
            cpu1 = cpu_snapshot(pid)
            stop.set()
            await sampler
        finally:
            await browser.close()
    cpu = (
        None if cpu0[0] is None or cpu1[0] is None else cpu1[0] - cpu0[0],
        cpu1[1] - cpu0[1],
    )
    return build_report(list(logs), rss, wall, cache_metrics(base_url), cpu)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server on loopback (default: start one)")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--interactions", type=int, default=10, help="per session")
    parser.add_argument("--duration", type=float, default=600, help="seconds, then stop")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per wait")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ramp", type=float, default=5.0, help="arrivals spread (s)")
    parser.add_argument("--think", type=float, nargs=2, default=(0.5, 2.0), metavar=("MIN", "MAX"))
    parser.add_argument("--max-steps", type=int, default=2, help="slider steps from its start")
    parser.add_argument("--p-navigate", type=float, default=0.15)
    parser.add_argument("--p-toggle", type=float, default=0.10)
    parser.add_argument("--no-warmup", dest="warmup", action="store_false")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    if not (1 <= args.sessions <= 100) or args.interactions < 1 or args.duration <= 0:
        parser.error("need 1..100 sessions, at least 1 interaction and a positive duration")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not os.access(CHROMIUM, os.X_OK):
        raise SystemExit(f"no Chromium at {CHROMIUM}; install Debian's 'chromium'")
    hard_limit = args.duration + args.timeout * 2 + 120
    with contextlib.ExitStack() as stack:
        if args.url:
            base_url, pid = check_loopback(args.url), None
        else:
            log_path = Path(tempfile.mkdtemp(prefix="ggmi-load-")) / "server.log"
            base_url, pid = stack.enter_context(streamlit_server(log_path))
            print(f"server: {base_url} (pid {pid}, log {log_path})", flush=True)
        report = asyncio.run(asyncio.wait_for(run_load(args, base_url, pid), hard_limit))
    print()
    print(markdown(report))
    for error in report.errors[:30]:
        print("ERROR:", error)
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2))
    return 1 if report.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
