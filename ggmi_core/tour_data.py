"""The guided tour's numbers: its recipes, the stored tables and the one live scenario.

Every tour figure is drawn (``ggmi_viz.tour``) from numbers that are either cheap (one
seeded scenario, ~20 ms, made here with ``simulate``) or precomputed by
``bench/make_tour_assets.py`` into ``assets/tour/`` (small CSV/JSON tables). The recipes
below are the single source of how those numbers were made; the app's pages use the same
recipes, so "open this on the page" shows the same numbers. Tables are read once per
process (``functools.lru_cache``: a fixed, small set that never goes stale).

``step_inputs(figure_id)`` gives what one step's figure draws, by figure id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from ggmi_core.bounds import BoundTerms
from ggmi_core.config import ScenarioConfig
from ggmi_core.diagnostics import summarise_sweep
from ggmi_core.estimate import Estimate
from ggmi_core.gap_map import load_stored_map
from ggmi_core.resources import FIGURE4_FILES, assets_dir
from ggmi_core.scenario_report import ScenarioView, view_from_result

ASSETS: Final[Path] = assets_dir()
TOUR_ASSETS: Final[Path] = ASSETS / "tour"

#: Every tour number comes from the default scenario setting (K = J = L = 2, N_k = 50,
#: n = 200, d = 2, published covariance recipe, seed 0).
TOUR_CONFIG: Final[ScenarioConfig] = ScenarioConfig()
#: Divergence and Monte Carlo draws of the Bound-terms steps (the app's defaults).
TOUR_METRIC: Final[str] = "js"
TOUR_N_MC: Final[int] = 2000
#: Loss cap C (nats) of the Lemma 3.1 steps: the Bound-terms page's default.
TOUR_LOSS_CAP: Final[float] = 10.0
#: Scenarios of the Lemma 3.1 breakdown (the Bound-terms page's default).
BREAKDOWN_ROUNDS: Final[int] = 50
#: J/L contrast and Lemma 4.8 comparison: the Bound-terms page's grids and scenario count.
#: Exact-KL Figure 4: K, J and L each over 2..15, this many scenarios a value.
KL_EXACT_VALUES: Final[tuple[int, ...]] = tuple(range(2, 16))
KL_EXACT_ROUNDS: Final[int] = 300
#: Appendix G step: HSIC against prompt adherence (the Diagnostics page's default sweep).
HSIC_GRID: Final[tuple[float, ...]] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
HSIC_ROUNDS: Final[int] = 10
HSIC_PERMUTATIONS: Final[int] = 99
#: Monte Carlo draws of the one-scenario view (as on the Distributions page).
SCENARIO_MC: Final[int] = 4000

ASSET_FILES: Final[dict[str, str]] = {
    "kl_exact": "figure4_kl_exact.csv",
    "lemma31": "lemma31_terms.json",
    "jl": "jl_contrast.csv",
    "sample_size": "sample_size.csv",
    "hsic": "hsic_adherence.csv",
}


def asset_path(name: str) -> Path:
    """Path of the tour asset ``name`` (a key of ``ASSET_FILES``)."""
    return TOUR_ASSETS / ASSET_FILES[name]


# ------------------------------------------------------------- BoundTerms as JSON

_ESTIMATE_FIELDS: Final[tuple[str, ...]] = tuple(
    f.name for f in fields(BoundTerms) if f.type in ("Estimate", Estimate)
)


def terms_to_json(terms: BoundTerms) -> dict[str, Any]:
    """``terms`` without its scenarios as plain JSON (per-scenario arrays as lists)."""
    return {
        "config": terms.config.to_dict(),
        "loss_cap": terms.loss_cap,
        "n_mc": terms.n_mc,
        "metric": terms.metric,
        "estimates": {
            name: {
                "value": np.asarray(getattr(terms, name).value, dtype=float).tolist(),
                "stderr": np.asarray(getattr(terms, name).stderr, dtype=float).tolist(),
            }
            for name in _ESTIMATE_FIELDS
        },
        "extras": {k: np.asarray(v, dtype=float).tolist() for k, v in terms.extras.items()},
    }


def terms_from_json(doc: Mapping[str, Any]) -> BoundTerms:
    """Inverse of ``terms_to_json`` (arrays of shape (R,), ``scenarios=None``)."""
    estimates = {
        name: Estimate(np.asarray(e["value"], dtype=float), np.asarray(e["stderr"], dtype=float))
        for name, e in doc["estimates"].items()
    }
    return BoundTerms(
        config=ScenarioConfig.from_dict(doc["config"]),
        loss_cap=float(doc["loss_cap"]),
        n_mc=int(doc["n_mc"]),
        metric=str(doc["metric"]),
        extras={k: np.asarray(v, dtype=float) for k, v in doc["extras"].items()},
        **estimates,
    )


# ------------------------------------------------------------------ loading data


@lru_cache(maxsize=1)
def tour_scenario() -> ScenarioView:
    """The one scenario of steps 1-3 (default settings, seed 0), fits included.

    Made exactly as the Distributions page makes it (``simulate`` with one scenario),
    so that page shows the same points.
    """
    from ggmi_core.simulation import simulate

    result = simulate(TOUR_CONFIG, rounds=1, metric=TOUR_METRIC, n_mc=SCENARIO_MC)
    return view_from_result(result, 0)


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"tour asset {path.name} is missing; run bench/make_tour_assets.py")
    return pd.read_csv(path)


@lru_cache(maxsize=8)
def load_table(name: str) -> pd.DataFrame:
    """A tour CSV asset (``ASSET_FILES`` key) or a Figure-4 table (``FIGURE4_FILES`` key)."""
    if name in FIGURE4_FILES:
        return _read_csv(ASSETS / FIGURE4_FILES[name])
    return _read_csv(asset_path(name))


@lru_cache(maxsize=1)
def load_lemma31_terms() -> BoundTerms:
    """The Lemma 3.1 breakdown (``BREAKDOWN_ROUNDS`` scenarios) from its JSON asset."""
    path = asset_path("lemma31")
    if not path.is_file():
        raise FileNotFoundError(f"tour asset {path.name} is missing; run bench/make_tour_assets.py")
    return terms_from_json(json.loads(path.read_text(encoding="utf-8")))


def jl_sweeps() -> dict[str, pd.DataFrame]:
    """``{"J": table, "L": table}`` of the J/L contrast asset."""
    table = load_table("jl")
    return {p: table[table["param"] == p].reset_index(drop=True) for p in ("J", "L")}


#: The closing step's map: the stored exact-JS map (``bench/make_gap_map.py``).
MAP_METRIC: Final[str] = "js"
#: Figure ids of the steps that show the one live scenario.
SCENARIO_STEPS: Final[tuple[str, ...]] = ("world", "anchor", "model")


def step_inputs(figure_id: str) -> dict[str, Any]:
    """What the tour figure ``figure_id`` draws (tables read once per process).

    Keys by figure id:

    * world, anchor, model: ``view`` (the one live ``ScenarioView``);
    * gap_J, gap_L: ``table`` (the JS Figure-4 table); sample_size: ``table``;
    * hsic: ``table`` (per-scenario rows) and ``summary`` (by value);
    * estimator: ``published`` and ``exact`` (Figure-4 tables of the published estimator
      and of exact KL);
    * lemma31: ``terms`` (``BoundTerms``);
    * jl: ``sweeps`` (``{"J": table, "L": table}``) and ``metric`` (``TOUR_METRIC``);
    * gap_map: ``map`` (the stored map table) and ``metric`` (``MAP_METRIC``).

    Shared objects: callers must not modify them.

    Raises:
        ValueError: an unknown figure id.
        FileNotFoundError: a stored table is missing (``bench/make_tour_assets.py``).
    """
    if figure_id in SCENARIO_STEPS:
        return {"view": tour_scenario()}
    if figure_id in ("gap_J", "gap_L"):
        return {"table": load_table("js")}
    if figure_id == "estimator":
        return {"published": load_table("kl_published"), "exact": load_table("kl_exact")}
    if figure_id == "lemma31":
        return {"terms": load_lemma31_terms()}
    if figure_id == "jl":
        return {"sweeps": jl_sweeps(), "metric": TOUR_METRIC}
    if figure_id == "sample_size":
        return {"table": load_table("sample_size")}
    if figure_id == "hsic":
        per_scenario = load_table("hsic")
        return {"table": per_scenario, "summary": summarise_sweep(per_scenario)}
    if figure_id == "gap_map":
        return {"map": load_stored_map(MAP_METRIC), "metric": MAP_METRIC}
    raise ValueError(f"unknown tour figure {figure_id!r}")
