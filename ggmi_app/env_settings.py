"""Numbers a deployer sets through environment variables, read one way everywhere.

An unset variable gives the default; a value that is not a number of the right kind,
or lies outside its range, gives the default too and is logged with what was expected,
so a typo in a deployment never stops the server nor passes silently.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import overload

_LOG = logging.getLogger(__name__)


@overload
def number_from_env(
    environ: Mapping[str, str], name: str, default: int, *, whole: bool,
    low: float, high: float = ..., low_inclusive: bool = ...,
) -> int: ...  # fmt: skip
@overload
def number_from_env(
    environ: Mapping[str, str], name: str, default: float, *, whole: bool,
    low: float, high: float = ..., low_inclusive: bool = ...,
) -> float: ...  # fmt: skip
def number_from_env(
    environ: Mapping[str, str],
    name: str,
    default: float,
    *,
    whole: bool,
    low: float,
    high: float = math.inf,
    low_inclusive: bool = True,
) -> float:
    """``environ[name]`` as a number in ``low..high``; unset or invalid: ``default``.

    Args:
        whole: only whole numbers (``int``) are accepted, else any decimal (``float``).
        low_inclusive: whether ``low`` itself is accepted (``high`` always is).
    """
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value: float = int(raw) if whole else float(raw)
    except ValueError:
        value = math.nan
    above_low = value >= low if low_inclusive else value > low
    if above_low and value <= high:  # NaN fails both
        return value
    kind = "a whole number" if whole else "a number"
    span = f"{'' if low_inclusive else 'above '}{low:g}" + (
        "" if math.isinf(high) else f"..{high:g}"
    )
    _LOG.warning("ignoring %s=%r: expected %s, %s; using %s", name, raw, kind, span, default)
    return default
