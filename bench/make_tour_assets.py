"""Precompute the numbers behind the guided tour's figures (``assets/tour/``).

The committed files were written by (from the repository root, nice'd on 2 cores)::

    nice -n 19 python bench/make_tour_assets.py

Every recipe lives in ``ggmi_core.tour_data`` (seed 0 = ``ScenarioConfig().seed``, the default
setting K = J = L = 2, N_k = 50, n = 200, d = 2, published covariances):

* ``figure4_kl_exact.csv``: exact KL(fit || G) gap, K, J and L each over 2..15 with the
  other two at 2, ``KL_EXACT_ROUNDS`` = 300 scenarios a value, 2,000 Monte Carlo draws
  (``ggmi_core.simulation.sweep_params``; the columns of ``SUMMARY_COLUMNS``);
* ``lemma31_terms.json``: ``bound_terms`` at the defaults, 50 scenarios, loss cap C = 10,
  JS gap, 2,000 draws (the Bound-terms page's Breakdown tab at its defaults);
* ``jl_contrast.csv``: ``sweep_bound_terms`` over J and over L in (2, 5, 8, 11, 15), 20
  scenarios a value (that page's J/L contrast at its defaults);
* ``sample_size.csv``: ``sample_size_table`` of ``sweep_bound_terms`` over n in
  (50, ..., 1600), 20 scenarios a value (that page's Lemma 4.8 comparison);
* ``hsic_adherence.csv``: ``diagnostics_sweep`` over adherence 0..1 (step 0.2), 10
  scenarios a value, 99 permutations (the Diagnostics page at its defaults).

Run with ``--only NAME`` (a key of ``ggmi_core.tour_data.ASSET_FILES``) to rewrite one file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ggmi_core import tour_data  # noqa: E402
from ggmi_core.bounds import (  # noqa: E402
    JL_GRID,
    LESSON_ROUNDS,
    N_GRID,
    bound_terms_without_scenarios,
    sample_size_table,
    sweep_bound_terms,
)
from ggmi_core.diagnostics import diagnostics_sweep  # noqa: E402
from ggmi_core.simulation import sweep_params  # noqa: E402

CONFIG = tour_data.TOUR_CONFIG


def kl_exact(workers: int) -> pd.DataFrame:
    grid = {p: tour_data.KL_EXACT_VALUES for p in ("K", "J", "L")}
    return sweep_params(
        CONFIG, grid, rounds=tour_data.KL_EXACT_ROUNDS, metric="kl", workers=workers,
        n_mc=tour_data.TOUR_N_MC,
    )  # fmt: skip


def lemma31(_: int) -> dict:
    terms = bound_terms_without_scenarios(
        CONFIG, tour_data.BREAKDOWN_ROUNDS, tour_data.TOUR_LOSS_CAP, tour_data.TOUR_N_MC,
        tour_data.TOUR_METRIC,
    )
    return tour_data.terms_to_json(terms)


def _bound_sweep(param: str, values: tuple) -> pd.DataFrame:
    return sweep_bound_terms(
        CONFIG, param, list(values), LESSON_ROUNDS, tour_data.TOUR_LOSS_CAP,
        tour_data.TOUR_N_MC,
        tour_data.TOUR_METRIC,
    )  # fmt: skip


def jl(_: int) -> pd.DataFrame:
    return pd.concat([_bound_sweep(p, JL_GRID) for p in ("J", "L")], ignore_index=True)


def sample_size(_: int) -> pd.DataFrame:
    return sample_size_table(CONFIG, _bound_sweep("n_synthetic", N_GRID))


def hsic(_: int) -> pd.DataFrame:
    return diagnostics_sweep(
        CONFIG, "adherence", tour_data.HSIC_GRID, rounds=tour_data.HSIC_ROUNDS,
        n_permutations=tour_data.HSIC_PERMUTATIONS,
    )  # fmt: skip


MAKERS: dict[str, Callable[[int], pd.DataFrame | dict]] = {
    "kl_exact": kl_exact,
    "lemma31": lemma31,
    "jl": jl,
    "sample_size": sample_size,
    "hsic": hsic,
}


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the guided tour's assets.")
    parser.add_argument("--only", nargs="+", choices=list(MAKERS), default=list(MAKERS))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    tour_data.TOUR_ASSETS.mkdir(parents=True, exist_ok=True)
    for name in args.only:
        start = time.perf_counter()
        result = MAKERS[name](args.workers)
        path = tour_data.asset_path(name)
        if isinstance(result, pd.DataFrame):
            result.to_csv(path, index=False)
        else:
            path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)} in {time.perf_counter() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main()
