"""One record per divergence metric of the KL-Gap experiment: names, unit, limits, cost,
estimators. Every module that names a metric reads it from ``METRICS`` here.

A metric compares a fitted mixture pi with the target G (the paper's Section 4.4,
Figure 4, and Appendix B). Values are in nats, except total variation (a probability).

* ``kl_published``  the published histogram estimate of KL(pi || G) (biased; d <= 2);
* ``kl``            exact-density Monte Carlo KL(pi || G), the published direction;
* ``kl_reverse``    exact-density Monte Carlo KL(G || pi);
* ``js``            Jensen-Shannon divergence JS(pi, G) (at most log 2);
* ``tv``            total variation TV(pi, G) (in [0, 1]).

Adding a metric: write its two estimators here, add its record to ``METRICS``; the
simulation, the budget, the command line and every figure and menu then know it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ggmi_core import divergences as dv
from ggmi_core.estimate import Estimate, mean_and_stderr
from ggmi_core.gmm import GMM, GMMBatch

Triple = tuple[Estimate, Estimate, Estimate]
GapEstimator = Callable[[GMMBatch, GMMBatch, GMMBatch, int, np.random.Generator], Triple]
PairEstimator = Callable[[GMM, GMM, int, np.random.Generator], Estimate]

HISTOGRAM_SAMPLES = 1000
HISTOGRAM_BINS = 50
HISTOGRAM_RESAMPLES = 100
HISTOGRAM_COST_PER_SCENARIO = 45.0
"""Work of the published histogram KL for one scenario, in default-scenario units (one
default scenario = 1/100 unit). Measured: 50 scenarios cost 2.9 s with ``kl_published``
against 0.06 s with exact JS at the defaults; the histogram work (1,000 samples x 100
resamplings x 2 distributions x 2 fits) hardly depends on the component counts."""
NATS = "nats"
PROBABILITY = "probability"


@dataclass(frozen=True)
class Metric:
    """Everything the app knows about one divergence metric.

    Attributes:
        key: identifier used in URLs, files and function arguments (``"js"``).
        label: long display name (menus, legends, table rows).
        short: short name for compact labels (``"JS"``).
        gap_title: title of its gap in figures (``"JS gap"``).
        unit: ``"nats"`` or ``"probability"``.
        estimate_gap: ``(fit_anchor, fit_synthetic, G, n_mc, rng) -> (div_a, div_s, gap)``,
            ``Estimate``s of (R,) arrays for batches of R scenarios.
        divergence: ``(fit, G, n_mc, rng) -> Estimate`` for one pair of mixtures.
        max_dim: largest data dimension it supports (None: any).
        max_dim_reason: why, for the error message.
        fixed_samples: uses its own sample sizes (ignores ``n_mc``, bounds its own memory).
        extra_cost: work per scenario on top of the Monte Carlo model of
            ``ggmi_core.budget``, in default-scenario units.
        published: the paper's own estimator (shown last in tables, as the reference).
    """

    key: str
    label: str
    short: str
    gap_title: str
    unit: str
    estimate_gap: GapEstimator
    divergence: PairEstimator
    max_dim: int | None = None
    max_dim_reason: str = ""
    fixed_samples: bool = False
    extra_cost: float = 0.0
    published: bool = False

    @property
    def axis_title(self) -> str:
        """Gap axis title with the unit, e.g. ``"JS gap (nats)"``."""
        return f"{self.gap_title} ({self.unit})"


# ------------------------------------------------------------------- gap estimators
# Each returns (div(pi^anchor, G), div(pi^gen, G), gap) as Estimates of (R,) arrays.
# Draws of G are shared by both fits where a metric needs them (common random numbers),
# and the gap's standard error accounts for that sharing.


def _gap_independent(a: Estimate, s: Estimate) -> Estimate:
    return Estimate(np.asarray(a.value) - np.asarray(s.value), np.hypot(a.stderr, s.stderr))


def _gap_kl(fa: GMMBatch, fs: GMMBatch, G: GMMBatch, n: int, rng) -> Triple:
    ests = []
    for fit in (fa, fs):
        X = dv.draw(fit, n, rng)
        log_fit, log_g = dv.log_densities([fit, G], X)
        ests.append(mean_and_stderr(log_fit - log_g))
    return ests[0], ests[1], _gap_independent(*ests)


def _gap_tv(fa: GMMBatch, fs: GMMBatch, G: GMMBatch, n: int, rng) -> Triple:
    ests = []
    for fit in (fa, fs):
        X = dv.draw(fit, n, rng)
        ests.append(dv.tv_terms(*dv.log_densities([fit, G], X)))
    return ests[0], ests[1], _gap_independent(*ests)


def _gap_kl_reverse(fa: GMMBatch, fs: GMMBatch, G: GMMBatch, n: int, rng) -> Triple:
    X = dv.draw(G, n, rng)
    log_g, log_a, log_s = dv.log_densities([G, fa, fs], X)
    # Shared draws: the gap's per-draw terms are log pi^gen - log pi^anchor.
    return (
        mean_and_stderr(log_g - log_a),
        mean_and_stderr(log_g - log_s),
        mean_and_stderr(log_s - log_a),
    )


def _gap_js(fa: GMMBatch, fs: GMMBatch, G: GMMBatch, n: int, rng) -> Triple:
    n_fit = n // 2
    Y = dv.draw(G, n - n_fit, rng)
    log_g_y, log_a_y, log_s_y = dv.log_densities([G, fa, fs], Y)
    X_a = dv.draw(fa, n_fit, rng)
    log_a_x, log_g_xa = dv.log_densities([fa, G], X_a)
    X_s = dv.draw(fs, n_fit, rng)
    log_s_x, log_g_xs = dv.log_densities([fs, G], X_s)
    mean, se = dv.js_gap_moments(log_g_y, log_a_y, log_s_y, log_a_x, log_g_xa, log_s_x, log_g_xs)
    # Columns: f_x, f_y of the anchor fit; f_x, f_y of the synthetic fit; f_y difference.
    div_a = Estimate(0.5 * (mean[:, 0] + mean[:, 1]), 0.5 * np.hypot(se[:, 0], se[:, 1]))
    div_s = Estimate(0.5 * (mean[:, 2] + mean[:, 3]), 0.5 * np.hypot(se[:, 2], se[:, 3]))
    gap = Estimate(
        div_a.value - div_s.value,
        0.5 * np.sqrt(np.square(se[:, 0]) + np.square(se[:, 2]) + np.square(se[:, 4])),
    )
    return div_a, div_s, gap


def _gap_kl_published(fa: GMMBatch, fs: GMMBatch, G: GMMBatch, n: int, rng) -> Triple:
    """Per scenario: 100 resamplings of 1,000 draws from G and from each fit (one G set
    shared by both fits in a resampling, as published); histogram KL on each."""
    del n  # the published estimator has its own sample sizes
    check_metric("kl_published", G.dim)
    r, t_all = G.n_scenarios, HISTOGRAM_RESAMPLES
    kl_a = np.empty((r, t_all))
    kl_s = np.empty((r, t_all))
    for rows, cols in dv.histogram_blocks(r, t_all, HISTOGRAM_SAMPLES):
        t = cols.stop - cols.start
        XG = dv.draw(dv.repeat_rows(G, rows, t), HISTOGRAM_SAMPLES, rng)
        Xa = dv.draw(dv.repeat_rows(fa, rows, t), HISTOGRAM_SAMPLES, rng)
        Xs = dv.draw(dv.repeat_rows(fs, rows, t), HISTOGRAM_SAMPLES, rng)
        kl_a[rows, cols] = dv.histogram_kl_from_samples(Xa, XG, HISTOGRAM_BINS).reshape(-1, t)
        kl_s[rows, cols] = dv.histogram_kl_from_samples(Xs, XG, HISTOGRAM_BINS).reshape(-1, t)
    return mean_and_stderr(kl_a), mean_and_stderr(kl_s), mean_and_stderr(kl_a - kl_s)


# ------------------------------------------------------------------------- registry

METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric(
            key="kl_published",
            label="KL(fit || G), published histogram estimator",
            short="KL (published histogram)",
            gap_title="KL Gap, published estimator",
            unit=NATS,
            estimate_gap=_gap_kl_published,
            divergence=lambda fit, g, n, rng: dv.histogram_kl(fit, g, rng),
            max_dim=2,
            max_dim_reason="histograms with 50 bins per axis",
            fixed_samples=True,
            extra_cost=HISTOGRAM_COST_PER_SCENARIO,
            published=True,
        ),
        Metric(
            key="kl",
            label="KL(fit || G), exact Monte Carlo",
            short="KL",
            gap_title="KL Gap, exact KL(fit || G)",
            unit=NATS,
            estimate_gap=_gap_kl,
            divergence=lambda fit, g, n, rng: dv.kl_divergence(fit, g, n, rng),
        ),
        Metric(
            key="kl_reverse",
            label="KL(G || fit), exact Monte Carlo",
            short="reverse KL",
            gap_title="KL Gap, exact KL(G || fit)",
            unit=NATS,
            estimate_gap=_gap_kl_reverse,
            divergence=lambda fit, g, n, rng: dv.kl_divergence(g, fit, n, rng),
        ),
        Metric(
            key="js",
            label="Jensen-Shannon JS(fit, G), exact Monte Carlo",
            short="JS",
            gap_title="JS gap",
            unit=NATS,
            estimate_gap=_gap_js,
            divergence=lambda fit, g, n, rng: dv.js_divergence(fit, g, n, rng),
        ),
        Metric(
            key="tv",
            label="total variation TV(fit, G), exact Monte Carlo",
            short="TV",
            gap_title="TV gap",
            unit=PROBABILITY,
            estimate_gap=_gap_tv,
            divergence=lambda fit, g, n, rng: dv.total_variation(fit, g, n, rng),
        ),
    )
}
"""The metrics by key, in menu order."""

METRIC_LABELS: dict[str, str] = {key: m.label for key, m in METRICS.items()}
METRIC_UNITS: dict[str, str] = {key: m.unit for key, m in METRICS.items()}


def get_metric(key: str) -> Metric:
    """The record of ``key``; ``ValueError`` naming the known keys when there is none."""
    try:
        return METRICS[key]
    except (KeyError, TypeError):
        raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {key!r}") from None


def check_metric(key: str, dim: int) -> Metric:
    """``get_metric(key)``, also refusing a dimension the metric does not support."""
    metric = get_metric(key)
    if metric.max_dim is not None and dim > metric.max_dim:
        others = ", ".join(repr(k) for k, m in METRICS.items() if m.max_dim is None)
        raise ValueError(
            f"metric {key!r} ({metric.max_dim_reason}) needs dim <= {metric.max_dim}; "
            f"got dim={dim}. Use {others}."
        )
    return metric
