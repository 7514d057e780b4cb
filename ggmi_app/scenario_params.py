"""URL/sidebar schemas and presets of the Distributions and KL Gap curves pages.

Both pages share the scenario letters (K, J, L, N_k, n, d, s, b, seed, covariance
recipe) under the same widget keys, so a value set on one page carries to the other.
Slider ranges are narrower than ``ggmi_core.config.FIELD_LIMITS`` on purpose: they keep
a single request within the server's work budget at the default sample sizes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

import numpy as np

from ggmi_app.params import BoolParam, ChoiceParam, FloatParam, IntParam, Param
from ggmi_core.config import DEFAULT_N_MC, FIELD_LIMITS, PARAM_LABELS, ScenarioConfig
from ggmi_core.metrics import METRIC_LABELS
from ggmi_viz.distributions import DEFAULT_LAYERS, LAYERS

COV_LABELS: Final[dict[str, str]] = {
    "published": "published (SVD substitute of A B^T)",
    "aat": "A A^T (symmetric)",
}

SCENARIO_SCHEMA: Final[tuple[Param, ...]] = (
    IntParam("K", "K: anchor-sampled components", 2, 1, 15,
             help="Target components the anchor data is drawn from."),
    IntParam("J", "J: unsampled components", 2, 0, 15,
             help="Target components the anchor data never shows; the model knows them."),
    IntParam("L", "L: task-irrelevant components", 2, 0, 15,
             help="Extra model components the target does not have."),
    IntParam("n_anchor_per_component", "N_k: anchor samples per component", 50, 5, 500, 5,
             help="Anchor points drawn from each of the K components (m = K N_k)."),
    IntParam("n_synthetic", "n: synthetic samples", 200, 20, 5000, 20,
             help="Synthetic points drawn from the model; at least K + J + L."),
    IntParam("dim", "d: dimension", 2, 1, 6,
             help="The paper draws d = 2; above 2 the figure shows a 2-D projection."),
    FloatParam("noise_std", "s: curation noise (std)", 0.0, 0.0, 3.0, 0.05,
               help="Gaussian noise added to every synthetic point (0 = published)."),
    FloatParam("adherence", "b: prompt adherence", 0.0, 0.0, 1.0, 0.05,
               help="Chance the model answers from the anchor component its prompt "
               "named instead of from its whole mixture (0 = published)."),
    ChoiceParam("cov_recipe", "Covariance recipe", "published", ("published", "aat"),
                labels=COV_LABELS,
                help="How component covariances are drawn (theory notes, section 3)."),
    IntParam("seed", "Seed", 0, 0, 2**31 - 1, widget="number",
             help="Same settings and seed give the same numbers."),
)  # fmt: skip

#: Figure-2 display settings (layers and projection).
DISPLAY_SCHEMA: Final[tuple[Param, ...]] = (
    ChoiceParam(
        "projection",
        "Projection for d > 2",
        "coordinates",
        ("coordinates", "pca"),
        labels={"coordinates": "first two coordinates", "pca": "principal axes of the samples"},
    ),
    *(BoolParam(f"show_{key}", label, key in DEFAULT_LAYERS) for key, label in LAYERS.items()),
)

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


#: Settings of the gap sweep (besides the scenario letters held fixed).
SWEEP_PARAMS: Final[tuple[str, ...]] = (
    "K",
    "J",
    "L",
    "n_anchor_per_component",
    "n_synthetic",
    "noise_std",
    "adherence",
    "dim",
)
SWEEP_SCHEMA: Final[tuple[Param, ...]] = (
    ChoiceParam("sweep", "Sweep", "K", SWEEP_PARAMS, labels=PARAM_LABELS),
    FloatParam("sweep_from", "from", 2.0, 0.0, 5000.0, 1.0, widget="number", format="%g"),
    FloatParam("sweep_to", "to", 15.0, 0.0, 5000.0, 1.0, widget="number", format="%g"),
    IntParam("sweep_points", "values in the range", 14, 2, 20),
    rounds_param(),
    ChoiceParam("metric", "Divergence", "js", tuple(METRIC_LABELS), labels=METRIC_LABELS),
    IntParam("n_mc", "Monte Carlo samples per divergence", DEFAULT_N_MC, 500, 10000, 500),
    ChoiceParam("band", "Summary", "std", ("std", "quantile", "both"),
                labels={"std": "mean +- 1 std (as published)",
                        "quantile": "median and 10-90% band",
                        "both": "both"}),
    BoolParam("boxes", "Show every scenario (box plots)", True),
    BoolParam("robust_y", "Clip the y axis to the central scenarios", True),
)  # fmt: skip

FIGURE2_PRESETS: Final[dict[str, dict[str, Any]]] = {
    "Paper Figure 2 (published settings)": {
        "K": 2, "J": 2, "L": 2, "n_anchor_per_component": 50, "n_synthetic": 200,
        "dim": 2, "noise_std": 0.0, "adherence": 0.0, "cov_recipe": "published", "seed": 0,
    },
    "Curation noise and prompt adherence": {
        "noise_std": 0.5, "adherence": 0.6, "dim": 2,
    },
    "Five dimensions, principal axes": {"dim": 5, "projection": "pca"},
}  # fmt: skip


def figure4_preset(letter: str, metric: str = "kl_published") -> dict[str, Any]:
    """Settings of one column of the paper's Figure 4: sweep ``letter`` over 2..15."""
    return {
        "K": 2, "J": 2, "L": 2, "n_anchor_per_component": 50, "n_synthetic": 200,
        "dim": 2, "noise_std": 0.0, "adherence": 0.0, "cov_recipe": "published",
        "sweep": letter, "sweep_from": 2.0, "sweep_to": 15.0, "sweep_points": 14,
        "metric": metric, "band": "std",
    }  # fmt: skip


FIGURE4_PRESETS: Final[dict[str, dict[str, Any]]] = {
    f"Paper Figure 4: sweep {letter}": figure4_preset(letter) for letter in ("K", "J", "L")
} | {"Figure 4 sweep of K, exact JS": figure4_preset("K", "js")}


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


def layer_selection(values: Mapping[str, Any]) -> set[str]:
    """The figure layers switched on in ``values`` (``show_<layer>`` booleans)."""
    return {key for key in LAYERS if values.get(f"show_{key}", key in DEFAULT_LAYERS)}


#: Range offered when the swept setting changes: (from, to, number of values).
SWEEP_DEFAULT_RANGES: Final[dict[str, tuple[float, float, int]]] = {
    "K": (2.0, 15.0, 14),
    "J": (2.0, 15.0, 14),
    "L": (2.0, 15.0, 14),
    "n_anchor_per_component": (10.0, 200.0, 12),
    "n_synthetic": (50.0, 2000.0, 12),
    "noise_std": (0.0, 2.0, 11),
    "adherence": (0.0, 1.0, 11),
    "dim": (2.0, 6.0, 5),
}


def swept_out(param: Param, swept: str) -> Param:
    """``param`` greyed out, with a note, when it is the swept setting (its value unused)."""
    if param.name != swept:
        return param
    note = "Swept in 'Your sweep' above, so this value is not used here."
    return dataclasses.replace(param, disabled=True, help=note)


def default_range(param: str) -> dict[str, Any]:
    """``sweep_from``/``sweep_to``/``sweep_points`` settings for sweeping ``param``."""
    start, stop, points = SWEEP_DEFAULT_RANGES[param]
    return {"sweep_from": start, "sweep_to": stop, "sweep_points": points}
