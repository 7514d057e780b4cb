"""Cached ggmi_core calls of the pages, cache bounds, and budget-capped sliders.

The single Figure-2 scenario is computed here in the session's thread and kept by
``st.cache_data`` (plain, hashable arguments; bounded by ``max_entries`` and ``ttl``).
Sweeps are heavier: each value is a job of the shared worker pool and cache in
``ggmi_app.compute``, run behind a progress bar.

Before any work the request is priced with ``ggmi_core.budget`` and refused with
``BudgetExceeded`` (a ``ValueError`` whose message says what to reduce) when too big.
``budget_cap`` and ``budget_capped`` turn a per-scenario price into the largest scenario
count a slider offers (the KL Gap curves and Bound terms pages both use them).
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

from ggmi_app.job_keys import Job
from ggmi_app.params import IntParam
from ggmi_app.priced import run_priced
from ggmi_app.scenario_params import cap_param
from ggmi_app.state import sidebar_controls
from ggmi_core.budget import check_budget, estimate_cost, estimate_sweep_cost, work_budget
from ggmi_core.config import ScenarioConfig
from ggmi_core.resources import assets_dir
from ggmi_core.scenario_report import ScenarioView, divergence_table, view_from_result
from ggmi_viz.gap_curves import FIGURE4_FILES, per_scenario_table

#: Entries kept per ``st.cache_data`` function (least recently used ones are dropped
#: first). ``st.cache_data`` bounds entries and age, not bytes, so a cached function must
#: return results whose size is itself bounded (the work budget caps points x scenarios).
CACHE_MAX_ENTRIES: Final[int] = 64
#: Seconds an entry lives before it is recomputed (1 hour).
CACHE_TTL_S: Final[int] = 3600
#: A smaller bound for functions whose results are large (figures, sample clouds).
CACHE_MAX_ENTRIES_LARGE: Final[int] = 16

ASSETS: Final[Path] = assets_dir()
#: Monte Carlo draws for the Distributions page's divergence table.
TABLE_MC: Final[int] = 4000
#: Divergence computed alongside the Figure-2 scenario (cheap, not shown as a curve).
SCENARIO_METRIC: Final[str] = "js"


def scenario_cost(config: ScenarioConfig) -> float:
    """Work units of one Figure-2 scenario (fits plus the divergence table)."""
    # the table evaluates four Monte Carlo divergences and the histogram KL
    return estimate_cost(config, rounds=1, n_mc=4 * TABLE_MC, metric="kl_published")


def check_scenario_budget(config: ScenarioConfig) -> float:
    """Price one Figure-2 scenario (``scenario_cost``); raise when too big."""
    cost = scenario_cost(config)
    check_budget(cost, what="This scenario")
    return cost


@st.cache_data(max_entries=CACHE_MAX_ENTRIES_LARGE, ttl=CACHE_TTL_S, show_spinner=False)
def scenario_view(settings: dict[str, Any]) -> ScenarioView:
    """One scenario of ``settings`` (a ``ScenarioConfig`` dict) with both fitted mixtures.

    The scenario and its fits come from ``ggmi_core.simulation.simulate(config, rounds=1)``, so the
    same seed gives the same numbers here and in a one-scenario sweep.
    """
    from ggmi_core.simulation import simulate

    config = ScenarioConfig.from_dict(settings)
    check_scenario_budget(config)
    result = simulate(config, rounds=1, metric=SCENARIO_METRIC, n_mc=TABLE_MC)
    return view_from_result(result, 0)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, ttl=CACHE_TTL_S, show_spinner=False)
def scenario_divergences(settings: dict[str, Any]) -> pd.DataFrame:
    """The divergence table of ``scenario_view(settings)`` (nats; TV as a probability)."""
    config = ScenarioConfig.from_dict(settings)
    view = scenario_view(settings)
    # a seed of its own, derived from the scenario's: the table is reproducible too
    rng = np.random.default_rng([config.seed, 2])
    return divergence_table(view, rng, n_mc=TABLE_MC)


def sweep_cost(
    settings: dict[str, Any],
    param: str,
    values: Sequence[float],
    rounds: int,
    metric: str,
    n_mc: int,
) -> float:
    """Work units of a sweep (see ``ggmi_core.budget``)."""
    config = ScenarioConfig.from_dict(settings)
    return estimate_sweep_cost(config, param, values, rounds, n_mc=n_mc, metric=metric)


def budget_cap(per_scenario: float) -> int:
    """Most scenarios the work budget allows when each costs ``per_scenario`` units."""
    return int(work_budget() // per_scenario) if per_scenario > 0 else 10**9


def max_rounds(
    settings: dict[str, Any], param: str, values: Sequence[float], metric: str, n_mc: int
) -> int:
    """Most scenarios per value that keep this sweep within the work budget."""
    return budget_cap(sweep_cost(settings, param, values, 1, metric, n_mc))


def budget_capped(param: IntParam, cap: int | None, *, prefix: str = "") -> IntParam:
    """A scenario-count param capped at ``cap``; lowers a remembered value above it.

    Call it before drawing the widget (``sidebar_controls([...])``), after the settings
    the cap depends on. A value chosen before the cap dropped (still in the widget's
    state, or applied from a loaded settings file) is lowered to the new maximum with a
    toast: Streamlit would refuse to draw a slider holding it. A URL value above the cap
    needs nothing here: the widget's seeding rejects it with a notice naming the allowed
    range. ``cap=None`` (settings not valid yet) leaves ``param`` as it is.
    """
    capped = cap_param(param, cap)
    key = prefix + param.name
    asked = st.session_state.get(key)
    if isinstance(asked, int) and asked > capped.max:
        st.session_state[key] = capped.max
        label = param.label[:1].upper() + param.label[1:]
        st.toast(f"{label} lowered to {capped.max}: the work budget allows no more.")
    return capped


def budget_slider(slot: Any, param: IntParam, cap: int | None, *, prefix: str = "") -> int:
    """Draw the scenario-count slider ``param`` into ``slot``, its maximum lowered to ``cap``.

    The pages' pattern for a slider whose range depends on the other settings: make the
    ``slot`` (``st.sidebar.container()``) where the slider belongs, draw the other
    settings, price them into ``cap`` (``budget_cap``), then call this.
    """
    capped = budget_capped(param, cap, prefix=prefix)
    return sidebar_controls([capped], prefix=prefix, container=slot)[param.name]


def run_gap_sweep(
    settings: dict[str, Any],
    param: str,
    values: Sequence[float],
    rounds: int,
    metric: str,
    n_mc: int,
    text: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The gap of ``metric`` over ``values`` of ``param``, ``rounds`` scenarios per value.

    Equal, row by row, to ``ggmi_core.sweep`` (each row is ``simulate`` on the changed
    config), and also returns every scenario's gap for the distribution plots. Each value
    is one job of the shared worker pool (``ggmi_app.compute``), cached per value, so
    widening a range or revisiting a setting reuses what any session computed.

    Args:
        text: progress-bar text (default: "Sweeping <param> over <n> values").

    Returns:
        ``(summary, per_scenario)``: ``ggmi_core.simulation.SUMMARY_COLUMNS`` rows, one per
        value, and ``value, scenario, gap`` rows, one per scenario; gaps in nats (TV: a
        probability).

    Raises:
        BudgetExceeded: the sweep would cost more than the server allows.
        ValueError: a value outside its field's range, or an invalid combination.
    """
    from ggmi_core.simulation import gap_point

    base = ScenarioConfig.from_dict(settings)
    configs = [base.replace(**{param: v}) for v in values]  # validates every value first
    jobs = [Job.of(gap_point, config, param, rounds, metric, n_mc) for config in configs]
    points = run_priced(
        jobs,
        text or f"Sweeping {param} over {len(values)} values",
        cost=sweep_cost(settings, param, values, rounds, metric, n_mc),
        what="This sweep",
    )
    rows = [row for row, _ in points]
    return pd.DataFrame(rows), per_scenario_table(list(values), [gaps for _, gaps in points])


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
    from ggmi_viz.gap_curves import figure4_tables as split_by_letter

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
    tables = split_by_letter(stored)
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
