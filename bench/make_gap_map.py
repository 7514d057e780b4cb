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

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ggmi_core import gap_map as gm  # noqa: E402
from ggmi_core.config import ScenarioConfig  # noqa: E402

ASSETS = ROOT / "assets"
RUNS = ASSETS / "gap_map_runs.json"


def map_path(metric: str) -> Path:
    return ASSETS / f"gap_map_{metric}.csv"


#: Distinct settings per checkpoint: finished chunks are kept in a partial file, so a run
#: that is stopped resumes where it was (the numbers do not depend on the chunking).
CHUNK = 40


def partial_path(metric: str) -> Path:
    return ASSETS / f"gap_map_{metric}.partial.csv"


def make(metric: str, rounds: int, workers: int) -> float:
    """Compute and write one metric's two planes; returns seconds taken (this run)."""
    config = ScenarioConfig()
    cells = [
        cell
        for plane in gm.PLANES
        for cell in gm.map_cells(config, plane, gm.MAP_VALUES, gm.MAP_VALUES)
    ]
    distinct = {gm.config_key(c.config): c for c in cells}
    # largest settings first, so the pool's last jobs are short
    order = sorted(distinct, key=lambda k: -distinct[k].config.n_model_components)
    partial = partial_path(metric)
    done = pd.read_csv(partial) if partial.exists() else pd.DataFrame(columns=gm.MAP_COLUMNS)
    have = {gm.config_key(config.replace(K=int(r.K), J=int(r.J), L=int(r.L)))
            for r in done.itertuples()}  # fmt: skip
    todo = [k for k in order if k not in have]
    start = time.perf_counter()
    for i in range(0, len(todo), CHUNK):
        chunk = [distinct[k] for k in todo[i : i + CHUNK]]
        rows = gm.map_table(gm.run_cells(chunk, rounds, metric, gm.MAP_N_MC, workers))
        done = pd.concat([done, rows], ignore_index=True) if len(done) else rows
        done.to_csv(partial, index=False, float_format="%.10g")
        print(f"  {metric}: {len(done)}/{len(distinct)} settings, "
              f"{time.perf_counter() - start:.0f} s", flush=True)  # fmt: skip
    seconds = time.perf_counter() - start
    write_map(metric, done)
    partial.unlink()
    return seconds


def write_map(metric: str, done: pd.DataFrame) -> None:
    """Write the map of ``metric`` from rows holding every distinct setting (any plane's
    labels): each cell of each plane takes its setting's row, relabelled for the plane."""
    config = ScenarioConfig()
    cells = [
        cell
        for plane in gm.PLANES
        for cell in gm.map_cells(config, plane, gm.MAP_VALUES, gm.MAP_VALUES)
    ]
    by_setting = {
        gm.config_key(config.replace(K=int(r["K"]), J=int(r["J"]), L=int(r["L"]))): r
        for r in done.to_dict("records")
    }
    out = []
    for cell in cells:
        x, y = gm.PLANES[cell.plane]
        row = dict(by_setting[gm.config_key(cell.config)])
        row |= {"plane": cell.plane, "x": x, "y": y, "x_value": cell.x_value,
                "y_value": cell.y_value, "param": x, "value": getattr(cell.config, x)}  # fmt: skip
        out.append(row)
    gm.map_table(out).to_csv(map_path(metric), index=False, float_format="%.10g")


def merge(metric: str, files: list[Path]) -> None:
    """Write the map from partial files of runs that shared the work (every setting must
    be in one of them; the numbers do not depend on which run computed a setting)."""
    frames = [pd.read_csv(f) for f in files if f.exists()]
    write_map(metric, pd.concat(frames, ignore_index=True))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", nargs="+", default=list(gm.MAP_METRICS))
    parser.add_argument("--rounds", type=int, default=gm.MAP_ROUNDS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        default=None,
        help="only write the map of the one metric from these partial files",
    )
    args = parser.parse_args(argv)
    if args.merge:
        merge(args.metrics[0], args.merge)
        return
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
