"""Work estimates rank requests sensibly and refusals say what to reduce."""

import pytest

from ggmi_core.budget import (
    DEFAULT_WORK_BUDGET,
    BudgetExceeded,
    check_budget,
    estimate_cost,
    estimate_sweep_cost,
    max_rounds_within_budget,
    work_budget,
)
from ggmi_core.config import ScenarioConfig


def test_default_setting_is_one_unit_and_cost_scales_with_rounds():
    cfg = ScenarioConfig()
    assert estimate_cost(cfg, 100) == pytest.approx(1.0)
    assert estimate_cost(cfg, 300) == pytest.approx(3.0)


@pytest.mark.parametrize(
    "change",
    [
        {"K": 10},
        {"J": 10},
        {"L": 10},
        {"n_synthetic": 2000},
        {"n_anchor_per_component": 500},
        {"dim": 6},
    ],
)
def test_bigger_problems_cost_more(change):
    cfg = ScenarioConfig()
    assert estimate_cost(cfg.replace(**change), 100) > estimate_cost(cfg, 100)


def test_published_histogram_metric_costs_more_than_exact_js():
    cfg = ScenarioConfig()
    assert estimate_cost(cfg, 100, metric="kl_published") > estimate_cost(cfg, 100, metric="js")


def test_full_published_letter_sweep_fits_the_default_budget():
    cost = estimate_sweep_cost(ScenarioConfig(), "K", range(2, 16), rounds=100)
    assert cost < DEFAULT_WORK_BUDGET
    check_budget(cost)


def test_oversized_request_is_refused_with_advice():
    huge = ScenarioConfig(K=40, J=40, L=40, n_synthetic=50000, n_anchor_per_component=5000)
    with pytest.raises(BudgetExceeded, match="Reduce") as err:
        check_budget(estimate_cost(huge, 1000))
    assert isinstance(err.value, ValueError)


def test_max_rounds_respects_budget():
    cfg = ScenarioConfig(K=15)
    rounds = max_rounds_within_budget(cfg, budget=10.0)
    assert estimate_cost(cfg, rounds) <= 10.0 < estimate_cost(cfg, rounds + 1)


def test_budget_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("GGMI_WORK_BUDGET", "5")
    assert work_budget() == 5.0
    with pytest.raises(BudgetExceeded):
        check_budget(6.0)
    monkeypatch.setenv("GGMI_WORK_BUDGET", "garbage")
    assert work_budget() == DEFAULT_WORK_BUDGET


def test_nonpositive_rounds_are_rejected():
    with pytest.raises(ValueError, match="rounds"):
        estimate_cost(ScenarioConfig(), 0)
