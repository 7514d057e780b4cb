"""How fast a Guided-tour step appears on a freshly started server, in real Chromium.

For every step N and repetition: start a new server on a free 127.0.0.1 port as
deployed (``python -m ggmi_app.serve``, which warms the process before its health route
answers; ``--plain``: a bare ``streamlit run app.py`` as before the launcher) and time
until it is healthy ("start"). Open ``/Guided_tour?tour_step=N`` in a new
headless-Chromium context and time (wall clock, this process) until the step's heading
and its plotly chart are visible and the app is idle ("cold open": includes the browser
loading Streamlit's front end and the server's first script run). Then press ArrowRight
once and time until the next step's heading and chart are shown ("next step": the step's
figure was never shown in this session).

Run from the repository root (about 10-15 s per server start)::

    nice -n 5 .venv/bin/python bench/bench_tour.py --repeats 3 [--plain]

Prints one row per step with the medians (seconds) over the repetitions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from browser_helpers import wait_for_app_idle  # noqa: E402
from devserver import CHROMIUM, CHROMIUM_ARGS, run_streamlit  # noqa: E402

from ggmi_app.tour_page import STEPS  # noqa: E402


def _shown(page: Any, step: int) -> None:
    page.get_by_role("heading", name=STEPS[step - 1].title).wait_for(state="visible")
    page.locator(".js-plotly-plot").first.wait_for(state="visible")
    wait_for_app_idle(page)


def time_step(browser: Any, step: int, warm: bool) -> tuple[float, float, float | None]:
    """(start to healthy, cold open, next step) in seconds for ``step`` on a fresh server."""
    with tempfile.TemporaryDirectory() as tmp:
        launched = time.perf_counter()
        with run_streamlit(ROOT / "app.py", Path(tmp) / "server.log", warm=warm) as (url, _):
            healthy = time.perf_counter() - launched
            context = browser.new_context(viewport={"width": 1280, "height": 720})
            try:
                page = context.new_page()
                start = time.perf_counter()
                page.goto(f"{url}/Guided_tour?tour_step={step}")
                _shown(page, step)
                cold = time.perf_counter() - start
                if step == len(STEPS):
                    return healthy, cold, None
                page.locator("h1").first.click()
                start = time.perf_counter()
                page.keyboard.press("ArrowRight")
                _shown(page, step + 1)
                return healthy, cold, time.perf_counter() - start
            finally:
                context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, nargs="*", default=list(range(1, len(STEPS) + 1)))
    parser.add_argument(
        "--plain", action="store_true", help="serve with a bare `streamlit run` (no warm-up)"
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        print("step | start to healthy | cold open | next step (ArrowRight); medians, s")
        for step in args.steps:
            runs = [time_step(browser, step, warm=not args.plain) for _ in range(args.repeats)]
            healthy = statistics.median(r[0] for r in runs)
            cold = statistics.median(r[1] for r in runs)
            nexts = [r[2] for r in runs if r[2] is not None]
            nxt = f"{statistics.median(nexts):.2f}" if nexts else "-"
            print(f"{step:4d} | {healthy:.2f} | {cold:.2f} | {nxt}", flush=True)
        browser.close()


if __name__ == "__main__":
    main()
