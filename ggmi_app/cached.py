"""Cached ggmi_core calls of the pages, their prices, and the bounds of Streamlit's caches.

The single Figure-2 scenario is computed here in the session's thread and kept by
``st.cache_data`` (plain, hashable arguments; bounded by ``max_entries`` and ``ttl``).
Sweeps are heavier: each value is a job of the shared worker pool and cache in
``ggmi_app.compute``, run behind a progress bar.

Before any work the request is priced with ``ggmi_core.budget`` and refused with
``BudgetExceeded`` (a ``ValueError`` whose message says what to reduce) when too big.
``max_rounds`` turns a sweep's price into the largest scenario count its slider offers
(drawn by ``ggmi_app.budget_sliders``). Stored results read from ``assets/`` are in
``ggmi_app.stored_assets``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
import streamlit as st

from ggmi_app.budget_sliders import budget_cap
from ggmi_app.job_keys import Job
from ggmi_app.priced import run_priced
from ggmi_core.budget import check_budget, estimate_cost, estimate_sweep_cost
from ggmi_core.config import ScenarioConfig
from ggmi_core.scenario_report import ScenarioView, divergence_table, view_from_result
from ggmi_viz.gap_curves import per_scenario_table

#: Entries kept per ``st.cache_data`` function (least recently used ones are dropped
#: first). ``st.cache_data`` bounds entries and age, not bytes, so a cached function must
#: return results whose size is itself bounded (the work budget caps points x scenarios).
CACHE_MAX_ENTRIES: Final[int] = 64
#: Seconds an entry lives before it is recomputed (1 hour).
CACHE_TTL_S: Final[int] = 3600
#: A smaller bound for functions whose results are large (figures, sample clouds).
CACHE_MAX_ENTRIES_LARGE: Final[int] = 16

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


def max_rounds(
    settings: dict[str, Any], param: str, values: Sequence[float], metric: str, n_mc: int
) -> int:
    """Most scenarios per value that keep this sweep within the work budget."""
    return budget_cap(sweep_cost(settings, param, values, 1, metric, n_mc))


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
