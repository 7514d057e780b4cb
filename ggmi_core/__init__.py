"""ggmi_core: pure numerics for the GGMI Explorer (numpy/scipy; no Streamlit, no plotting).

All divergences and entropies are in nats. The main entry points:

* ``ScenarioConfig`` — one setting of the paper's GMM simulation (letters K, J, L, ...);
* ``generate_scenarios`` — draw R scenarios (target G, model M, anchor and synthetic data);
* ``fit_gmm`` / ``fit_gmm_batch`` — EM fits (one data set / R data sets at once);
* ``kl_divergence``, ``js_divergence``, ``total_variation``, ``entropy``,
  ``histogram_kl`` — estimators with Monte Carlo standard errors;
* ``simulate`` / ``sweep`` — the KL-Gap experiment (Figure 4) for any metric in ``METRICS``.
"""

from ggmi_core.config import FIELD_LIMITS, SWEEPABLE_PARAMS, ScenarioConfig
from ggmi_core.divergences import (
    entropy,
    gaussian_entropy,
    gaussian_kl,
    histogram_kl,
    js_divergence,
    kl_divergence,
    total_variation,
)
from ggmi_core.em import EMResult, fit_gmm, fit_gmm_batch
from ggmi_core.estimate import Estimate
from ggmi_core.gmm import GMM, GMMBatch
from ggmi_core.scenario import PART_NAMES, ScenarioBatch, generate_scenarios
from ggmi_core.simulate import (
    DEFAULT_N_MC,
    METRIC_LABELS,
    METRICS,
    SimulationResult,
    simulate,
    sweep,
    sweep_params,
)

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
