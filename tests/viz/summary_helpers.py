"""Sweep summaries for figure tests, made by the core's own ``summarise``.

The figures draw what ``ggmi_core.simulation.summarise`` writes; building the test tables
with it (from chosen gaps instead of a simulation) keeps the tests on the real columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np
import pandas as pd

from ggmi_core.simulation import summarise


def summary_of_gaps(
    values: Sequence[float], gaps: Sequence[np.ndarray], param: str = "K"
) -> pd.DataFrame:
    """One ``summarise`` row per swept value, from its gaps (R,) in nats."""
    rows = []
    for value, gap in zip(values, gaps, strict=True):
        gap = np.asarray(gap, dtype=float)
        zeros = np.zeros_like(gap)
        # ``summarise`` reads only these fields of a ``SimulationResult``
        result = SimpleNamespace(
            config=SimpleNamespace(**{param: value}),
            metric="js",
            n_mc=2000,
            gap=gap,
            gap_stderr=zeros,
            div_anchor=gap,
            div_synthetic=zeros,
            anchor_em=SimpleNamespace(converged=np.ones(gap.size, dtype=bool)),
            synthetic_em=SimpleNamespace(converged=np.ones(gap.size, dtype=bool)),
        )
        rows.append(summarise(result, param))
    return pd.DataFrame(rows)
