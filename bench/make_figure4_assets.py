"""Compute the Figure-4 sweeps shown on the KL Gap page when it opens.

The committed tables were written by (from the repository root, nice'd on 2 cores)::

    nice -n 19 python bench/make_figure4_assets.py --metrics js kl_published --workers 2

(kl_published, the published histogram estimator, took 2,395 s on 2 workers of a busy
2-core machine, with the numpy kernels; js was recomputed with the compiled kernels on
2026-12-06 in 67 s: 12 of its 42 rows moved, every mean by at most 0.035 of its standard
error, because a rare exact tie in k-means++ picked the other start; recomputed, the
prose's quoted numbers reproduce exactly again. Since 2026-12-07 the compiled k-means++
resolves that tie as the numpy code did: a fresh js table then differs from the stored one
in two rows (L=11 by 0.035 and K=15 by 0.005 of the standard error) and from the numpy
kernels' table in ten rows by at most 6.3e-6 nats, 0.007 of the standard error; the
stored table was kept, as its test still reproduces its row.)

For each metric: K, J and L each swept over 2..15 with the other two at 2 (defaults
otherwise, ``ScenarioConfig().seed`` = ``SEED`` = 0), ``ROUNDS`` = 1,000 scenarios a value,
written as ``assets/figure4_<metric>.csv`` with the columns of
``ggmi_core.simulation.SUMMARY_COLUMNS`` (one row per parameter and value; column ``param``
names the swept letter). Every row equals ``figure4_row(metric, param, value)``, i.e.
``simulate`` on that setting, so it can be checked cheaply.

The KL Gap page's presets read stored points instead (``--points``): every setting with K,
J and L in 2..15 of which at least one is 2 (the three letter planes through the paper's
settings: 547 settings, the 42 Figure-4 settings among them), for every divergence at the
page's default 20 scenarios a value, as summary rows (``assets/figure4_points.csv``, keyed
by the exact setting) and every scenario's gap (``assets/figure4_point_gaps.csv``). So a
Figure-4 preset, a switch of divergence, and a move of a held letter under a preset (sweep
K, then J to 5) all show stored numbers; about 10 minutes on 2 loaded cores::

    nice -n 19 python bench/make_figure4_assets.py --points --workers 2

Why 1,000 scenarios: a single scenario's published-estimator gap has a standard deviation
of about 4.6 nats at K=J=L=2, so 100 scenarios leave a standard error near 0.46 nats, as
large as the differences between neighbouring points; 1,000 bring it to about 0.15.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ggmi_core.config import DEFAULT_N_MC, ScenarioConfig  # noqa: E402
from ggmi_core.metrics import METRICS as ALL_METRICS  # noqa: E402
from ggmi_core.simulation import gap_point, summary_row, sweep_params  # noqa: E402

ASSETS = ROOT / "assets"
PARAMS = ("K", "J", "L")
VALUES = tuple(range(2, 16))
ROUNDS = 1000
SEED = 0
METRICS = ("kl_published", "js")


#: Stored sweep points for the KL Gap page's Figure-4 presets: every metric, at the page's
#: default scenarios per value (the presets keep it), so a preset click or a metric switch
#: shows stored numbers instead of computing (``ggmi_app.stored_assets.stored_sweep``).
POINT_ROUNDS = 20
POINTS_PATH = ASSETS / "figure4_points.csv"
POINT_GAPS_PATH = ASSETS / "figure4_point_gaps.csv"


def config_key(config: ScenarioConfig) -> str:
    """The exact setting a stored point belongs to (JSON of every field, sorted keys)."""
    return json.dumps(config.to_dict(), sort_keys=True)


def point_letters() -> list[dict[str, int]]:
    """The stored settings' letters: K, J, L in ``VALUES`` with at least one at 2.

    These are the three planes through the paper's settings (the other letters at 2): a
    Figure-4 sweep of one letter with another held at any value lies in one of them.
    """
    low = VALUES[0]
    return [
        dict(zip(PARAMS, letters, strict=True))
        for letters in itertools.product(VALUES, repeat=len(PARAMS))
        if low in letters
    ]


def _point(task: tuple[str, dict[str, int], int, int]) -> tuple[dict[str, Any], list[float]]:
    metric, letters, rounds, n_mc = task
    config = ScenarioConfig(seed=SEED).replace(**letters)
    # The result does not depend on the label: the page names the swept letter on reading.
    param = next((p for p in PARAMS if letters[p] != VALUES[0]), PARAMS[0])
    row, gaps = gap_point(config, param, rounds, metric, n_mc)
    return {"config": config_key(config), **row}, gaps.tolist()


def figure4_points(
    metrics: tuple[str, ...], rounds: int = POINT_ROUNDS, workers: int = 2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Summary rows (``config`` + ``SUMMARY_COLUMNS``) of every ``point_letters`` setting
    per metric, and every scenario's gap (``point, scenario, gap``; ``point`` is the
    summary row's position; nats, TV a probability)."""
    tasks = [(m, letters, rounds, DEFAULT_N_MC) for m in metrics for letters in point_letters()]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(_point, tasks, chunksize=8))
    rows = [row for row, _ in results]
    gaps = [
        {"point": point, "scenario": i, "gap": g}
        for point, (_, point_gaps) in enumerate(results)
        for i, g in enumerate(point_gaps)
    ]
    return pd.DataFrame(rows), pd.DataFrame(gaps)


def asset_path(metric: str) -> Path:
    return ASSETS / f"figure4_{metric}.csv"


def figure4_row(
    metric: str, param: str, value: int, rounds: int = ROUNDS, n_mc: int = DEFAULT_N_MC
) -> dict[str, Any]:
    """One row of the Figure-4 table: ``simulate`` at the defaults with param = value."""
    config = ScenarioConfig(seed=SEED).replace(**{param: value})
    return summary_row(config, param, rounds, metric, n_mc)


def figure4_table(metric: str, rounds: int = ROUNDS, workers: int = 2) -> pd.DataFrame:
    """All 42 rows (K, J, L each over 2..15) for one metric."""

    def report(done: int, total: int) -> None:
        print(f"  {metric}: {done}/{total} values", file=sys.stderr, flush=True)

    grid = {p: VALUES for p in PARAMS}
    return sweep_params(
        ScenarioConfig(seed=SEED),
        grid,
        rounds=rounds,
        metric=metric,
        workers=workers,
        progress=report,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Write assets/figure4_<metric>.csv.")
    parser.add_argument("--metrics", nargs="+", default=list(METRICS), choices=METRICS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--points",
        action="store_true",
        help=f"write the presets' stored points ({POINTS_PATH.name}, {POINT_GAPS_PATH.name}: "
        f"every metric, {POINT_ROUNDS} scenarios a value) instead of the tables",
    )
    args = parser.parse_args()
    ASSETS.mkdir(exist_ok=True)
    if args.points:
        start = time.perf_counter()
        rows, gaps = figure4_points(tuple(ALL_METRICS), workers=args.workers)
        rows.to_csv(POINTS_PATH, index=False)
        gaps.to_csv(POINT_GAPS_PATH, index=False)
        print(f"wrote {POINTS_PATH} and {POINT_GAPS_PATH} in {time.perf_counter() - start:.1f} s")
        return
    for metric in args.metrics:
        start = time.perf_counter()
        table = figure4_table(metric, workers=args.workers)
        table.to_csv(asset_path(metric), index=False)
        print(
            f"wrote {asset_path(metric)} ({len(table)} rows) in {time.perf_counter() - start:.1f} s"
        )


if __name__ == "__main__":
    main()
