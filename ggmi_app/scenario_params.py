"""The settings every page shares, and helpers for scenario and sweep settings.

``SHARED_SCHEMA`` is the app's one scenario state: the letters and scenario settings (K,
J, L, N_k, n, d, s, b, covariance recipe, seed), the divergence and its Monte Carlo
samples, and lecture mode. Their URL and widget keys are their plain names on every
page (see ``ggmi_app.state``). The scenario settings' widgets, the sweep list and the
published recipe's reset derive from their records, ``ggmi_core.config.SCENARIO_SETTINGS``
(a widget offers the record's ``offered`` range, narrower than the allowed one on
purpose: it keeps a single request within the server's work budget at the default
sample sizes).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterable, Mapping
from typing import Any, Final

import numpy as np
from sklearn.cluster import KMeans

from ggmi_app.params import BoolParam, ChoiceParam, FloatParam, IntParam, Param, defaults
from ggmi_core import em, scenario
from ggmi_core.config import (
    DEFAULT_N_MC,
    FIELD_LIMITS,
    SCENARIO_SETTINGS,
    SHARED_PAGE,
    ScenarioConfig,
    Setting,
)
from ggmi_core.metrics import METRIC_LABELS


def setting_param(setting: Setting) -> Param:
    """The widget parameter of a ``ggmi_core.config`` setting record (URL key: its name)."""
    if setting.is_choice:
        return ChoiceParam(
            setting.name,
            setting.menu_label,
            str(setting.default),
            tuple(setting.options),
            labels=dict(setting.options),
            help=setting.help,
        )
    low, high = setting.offered or (setting.low, setting.high)
    widget = "number" if setting.number_box else "slider"
    if setting.integer:
        return IntParam(
            setting.name, setting.menu_label, int(setting.default), int(low), int(high),
            int(setting.step), widget=widget, help=setting.help,
        )  # fmt: skip
    return FloatParam(
        setting.name, setting.menu_label, float(setting.default), float(low), float(high),
        float(setting.step), widget=widget, help=setting.help,
    )  # fmt: skip


def scenario_schema(settings: Iterable[Setting]) -> tuple[Param, ...]:
    """The widget parameters of the records every page shows (``SHARED_PAGE``), in order."""
    return tuple(setting_param(s) for s in settings if s.page == SHARED_PAGE)


#: The scenario settings of every page, one per record of ``SCENARIO_SETTINGS``.
SCENARIO_SCHEMA: Final[tuple[Param, ...]] = scenario_schema(SCENARIO_SETTINGS)
#: The published recipe: every scenario setting at its record's default. Presets that
#: reproduce a paper figure start from it, so a new setting is reset with them.
PUBLISHED_SCENARIO: Final[dict[str, Any]] = defaults(SCENARIO_SCHEMA)

#: The divergence and its Monte Carlo samples, shared by every page that measures one.
METRIC_PARAM: Final[ChoiceParam] = ChoiceParam(
    "metric", "Divergence", "js", tuple(METRIC_LABELS), labels=METRIC_LABELS
)
N_MC_PARAM: Final[IntParam] = IntParam(
    "n_mc", "Monte Carlo samples per divergence", DEFAULT_N_MC, 500, 10000, 500
)
LECTURE_KEY: Final[str] = "lecture"
LECTURE_PARAM: Final[BoolParam] = BoolParam(
    LECTURE_KEY,
    "Lecture mode",
    False,
    help="Large type, thick lines and no clutter, for projecting. Kept in the URL.",
)
#: The one state every page reads and writes (plain-name keys).
SHARED_SCHEMA: Final[tuple[Param, ...]] = (
    *SCENARIO_SCHEMA, METRIC_PARAM, N_MC_PARAM, LECTURE_PARAM,
)  # fmt: skip

ROUNDS_MIN: Final[int] = 10
ROUNDS_MAX: Final[int] = 200
ROUNDS_STEP: Final[int] = 10
ROUNDS_DEFAULT: Final[int] = 20


def cap_param(param: IntParam, cap: int | None) -> IntParam:
    """``param`` with its maximum lowered to ``cap`` (a count the work budget allows).

    The new maximum is ``cap`` rounded down onto the slider's grid (``min + k * step``),
    never below the minimum (a request that cannot fit even then is refused with advice
    by the budget check) and never above the original maximum. The default follows the
    maximum down, so it stays a valid value. ``cap=None`` returns ``param`` unchanged.
    """
    if cap is None:
        return param
    top = param.min + max(0, cap - param.min) // param.step * param.step
    top = min(param.max, top)
    return dataclasses.replace(param, max=top, default=min(param.default, top))


def rounds_param(cap: int | None = None) -> IntParam:
    """The 'scenarios per value' slider; ``cap`` (from the work budget) lowers its maximum."""
    full = IntParam(
        "rounds",
        "scenarios per value",
        ROUNDS_DEFAULT,
        ROUNDS_MIN,
        ROUNDS_MAX,
        ROUNDS_STEP,
        help="The paper used 100. More scenarios: smoother curves, longer waits. The "
        "largest value offered is what this server's work budget allows for this sweep.",
    )
    return cap_param(full, cap)


#: Settings a gap sweep of the app can vary (sweepable records every page shows).
SWEEP_PARAMS: Final[tuple[str, ...]] = tuple(
    s.name for s in SCENARIO_SETTINGS if s.sweepable and s.page == SHARED_PAGE
)


def scenario_config(values: Mapping[str, Any]) -> ScenarioConfig:
    """The ``ScenarioConfig`` of the scenario settings in ``values``.

    Raises:
        ValueError: when the combination is invalid (e.g. n < K + J + L).
    """
    names = [p.name for p in SCENARIO_SCHEMA]
    return ScenarioConfig(**{name: values[name] for name in names if name in values})


def sweep_values(param: str, start: float, stop: float, points: int) -> list[float | int]:
    """Evenly spaced values of ``param`` from ``start`` to ``stop`` (ints for integer fields).

    Integer fields round to whole numbers and drop repeats, so K from 2 to 15 with 14
    points gives 2, 3, ..., 15.

    Raises:
        ValueError: when a value lies outside the field's allowed range, or the range
            is empty.
    """
    if param not in FIELD_LIMITS:
        raise ValueError(f"cannot sweep {param!r}; choose one of {', '.join(SWEEP_PARAMS)}")
    limit = FIELD_LIMITS[param]
    if stop < start:
        raise ValueError(f"the sweep range is empty: 'from' ({start:g}) exceeds 'to' ({stop:g})")
    raw = np.linspace(start, stop, int(points))
    values: list[float | int] = (
        sorted({int(v) for v in np.round(raw)}) if limit.integer else [float(v) for v in raw]
    )
    low, high = limit.low, limit.high
    if values[0] < low or values[-1] > high:
        raise ValueError(
            f"{param} ({limit.meaning}) can only be swept within {low:g}..{high:g}; "
            f"got {values[0]:g}..{values[-1]:g}"
        )
    return values


#: Range offered when the swept setting changes: (from, to, number of values).
SWEEP_DEFAULT_RANGES: Final[dict[str, tuple[float, float, int]]] = {
    s.name: s.sweep_range for s in SCENARIO_SETTINGS if s.name in SWEEP_PARAMS and s.sweep_range
}


def swept_out(param: Param, swept: str) -> Param:
    """``param`` greyed out, with a note, when it is the swept setting (its value unused)."""
    if param.name != swept:
        return param
    note = "This setting is the one being swept, so the value here is not used."
    return dataclasses.replace(param, disabled=True, help=note)


# ----------------------------------------------------------------- recipe notes


def recipe_values() -> dict[str, float]:
    """The numbers Home's notes on the recipe quote (``assets/content/home/page.md``,
    section ``recipe_notes``), each read from the code that applies it: where this
    simulation's recipe differs in detail from the published code.

    None of these is aligned with the published code: changing them would change every
    stored number. They are shown instead.
    """
    fit = inspect.signature(em.fit_gmm_batch).parameters
    return {
        "kmeans_max_iter": em._KMEANS_MAX_ITER,
        "sklearn_kmeans_max_iter": KMeans().max_iter,
        "em_max_iter": fit["max_iter"].default,
        "em_tol": fit["tol"].default,
        "em_reg": fit["reg"].default,
        "min_eigenvalue": scenario.MIN_TARGET_EIGENVALUE,
        "mean_gap": ScenarioConfig().mean_gap,
        "anchor_jitter": scenario.ANCHOR_COV_JITTER,
    }
