"""Stored results read from ``assets/``: Figure 4's tables and precomputed sweep points.

Loaded once per server process with ``st.cache_resource`` (every session reads the same
tables and never edits them). When Figure 4's table is missing, ``figure4_tables``
computes it live with few scenarios (``ggmi_app.cached.run_gap_sweep``) and says so.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple

import numpy as np
import pandas as pd
import streamlit as st
from pandas.util import hash_pandas_object

from ggmi_app.cached import CACHE_MAX_ENTRIES, CACHE_TTL_S, run_gap_sweep
from ggmi_core.config import ScenarioConfig
from ggmi_core.resources import FIGURE4_FILES, assets_dir
from ggmi_viz.gap_curves import per_scenario_table

ASSETS: Final[Path] = assets_dir()

#: Stored sweep points (written by ``bench/make_figure4_assets.py --points``): summary rows
#: keyed by the exact setting, and every scenario's gap by row position.
STORED_POINTS: Final[str] = "figure4_points.csv"
STORED_POINT_GAPS: Final[str] = "figure4_point_gaps.csv"


def _config_key(config: ScenarioConfig) -> str:
    """The exact setting of a stored point (the writer's key: JSON, sorted keys)."""
    return json.dumps(config.to_dict(), sort_keys=True)


@st.cache_resource(max_entries=1, ttl=CACHE_TTL_S, show_spinner=False)
def stored_points() -> dict[tuple[str, str, int, int], tuple[dict[str, Any], np.ndarray]]:
    """``{(config key, metric, rounds, n_mc): (summary row, gaps (R,))}`` from ``assets/``.

    Empty when the files are missing. Loaded once per server (about 0.2 MB).
    """
    rows_path, gaps_path = ASSETS / STORED_POINTS, ASSETS / STORED_POINT_GAPS
    if not (rows_path.is_file() and gaps_path.is_file()):
        return {}
    rows = pd.read_csv(rows_path)
    gaps = pd.read_csv(gaps_path)
    by_point = {int(p): g["gap"].to_numpy() for p, g in gaps.groupby("point", sort=False)}
    points = {}
    for i, row in enumerate(rows.to_dict("records")):
        key = (row.pop("config"), row["metric"], int(row["rounds"]), int(row["n_mc"]))
        points[key] = (row, by_point[i])
    return points


# A resource: the tables are built once per setting and read by every session (never
# edited), so a rerun of a stored sweep does not rebuild them (~5 ms a run).
@st.cache_resource(max_entries=CACHE_MAX_ENTRIES, ttl=CACHE_TTL_S, show_spinner=False)
def stored_sweep(
    settings: dict[str, Any],
    param: str,
    values: Sequence[float],
    rounds: int,
    metric: str,
    n_mc: int,
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """``run_gap_sweep``'s result from stored points, or None unless every value is stored.

    A point is served only for exactly the same setting (every field, seed included),
    divergence, scenario count and Monte Carlo draws as it was computed with, so the
    numbers are those ``run_gap_sweep`` would compute (a test recomputes some).
    """
    points = stored_points()
    if not points:
        return None
    base = ScenarioConfig.from_dict(settings)
    found = []
    for value in values:
        config = base.replace(**{param: value})
        key = (_config_key(config), metric, int(rounds), int(n_mc))
        if key not in points:
            return None
        row, gaps = points[key]
        # a setting shared by two sweeps (K = J = L = 2) may be stored under either letter
        found.append(({**row, "param": param, "value": getattr(config, param)}, gaps))
    summary = pd.DataFrame([row for row, _ in found])
    return summary, per_scenario_table(list(values), [gaps for _, gaps in found])


class Figure4Tables(NamedTuple):
    """One divergence's Figure-4 summaries and where they come from.

    Attributes:
        tables: ``{"K": summary, "J": ..., "L": ...}`` (shared: read only).
        note: where the numbers come from (file and scenarios per point, or live).
        key: a content key of ``tables`` (see ``tables_fingerprint``) for figure caches.
    """

    tables: dict[str, pd.DataFrame]
    note: str
    key: tuple


def tables_fingerprint(tables: dict[str, pd.DataFrame]) -> tuple:
    """A cheap content key of ``{letter: summary}``: letters, columns and row hashes.

    ``st.cache_data`` hashing the tables themselves costs ~40 ms; pandas' vectorised row
    hashes a few ms, paid once when the tables are read (not on every rerun).
    """
    return tuple(
        (letter, tuple(summary.columns), hash_pandas_object(summary).to_numpy().tobytes())
        for letter, summary in tables.items()
    )


# A resource, not data: every session reads the same tables (never edits them), so a
# rerun neither copies, re-splits nor re-hashes them.
@st.cache_resource(max_entries=4, ttl=CACHE_TTL_S, show_spinner=False)
def figure4_asset(metric: str) -> Figure4Tables | None:
    """The precomputed Figure-4 summaries of ``metric`` from ``assets/``, by letter.

    Returns:
        The tables with a note naming the file and scenarios per point, or None when
        the file is absent.
    """
    from ggmi_viz.gap_curves import tables_by_letter

    name = FIGURE4_FILES.get(metric)
    path = ASSETS / name if name else None
    if path is None or not path.is_file():
        return None
    stored = pd.read_csv(path)
    rounds = (
        f"{int(stored['rounds'].iloc[0])} scenarios per point"
        if "rounds" in stored.columns
        else "the stored scenarios per point"
    )
    tables = tables_by_letter(stored)
    return Figure4Tables(tables, f"precomputed ({name}, {rounds})", tables_fingerprint(tables))


#: Scenarios per point when Figure 4 must be computed live (assets missing): few, so
#: the page opens in seconds; the page says so.
FIGURE4_LIVE_ROUNDS: Final[dict[str, int]] = {"kl_published": 5, "js": 20}


def figure4_tables(metric: str) -> Figure4Tables:
    """Figure-4 summaries of ``metric`` by letter, from ``assets/`` or computed live
    (the note then says so)."""
    stored = figure4_asset(metric)
    if stored is not None:
        return stored
    rounds = FIGURE4_LIVE_ROUNDS[metric]
    base = ScenarioConfig().to_dict()
    tables = {}
    for letter in ("K", "J", "L"):
        text = f"Computing Figure 4 ({metric}), sweep of {letter}"
        values = list(range(2, 16))
        tables[letter], _ = run_gap_sweep(base, letter, values, rounds, metric, 2000, text)
    note = (
        f"computed live with only {rounds} scenarios per point because the precomputed "
        f"table assets/{FIGURE4_FILES[metric]} is missing; expect noisy curves"
    )
    return Figure4Tables(tables, note, tables_fingerprint(tables))
