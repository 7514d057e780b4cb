"""Work estimates for simulation requests, so a shared server can refuse oversized ones.

Costs are in *default-setting units*: one unit is the work of one slider setting at the
published defaults (100 scenarios, K=J=L=2, N_k=50, n=200, d=2, exact JS). The model
counts the dominant array operations (EM sweeps over points x components x d^2, and
Monte Carlo log-density evaluations); it is a ranking of requests, not a stopwatch.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from ggmi_core.config import DEFAULT_N_MC, ScenarioConfig
from ggmi_core.metrics import get_metric

EM_ITERATIONS_TYPICAL = 30
"""EM sweeps assumed per fit (the cap is 100; converged fits stop far earlier)."""


DEFAULT_WORK_BUDGET = 150.0
"""Units one request may use: enough for a full published Figure-4 sweep of one letter
(K, J or L over 2..15 at 100 scenarios a point), far below what would stall a 2-core
server. Override with the environment variable ``GGMI_WORK_BUDGET``."""


class BudgetExceeded(ValueError):
    """A request would cost more work than the server allows."""


def work_budget() -> float:
    """The configured per-request budget in default-setting units."""
    raw = os.environ.get("GGMI_WORK_BUDGET", "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_WORK_BUDGET
    return value if value > 0 else DEFAULT_WORK_BUDGET


def _raw_cost(config: ScenarioConfig, rounds: int, n_mc: int, metric: str) -> float:
    d_work = config.dim * (config.dim + 1)
    em = (config.n_anchor * config.K + config.n_synthetic * config.n_model_components) * (
        d_work * EM_ITERATIONS_TYPICAL
    )
    # each divergence evaluates both mixtures on samples from both sides
    evaluated = 2 * (config.K + config.n_model_components + 2 * config.n_target_components)
    monte_carlo = 2 * n_mc * evaluated * d_work
    # a metric with its own sample sizes (the published histograms) adds a fixed cost
    extra = get_metric(metric).extra_cost
    fixed = _DEFAULT_SCENARIO * extra if extra else 0.0  # the default scenario costs none
    return rounds * (em + monte_carlo + fixed)


_DEFAULT_SCENARIO = _raw_cost(ScenarioConfig(), rounds=1, n_mc=DEFAULT_N_MC, metric="js")
_UNIT = 100 * _DEFAULT_SCENARIO


def estimate_cost(
    config: ScenarioConfig, rounds: int, n_mc: int = DEFAULT_N_MC, metric: str = "js"
) -> float:
    """Work of one ``simulate(config, rounds, metric, n_mc)`` call in default-setting units."""
    if rounds < 1 or n_mc < 1:
        raise ValueError(f"rounds and n_mc must be positive; got rounds={rounds}, n_mc={n_mc}")
    return _raw_cost(config, rounds, n_mc, metric) / _UNIT


def estimate_sweep_cost(
    config: ScenarioConfig,
    param: str,
    values: Iterable[float],
    rounds: int,
    n_mc: int = DEFAULT_N_MC,
    metric: str = "js",
) -> float:
    """Work of a sweep: the sum of the per-value costs (units as ``estimate_cost``)."""
    return sum(estimate_cost(config.replace(**{param: v}), rounds, n_mc, metric) for v in values)


def check_budget(cost: float, budget: float | None = None, what: str = "This request") -> None:
    """Raise ``BudgetExceeded`` with advice when ``cost`` exceeds the budget."""
    limit = work_budget() if budget is None else budget
    if cost > limit:
        raise BudgetExceeded(
            f"{what} needs about {cost:,.0f} units of work; this server allows {limit:,.0f} "
            "(1 unit = 100 scenarios at the default setting). Reduce the scenarios per "
            "point, the sweep range, the sample sizes (N_k, n), the dimension or the "
            "Monte Carlo samples."
        )


def max_rounds_within_budget(
    config: ScenarioConfig,
    n_mc: int = DEFAULT_N_MC,
    metric: str = "js",
    budget: float | None = None,
    n_points: int = 1,
) -> int:
    """Largest scenario count that keeps ``n_points`` settings like ``config`` in budget."""
    limit = work_budget() if budget is None else budget
    per_round = estimate_cost(config, 1, n_mc, metric) * n_points
    return max(0, int(limit // per_round))
