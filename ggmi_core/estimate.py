"""A Monte Carlo estimate with its standard error."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Estimate:
    """A value with its Monte Carlo standard error (same units, usually nats).

    ``value`` and ``stderr`` are floats for one distribution pair, or arrays of shape
    ``(R,)`` for a batch of R scenarios.
    """

    value: float | NDArray[np.float64]
    stderr: float | NDArray[np.float64]

    def __iter__(self):  # allows ``value, stderr = estimate``
        yield self.value
        yield self.stderr


def mean_and_stderr(samples: NDArray[np.float64], axis: int = -1) -> Estimate:
    """Sample mean and its standard error along ``axis`` (ddof=1).

    Args:
        samples: per-draw contributions, e.g. shape (R, n) with draws on the last axis.
        axis: the axis of independent draws.
    """
    n = samples.shape[axis]
    mean = samples.mean(axis=axis)
    if n < 2:
        stderr = np.full_like(mean, np.nan, dtype=float)
    else:
        stderr = samples.std(axis=axis, ddof=1) / np.sqrt(n)
    if np.ndim(mean) == 0:
        return Estimate(float(mean), float(stderr))
    return Estimate(mean, stderr)
