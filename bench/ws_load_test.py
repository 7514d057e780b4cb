"""Protocol-level load test: many concurrent Streamlit sessions, no browser.

``bench/load_test.py`` drives real Chromium pages; on a 2-core machine the browsers take
most of the CPU, so its latencies measure Chromium as much as the server. This script
speaks Streamlit's own WebSocket protocol instead: each session opens
``/_stcore/stream`` (subprotocol ``streamlit``), sends protobuf ``BackMsg``s asking for
reruns and reads the ``ForwardMsg``s that come back, as the frontend does, but without
rendering anything.

Each session opens a page (a plain visit, or with probability ``--p-link`` a shared link
whose query string sets K, J, L and the seed), then repeats: wait a think time, change
one sidebar slider to a value near where it started (K, J, L at most 6, scenario counts
left at their defaults), and send a rerun with the full widget state. Sometimes it
switches page instead (``--p-navigate``). Latency is the time from sending the rerun to
the server's ``script_finished`` message.

Errors: a run that ends other than successfully, an exception element in the output, a
timeout, or a dropped connection. Error boxes the app shows on purpose (``st.error``)
are counted apart. The server is started on a free 127.0.0.1 port unless ``--url``
names one, which must be a loopback address.

Run from the repo root::

    /tmp/venv/bin/python bench/ws_load_test.py --sessions 20 --think 2 6 --duration 75
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

# The browser load test already has the loopback check, server runner and probes.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_test import (
    cache_metrics,
    check_loopback,
    cpu_snapshot,
    latency_stats,
    page_paths,
    process_cpu_s,
    sample_rss,
    streamlit_server,
)

#: Largest value K, J and L may take here: the brief keeps the load near the defaults.
MAX_COMPONENTS = 6
#: Query strings of the "visitor opens a shared link" arrivals draw from these ranges.
LINK_RANGES = {"K": (1, 4), "J": (0, 4), "L": (0, 4), "seed": (0, 99)}
MB = 1024 * 1024


# ------------------------------------------------------------------ protocol


@dataclass
class Widget:
    """One widget drawn in the last run: its id, label and what the frontend would send."""

    id: str
    kind: str  # "slider", "checkbox", "number", "choice"
    label: str
    state: WidgetState
    low: float = 0.0
    high: float = 0.0
    step: float = 1.0
    is_int: bool = False


@dataclass
class RunResult:
    """What one script run sent back."""

    status: str  # FINISHED_SUCCESSFULLY, ..., or "timeout" / "closed"
    widgets: dict[str, Widget] = field(default_factory=dict)
    exceptions: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    chart_digest: str = ""
    query_string: str | None = None


def _widget_from_element(element: Any, last_sent: dict[str, WidgetState]) -> Widget | None:
    """The widget in ``element`` with the value the frontend would send next, or None.

    The frontend keeps what the visitor set, unless the script set the value itself
    (``set_value``); a widget it has never touched starts at its default.
    """
    kind = element.WhichOneof("type")
    if kind == "slider":
        proto = element.slider
        if proto.options:  # select_slider: not one of ours
            return None
        state = WidgetState(id=proto.id)
        values = list(proto.value) if proto.set_value else list(proto.default)
        if not proto.set_value and proto.id in last_sent:
            values = list(last_sent[proto.id].double_array_value.data)
        state.double_array_value.data.extend(values)
        return Widget(
            proto.id,
            "slider",
            proto.label,
            state,
            proto.min,
            proto.max,
            proto.step,
            is_int=proto.data_type == proto.INT,
        )
    if kind in {"checkbox", "toggle"}:
        proto = getattr(element, kind)
        value = proto.value if proto.set_value else proto.default
        if not proto.set_value and proto.id in last_sent:
            value = last_sent[proto.id].bool_value
        return Widget(proto.id, "checkbox", proto.label, WidgetState(id=proto.id, bool_value=value))
    if kind == "number_input":
        proto = element.number_input
        value = proto.value if proto.set_value else proto.default
        if not proto.set_value and proto.id in last_sent:
            value = last_sent[proto.id].double_value
        return Widget(proto.id, "number", proto.label, WidgetState(id=proto.id, double_value=value))
    if kind in {"selectbox", "radio"}:
        proto = getattr(element, kind)
        if proto.set_value:
            text = proto.raw_value
        elif proto.id in last_sent:
            text = last_sent[proto.id].string_value
        elif 0 <= proto.default < len(proto.options):
            text = proto.options[proto.default]
        else:
            return None
        return Widget(proto.id, "choice", proto.label, WidgetState(id=proto.id, string_value=text))
    return None


def read_forward_msg(
    msg: ForwardMsg, result: RunResult, charts: list[bytes], last_sent: dict[str, WidgetState]
) -> bool:
    """Fold one server message into ``result``; True once the run has ended for good."""
    kind = msg.WhichOneof("type")
    if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
        element = msg.delta.new_element
        what = element.WhichOneof("type")
        if what == "exception":
            result.exceptions.append(f"{element.exception.type}: {element.exception.message}")
        elif what == "alert" and element.alert.format == Alert.ERROR:
            result.alerts.append(element.alert.body[:160])
        elif what == "plotly_chart":
            charts.append(element.plotly_chart.spec.encode())
        widget = _widget_from_element(element, last_sent)
        if widget is not None:
            result.widgets[widget.id] = widget
    elif kind == "page_info_changed":
        # The app writes its settings to the URL; the browser would keep that URL.
        result.query_string = msg.page_info_changed.query_string
    elif kind == "script_finished":
        if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            return False
        result.status = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
        result.chart_digest = hashlib.sha1(b"\0".join(charts)).hexdigest()
        return True
    return False


def rerun_message(query_string: str, page_name: str, widgets: list[WidgetState]) -> bytes:
    """A serialized ``BackMsg`` asking for a rerun of ``page_name`` (URL path; '' = Home)."""
    client = ClientState(
        query_string=query_string,
        page_name=page_name,
        widget_states=WidgetStates(widgets=widgets),
    )
    return BackMsg(rerun_script=client).SerializeToString()


# ------------------------------------------------------------------ sessions


def _connect(ws_url: str, origin: str, timeout_s: float) -> Any:
    """Open the session socket as the frontend does (same origin, subprotocol 'streamlit')."""
    return connect(
        ws_url,
        subprotocols=[Subprotocol("streamlit")],
        origin=origin,  # type: ignore[arg-type]
        max_size=None,
        ping_interval=None,  # the frontend does not ping; a busy server may answer late
        open_timeout=timeout_s,
    )


@dataclass
class Sample:
    """One measured rerun (latency in seconds; None when it did not finish)."""

    session: int
    page: str
    kind: str  # "open", "link", "slider", "toggle", "navigate"
    latency_s: float | None
    chart_changed: bool | None = None


@dataclass
class SessionLog:
    index: int
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)


class Session:
    """One visitor speaking the protocol: open a page, then change widgets at random."""

    def __init__(self, index: int, ws_url: str, origin: str, args: argparse.Namespace):
        self.index = index
        self.ws_url = ws_url
        self.origin = origin
        self.args = args
        self.rng = np.random.default_rng([args.seed, index])
        self.log = SessionLog(index)
        self.page = "Home"
        self.query_string = ""
        self.widgets: dict[str, Widget] = {}
        self.last_sent: dict[str, WidgetState] = {}
        self.home: dict[str, float] = {}  # a slider's first value on this page
        self.chart_digest = ""

    async def run(self, deadline: float) -> SessionLog:
        try:
            await asyncio.sleep(float(self.rng.uniform(0, self.args.ramp)))
            async with _connect(self.ws_url, self.origin, self.args.timeout) as ws:
                await self._open(ws)
                done = 0
                while done < self.args.interactions and time.monotonic() < deadline:
                    await asyncio.sleep(float(self.rng.uniform(*self.args.think)))
                    if time.monotonic() >= deadline:
                        break
                    await self._interact(ws)
                    done += 1
        except Exception as exc:  # a dropped connection is a finding
            self.log.errors.append(f"session {self.index}: {type(exc).__name__}: {exc}"[:300])
        return self.log

    async def _open(self, ws: ClientConnection) -> None:
        names = list(page_paths())
        self.page = names[int(self.rng.integers(len(names)))]
        kind = "open"
        if self.rng.random() < self.args.p_link:
            kind = "link"
            self.query_string = "&".join(
                f"{key}={int(self.rng.integers(lo, hi + 1))}"
                for key, (lo, hi) in LINK_RANGES.items()
            )
        await self._rerun(ws, kind, [])

    async def _interact(self, ws: ClientConnection) -> None:
        sliders = [w for w in self.widgets.values() if w.kind == "slider" and self._choices(w)]
        if sliders and self.rng.random() >= self.args.p_navigate:
            await self._move_slider(ws, sliders[int(self.rng.integers(len(sliders)))])
            return
        switches = [w for w in self.widgets.values() if w.kind == "checkbox"]
        if switches and self.rng.random() < 0.5:
            switch = switches[int(self.rng.integers(len(switches)))]
            flipped = WidgetState(id=switch.id, bool_value=not switch.state.bool_value)
            await self._rerun(ws, "toggle", self._states_with(flipped))
            return
        await self._navigate(ws)

    def _choices(self, slider: Widget) -> list[float]:
        """Values this slider may move to: near its first value, never the current one."""
        label = slider.label.lower()
        single = len(slider.state.double_array_value.data) == 1
        if "scenario" in label or slider.step <= 0 or not single:
            return []
        now = slider.state.double_array_value.data[0]
        start = self.home.setdefault(f"{self.page}:{slider.label}", now)
        high = slider.high
        if label[:2] in {"k:", "j:", "l:"}:
            high = min(high, MAX_COMPONENTS)
        span = self.args.max_steps
        grid = [start + k * slider.step for k in range(-span, span + 1)]
        grid = [round(v) if slider.is_int else round(v, 10) for v in grid]
        return [v for v in grid if slider.low <= v <= high and v != now]

    async def _move_slider(self, ws: ClientConnection, slider: Widget) -> None:
        choices = self._choices(slider)
        value = choices[int(self.rng.integers(len(choices)))]
        moved = WidgetState(id=slider.id)
        moved.double_array_value.data.append(float(value))
        await self._rerun(ws, "slider", self._states_with(moved))

    def _states_with(self, changed: WidgetState) -> list[WidgetState]:
        """Every widget's current value, as the frontend sends them, with one changed."""
        states = [w.state for w in self.widgets.values() if w.id != changed.id]
        return [*states, changed]

    async def _navigate(self, ws: ClientConnection) -> None:
        others = [name for name in page_paths() if name != self.page]
        self.page = others[int(self.rng.integers(len(others)))]
        self.query_string = ""
        self.widgets = {}
        await self._rerun(ws, "navigate", [])

    async def _rerun(self, ws: ClientConnection, kind: str, states: list[WidgetState]) -> None:
        """Send one rerun and wait for its end; record latency, errors and the new widgets."""
        for state in states:
            self.last_sent[state.id] = state
        payload = rerun_message(self.query_string, page_paths()[self.page], states)
        result = RunResult(status="timeout")
        charts: list[bytes] = []
        t0 = time.perf_counter()
        await ws.send(payload)
        ended = False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.args.timeout):
                while not ended:
                    frame = await ws.recv()
                    if isinstance(frame, bytes):
                        msg = ForwardMsg.FromString(frame)
                        ended = read_forward_msg(msg, result, charts, self.last_sent)
        latency = time.perf_counter() - t0 if ended else None
        changed = None
        if ended and self.chart_digest and kind in {"slider", "toggle"}:
            changed = result.chart_digest != self.chart_digest
        self.log.samples.append(Sample(self.index, self.page, kind, latency, changed))
        where = f"session {self.index} {self.page} {kind}"
        if not ended:
            self.log.errors.append(f"{where}: no end of run within {self.args.timeout:g} s")
            return
        if result.status not in {"FINISHED_SUCCESSFULLY", "FINISHED_FRAGMENT_RUN_SUCCESSFULLY"}:
            self.log.errors.append(f"{where}: run ended {result.status}")
        self.log.errors.extend(f"{where}: exception {e}"[:300] for e in result.exceptions)
        self.log.alerts.extend(f"{self.page}: {a}" for a in result.alerts)
        self.widgets = result.widgets
        self.chart_digest = result.chart_digest
        if result.query_string is not None:
            self.query_string = result.query_string


# ------------------------------------------------------------------ report


def _latency_cells(st: dict[str, float]) -> str:
    return f"| {st['median']:.2f} s | {st['p95']:.2f} s | {st['max']:.2f} s "


def _unchanged(moved: list[Sample]) -> str:
    """Where widget changes left every chart as it was, e.g. ' (same: Diagnostics toggle x2)'."""
    counts: dict[str, int] = {}
    for s in moved:
        if not s.chart_changed:
            counts[f"{s.page} {s.kind}"] = counts.get(f"{s.page} {s.kind}", 0) + 1
    if not counts:
        return ""
    return " (same: " + ", ".join(f"{k} x{v}" for k, v in sorted(counts.items())) + ")"


def _per_rerun(cpu_s: float | None, reruns: int) -> str:
    return "n/a" if cpu_s is None or reruns == 0 else f"{cpu_s / reruns:.2f} s"


def _row(name: str, values: list[float]) -> str:
    if not values:
        return f"| {name} | 0 | n/a | n/a | n/a |"
    st = latency_stats(values)
    return (
        f"| {name} | {st['n']:.0f} | {st['median']:.2f} s | {st['p95']:.2f} s | {st['max']:.2f} s |"
    )


def markdown(
    logs: list[SessionLog],
    wall_s: float,
    rss: list[float],
    server_cpu_s: float | None,
    client_cpu_s: float,
    caches: dict[str, float],
    main_cpu_s: float | None = None,
) -> str:
    """The report as markdown tables (latency in seconds, memory in MB)."""
    samples = [s for log in logs for s in log.samples]
    loads = [s for s in samples if s.kind in {"open", "link"}]
    acts = [s for s in samples if s.kind not in {"open", "link"}]
    timed = [s.latency_s for s in acts if s.latency_s is not None]
    errors = sum(len(log.errors) for log in logs)
    alerts = sum(len(log.alerts) for log in logs)
    moved = [s for s in acts if s.chart_changed is not None]
    changed = sum(bool(s.chart_changed) for s in moved)
    st = latency_stats(timed) if timed else None
    rss_text = (
        f"{rss[0]:.0f} / {max(rss):.0f} / {rss[-1]:.0f} MB" if rss else "n/a (external server)"
    )
    cpu_text = "n/a" if server_cpu_s is None else f"{server_cpu_s:.1f} s"
    main_text = (
        ""
        if main_cpu_s is None or server_cpu_s is None
        else f" (Streamlit process {main_cpu_s:.1f} s, worker pool "
        f"{server_cpu_s - main_cpu_s:.1f} s)"
    )
    lines = [
        "| sessions | interactions | errors | app error boxes | median | p95 | max "
        "| throughput | server CPU | server RSS start / peak / end | wall |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {len(logs)} | {len(acts)} (+{len(loads)} page opens) | {errors} | {alerts} "
        + (_latency_cells(st) if st else "| n/a " * 3)
        + f"| {len(timed) / wall_s:.2f} /s | {cpu_text} | {rss_text} | {wall_s:.0f} s |",
        "",
        f"Widget changes whose charts differed from the run before: {changed} of {len(moved)}"
        f"{_unchanged(moved)}. Server CPU per rerun: {_per_rerun(server_cpu_s, len(samples))}"
        f"{main_text}. "
        f"Load generator CPU: {client_cpu_s:.1f} s (of {os.cpu_count()} cores x "
        f"{wall_s:.0f} s).",
        "",
        "| by | n | median | p95 | max |",
        "|---|---|---|---|---|",
    ]
    for page in page_paths():
        lines.append(
            _row(f"page: {page}", [s.latency_s for s in acts if s.page == page and s.latency_s])
        )
    for kind in ("slider", "toggle", "navigate", "open", "link"):
        values = [s.latency_s for s in samples if s.kind == kind and s.latency_s is not None]
        if values or any(s.kind == kind for s in samples):
            lines.append(_row(f"kind: {kind}", values))
    if caches:
        lines += ["", "| server cache | size |", "|---|---|"]
        lines += [f"| {k} | {v:.2f} MB |" for k, v in sorted(caches.items())]
    return "\n".join(lines)


# ------------------------------------------------------------------ main


async def run_load(args: argparse.Namespace, base_url: str, pid: int | None) -> str:
    ws_url = base_url.replace("http", "ws", 1) + "/_stcore/stream"
    if args.warmup:
        # A server that has been up a while has imported and run every page once.
        print("warming up: one session opens every page ...", flush=True)
        for name in page_paths():
            warm = Session(args.sessions, ws_url, base_url, args)
            async with _connect(ws_url, base_url, args.timeout) as ws:
                warm.page = name
                await warm._rerun(ws, "open", [])
    rss: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(pid, rss, stop))
    print(f"running {args.sessions} sessions ...", flush=True)
    cpu0 = cpu_snapshot(pid)
    main0 = process_cpu_s(pid)
    t0 = time.monotonic()
    sessions = [Session(i, ws_url, base_url, args) for i in range(args.sessions)]
    logs = await asyncio.gather(*(s.run(t0 + args.duration) for s in sessions))
    wall = time.monotonic() - t0
    cpu1 = cpu_snapshot(pid)
    main1 = process_cpu_s(pid)
    stop.set()
    await sampler
    server_cpu = None if cpu0[0] is None or cpu1[0] is None else cpu1[0] - cpu0[0]
    main_cpu = None if main0 is None or main1 is None else main1 - main0
    report = markdown(
        list(logs), wall, rss, server_cpu, cpu1[1] - cpu0[1], cache_metrics(base_url), main_cpu
    )
    problems = [e for log in logs for e in log.errors]
    if problems:
        report += "\n\nErrors (first 20):\n\n" + "\n".join(f"- {e}" for e in problems[:20])
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server on loopback (default: start one)")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--interactions", type=int, default=30, help="per session")
    parser.add_argument("--duration", type=float, default=90, help="seconds, then stop")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per rerun")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ramp", type=float, default=5.0, help="arrivals spread (s)")
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(2.0, 6.0),
        metavar=("MIN", "MAX"),
        help="pause before each interaction, uniform (s); 0 0 = saturate",
    )
    parser.add_argument("--max-steps", type=int, default=2, help="slider steps from its start")
    parser.add_argument("--p-navigate", type=float, default=0.1)
    parser.add_argument("--p-link", type=float, default=0.3, help="share of shared-link visits")
    parser.add_argument("--no-warmup", dest="warmup", action="store_false")
    parser.add_argument("--out", type=Path, help="also write the markdown report here")
    args = parser.parse_args(argv)
    if not (1 <= args.sessions <= 200) or args.interactions < 1 or args.duration <= 0:
        parser.error("need 1..200 sessions, at least 1 interaction and a positive duration")
    if args.think[0] < 0 or args.think[1] < args.think[0]:
        parser.error("--think needs 0 <= MIN <= MAX")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # As the deployment runs it (scripts set these; see docs/DEPLOYMENT.md).
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    for name, value in (("MALLOC_ARENA_MAX", "2"),):
        os.environ.setdefault(name, value)
    load_before = Path("/proc/loadavg").read_text().strip()
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    hard_limit = args.duration + args.timeout * 2 + 180
    with contextlib.ExitStack() as stack:
        if args.url:
            base_url, pid = check_loopback(args.url), None
        else:
            log_path = Path(tempfile.mkdtemp(prefix="ggmi-wsload-")) / "server.log"
            base_url, pid = stack.enter_context(streamlit_server(log_path))
            print(f"server: {base_url} (pid {pid}, log {log_path})", flush=True)
        report = asyncio.run(asyncio.wait_for(run_load(args, base_url, pid), hard_limit))
    load_after = Path("/proc/loadavg").read_text().strip()
    report += (
        f"\n\nStarted {started}; /proc/loadavg before: {load_before}; after: {load_after} "
        "(the machine is shared: other engineers' jobs count in these)."
    )
    print()
    print(report)
    if args.out:
        args.out.write_text(report + "\n")
    return 1 if "Errors (first" in report else 0


if __name__ == "__main__":
    raise SystemExit(main())
