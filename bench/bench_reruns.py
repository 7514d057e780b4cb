"""Server side of a rerun: how long each page's script takes when its numbers are cached.

Runs every page (or those named) through Streamlit's AppTest in this process: one first
run (imports, numbers computed or loaded, figures built), then ``--repeats`` warm reruns
with nothing changed, which is what every follower of a lecture room and every cached
slider move costs the server. No browser, no WebSocket: this isolates the page script
(widgets, state, figure hand-over to ``st.plotly_chart``) from transport and drawing.

With ``--profile DIR`` the warm reruns also run under cProfile (the script thread only)
and each page's statistics go to ``DIR/<page>.txt``, sorted by cumulative and own time.

Run from the repo root::

    GGMI_WORKERS=0 python bench/bench_reruns.py --repeats 5
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import streamlit.runtime.scriptrunner.script_runner as script_runner  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from ggmi_app import tour_page  # noqa: E402
from ggmi_app.page_list import PAGES  # noqa: E402

_PROFILE: dict[str, cProfile.Profile | None] = {"current": None}
_EXEC: Callable[..., Any] = script_runner.exec_func_with_error_handling


def _exec_maybe_profiled(func: Callable[[], Any], ctx: Any) -> Any:
    """Streamlit's script execution, under the current profiler if one is set.

    AppTest runs the page in a thread of its own, which a profiler started in this
    thread would not see.
    """
    profile = _PROFILE["current"]
    if profile is None:
        return _EXEC(func, ctx)
    profile.enable()
    try:
        return _EXEC(func, ctx)
    finally:
        profile.disable()


def _timed_run(at: AppTest) -> float:
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"the page raised: {[e.value for e in at.exception]}")
    return elapsed


def _profile_text(profile: cProfile.Profile) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(50)
    stats.sort_stats("tottime").print_stats(30)
    return out.getvalue()


def measure(key: str, entry: str, repeats: int, profile_dir: Path | None) -> dict[str, float]:
    """First-run and warm-rerun seconds of one page (warm: median of ``repeats``)."""
    at = AppTest.from_file(str(ROOT / entry), default_timeout=300)
    first = _timed_run(at)
    # The tour's first run starts building every step's figure in the background (a
    # server does it before serving, ``ggmi_app.serve``); warm reruns come after it.
    tour_page.wait_for_warm_up(300)
    warm = [_timed_run(at) for _ in range(repeats)]
    if profile_dir is not None:
        _PROFILE["current"] = profile = cProfile.Profile()
        try:
            for _ in range(repeats):
                at.run()
        finally:
            _PROFILE["current"] = None
        (profile_dir / f"{key}.txt").write_text(_profile_text(profile))
    return {"first": first, "median": statistics.median(warm), "min": min(warm)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="warm reruns per page")
    parser.add_argument("--pages", nargs="*", help="page keys (default: all)")
    parser.add_argument("--profile", type=Path, help="write cProfile statistics here")
    args = parser.parse_args(argv)
    if not 1 <= args.repeats <= 50:
        parser.error("--repeats must be in 1..50")
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    script_runner.exec_func_with_error_handling = _exec_maybe_profiled
    load_before = os.getloadavg()
    print("| page | first run | warm rerun, median | warm rerun, min |")
    print("|---|---|---|---|")
    for page in PAGES:
        if args.pages and page.key not in args.pages:
            continue
        times = measure(page.key, page.entry, args.repeats, args.profile)
        print(
            f"| {page.title} | {times['first']:.3f} s | {1000 * times['median']:.0f} ms | "
            f"{1000 * times['min']:.0f} ms |",
            flush=True,
        )
    print(
        f"\n{args.repeats} warm reruns a page; load average before "
        f"{' / '.join(f'{x:.2f}' for x in load_before)}, after "
        f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())} (1 / 5 / 15 min)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
