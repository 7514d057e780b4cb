"""Measured numbers that the app's prose quotes: read from stored tables, never typed.

Every sentence that quotes a measured number takes it from ``quoted(name)``: a named set
of values read from one committed table (``assets/``), each with the recipe that
recomputes it at the stored seed (``recompute(name)``). ``tests/core/test_quoted.py``
recomputes every entry and compares; changing a stored number, or the code behind it,
fails that test. Numbers the paper reports (its tables, the authors' own runs) are not
measured here and are named as the paper's or the authors' where they appear.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import numpy as np
import pandas as pd

from ggmi_core import gap_map as gm
from ggmi_core import tour_data
from ggmi_core.bounds import (
    JL_GRID,
    LESSON_ROUNDS,
    N_GRID,
    bound_terms_without_scenarios,
    cap_saturation,
    sample_size_table,
    sweep_bound_terms,
)
from ggmi_core.diagnostics import diagnostics_sweep, summarise_sweep
from ggmi_core.simulation import summary_row

Values = dict[str, float]

#: Relative tolerance of a recomputation (the numbers are deterministic; this is round-off
#: from CSV text and summation order).
RECOMPUTE_RTOL: Final[float] = 1e-7


@dataclass(frozen=True)
class Quote:
    """A named set of stored values and how to recompute them.

    Attributes:
        name: the key prose uses.
        source: the committed file the values are read from (for messages).
        stored: reads the values from the committed table.
        recompute: recomputes the same values from the recipe at the stored seed.
        slow: True when recomputing takes more than a few seconds.
    """

    name: str
    source: str
    stored: Callable[[], Values]
    recompute: Callable[[], Values]
    slow: bool = False


# ------------------------------------------------------------- Figure 4 tables


def _row(table: pd.DataFrame, param: str, value: float) -> pd.Series:
    rows = table[(table["param"] == param) & (table["value"] == value)]
    if len(rows) != 1:
        raise ValueError(f"expected one stored row for {param} = {value}; found {len(rows)}")
    return rows.iloc[0]


_ROW_STATS: Final[tuple[str, ...]] = (
    "gap_mean", "gap_std", "gap_sem", "gap_median", "gap_q10", "gap_q90", "rounds", "n_mc",
)  # fmt: skip


def _stats(row: Mapping[str, Any], prefix: str = "") -> Values:
    return {f"{prefix}{k}": float(row[k]) for k in _ROW_STATS}


def _sweep_row(metric: str, param: str, value: int, rounds: int, n_mc: int) -> Values:
    config = tour_data.TOUR_CONFIG.replace(**{param: value})
    return _stats(summary_row(config, param, rounds, metric, n_mc))


def _stored_base(table_name: str) -> Values:
    return _stats(_row(tour_data.load_table(table_name), "K", 2))


def _recompute_base(table_name: str, metric: str) -> Callable[[], Values]:
    def run() -> Values:
        stored = _stored_base(table_name)
        return _sweep_row(metric, "K", 2, int(stored["rounds"]), int(stored["n_mc"]))

    return run


_ENDS: Final[tuple[tuple[str, int], ...]] = (("K", 15), ("J", 15), ("L", 15))


def _stored_js_ends() -> Values:
    table = tour_data.load_table("js")
    out = _stats(_row(table, "K", 2), "base_")
    for param, value in _ENDS:
        out |= _stats(_row(table, param, value), f"{param}{value}_")
    return out


def _recompute_js_ends() -> Values:
    stored = _stored_js_ends()
    rounds, n_mc = int(stored["base_rounds"]), int(stored["base_n_mc"])
    out = {f"base_{k}": v for k, v in _sweep_row("js", "K", 2, rounds, n_mc).items()}
    for param, value in _ENDS:
        row = _sweep_row("js", param, value, rounds, n_mc)
        out |= {f"{param}{value}_{k}": v for k, v in row.items()}
    return out


# ------------------------------------------------------------- tour tables


def _stored_lemma31() -> Values:
    terms = tour_data.load_lemma31_terms()
    return _lemma31_values(terms)


def _lemma31_values(terms: Any) -> Values:
    summary = terms.summary().set_index("term")["mean"]
    keys = ("info_gain", "task_term", "generation_term", "sampling_term", "err_synthetic")
    synthetic, anchor = cap_saturation(terms) or (float("nan"), float("nan"))
    return {k: float(summary[k]) for k in keys} | {
        "holds": float(np.sum(terms.bound_holds)),
        "rounds": float(terms.rounds),
        "cap_share_synthetic": synthetic,
        "cap_share_anchor": anchor,
    }


def _recompute_lemma31() -> Values:
    terms = bound_terms_without_scenarios(
        tour_data.TOUR_CONFIG, tour_data.BREAKDOWN_ROUNDS, tour_data.TOUR_LOSS_CAP,
        tour_data.TOUR_N_MC,
        tour_data.TOUR_METRIC,
    )  # fmt: skip
    return _lemma31_values(terms)


def _task_ends(table: pd.DataFrame) -> Values:
    out: Values = {}
    for letter in ("J", "L"):
        rows = table[(table["param"] == letter) & (table["term"] == "task_term")]
        rows = rows.sort_values("value")
        out[f"task_{letter}_first"] = float(rows["mean"].iloc[0])
        out[f"task_{letter}_last"] = float(rows["mean"].iloc[-1])
    return out


def _recompute_task_ends() -> Values:
    ends = [min(JL_GRID), max(JL_GRID)]
    parts = [
        sweep_bound_terms(
            tour_data.TOUR_CONFIG,
            letter,
            [value],
            LESSON_ROUNDS,
            tour_data.TOUR_LOSS_CAP,
            tour_data.TOUR_N_MC,
            tour_data.TOUR_METRIC,
        )
        for letter in ("J", "L")
        for value in ends
    ]
    return _task_ends(pd.concat(parts, ignore_index=True))


def _sample_size_values(size: pd.DataFrame) -> Values:
    size = size.sort_values("n")
    return {
        "err_gen_first": float(size["err_synthetic"].iloc[0]),
        "err_gen_min": float(size["err_synthetic"].min()),
        "n_first": float(size["n"].iloc[0]),
        "err_anchor": float(size["err_anchor"].mean()),
    }


def _recompute_sample_size() -> Values:
    sweep = sweep_bound_terms(
        tour_data.TOUR_CONFIG, "n_synthetic", list(N_GRID), LESSON_ROUNDS,
        tour_data.TOUR_LOSS_CAP, tour_data.TOUR_N_MC, tour_data.TOUR_METRIC,
    )  # fmt: skip
    return _sample_size_values(sample_size_table(tour_data.TOUR_CONFIG, sweep))


def _hsic_values(per_scenario: pd.DataFrame) -> Values:
    hsic = summarise_sweep(per_scenario).sort_values("value")
    return {
        "hsic_first": float(hsic["hsic_mean"].iloc[0]),
        "hsic_last": float(hsic["hsic_mean"].iloc[-1]),
        "reject_last": float(hsic["hsic_reject_rate"].iloc[-1]),
    }


def _recompute_hsic() -> Values:
    ends = [min(tour_data.HSIC_GRID), max(tour_data.HSIC_GRID)]
    table = diagnostics_sweep(
        tour_data.TOUR_CONFIG, "adherence", ends, rounds=tour_data.HSIC_ROUNDS,
        n_permutations=tour_data.HSIC_PERMUTATIONS,
    )  # fmt: skip
    return _hsic_values(table)


# ------------------------------------------------------------- the gap map

#: Cells of the stored JS map that prose quotes: (plane, x value, y value).
MAP_QUOTED_CELLS: Final[tuple[tuple[str, int, int], ...]] = (
    ("JL", 15, 2),  # many unsampled, few irrelevant: helps most on that plane
    ("JL", 2, 15),  # few unsampled, many irrelevant: hurts
    ("KJ", 15, 15),  # many of both
)


def _cell_key(plane: str, xv: int, yv: int) -> str:
    x, y = gm.PLANES[plane]
    return f"{x}{xv}_{y}{yv}"


def _stored_map_cells() -> Values:
    table = gm.load_stored_map("js")
    out: Values = {}
    for plane, xv, yv in MAP_QUOTED_CELLS:
        rows = gm.plane_table(table, plane)
        row = rows[(rows["x_value"] == xv) & (rows["y_value"] == yv)].iloc[0]
        key = _cell_key(plane, xv, yv)
        out[f"{key}_gap_mean"] = float(row["gap_mean"])
        out[f"{key}_positive_share"] = float(row["gap_positive_share"])
        out[f"{key}_rounds"] = float(row["rounds"])
    return out


def _recompute_map_cells() -> Values:
    stored = _stored_map_cells()
    out: Values = {}
    for plane, xv, yv in MAP_QUOTED_CELLS:
        key = _cell_key(plane, xv, yv)
        rows = gm.gap_map(
            tour_data.TOUR_CONFIG, plane, [xv], [yv], rounds=int(stored[f"{key}_rounds"]),
            metric="js", n_mc=gm.MAP_N_MC,
        )  # fmt: skip
        row = rows.iloc[0]
        out[f"{key}_gap_mean"] = float(row["gap_mean"])
        out[f"{key}_positive_share"] = float(row["gap_positive_share"])
        out[f"{key}_rounds"] = float(row["rounds"])
    return out


# ------------------------------------------------------------- the registry

QUOTES: Final[dict[str, Quote]] = {
    q.name: q
    for q in (
        Quote(
            "kl_exact_base",
            "assets/tour/figure4_kl_exact.csv",
            lambda: _stored_base("kl_exact"),
            _recompute_base("kl_exact", "kl"),
        ),
        Quote(
            "kl_published_base",
            "assets/figure4_kl_published.csv",
            lambda: _stored_base("kl_published"),
            _recompute_base("kl_published", "kl_published"),
            slow=True,
        ),
        Quote("js_ends", "assets/figure4_js.csv", _stored_js_ends, _recompute_js_ends, slow=True),
        Quote("lemma31", "assets/tour/lemma31_terms.json", _stored_lemma31, _recompute_lemma31),
        Quote(
            "task_ends",
            "assets/tour/jl_contrast.csv",
            lambda: _task_ends(tour_data.load_table("jl")),
            _recompute_task_ends,
        ),
        Quote(
            "sample_size",
            "assets/tour/sample_size.csv",
            lambda: _sample_size_values(tour_data.load_table("sample_size")),
            _recompute_sample_size,
        ),
        Quote(
            "hsic",
            "assets/tour/hsic_adherence.csv",
            lambda: _hsic_values(tour_data.load_table("hsic")),
            _recompute_hsic,
        ),
        Quote(
            "map_cells", "assets/gap_map_js.csv", _stored_map_cells, _recompute_map_cells, slow=True
        ),
    )
}


@lru_cache(maxsize=len(QUOTES))
def _cached(name: str) -> tuple[tuple[str, float], ...]:
    return tuple(QUOTES[name].stored().items())


def quoted(name: str) -> Values:
    """The stored values of quote ``name`` (a key of ``QUOTES``), read once per process."""
    if name not in QUOTES:
        raise KeyError(f"no stored quote {name!r}; known: {', '.join(QUOTES)}")
    return dict(_cached(name))


def mismatches(stored: Values, fresh: Values, rtol: float = RECOMPUTE_RTOL) -> list[str]:
    """Keys whose stored and recomputed values differ (beyond round-off), with both."""
    out = [f"{k}: missing from the recomputation" for k in stored if k not in fresh]
    for key, value in fresh.items():
        if key not in stored:
            out.append(f"{key}: missing from the stored table")
        elif not np.isclose(stored[key], value, rtol=rtol, atol=1e-12):
            out.append(f"{key}: stored {stored[key]!r}, recomputed {value!r}")
    return out
