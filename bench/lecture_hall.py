"""Lecture-hall load test: one lecturer drives a room, 100+ students follow it.

Speaks Streamlit's WebSocket protocol (the session code of ``bench/ws_load_test.py``) to a
server on a loopback address only. One *lecturer* session opens a lecture room (the
sidebar's "Open a room" button) and, once the students have arrived, follows a script:
the Guided tour, Next a few times, the tour's "Open this on the ... page" preset, slider
moves there. *Students* arrive uniformly over ``--ramp`` seconds:

* most open the room's link (``?room=CODE``) and follow it as a browser would: the
  sidebar fragment's timer (its ``auto_rerun`` message) asks for a fragment run every
  interval; when the lecturer changed something the server reruns the whole app with the
  lecturer's settings, and when the lecturer is on another page the app sends the
  browser there, which this client does by opening a new session on that address;
* a share (``--p-self``) follow the same script on their own, a few seconds late (uniform
  jitter up to ``--jitter``): they open the lecturer's page with the lecturer's URL, as
  with a link shown on the projector;
* every student now and then moves a slider of their own (``--p-play`` per think time).

Measured: errors (runs that fail, exceptions, timeouts, dropped sockets), latency of each
run (send to ``script_finished``) by page and kind, *follow lag* (lecturer's action sent
to the student's run showing it finished), server CPU per interaction and memory.

Run from the repo root (a server is started unless ``--url`` names one)::

    python bench/lecture_hall.py --students 100 --ramp 30
    python bench/lecture_hall.py --url http://127.0.0.1:8080 --server-pids 1234,1235
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from websockets.asyncio.client import ClientConnection

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # ggmi_app
from load_test import check_loopback, latency_stats, page_paths, streamlit_server
from ws_load_test import MAX_COMPONENTS, RunResult, Widget, _connect, read_forward_msg

MB = 1024 * 1024
ROOM_CODE = re.compile(r"You drive room \*\*([A-Z2-9]{6})\*\*")
OK = {"FINISHED_SUCCESSFULLY", "FINISHED_FRAGMENT_RUN_SUCCESSFULLY"}
#: The link of a following student's page move (the browser loads it).
MOVE = re.compile(r"Moving to the lecturer's page: \[[^\]]*\]\(([^)]*)\)")


def _page_and_query(address: str) -> tuple[str, str]:
    """(page name, query string) of a relative address such as 'Guided_tour?room=X'."""
    path, _, query = address.partition("?")
    names = {v: k for k, v in page_paths().items()}
    return names["" if path in {"", "./"} else path], query


# ------------------------------------------------------------------ one session


@dataclass
class Run:
    """One finished (or failed) run as seen by a session."""

    t_end: float
    latency_s: float | None
    page: str
    kind: str  # open, poll, follow, slider, click, navigate
    session: int


@dataclass
class Log:
    runs: list[Run] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    follows: list[tuple[int, float]] = field(default_factory=list)  # (event no., lag s)
    moves: int = 0  # page loads of following students sent to the lecturer's page


class Client:
    """A protocol session that tracks its page, URL, widgets, buttons and fragment timers."""

    def __init__(self, index: int, ws_url: str, origin: str, timeout_s: float, log: Log):
        self.index, self.ws_url, self.origin, self.timeout_s, self.log = (
            index, ws_url, origin, timeout_s, log,
        )  # fmt: skip
        self.page = "Home"
        self.query = ""
        self.widgets: dict[str, Widget] = {}
        self.buttons: dict[str, str] = {}  # user key -> widget id
        self.last_sent: dict[str, WidgetState] = {}
        self.fragments: dict[str, float] = {}  # fragment id -> interval (s)
        self.markdown: list[str] = []
        self.ws: ClientConnection | None = None
        self._page_by_hash: dict[str, str] = {}
        self._timers: dict[str, float] = {}  # fragment timers announced by this run
        self.move_to: tuple[str, str] | None = None  # (page, query) the app sent us to
        self.page_hash = ""  # the current page's script hash, from the server

    async def send(
        self, kind: str, changed: WidgetState | None = None, fragment: str = "",
        page: str | None = None,
    ) -> RunResult:  # fmt: skip
        """One rerun (whole app, or one fragment) and everything it sends back."""
        assert self.ws is not None
        states = [w.state for w in self.widgets.values() if changed is None or w.id != changed.id]
        if changed is not None:
            states.append(changed)
            self.last_sent[changed.id] = changed
        if page is not None:
            self.page, states = page, []
        # As the front end: a run on the current page names it by its script hash (the
        # server reads an empty hash as the default page), a page load by its URL path.
        client = ClientState(
            query_string=self.query, page_name=page_paths()[self.page],
            page_script_hash="" if page is not None else self.page_hash,
            widget_states=WidgetStates(widgets=states), fragment_id=fragment,
            is_auto_rerun=bool(fragment),
        )  # fmt: skip
        result = RunResult(status="timeout")
        self._timers = {}
        charts: list[bytes] = []
        widgets: dict[str, Widget] = {}
        t0 = time.monotonic()
        await self.ws.send(BackMsg(rerun_script=client).SerializeToString())
        ended = False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.timeout_s):
                while not ended:
                    frame = await self.ws.recv()
                    if not isinstance(frame, bytes):
                        continue
                    msg = ForwardMsg.FromString(frame)
                    self._note(msg, widgets)
                    result.widgets = widgets
                    ended = read_forward_msg(msg, result, charts, self.last_sent)
        t1 = time.monotonic()
        # A fragment run that made the app rerun ends like a whole run.
        full_run = result.status == "FINISHED_SUCCESSFULLY"
        if full_run:
            self.widgets, self.fragments = result.widgets, dict(self._timers)
        elif ended:
            self.widgets |= result.widgets
            self.fragments |= self._timers
        if result.query_string is not None:
            self.query = result.query_string
        label = kind if kind != "poll" or not full_run else "follow"
        self.log.runs.append(Run(t1, t1 - t0 if ended else None, self.page, label, self.index))
        where = f"session {self.index} {self.page} {kind}"
        if not ended:
            self.log.errors.append(f"{where}: no end of run within {self.timeout_s:g} s")
        elif result.status not in OK:
            self.log.errors.append(f"{where}: run ended {result.status}")
        self.log.errors.extend(f"{where}: exception {e}"[:300] for e in result.exceptions)
        return result

    def _note(self, msg: ForwardMsg, widgets: dict[str, Widget]) -> None:
        """Buttons, markdown, fragment timers and page changes (what ws_load_test skips)."""
        what = msg.WhichOneof("type")
        if what == "navigation":
            for app_page in msg.navigation.app_pages:
                self._page_by_hash[app_page.page_script_hash] = app_page.url_pathname
            self.page_hash = msg.navigation.page_script_hash
            path = self._page_by_hash.get(msg.navigation.page_script_hash)
            names = {v: k for k, v in page_paths().items()}
            if path is not None and path in names:
                self.page = names[path]
        elif what == "auto_rerun":
            self._timers[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
        elif what == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            kind = element.WhichOneof("type")
            if kind == "button":
                key = element.button.id.rsplit("-", 1)[-1]
                self.buttons[key] = element.button.id
            elif kind == "markdown":
                self.markdown.append(element.markdown.body)
            elif kind == "alert" and (found := MOVE.search(element.alert.body)):
                self.move_to = _page_and_query(found.group(1))

    async def click(self, key: str) -> RunResult:
        button = self.buttons.get(key)
        if button is None:
            raise RuntimeError(f"session {self.index}: no button {key!r} on {self.page}")
        return await self.send("click", WidgetState(id=button, trigger_value=True))

    def slider_move(self, rng: np.random.Generator, label_start: str = "") -> WidgetState | None:
        """A one-step move of a (random, or the labelled) single-value slider, or None."""
        sliders = [
            w for w in self.widgets.values()
            if w.kind == "slider" and len(w.state.double_array_value.data) == 1
            and w.step > 0 and "scenario" not in w.label.lower()
            and w.label.startswith(label_start)
        ]  # fmt: skip
        if not sliders:
            return None
        slider = sliders[int(rng.integers(len(sliders)))]
        now = slider.state.double_array_value.data[0]
        high = (
            min(slider.high, MAX_COMPONENTS)
            if slider.label[:2] in {"K:", "J:", "L:"}
            else (slider.high)
        )
        options = [v for v in (now - slider.step, now + slider.step) if slider.low <= v <= high]
        if not options:
            return None
        moved = WidgetState(id=slider.id)
        moved.double_array_value.data.append(float(options[int(rng.integers(len(options)))]))
        return moved


# ------------------------------------------------------------------ the script


@dataclass
class Hall:
    """What the students can see of the lecturer (shared within this process)."""

    code: str = ""
    events: list[tuple[float, str, str]] = field(default_factory=list)  # (t, page, query)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    done: bool = False
    holding: bool = False  # the measured quiet window: nobody plays with a slider
    idle: tuple[float, int, float] | None = None  # (seconds, polls, server CPU-s) in it


#: The lecturer's script after the students have arrived: (action, argument).
SCRIPT: tuple[tuple[str, str], ...] = (
    ("navigate", "Guided_tour"),
    ("click", "tour_next"),
    ("click", "tour_next"),
    ("click", "tour_next"),
    ("click", "tour_open"),  # the step's preset, on its own page
    ("slider", "K:"),
    ("slider", "K:"),
    ("navigate", "Guided_tour"),
    ("click", "tour_next"),
    ("click", "tour_open"),
)


async def lecturer(
    args: argparse.Namespace, ws_url: str, origin: str, hall: Hall, log: Log, pids: list[int]
):
    rng = np.random.default_rng([args.seed, 10**6])
    me = Client(-1, ws_url, origin, args.timeout, log)
    async with _connect(ws_url, origin, args.timeout) as ws:
        me.ws = ws
        await me.send("open", page="Home")
        await me.click("ggmi_room_open")
        found = [m for text in me.markdown for m in ROOM_CODE.findall(text)]
        if not found:
            raise RuntimeError("the lecturer's page shows no room code")
        hall.code = found[0]
        print(f"lecturer drives room {hall.code}", flush=True)
        await asyncio.sleep(args.ramp + 3)
        if args.hold > 0:
            await _quiet_window(args.hold, hall, log, pids)
        for action, arg in SCRIPT:
            t0 = time.monotonic()
            if action == "navigate":
                await me.send("navigate", page=arg)
            elif action == "click":
                await me.click(arg)
            else:
                moved = me.slider_move(rng, arg)
                if moved is None:
                    raise RuntimeError(f"no slider {arg!r} on {me.page}")
                await me.send("slider", moved)
            hall.events.append((t0, me.page, me.query))
            hall.changed.set()
            hall.changed = asyncio.Event()
            await asyncio.sleep(args.every)
    hall.done = True
    hall.changed.set()


async def _quiet_window(seconds: float, hall: Hall, log: Log, pids: list[int]) -> None:
    """Everyone has arrived and follows; nothing happens: what do the polls alone cost?"""
    hall.holding = True
    await asyncio.sleep(2.0)  # slider runs already sent finish first
    polls0, cpu0, t0 = sum(r.kind == "poll" for r in log.runs), cpu_s(pids), time.monotonic()
    await asyncio.sleep(seconds)
    polls = sum(r.kind == "poll" for r in log.runs) - polls0
    hall.idle = (time.monotonic() - t0, polls, cpu_s(pids) - cpu0)
    hall.holding = False


async def student(
    index: int, args: argparse.Namespace, ws_url: str, origin: str, hall: Hall, log: Log
) -> None:
    rng = np.random.default_rng([args.seed, index])
    on_own = rng.random() < args.p_self
    await asyncio.sleep(float(rng.uniform(0, args.ramp)))
    me = Client(index, ws_url, origin, args.timeout, log)
    page = "Home"
    if not on_own:
        me.query = f"room={hall.code}"
    seen = 0  # lecturer events this student has caught up with
    next_play = time.monotonic() + float(rng.uniform(*args.think))
    try:
        while not hall.done:
            # One browser page load: a new session (a following student's page move is one).
            async with _connect(ws_url, origin, args.timeout) as ws:
                me.ws, me.move_to = ws, None
                await me.send("open", page=page)
                if seen < len(hall.events) and not on_own:
                    seen = _record_follow(hall, seen, log)  # the moved-to page is shown
                next_poll = time.monotonic()
                while not hall.done and me.move_to is None:
                    now = time.monotonic()
                    if not on_own and me.fragments and now >= next_poll:
                        fragment = min(me.fragments, key=me.fragments.__getitem__)
                        interval = me.fragments[fragment]
                        count = len(log.runs)
                        await me.send("poll", fragment=fragment)
                        followed = any(
                            r.kind == "follow" and r.session == index for r in log.runs[count:]
                        )
                        if followed and me.move_to is None:
                            seen = _record_follow(hall, seen, log)
                        next_poll = time.monotonic() + interval
                        continue
                    if on_own and seen < len(hall.events):
                        t_event, where, query = hall.events[-1]
                        if now >= t_event + float(rng.uniform(0, args.jitter)):
                            me.query = query
                            await me.send("navigate", page=where)
                            log.follows.append((len(hall.events), time.monotonic() - t_event))
                            seen = len(hall.events)
                            continue
                    if now >= next_play and not hall.holding:
                        moved = me.slider_move(rng) if rng.random() < args.p_play else None
                        if moved is not None:
                            await me.send("slider", moved)
                        next_play = time.monotonic() + float(rng.uniform(*args.think))
                        continue
                    await asyncio.sleep(0.05)
            if me.move_to is not None:
                page, me.query = me.move_to
                log.moves += 1
    except Exception as exc:  # a dropped connection is a finding
        log.errors.append(f"session {index}: {type(exc).__name__}: {exc}"[:300])


def _record_follow(hall: Hall, seen: int, log: Log) -> int:
    """After a follow run: the lag from the latest lecturer action to now."""
    if hall.events and len(hall.events) > seen:
        log.follows.append((len(hall.events), time.monotonic() - hall.events[-1][0]))
        return len(hall.events)
    return seen


# ------------------------------------------------------------------ measuring


def tree(pids: list[int]) -> list[psutil.Process]:
    procs: list[psutil.Process] = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            procs += [root, *root.children(recursive=True)]
    return procs


def cpu_s(pids: list[int]) -> float:
    total = 0.0
    for proc in tree(pids):
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system
    return total


def pss_mb(pids: list[int]) -> list[float]:
    """Proportional set size (MB) of each listed process with its children.

    Not RSS: the PNG exporter's ~9 Chromium processes share most of their pages, and
    summing their RSS counted those pages nine times (~970 MB where PSS says ~300 MB).
    """
    return [sum(_pss(p) for p in tree([pid])) / MB for pid in pids]


def _pss(proc: psutil.Process) -> float:
    with contextlib.suppress(psutil.Error):
        return float(proc.memory_full_info().pss)
    return 0.0


async def sample_memory(pids: list[int], out: list[list[float]], stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(psutil.Error):
            out.append(pss_mb(pids))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=3.0)


def _cells(values: list[float]) -> str:
    if not values:
        return "| 0 | n/a | n/a | n/a |"
    s = latency_stats(values)
    return f"| {s['n']:.0f} | {s['median']:.2f} s | {s['p95']:.2f} s | {s['max']:.2f} s |"


def report(
    log: Log,
    wall: float,
    cpu: float | None,
    mem: list[list[float]],
    args: argparse.Namespace,
    idle: tuple[float, int, float] | None = None,
) -> str:
    runs = [r for r in log.runs if r.session >= 0]
    timed = [r for r in runs if r.latency_s is not None]
    interactions = [r for r in timed if r.kind != "poll"]
    polls = [r for r in timed if r.kind == "poll"]
    peak = [max(col) for col in zip(*mem, strict=True)] if mem else []
    lines = [
        f"Students: {args.students} ({args.p_self:.0%} on their own), arrivals over "
        f"{args.ramp:g} s; lecturer actions every {args.every:g} s; wall {wall:.0f} s.",
        "",
        "| | n | p50 | p95 | max |",
        "|---|---|---|---|---|",
        "| all student runs except polls " + _cells([r.latency_s for r in interactions]),
        "| follow lag (lecturer action to student's page done) "
        + _cells([lag for _, lag in log.follows]),
        "| polls (fragment runs) " + _cells([r.latency_s for r in polls]),
    ]
    for kind in ("open", "follow", "navigate", "slider"):
        lines.append(f"| kind: {kind} " + _cells([r.latency_s for r in timed if r.kind == kind]))
    for page in page_paths():
        values = [r.latency_s for r in interactions if r.page == page]
        if values:
            lines.append(f"| page: {page} " + _cells(values))
    n_inter = len(interactions)
    cpu_text = "n/a" if cpu is None else f"{cpu:.0f} s"
    per = "n/a" if cpu is None or not n_inter else f"{1000 * cpu / n_inter:.0f} ms"
    per_run = "n/a" if cpu is None or not timed else f"{1000 * cpu / len(timed):.0f} ms"
    lines += [
        "",
        f"Errors: {len(log.errors)}. Page moves (a following student's browser loading "
        f"the lecturer's page, a new session each): {log.moves}. "
        f"Server CPU: {cpu_text} over {wall:.0f} s "
        f"({'n/a' if cpu is None else f'{cpu / wall:.2f}'} cores); per interaction "
        f"(polls' cost included): {per}; per run (polls counted): {per_run}. "
        f"Peak memory (PSS) per server process tree: "
        + (", ".join(f"{v:.0f} MB" for v in peak) if peak else "n/a")
        + ".",
    ]
    if idle is not None and idle[1]:
        seconds, polls, idle_cpu = idle
        lines += [
            "",
            f"Quiet window ({seconds:.0f} s after everyone arrived; no lecturer action, no "
            f"slider play): {polls / seconds:.0f} polls/s answered, server CPU "
            f"{idle_cpu / seconds:.2f} cores, {1000 * idle_cpu / polls:.1f} ms CPU per poll.",
        ]
    if log.errors:
        lines += ["", "Errors (first 15):", ""] + [f"- {e}" for e in log.errors[:15]]
    return "\n".join(lines)


async def run(args: argparse.Namespace, base_url: str, pids: list[int]) -> str:
    ws_url = base_url.replace("http", "ws", 1) + "/_stcore/stream"
    log, hall = Log(), Hall()
    if args.warmup:
        print("warming up: every page once ...", flush=True)
        warm = Client(-2, ws_url, base_url, args.timeout, Log())
        async with _connect(ws_url, base_url, args.timeout) as ws:
            warm.ws = ws
            for name in page_paths():
                await warm.send("open", page=name)
    mem: list[list[float]] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_memory(pids, mem, stop))
    cpu0, t0 = cpu_s(pids), time.monotonic()
    lead = asyncio.create_task(lecturer(args, ws_url, base_url, hall, log, pids))
    while not hall.code and not lead.done():
        await asyncio.sleep(0.1)
    if lead.done():
        await lead  # raises what went wrong
    print(f"{args.students} students arriving over {args.ramp:g} s ...", flush=True)
    await asyncio.gather(
        lead, *(student(i, args, ws_url, base_url, hall, log) for i in range(args.students))
    )
    wall, cpu1 = time.monotonic() - t0, cpu_s(pids)
    stop.set()
    await sampler
    return report(log, wall, cpu1 - cpu0 if pids else None, mem, args, hall.idle)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server on loopback (default: start one)")
    parser.add_argument("--server-pids", default="", help="comma list (CPU and memory)")
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--ramp", type=float, default=30.0, help="arrivals spread (s)")
    parser.add_argument("--every", type=float, default=8.0, help="s between lecturer actions")
    parser.add_argument("--p-self", type=float, default=0.2, help="share following on own")
    parser.add_argument("--jitter", type=float, default=4.0, help="their lateness, max (s)")
    parser.add_argument("--p-play", type=float, default=0.5, help="slider play per think")
    parser.add_argument("--think", type=float, nargs=2, default=(6.0, 15.0))
    parser.add_argument("--timeout", type=float, default=60.0, help="s per run")
    parser.add_argument(
        "--hold", type=float, default=0.0, help="measured quiet window before the script (s)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-warmup", dest="warmup", action="store_false")
    parser.add_argument("--out", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    if not 1 <= args.students <= 300:
        parser.error("--students must be in 1..300 (this is a bounded test)")
    if not (0 < args.ramp <= 120 and 1 <= args.every <= 60 and 0 <= args.hold <= 120):
        parser.error("--ramp must be in (0, 120] s, --every in [1, 60] s, --hold in [0, 120] s")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    load_before = Path("/proc/loadavg").read_text().strip()
    hard_limit = args.ramp + 3 + args.hold + 2 + len(SCRIPT) * (args.every + args.timeout) + 120
    with contextlib.ExitStack() as stack:
        if args.url:
            base_url = check_loopback(args.url)
            pids = [int(p) for p in args.server_pids.split(",") if p.strip()]
        else:
            log_path = Path(tempfile.mkdtemp(prefix="ggmi-hall-")) / "server.log"
            base_url, pid = stack.enter_context(streamlit_server(log_path))
            pids = [pid]
            print(f"server: {base_url} (pid {pid}, log {log_path})", flush=True)
        text = asyncio.run(asyncio.wait_for(run(args, base_url, pids), hard_limit))
    text += (
        f"\n\n/proc/loadavg before: {load_before}; after: "
        f"{Path('/proc/loadavg').read_text().strip()} (a shared machine)."
    )
    print("\n" + text)
    if args.out:
        args.out.write_text(text + "\n")
    return 1 if "Errors (first" in text else 0


if __name__ == "__main__":
    raise SystemExit(main())
