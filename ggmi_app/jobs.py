"""Run worker-pool jobs from a page, behind a progress bar."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from ggmi_app import compute
from ggmi_app.client import current_client
from ggmi_app.job_keys import Job


def run_jobs(jobs: Sequence[Job], text: str) -> list[Any]:
    """Results of ``jobs`` from the shared worker pool, behind a progress bar.

    The bar says ``text (done of total)`` as results arrive and disappears at the end.
    Each update is also where Streamlit stops a run the visitor's next interaction
    replaced: the exception withdraws this run's queued jobs (see ``ggmi_app.compute``).
    Workers are shared in turns between clients (visitors' addresses, see
    ``ggmi_app.client``), so many tabs of one visitor share one turn.
    """
    bar = st.progress(0.0, text=text)

    def update(done: int, total: int) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"{text} ({done} of {total})")

    results = compute.service().run(jobs, progress=update, client=current_client())
    bar.empty()
    return results
