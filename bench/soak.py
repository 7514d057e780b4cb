"""Soak test: hundreds of random interactions against every page in one process.

Streamlit runs all sessions in one server process and shares ``st.cache_data`` between
them, so memory that grows with the number of interactions would eventually take a
hosted server down. This script drives every page with Streamlit's AppTest (the real
page scripts, the real caches, in this process), as a stream of visitors who open a
page (sometimes with a bad URL value) and then move sliders, flip toggles, pick options
and press presets at random. After a warm-up that fills the caches it measures the
resident memory (RSS, via psutil) of the process and its compute-pool workers until the
end, and reports the growth and every cache's entry count and size.

Run from the repo root::

    /tmp/venv/bin/python bench/soak.py --interactions 500

Target: memory growth after warm-up under 100 MB, no exception shown.
``tests/app/test_soak_short.py`` runs a short version of the same loop in the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import math
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streamlit import logger as streamlit_logger  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

MB = 1024 * 1024
TIMEOUT_S = 300
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")

#: Cheap URL settings for a new visitor of each page (the soak is about memory, not
#: about the most expensive corner, which the budget tests cover).
CHEAP_URL: dict[str, dict[str, str]] = {
    "pages/2_KL_Gap_curves.py": {"gap_rounds": "10", "gap_sweep_points": "4", "n_mc": "500"},
    "pages/3_Bound_terms.py": {
        "bounds_scenarios": "10",
        "n_mc": "1000",
        "bounds_move_points": "3",
        "bounds_move_scenarios": "5",
    },
    "pages/4_Diagnostics.py": {
        "diag_scenarios": "5",
        "diag_permutations": "19",
        "n_synthetic": "100",
    },
}
#: Tabs a new visitor may open through the URL.
TABS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pages/3_Bound_terms.py": ("bounds_tab", ("Breakdown", "How terms move", "Statements")),
    "pages/4_Diagnostics.py": ("diag_tab", ("Simulation", "Your data")),
}
#: Highest value the random walk gives a slider (keeps each run to about a second).
SLIDER_CAP: dict[str, float] = {
    "K": 6,
    "J": 6,
    "L": 6,
    "n_anchor_per_component": 150,
    "n_synthetic": 400,
    "dim": 4,
    "n_mc": 2000,
    "gap_rounds": 20,
    "gap_sweep_points": 6,
    "bounds_scenarios": 20,
    "bounds_move_points": 4,
    "bounds_move_scenarios": 10,
    "diag_scenarios": 10,
    "diag_permutations": 59,
    "diag_data_permutations": 199,
}
#: Number inputs the walk may change, with the values it picks from.
NUMBER_CHOICES: dict[str, tuple[float, ...]] = {
    "seed": (0, 1, 2, 3, 7, 42),
    "gap_sweep_from": (2.0, 3.0),
    "gap_sweep_to": (5.0, 6.0),
}
#: Bad URL values a visitor sometimes arrives with.
BAD_URL_VALUES = ("abc", "-1", "1e309", "nan", "<b>x</b>", "٣", "9" * 80)


@dataclass
class CacheInfo:
    """One ``st.cache_data`` cache: entries and pickled bytes now, and its bounds."""

    name: str
    entries: int
    max_entries: float
    ttl_s: float
    bytes: int


@dataclass
class SoakReport:
    """What a soak run measured. Memory in MB (2^20 bytes) of resident set size."""

    interactions: int
    duration_s: float
    rss_start_mb: float
    rss_warm_mb: float
    rss_end_mb: float
    rss_peak_mb: float
    samples: list[tuple[int, float]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    error_messages: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    caches: list[CacheInfo] = field(default_factory=list)

    @property
    def growth_mb(self) -> float:
        """RSS growth from the end of the warm-up to the end of the run."""
        return self.rss_end_mb - self.rss_warm_mb


def page_files() -> list[str]:
    """The router and every page of the registry (repo-relative)."""
    from ggmi_app.page_list import PAGES

    return ["app.py", *(page.entry for page in PAGES)]


def quiet_bare_mode_warnings() -> None:
    """Silence 'missing ScriptRunContext' (AppTest runs pages outside a server)."""
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").disabled = True


def rss_parts_mb() -> tuple[float, float]:
    """Resident memory after a full garbage collection, in MB: (this process, its
    children), the children being the compute pool's fork server and workers."""
    gc.collect()
    me = psutil.Process()
    children = 0
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            children += child.memory_info().rss
    return me.memory_info().rss / MB, children / MB


def rss_mb() -> float:
    """Resident memory of this process and its compute workers, in MB."""
    return sum(rss_parts_mb())


def cache_report() -> list[CacheInfo]:
    """Every ``st.cache_data`` cache of this process (global scope), largest first."""
    from streamlit.runtime.caching.cache_data_api import _data_caches
    from streamlit.runtime.stats import CACHE_MEMORY_FAMILY

    with _data_caches._caches_lock:
        caches = [c for group in _data_caches._function_caches.values() for c in group.values()]
    infos = []
    for cache in caches:
        stats = cache.get_stats().get(CACHE_MEMORY_FAMILY, [])
        storage = cache.storage
        infos.append(
            CacheInfo(
                name=cache.display_name,
                entries=len(stats),
                max_entries=float(getattr(storage, "max_entries", math.inf)),
                ttl_s=float(getattr(storage, "ttl_seconds", math.inf)),
                bytes=sum(s.byte_length for s in stats),
            )
        )
    infos.append(compute_cache_info())
    return sorted(infos, key=lambda c: -c.bytes)


def compute_cache_info() -> CacheInfo:
    """The worker pool's shared result cache (``ggmi_app.compute``), as a cache row."""
    from ggmi_app.compute import service

    pool = service()
    stats = pool.stats()
    return CacheInfo(
        name="ggmi_app.compute (worker-pool results)",
        entries=stats.entries,
        max_entries=float(pool.max_entries),
        ttl_s=float(pool.ttl_s),
        bytes=stats.bytes,
    )


def _visible_text(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "text", "code", "error", "warning", "info", "exception"):
        for element in at.get(kind):
            value = getattr(element, "value", None)
            parts.append(value if isinstance(value, str) else str(element.proto))
    return "\n".join(parts)


class Walker:
    """A stream of visitors doing random things; ``step()`` is one interaction."""

    def __init__(self, seed: int, pages: list[str] | None = None) -> None:
        self.rng = np.random.default_rng(seed)
        self.pages = pages or page_files()
        self.visitors: dict[str, AppTest] = {}
        self.kinds: dict[str, int] = {}
        self.error_messages = 0

    # ---------------------------------------------------------------- actions

    def _choice(self, items: list[Any]) -> Any:
        return items[int(self.rng.integers(len(items)))]

    def _new_visitor(self) -> tuple[str, AppTest]:
        page = self._choice(self.pages)
        query = dict(CHEAP_URL.get(page, {}))
        if page in TABS and self.rng.random() < 0.5:
            key, labels = TABS[page]
            query[key] = self._choice(list(labels))
        if self.rng.random() < 0.2 and query:
            query[self._choice(sorted(query))] = self._choice(list(BAD_URL_VALUES))
        if self.rng.random() < 0.2:
            query["lecture"] = "1"
        at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT_S)
        at.query_params.update(query)
        self.visitors[page] = at  # the previous visitor of this page leaves
        return "open page", at

    def _slider_value(self, widget: Any) -> Any:
        low, high = widget.min, widget.max
        step = widget.step or 1
        cap = SLIDER_CAP.get(widget.key, high)
        high = min(high, max(low, cap))
        n = math.floor((high - low) / step + 1e-9) + 1
        value = low + step * int(self.rng.integers(n))
        if isinstance(widget.value, int) and not isinstance(widget.value, bool):
            return round(value)
        return round(float(value), 10)

    def _interact(self, at: AppTest) -> str:
        # A visitor cannot move a disabled widget (the swept letter's slider, say).
        live = lambda widgets: [w for w in widgets if not getattr(w.proto, "disabled", False)]  # noqa: E731
        sliders = [w for w in live(at.slider) if w.key and not isinstance(w.value, tuple)]
        toggles = [w for w in live(at.toggle) if w.key]
        selects = [w for w in live(at.selectbox) if w.key and len(w.options) > 1]
        numbers = [w for w in live(at.number_input) if w.key in NUMBER_CHOICES]
        presets = [b for b in live(at.button) if b.key and "_ggmi_preset::" in b.key]
        # Weights of each kind of interaction, among those the page offers right now.
        options = [
            (w, kind)
            for w, kind, available in (
                (1, "preset", presets),
                (3, "toggle", toggles),
                (3, "select", selects),
                (2, "number", numbers),
                (11, "slider", sliders),
            )
            if available
        ]
        if not options:
            return "rerun"
        weights = np.array([w for w, _ in options], dtype=float)
        kind = options[int(self.rng.choice(len(options), p=weights / weights.sum()))][1]
        if kind == "preset":
            self._choice(presets).click()
        elif kind == "toggle":
            widget = self._choice(toggles)
            widget.set_value(not widget.value)
        elif kind == "select":
            widget = self._choice(selects)
            widget.set_value(self._choice(list(widget.options)))
        elif kind == "number":
            widget = self._choice(numbers)
            widget.set_value(self._choice(list(NUMBER_CHOICES[widget.key])))
        else:
            widget = self._choice(sliders)
            widget.set_value(self._slider_value(widget))
        return kind

    def step(self) -> list[str]:
        """One interaction; returns a description per problem found (empty: all fine)."""
        if not self.visitors or self.rng.random() < 0.15:
            kind, at = self._new_visitor()
        else:
            at = self.visitors[self._choice(sorted(self.visitors))]
            kind = self._interact(at)
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        at.run()
        problems = [f"{kind}: exception {str(e.proto)[:300]}" for e in at.exception]
        found = TRACEBACK.search(_visible_text(at))
        if found:
            problems.append(f"{kind}: traceback text {found.group(0)!r}")
        self.error_messages += len(at.error)
        return problems


def run_soak(
    interactions: int = 500,
    warmup: int = 100,
    seed: int = 0,
    sample_every: int = 50,
    pages: list[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> SoakReport:
    """Drive ``interactions`` random interactions (after ``warmup`` more); measure RSS."""
    walker = Walker(seed, pages)
    start = rss_mb()
    t0 = time.perf_counter()
    failures: list[str] = []
    for _ in range(warmup):
        failures += walker.step()
    warm = rss_mb()
    peak = warm
    samples = [(0, warm)]
    for i in range(1, interactions + 1):
        failures += walker.step()
        if i % sample_every == 0 or i == interactions:
            main, workers = rss_parts_mb()
            now = main + workers
            peak = max(peak, now)
            samples.append((i, now))
            if log:
                log(
                    f"  {i:5d} interactions: RSS {now:8.1f} MB ({now - warm:+.1f} MB; "
                    f"this process {main:.1f}, workers {workers:.1f})"
                )
    end = samples[-1][1]
    return SoakReport(
        interactions=interactions,
        duration_s=time.perf_counter() - t0,
        rss_start_mb=start,
        rss_warm_mb=warm,
        rss_end_mb=end,
        rss_peak_mb=peak,
        samples=samples,
        failures=failures,
        error_messages=walker.error_messages,
        kinds=dict(sorted(walker.kinds.items())),
        caches=cache_report(),
    )


def markdown(report: SoakReport, warmup: int) -> str:
    """The report as Markdown tables."""
    lines = [
        "| interactions (after warm-up) | warm-up | duration | RSS start | RSS after warm-up "
        "| RSS end | RSS peak | growth | exceptions/tracebacks | error messages shown |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {report.interactions} | {warmup} | {report.duration_s:.0f} s "
        f"| {report.rss_start_mb:.0f} MB | {report.rss_warm_mb:.0f} MB "
        f"| {report.rss_end_mb:.0f} MB | {report.rss_peak_mb:.0f} MB "
        f"| {report.growth_mb:+.1f} MB | {len(report.failures)} | {report.error_messages} |",
        "",
        "| cache | entries | max entries | size | ttl |",
        "|---|---|---|---|---|",
    ]
    for c in report.caches:
        lines.append(
            f"| {c.name} | {c.entries} | {c.max_entries:g} | {c.bytes / MB:.2f} MB "
            f"| {c.ttl_s:g} s |"
        )
    lines.append("")
    lines.append("Interactions by kind: " + ", ".join(f"{k} {v}" for k, v in report.kinds.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interactions", type=int, default=500, help="measured interactions")
    parser.add_argument("--warmup", type=int, default=100, help="interactions before measuring")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample-every", type=int, default=50)
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    if args.interactions < 1 or args.warmup < 0:
        parser.error("--interactions must be positive and --warmup non-negative")
    # AppTest in bare mode warns on every run; the warnings are noise here.
    streamlit_logger.set_log_level("error")
    quiet_bare_mode_warnings()
    report = run_soak(args.interactions, args.warmup, args.seed, args.sample_every, log=print)
    print()
    print(markdown(report, args.warmup))
    for failure in report.failures[:20]:
        print("FAILURE:", failure)
    if args.json:
        payload = asdict(report) | {"growth_mb": report.growth_mb}
        args.json.write_text(json.dumps(payload, indent=2))
    return 1 if report.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
