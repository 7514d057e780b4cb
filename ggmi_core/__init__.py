"""ggmi_core: pure numerics for the GGMI Explorer (numpy/scipy; no Streamlit, no plotting).

All divergences and entropies are in nats.
"""

from ggmi_core.config import FIELD_LIMITS, SWEEPABLE_PARAMS, ScenarioConfig
from ggmi_core.estimate import Estimate
from ggmi_core.gmm import GMM, GMMBatch

__all__ = [
    "FIELD_LIMITS",
    "GMM",
    "SWEEPABLE_PARAMS",
    "Estimate",
    "GMMBatch",
    "ScenarioConfig",
]
