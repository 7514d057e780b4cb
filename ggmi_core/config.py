"""Scenario configuration: the letters of the published GMM simulation and their ranges.

Letters follow the published code and Appendix B of the paper:
``K`` anchor-sampled target components, ``J`` unsampled target components,
``L`` task-irrelevant components that only the model has, ``N_k`` anchor samples per
anchor component (``n_anchor_per_component``), ``n`` synthetic samples (``n_synthetic``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

DEFAULT_N_MC = 2000
"""Monte Carlo draws per divergence (or expectation) and scenario (JS: half from each side)."""
N_MC_RANGE = (4, 200_000)
"""Allowed Monte Carlo draws per divergence and scenario, inclusive."""

COV_RECIPES: tuple[str, ...] = ("published", "aat")
"""Covariance recipes: ``published`` is the SVD substitute of A B^T that numpy sampled in the
published code; ``aat`` is the symmetric A A^T alternative."""


@dataclass(frozen=True)
class FieldLimit:
    """One numeric setting: its allowed closed range and how the app names it.

    Attributes:
        low, high: inclusive range.
        integer: whether fractions are refused.
        meaning: what it is, in words ("anchor-sampled target components").
        symbol: its letter in Appendix B of the paper ("K", "N_k"), or "" if none.
        analogue: what it stands for in LLM post-training, where the paper says so.
    """

    low: float
    high: float
    integer: bool
    meaning: str
    symbol: str = ""
    analogue: str = ""

    @property
    def label(self) -> str:
        """Axis or menu title, e.g. ``"K, anchor-sampled target components"``."""
        return f"{self.symbol}, {self.meaning}" if self.symbol else self.meaning

    @property
    def short(self) -> str:
        """The letter, or the meaning when there is none (``"N_k"``)."""
        return self.symbol or self.meaning

    @property
    def short_label(self) -> str:
        """Letter first, meaning in brackets, e.g. ``"N_k (anchor samples per ...)"``."""
        return f"{self.symbol} ({self.meaning})" if self.symbol else self.meaning


FIELD_LIMITS: dict[str, FieldLimit] = {
    "K": FieldLimit(1, 40, True, "anchor-sampled target components", "K"),
    "J": FieldLimit(0, 40, True, "unsampled target components", "J"),
    "L": FieldLimit(0, 40, True, "task-irrelevant model components", "L"),
    "n_anchor_per_component": FieldLimit(
        2, 5000, True, "anchor samples per anchor component", "N_k", "in-context examples"
    ),
    "n_synthetic": FieldLimit(2, 50000, True, "synthetic samples", "n"),
    "dim": FieldLimit(1, 10, True, "data dimension", "d"),
    "noise_std": FieldLimit(0.0, 10.0, False, "curation noise standard deviation", "s"),
    "adherence": FieldLimit(0.0, 1.0, False, "prompt adherence probability", "b"),
    "seed": FieldLimit(0, 2**32 - 1, True, "random seed"),
    "cov_scale": FieldLimit(0.01, 10.0, False, "covariance scale factor"),
    "mean_gap": FieldLimit(0.0, 10.0, False, "extra offset between component means"),
}
"""One record per numeric setting of ``ScenarioConfig``: range and names (the one place
every menu, axis title and error message reads them from)."""

PARAM_LABELS: dict[str, str] = {name: limit.label for name, limit in FIELD_LIMITS.items()}
"""Display title of each numeric setting (derived from ``FIELD_LIMITS``)."""

SWEEPABLE_PARAMS: tuple[str, ...] = (
    "K",
    "J",
    "L",
    "n_anchor_per_component",
    "n_synthetic",
    "dim",
    "noise_std",
    "adherence",
    "cov_scale",
    "mean_gap",
)


@dataclass(frozen=True)
class ScenarioConfig:
    """One setting of the GMM simulation (defaults reproduce the published recipe).

    Attributes:
        K: anchor-sampled components of the target G.
        J: unsampled components of G (G has K + J components).
        L: task-irrelevant components of the model M (M has K + J + L).
        n_anchor_per_component: N_k, anchor samples drawn from each of G's first K components.
        n_synthetic: n, synthetic samples drawn from D_gen.
        dim: data dimension d.
        noise_std: curation noise s; D_gen adds s^2 I to every covariance.
        adherence: prompt adherence b in [0, 1]; 0 is the published recipe.
        seed: seed of every random draw made for this configuration.
        cov_recipe: ``"published"`` or ``"aat"`` (see ``COV_RECIPES``).
        cov_scale: factor applied to every drawn covariance.
        mean_gap: component i's mean is shifted by ``i * mean_gap`` on every axis.
    """

    K: int = 2
    J: int = 2
    L: int = 2
    n_anchor_per_component: int = 50
    n_synthetic: int = 200
    dim: int = 2
    noise_std: float = 0.0
    adherence: float = 0.0
    seed: int = 0
    cov_recipe: str = "published"
    cov_scale: float = 1.0
    mean_gap: float = 0.0

    def __post_init__(self) -> None:
        for name, limit in FIELD_LIMITS.items():
            object.__setattr__(self, name, _checked_number(name, getattr(self, name), limit))
        if self.cov_recipe not in COV_RECIPES:
            raise ValueError(
                f"cov_recipe must be one of {', '.join(COV_RECIPES)}; got {self.cov_recipe!r}"
            )
        if self.n_synthetic < self.n_model_components:
            raise ValueError(
                f"n_synthetic must be at least K + J + L = {self.n_model_components} so the "
                f"synthetic fit has a point per component; got {self.n_synthetic}"
            )

    @property
    def n_target_components(self) -> int:
        """Components of the target G (K + J)."""
        return self.K + self.J

    @property
    def n_model_components(self) -> int:
        """Components of the model M (K + J + L)."""
        return self.K + self.J + self.L

    @property
    def n_anchor(self) -> int:
        """Anchor sample size m = K * N_k."""
        return self.K * self.n_anchor_per_component

    def replace(self, **changes: Any) -> ScenarioConfig:
        """Return a validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form, for JSON settings files and URLs."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScenarioConfig:
        """Build from a plain dict; unknown keys raise ``ValueError`` naming them."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(map(str, unknown))}")
        return cls(**data)


def _checked_number(name: str, value: Any, limit: FieldLimit) -> int | float:
    """Coerce ``value`` to the field's type, raising ``ValueError`` outside its range."""
    span = f"{_fmt(limit.low)}..{_fmt(limit.high)}"
    kind = "an integer" if limit.integer else "a number"
    if isinstance(value, bool):
        raise ValueError(f"{name} ({limit.meaning}) must be {kind} in {span}; got {value!r}")
    if not isinstance(value, int | float):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} ({limit.meaning}) must be {kind} in {span}; got {value!r}"
            ) from None
    if not math.isfinite(value) or not limit.low <= value <= limit.high:
        raise ValueError(f"{name} ({limit.meaning}) must be {kind} in {span}; got {value!r}")
    if limit.integer:
        if float(value) != int(value):
            raise ValueError(f"{name} ({limit.meaning}) must be {kind} in {span}; got {value!r}")
        return int(value)
    return float(value)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
