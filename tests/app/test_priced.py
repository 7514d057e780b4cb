"""The one priced-job path: a request is priced and refused before any job runs."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

from ggmi_app import priced
from ggmi_app.job_keys import Job
from ggmi_core.budget import BudgetExceeded, work_budget

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ran(monkeypatch):
    """The jobs handed to the pool (run here, in order, without a pool)."""
    seen: list[Job] = []

    def fake_run_jobs(jobs, text):
        seen.extend(jobs)
        return [job() for job in jobs]

    monkeypatch.setattr(priced, "run_jobs", fake_run_jobs)
    return seen


def test_a_request_over_the_budget_is_refused_before_any_job_runs(ran):
    jobs = [Job.of(abs, -1)]
    with pytest.raises(BudgetExceeded, match="This sweep needs about"):
        priced.run_priced(jobs, "text", cost=work_budget() * 2, what="This sweep")
    assert ran == []


def test_a_request_within_the_budget_runs_its_jobs_in_order(ran):
    jobs = [Job.of(abs, -3), Job.of(abs, 2)]
    assert priced.run_priced(jobs, "text", cost=work_budget() / 2) == [3, 2]
    assert ran == jobs


def test_a_page_with_its_own_limit_passes_its_own_check(ran):
    asked = []

    def strict(cost: float) -> None:
        asked.append(cost)
        raise BudgetExceeded("too much for this page")

    with pytest.raises(BudgetExceeded, match="too much for this page"):
        priced.run_priced([Job.of(abs, 1)], "text", cost=0.5, check=strict)
    assert asked == [0.5] and ran == []


def test_table_jobs_are_joined_in_job_order(ran):
    jobs = [Job.of(pd.DataFrame, {"v": [i, i + 10]}) for i in (1, 2)]
    table = priced.run_priced_table(jobs, "text", cost=0.0)
    assert table["v"].tolist() == [1, 11, 2, 12]
    assert table.index.tolist() == [0, 1, 2, 3]


def test_only_the_priced_path_runs_pool_jobs():
    """No page writes price -> check -> run out again (the six copies this replaced)."""
    callers = []
    for path in sorted((ROOT / "ggmi_app").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {
            node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
        }
        if "run_jobs" in names:
            callers.append(path.name)
    assert callers == ["priced.py"]
