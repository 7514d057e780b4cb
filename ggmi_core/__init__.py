"""ggmi_core: pure numerics for the GGMI Explorer (numpy/scipy; no Streamlit, no plotting).

All divergences and entropies are in nats. The main entry points:

* ``ScenarioConfig`` — one setting of the paper's GMM simulation (letters K, J, L, ...);
* ``generate_scenarios`` — draw R scenarios (target G, model M, anchor and synthetic data);
* ``fit_gmm`` / ``fit_gmm_batch`` — EM fits (one data set / R data sets at once);
* ``kl_divergence``, ``js_divergence``, ``total_variation``, ``entropy``,
  ``histogram_kl`` — estimators with Monte Carlo standard errors;
* ``simulate`` / ``sweep`` — the KL-Gap experiment (Figure 4) for any metric in ``METRICS``.
"""

from __future__ import annotations

import importlib
from typing import Any

# Names are imported on first use (PEP 562), so ``import ggmi_core.uploads`` (the Parquet
# worker, the command line) does not pay for scipy and pandas it never touches.
_HOMES: dict[str, str] = {
    "ggmi_core.config": "DEFAULT_N_MC FIELD_LIMITS SWEEPABLE_PARAMS ScenarioConfig",
    "ggmi_core.divergences": (
        "entropy gaussian_entropy gaussian_kl histogram_kl js_divergence kl_divergence "
        "total_variation"
    ),
    "ggmi_core.em": "EMResult fit_gmm fit_gmm_batch",
    "ggmi_core.estimate": "Estimate",
    "ggmi_core.gmm": "GMM GMMBatch",
    "ggmi_core.metrics": "METRICS METRIC_LABELS",
    "ggmi_core.scenario": "PART_NAMES ScenarioBatch generate_scenarios",
    "ggmi_core.simulation": "SimulationResult simulate sweep sweep_params",
}
_MODULE_OF: dict[str, str] = {
    name: module for module, names in _HOMES.items() for name in names.split()
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'ggmi_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULE_OF])


__all__ = [
    "DEFAULT_N_MC",
    "FIELD_LIMITS",
    "GMM",
    "METRICS",
    "METRIC_LABELS",
    "PART_NAMES",
    "SWEEPABLE_PARAMS",
    "EMResult",
    "Estimate",
    "GMMBatch",
    "ScenarioBatch",
    "ScenarioConfig",
    "SimulationResult",
    "entropy",
    "fit_gmm",
    "fit_gmm_batch",
    "gaussian_entropy",
    "gaussian_kl",
    "generate_scenarios",
    "histogram_kl",
    "js_divergence",
    "kl_divergence",
    "simulate",
    "sweep",
    "sweep_params",
    "total_variation",
]
