"""Scenario configuration: the letters of the published GMM simulation and their ranges.

Letters follow the published code and Appendix B of the paper:
``K`` anchor-sampled target components, ``J`` unsampled target components,
``L`` task-irrelevant components that only the model has, ``N_k`` anchor samples per
anchor component (``n_anchor_per_component``), ``n`` synthetic samples (``n_synthetic``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

DEFAULT_N_MC = 2000
"""Monte Carlo draws per divergence (or expectation) and scenario (JS: half from each side)."""
N_MC_RANGE = (4, 200_000)
"""Allowed Monte Carlo draws per divergence and scenario, inclusive."""
PART_LABELS: tuple[str, str, str] = ("anchor-sampled", "unsampled", "task-irrelevant")
"""Names of M's three parts (codes 0, 1, 2 of ``ScenarioBatch.model_part``: the model's
copies of the K anchor-sampled and J unsampled target components, and its L own)."""


def _checked_number(name: str, value: Any, limit: Setting) -> int | float:
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


#: ``Setting.page`` of a setting every page of the app shows (plain URL key, no prefix).
SHARED_PAGE: Final[str] = "shared"


@dataclass(frozen=True)
class Setting:
    """One setting of ``ScenarioConfig``: the one record every use of it reads.

    The dataclass's defaults and validation, the app's widgets, URL keys and settings
    files, the sweep lists, the presets' reset to the published recipe, axis titles and
    error messages all derive from these records; adding a setting means adding its
    record and its ``ScenarioConfig`` field (the code that uses it reads the field).

    Attributes:
        name: the ``ScenarioConfig`` field; also its key in the URL, the widget and
            settings files (shared settings carry no page prefix).
        default: the published recipe's value.
        low, high: the inclusive allowed range (numbers; unused for a choice).
        integer: whether fractions are refused.
        meaning: what it is, in words ("anchor-sampled target components").
        symbol: its letter in Appendix B of the paper ("K", "N_k"), or "" if none.
        analogue: what it stands for in LLM post-training, where the paper says so.
        options: the allowed values of a choice setting, with their menu texts; empty
            for a number.
        menu_label: the widget's label ("K: anchor-sampled components").
        help: the widget's help text.
        offered: the range a widget offers, narrower than ``low..high`` so one request
            stays within the server's work budget (None: ``low..high``).
        step: the widget's step.
        number_box: drawn as a number box rather than a slider (the seed).
        sweepable: whether the sweeps may vary it.
        sweep_range: ``(from, to, values)`` offered when the app's sweep switches to it.
        page: which page of the app owns it: ``SHARED_PAGE`` (every page), or "" when
            only Python and the command line set it.
    """

    name: str
    default: int | float | str
    low: float = 0
    high: float = 0
    integer: bool = False
    meaning: str = ""
    symbol: str = ""
    analogue: str = ""
    options: Mapping[str, str] = field(default_factory=dict)
    menu_label: str = ""
    help: str = ""
    offered: tuple[float, float] | None = None
    step: float = 1
    number_box: bool = False
    sweepable: bool = False
    sweep_range: tuple[float, float, int] | None = None
    page: str = SHARED_PAGE

    def __post_init__(self) -> None:
        # A broken record fails at import, not on a visitor's click.
        if self.options:
            if self.default not in self.options:
                raise ValueError(f"{self.name}: default {self.default!r} is not an option")
            return
        _checked_number(self.name, self.default, self)
        if self.page and self.sweepable and self.sweep_range is None:
            raise ValueError(f"{self.name}: a sweepable setting of the app needs a sweep_range")

    @property
    def is_choice(self) -> bool:
        """Whether the setting is one of named ``options`` rather than a number."""
        return bool(self.options)

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

    def checked(self, value: Any) -> Any:
        """``value`` coerced to the setting's type; ``ValueError`` naming the range."""
        if self.is_choice:
            if value not in self.options:
                raise ValueError(
                    f"{self.name} must be one of {', '.join(self.options)}; got {value!r}"
                )
            return value
        return _checked_number(self.name, value, self)


SCENARIO_SETTINGS: Final[tuple[Setting, ...]] = (
    Setting("K", 2, 1, 40, True, "anchor-sampled target components", "K",
            menu_label="K: anchor-sampled components", offered=(1, 15),
            help="Target components the anchor data is drawn from.",
            sweepable=True, sweep_range=(2.0, 15.0, 14)),
    Setting("J", 2, 0, 40, True, "unsampled target components", "J",
            menu_label="J: unsampled components", offered=(0, 15),
            help="Target components the anchor data never shows; the model knows them.",
            sweepable=True, sweep_range=(2.0, 15.0, 14)),
    Setting("L", 2, 0, 40, True, "task-irrelevant model components", "L",
            menu_label="L: task-irrelevant components", offered=(0, 15),
            help="Extra model components the target does not have.",
            sweepable=True, sweep_range=(2.0, 15.0, 14)),
    Setting("n_anchor_per_component", 50, 2, 5000, True,
            "anchor samples per anchor component", "N_k", "in-context examples",
            menu_label="N_k: anchor samples per component", offered=(5, 500), step=5,
            help="Anchor points drawn from each of the K components (m = K N_k).",
            sweepable=True, sweep_range=(10.0, 200.0, 12)),
    Setting("n_synthetic", 200, 2, 50000, True, "synthetic samples", "n",
            menu_label="n: synthetic samples", offered=(20, 5000), step=20,
            help="Synthetic points drawn from the model; at least K + J + L.",
            sweepable=True, sweep_range=(50.0, 2000.0, 12)),
    Setting("dim", 2, 1, 10, True, "data dimension", "d",
            menu_label="d: dimension", offered=(1, 6),
            help="The paper draws d = 2; above 2 the figure shows a 2-D projection.",
            sweepable=True, sweep_range=(2.0, 6.0, 5)),
    Setting("noise_std", 0.0, 0.0, 10.0, False, "curation noise standard deviation", "s",
            menu_label="s: curation noise (std)", offered=(0.0, 3.0), step=0.05,
            help="Gaussian noise added to every synthetic point (0 = published).",
            sweepable=True, sweep_range=(0.0, 2.0, 11)),
    Setting("adherence", 0.0, 0.0, 1.0, False, "prompt adherence probability", "b",
            menu_label="b: prompt adherence", step=0.05,
            help="Chance the model answers from the anchor component its prompt named "
            "instead of from its whole mixture (0 = published).",
            sweepable=True, sweep_range=(0.0, 1.0, 11)),
    Setting("cov_recipe", "published", meaning="covariance recipe",
            options={"published": "published (SVD substitute of A B^T)",
                     "aat": "A A^T (symmetric)"},
            menu_label="Covariance recipe",
            help="How component covariances are drawn: 'published' is the symmetric "
            "matrix the published code's sampler actually used for its non-symmetric "
            "product A B^T of two uniform matrices (the paper's Appendix B set-up does "
            "not describe it); A A^T is a symmetric alternative. See the notes on the "
            "recipe on Home."),
    Setting("seed", 0, 0, 2**32 - 1, True, "random seed",
            menu_label="Seed", offered=(0, 2**31 - 1), number_box=True,
            help="Same settings and seed give the same numbers."),
    Setting("cov_scale", 1.0, 0.01, 10.0, False, "covariance scale factor",
            sweepable=True, page=""),
    Setting("mean_gap", 0.0, 0.0, 10.0, False, "extra offset between component means",
            sweepable=True, page=""),
)  # fmt: skip
"""One record per setting of ``ScenarioConfig``, in the order the app's sidebar shows
them. ``cov_recipe``'s options: ``published`` is the SVD substitute of A B^T that numpy
sampled in the published code; ``aat`` is the symmetric A A^T alternative."""

SETTINGS_BY_NAME: Final[dict[str, Setting]] = {s.name: s for s in SCENARIO_SETTINGS}

FIELD_LIMITS: Final[dict[str, Setting]] = {s.name: s for s in SCENARIO_SETTINGS if not s.is_choice}
"""The numeric settings' records by name (range and names: every menu, axis title and
error message reads them from here)."""

COV_RECIPES: Final[tuple[str, ...]] = tuple(SETTINGS_BY_NAME["cov_recipe"].options)
"""Covariance recipes (options of the ``cov_recipe`` record)."""

PARAM_LABELS: dict[str, str] = {name: limit.label for name, limit in FIELD_LIMITS.items()}
"""Display title of each numeric setting (derived from ``FIELD_LIMITS``)."""

SWEEPABLE_PARAMS: tuple[str, ...] = tuple(s.name for s in SCENARIO_SETTINGS if s.sweepable)
"""Settings a sweep may vary (records with ``sweepable``)."""


def _default(name: str) -> Any:
    """The default of setting ``name`` (its record's)."""
    return SETTINGS_BY_NAME[name].default


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

    # Defaults, ranges and names live in the records (``SCENARIO_SETTINGS``).
    K: int = _default("K")
    J: int = _default("J")
    L: int = _default("L")
    n_anchor_per_component: int = _default("n_anchor_per_component")
    n_synthetic: int = _default("n_synthetic")
    dim: int = _default("dim")
    noise_std: float = _default("noise_std")
    adherence: float = _default("adherence")
    seed: int = _default("seed")
    cov_recipe: str = _default("cov_recipe")
    cov_scale: float = _default("cov_scale")
    mean_gap: float = _default("mean_gap")

    def __post_init__(self) -> None:
        for setting in SCENARIO_SETTINGS:
            value = setting.checked(getattr(self, setting.name))
            object.__setattr__(self, setting.name, value)
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


def _check_records_match_fields() -> None:
    """Fail at import when a record lacks its field or a field its record."""
    fields = [f.name for f in dataclasses.fields(ScenarioConfig)]
    if sorted(fields) != sorted(SETTINGS_BY_NAME):
        raise TypeError(
            "ScenarioConfig's fields and SCENARIO_SETTINGS differ: "
            f"{sorted(set(fields) ^ set(SETTINGS_BY_NAME))}"
        )


_check_records_match_fields()
