"""Priced pool work: the one way a page runs heavy jobs.

Every heavy request follows the same steps: price it in work units (``ggmi_core.budget``),
refuse it with advice when it is over the server's budget, run its jobs in the shared
worker pool behind a progress bar (``ggmi_app.jobs.run_jobs``) and, for table-valued
jobs, join their tables. Pages call ``run_priced`` or ``run_priced_table`` instead of
writing those steps out, so no page can forget the price.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from ggmi_app.job_keys import Job
from ggmi_app.jobs import run_jobs
from ggmi_core.budget import check_budget


def run_priced(
    jobs: Sequence[Job],
    text: str,
    *,
    cost: float,
    what: str = "This request",
    check: Callable[[float], None] | None = None,
) -> list[Any]:
    """The results of ``jobs``, in order, once their ``cost`` is within the budget.

    Args:
        jobs: the pool jobs of the request (nothing runs before the check).
        text: progress-bar text.
        cost: the request's price in work units (1 unit = 100 default scenarios).
        what: the request's name in the refusal message ("This sweep").
        check: raises ``BudgetExceeded`` when ``cost`` is too high; default
            ``ggmi_core.budget.check_budget`` (a page with its own limit passes its own).

    Raises:
        BudgetExceeded: the request costs more than the server allows (a ``ValueError``
            whose message says what to reduce; pages show it, never a traceback).
    """
    if check is None:
        check_budget(cost, what=what)
    else:
        check(cost)
    return run_jobs(jobs, text)


def run_priced_table(
    jobs: Sequence[Job],
    text: str,
    *,
    cost: float,
    what: str = "This request",
    check: Callable[[float], None] | None = None,
) -> pd.DataFrame:
    """``run_priced`` for jobs that each return a table: their rows joined in job order."""
    parts = run_priced(jobs, text, cost=cost, what=what, check=check)
    return pd.concat(parts, ignore_index=True)
