"""Compute the stored maps of the gap over two letters (``assets/gap_map_<metric>.csv``).

The committed tables were written by (from the repository root, nice'd on a shared,
busy 2-core machine)::

    nice -n 19 python bench/make_gap_map.py --workers 2

For each metric of ``ggmi_core.gap_map.MAP_METRICS`` (exact JS, TV): the J x L plane
(K = 2) and the K x J plane (L = 2), both letters over 2..15, ``MAP_ROUNDS`` = 500
scenarios a cell, ``MAP_N_MC`` = 2,000 Monte Carlo draws, the default setting otherwise
(seed 0). A cell the two planes share (K = L = 2) is computed once. Every row equals
``ggmi_core.gap_map.gap_map`` on its cell, i.e. ``simulate`` on that setting, so the
tests can recompute any cell. The run time is printed and written beside the tables
(``assets/gap_map_runs.json``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ggmi_core import gap_map as gm  # noqa: E402
from ggmi_core.config import ScenarioConfig  # noqa: E402

ASSETS = ROOT / "assets"
RUNS = ASSETS / "gap_map_runs.json"


def map_path(metric: str) -> Path:
    return ASSETS / f"gap_map_{metric}.csv"


def make(metric: str, rounds: int, workers: int) -> float:
    """Compute and write one metric's two planes; returns seconds taken."""
    config = ScenarioConfig()
    cells = [
        cell
        for plane in gm.PLANES
        for cell in gm.map_cells(config, plane, gm.MAP_VALUES, gm.MAP_VALUES)
    ]
    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done % 20 == 0 or done == total:
            print(
                f"  {metric}: {done}/{total} cells, {time.perf_counter() - start:.0f} s", flush=True
            )

    rows = gm.run_cells(cells, rounds, metric, gm.MAP_N_MC, workers, progress)
    seconds = time.perf_counter() - start
    gm.map_table(rows).to_csv(map_path(metric), index=False, float_format="%.10g")
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", nargs="+", default=list(gm.MAP_METRICS))
    parser.add_argument("--rounds", type=int, default=gm.MAP_ROUNDS)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    runs = json.loads(RUNS.read_text()) if RUNS.exists() else {}
    for metric in args.metrics:
        seconds = make(metric, args.rounds, args.workers)
        print(f"{metric}: {seconds:.0f} s")
        runs[metric] = {
            "seconds": round(seconds, 1), "rounds": args.rounds, "workers": args.workers,
            "cells": 2 * len(gm.MAP_VALUES) ** 2, "python": platform.python_version(),
        }  # fmt: skip
    RUNS.write_text(json.dumps(runs, indent=2) + "\n")


if __name__ == "__main__":
    main()
