"""Measured stand-ins for the terms of the paper's bounds (Lemma 3.1 and Section 4).

The paper states its bounds but never evaluates them. In the GMM simulation most terms
have an exact or Monte Carlo value, computed here per scenario with a standard error:

* Lemma 3.1 with the capped log-loss ``l_C(pi, x) = min(C, max(0, -log pi(x)))``:
  task term ``C * TV(D, D_M)`` (the paper's D is the task mixture G here, D_M the model
  M), generation term ``C * TV(D_M, D_gen)``, sampling term
  ``|R_{D_gen}(pi_gen) - R^_{S_gen}(pi_gen)|`` against the measured error
  ``Err(pi_gen) = |R_G(pi_gen) - R^_{S_gen}(pi_gen)|``. Since a loss in ``[0, C]`` moves by
  at most ``C * TV`` between two distributions, the triangle inequality gives the lemma
  with constant exactly ``C``; ``bound_holds`` checks it up to Monte Carlo error.
* Information terms of the synthetic factors: e_p is the anchor component the prompt
  names (uniform over the K anchor components), e_M the model component that answered.
  With M's weights ``w`` and adherence ``b``, ``P(e_M = j | e_p = k) = b [j = k] +
  (1 - b) w_j``, so ``H(e_M)``, ``I(e_M; e_p)`` and ``Delta_I = H(e_M | e_p)`` are finite sums.
* Entropy terms: differential entropies (nats per sample) of the anchor-sampling mixture
  and of D_gen, and the entropy drop ``delta = H(S_anchor) - H(S_gen)``.
* Generalization gain measured directly: ``Err(pi_anchor) - Err(pi_gen)`` beside the gap
  of the chosen divergence metric on the same fits (from ``ggmi_core.simulation``).

What the simulation cannot measure: anything that involves trained weights W as a random
variable (``I(S; W)``, ``B_{e_p} = I(e_p; W)``, ``H(S | W)``), the curation/prompting
efficiency ``delta_{eps,p}`` and the compression coefficient ``alpha``.

All entropies and divergences are in nats; risks are in nats too (the loss is a capped
negative log-likelihood).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.special import entr

from ggmi_core import divergences
from ggmi_core.budget import estimate_cost
from ggmi_core.config import DEFAULT_N_MC, FIELD_LIMITS, N_MC_RANGE, PART_LABELS, ScenarioConfig
from ggmi_core.estimate import Estimate
from ggmi_core.gmm import GMMBatch
from ggmi_core.metrics import METRICS
from ggmi_core.simulation import simulate

Array = NDArray[np.float64]
Progress = Callable[[int, int], None]

DEFAULT_LOSS_CAP = 10.0
"""Default cap C of the log-loss, in nats (well above a typical -log density here)."""
LOSS_CAP_RANGE = (0.1, 100.0)
MIN_BOUND_N_MC = 100
"""Fewest Monte Carlo draws for bound terms (stricter than ``N_MC_RANGE``): the lemma check
compares differences of Monte Carlo means, whose standard errors need a real sample."""
HOLD_TOLERANCE_SE = 3.0
"""``bound_holds`` allows the measured error to exceed the bound by this many standard
errors of the Monte Carlo difference (the true quantities obey the lemma exactly)."""

# Independent stream for this module's Monte Carlo draws, so they never reuse the
# draws ``simulate`` makes from the same seed.
_STREAM_KEY = 0xB0D5


@dataclass(frozen=True)
class TermInfo:
    """How one measured term is shown: symbol (plain Unicode), meaning and direction.

    ``direction`` is the paper's remark on which way the term should move for better
    generalization ("" when the paper makes none).
    """

    key: str
    symbol: str
    meaning: str
    direction: str
    group: str

    @property
    def better(self) -> str:
        """``"higher"``, ``"lower"`` or ``""``: the direction remark in one word."""
        if self.direction.startswith("smaller"):
            return "lower"
        if self.direction.startswith("larger"):
            return "higher"
        return ""


def _info(key: str, symbol: str, meaning: str, direction: str, group: str) -> TermInfo:
    return TermInfo(key, symbol, meaning, direction, group)


TERM_INFO: dict[str, TermInfo] = {
    t.key: t
    for t in (
        _info(
            "task_term",
            "C·TV(D, D_M)",
            "task divergence: how far the model's distribution is from the task's",
            "smaller is better: a stronger, more task-relevant model (Lemma 3.1)",
            "lemma31",
        ),
        _info(
            "generation_term",
            "C·TV(D_M, D_gen)",
            "generation divergence: how far prompting and curation move the data from the model",
            "smaller is better: a tighter bound (Lemma 3.1); Section 3.3 says prompt engineering"
            " and curation set it. Here stricter prompting (adherence b) raises it, as does"
            " curation noise: both move D_gen away from D_M",
            "lemma31",
        ),
        _info(
            "sampling_term",
            "|R_Dgen(π_gen) − R̂_Sgen(π_gen)|",
            "error of the synthetic-data fit measured on its own synthetic distribution",
            "smaller is better: more synthetic samples (Lemma 3.1)",
            "lemma31",
        ),
        _info(
            "bound_total",
            "Lemma 3.1 bound",
            "task + generation + sampling term: the upper bound on Err(π_gen)",
            "smaller is a tighter guarantee",
            "lemma31",
        ),
        _info(
            "err_synthetic",
            "Err(π_gen)",
            "measured error |R_D(π_gen) − R̂_Sgen(π_gen)| of the model trained on synthetic data",
            "smaller is better",
            "lemma31",
        ),
        _info(
            "bound_slack",
            "bound − Err(π_gen)",
            "how loose Lemma 3.1 is here (negative would mean a violation)",
            "",
            "lemma31",
        ),
        _info(
            "bound_holds",
            "share holding",
            "share of scenarios where Err(π_gen) ≤ bound within Monte Carlo error",
            "must be 1 (the lemma is a theorem)",
            "lemma31",
        ),
        _info(
            "H_eM",
            "H(e_M)",
            "entropy of the model factor: which model component produced a sample; equals"
            " Δ_I at adherence 0",
            "no single direction: Lemma 4.6 Remark 3 prefers it smaller with Δ_I held fixed,"
            " but Lemma 4.5 uses H(e_M) and Δ_I only through H(e_M) − Δ_I = I(e_M; e_p)",
            "information",
        ),
        _info(
            "I_eM_ep",
            "I(e_M; e_p)",
            "information the model's factor shares with the prompt's factor",
            "smaller is better in this app's reading of Lemma 4.5 (not a remark of the paper):"
            " it bounds I(S_gen; W) by I(e_M; e_p) + B_ep + δ_ε,p, since −Δ_I + H(e_M) ="
            " I(e_M; e_p)",
            "information",
        ),
        _info(
            "info_gain",
            "Δ_I = H(e_M | e_p)",
            "information gain: what the model adds beyond the prompt (diversity); counts"
            " task-irrelevant components as much as useful ones",
            "larger is better with H(e_M) held fixed (Lemma 4.6 Remark 1; Theorem 4.10 Remark 1)",
            "information",
        ),
        _info(
            "h_anchor",
            "H(S_anchor)",
            "differential entropy per anchor sample (G's first K components, equal weights)",
            "",
            "entropy",
        ),
        _info(
            "h_synthetic",
            "H(S_gen)",
            "differential entropy per synthetic sample (D_gen)",
            "",
            "entropy",
        ),
        _info(
            "entropy_drop",
            "δ = H(S_anchor) − H(S_gen)",
            "entropy drop from anchor to synthetic data (faithfulness), per sample; the paper's"
            " H(S) is the entropy of a whole data set. Negative at adherence 0: D_gen has the"
            " anchor components plus J + L more, so it is always more spread out",
            "larger is better (Theorem 4.10 Remark 3); the simulation never makes it positive"
            " without adherence",
            "entropy",
        ),
        _info(
            "err_anchor",
            "Err(π_anchor)",
            "measured error |R_D(π_anchor) − R̂_Sanchor(π_anchor)| of the model trained on anchor"
            " data",
            "",
            "gain",
        ),
        _info(
            "err_gain",
            "Err(π_anchor) − Err(π_gen)",
            "measured generalization gain from synthetic data (a stand-in for GGMI), a"
            " difference of capped log-losses in [−C, C]; not on a divergence's scale",
            "larger means synthetic data helped more (Definition 4.9)",
            "gain",
        ),
        _info(
            "metric_gap",
            "metric gap",
            "divergence gap D(π_anchor, G) − D(π_gen, G) of the chosen metric on the same fits",
            "larger means synthetic data helped more (the paper's KL Gap reading)",
            "gain",
        ),
    )
}

#: The Lemma 3.1 terms, the measured error they bound and the check.
LEMMA31_TERMS: tuple[str, ...] = (
    "task_term",
    "generation_term",
    "sampling_term",
    "bound_total",
    "err_synthetic",
    "bound_slack",
    "bound_holds",
)

SUMMARY_TERMS: tuple[str, ...] = (
    *LEMMA31_TERMS,
    "H_eM",
    "I_eM_ep",
    "info_gain",
    "h_anchor",
    "h_synthetic",
    "entropy_drop",
    "err_anchor",
    "err_gain",
    "metric_gap",
)

#: Parameters the "how terms move" sweep offers (ScenarioConfig field names).
BOUND_SWEEP_PARAMS: tuple[str, ...] = (
    "K",
    "J",
    "L",
    "noise_std",
    "adherence",
    "n_anchor_per_component",
    "n_synthetic",
)

#: The Bound-terms page's teaching sections (and the tour's steps on them): J and L values
#: of the J/L contrast, synthetic sample sizes n of the Lemma 4.8 comparison, and the most
#: scenarios per value they use.
JL_GRID: tuple[int, ...] = (2, 5, 8, 11, 15)
N_GRID: tuple[int, ...] = (50, 100, 200, 400, 800, 1600)
LESSON_ROUNDS: int = 20


def metric_short_name(metric: str) -> str:
    """Short human name of a divergence metric key (e.g. ``"js"`` -> ``"JS"``)."""
    return METRICS[metric].short if metric in METRICS else metric.upper()


# --------------------------------------------------------------------------- loss


def capped_loss(log_density: ArrayLike, loss_cap: float) -> Array:
    """The capped log-loss ``min(C, max(0, -log pi(x)))`` in nats, same shape as the input.

    Args:
        log_density: ``log pi(x)`` at some points (any shape); ``-inf`` gives ``C``.
        loss_cap: the cap C > 0.
    """
    _check_loss_cap(loss_cap)
    neg = -np.asarray(log_density, dtype=float)
    return np.clip(np.nan_to_num(neg, nan=loss_cap, posinf=loss_cap), 0.0, loss_cap)


def empirical_risk(fit: GMMBatch, X: ArrayLike, loss_cap: float) -> Array:
    """Empirical risk ``R^_S(pi)``: mean capped log-loss of ``fit`` on its sample, (R,).

    Args:
        fit: R fitted mixtures pi.
        X: one sample per scenario, (R, n, d).
        loss_cap: the cap C.
    """
    return capped_loss(divergences.log_density(fit, np.asarray(X, dtype=float)), loss_cap).mean(
        axis=1
    )


# --------------------------------------------------------------- information terms


@dataclass(frozen=True)
class InformationTerms:
    """Exact information terms of the synthetic factors, in nats; arrays of shape (...)."""

    H_eM: Array
    I_eM_ep: Array
    info_gain: Array


def prompt_channel(model_weights: ArrayLike, n_anchor_components: int, adherence: float) -> Array:
    """The channel ``P(e_M = j | e_p = k) = b [j = k] + (1 - b) w_j``, shape (..., K, k).

    Args:
        model_weights: M's mixing weights w, (..., k) with k >= K; M's first K components
            are the anchor components the prompt can name.
        n_anchor_components: K, the number of values e_p takes.
        adherence: b in [0, 1].
    """
    w = np.asarray(model_weights, dtype=float)
    k_total = w.shape[-1]
    K = int(n_anchor_components)
    if not 1 <= K <= k_total:
        raise ValueError(
            f"n_anchor_components (K) must be in 1..{k_total} (M's components); got {K}"
        )
    _check_adherence(adherence)
    eye = np.eye(K, k_total)
    return adherence * eye + (1.0 - adherence) * w[..., None, :]


def information_terms(
    model_weights: ArrayLike, n_anchor_components: int, adherence: float
) -> InformationTerms:
    """``H(e_M)``, ``I(e_M; e_p)`` and ``Delta_I = H(e_M | e_p)`` as exact sums (nats).

    e_p is uniform over the K anchor components; e_M given e_p follows ``prompt_channel``.
    Shapes: ``model_weights`` (..., k) gives arrays of shape (...).
    """
    channel = prompt_channel(model_weights, n_anchor_components, adherence)
    marginal = channel.mean(axis=-2)  # e_p is uniform over its K values
    h_marginal = entr(marginal).sum(axis=-1)
    h_conditional = entr(channel).sum(axis=-1).mean(axis=-1)
    mutual = np.maximum(h_marginal - h_conditional, 0.0)  # round-off can dip below 0
    return InformationTerms(H_eM=h_marginal, I_eM_ep=mutual, info_gain=h_conditional)


@dataclass(frozen=True)
class InfoGainByPart:
    """Exact split of ``Delta_I = H(e_M | e_p)`` by the part Z of M that answered (nats).

    Z (0 anchor-sampled, 1 unsampled, 2 task-irrelevant) is a function of e_M, so the chain
    rule gives ``H(e_M | e_p) = H(Z | e_p) + H(e_M | Z, e_p)``, and the second term splits
    over parts: ``H(e_M | Z, e_p) = sum_z sum_k P(e_p = k, Z = z) H(e_M | Z = z, e_p = k)``.

    Attributes:
        which_part: ``H(Z | e_p)``, shape (...): uncertainty about which part answers.
        within_part: ``P(Z = z, .) H(e_M | Z = z, e_p)`` summed over e_p, shape (..., 3):
            uncertainty about the component inside part z, weighted by how often z answers.
        which_part_share: the share of ``H(Z | e_p)`` that each part's own probability
            carries, ``E_k[-P(z | k) log P(z | k)]``, shape (..., 3); it sums to
            ``which_part``.
    """

    which_part: Array
    within_part: Array
    which_part_share: Array

    @property
    def total(self) -> Array:
        """``H(Z | e_p) + sum_z within_part[z]``, which equals ``Delta_I`` (shape (...))."""
        return self.which_part + self.within_part.sum(axis=-1)

    @property
    def by_part(self) -> Array:
        """Each part's whole contribution ``which_part_share + within_part``, (..., 3).

        Equals ``E_k[-sum_{j in z} P(j | k) log P(j | k)]``: the entropy terms of the
        components of part z.
        """
        return self.which_part_share + self.within_part


def info_gain_by_part(
    model_weights: ArrayLike,
    model_part: ArrayLike,
    n_anchor_components: int,
    adherence: float,
) -> InfoGainByPart:
    """Split ``Delta_I = H(e_M | e_p)`` exactly by the part of M that answered (nats).

    Uses ``prompt_channel``: ``P(e_M = j | e_p = k) = b [j = k] + (1 - b) w_j`` with e_p
    uniform over the K anchor components. Finite sums, no sampling.

    Args:
        model_weights: M's weights w, shape (..., k).
        model_part: part code of each of M's components, shape (k,), values in 0..2.
        n_anchor_components: K.
        adherence: b in [0, 1].

    Returns:
        An ``InfoGainByPart`` whose ``total`` equals ``information_terms(...).info_gain``.
        At b = 0 with equal weights and n_z components in part z (N = K + J + L):
        ``H(Z | e_p) = H(Z) = -sum_z (n_z/N) log(n_z/N)`` and
        ``within_part[z] = (n_z/N) log(n_z)``; they add up to ``log(N)``.
    """
    channel = prompt_channel(model_weights, n_anchor_components, adherence)  # (..., K, k)
    parts = np.asarray(model_part)
    if parts.shape != (channel.shape[-1],) or not np.isin(parts, (0, 1, 2)).all():
        raise ValueError(
            f"model_part must hold one code in 0..2 per model component "
            f"({channel.shape[-1]}); got {parts.tolist()}"
        )
    one_hot = (parts[:, None] == np.arange(3)[None, :]).astype(float)  # (k, 3)
    p_part = channel @ one_hot  # P(Z = z | e_p = k), (..., K, 3)
    # H(e_M | Z = z, e_p = k) weighted by P(z | k) equals sum_{j in z} entr(P(j | k))
    # minus entr(P(z | k)): the within-part entropy without dividing by P(z | k) (which
    # may be 0 for an empty part).
    weighted_within = entr(channel) @ one_hot - entr(p_part)  # (..., K, 3)
    share = entr(p_part).mean(axis=-2)  # e_p uniform over K
    return InfoGainByPart(
        which_part=share.sum(axis=-1),
        within_part=np.maximum(weighted_within.mean(axis=-2), 0.0),  # round-off only
        which_part_share=share,
    )


def info_gain_parts_for(config: ScenarioConfig) -> InfoGainByPart:
    """``info_gain_by_part`` for a configuration's model M (equal weights, as published)."""
    k = config.K + config.J + config.L
    parts = np.repeat(np.arange(3), [config.K, config.J, config.L])
    return info_gain_by_part(np.full(k, 1.0 / k), parts, config.K, config.adherence)


def info_gain_parts_table(
    config: ScenarioConfig, param: str, values: Iterable[float]
) -> pd.DataFrame:
    """The exact split of Delta_I for each value of one parameter (no sampling), long form.

    Columns: ``param, value, component, nats`` with component in ``"which part"`` and
    ``"within <part>"`` for each of ``PART_LABELS``, plus ``"total"`` (= Delta_I).
    """
    rows = []
    for value in values:
        split = info_gain_parts_for(config.replace(**{param: value}))
        rows.append(
            {
                "param": param,
                "value": value,
                "component": "which part",
                "nats": float(split.which_part),
            }
        )
        for name, nats in zip(PART_LABELS, split.within_part, strict=True):
            rows.append(
                {"param": param, "value": value, "component": f"within {name}", "nats": float(nats)}
            )
        rows.append(
            {"param": param, "value": value, "component": "total", "nats": float(split.total)}
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ risk terms


@dataclass(frozen=True)
class RiskTerms:
    """Loss-based terms per scenario (values and Monte Carlo standard errors (R,), nats)."""

    err_synthetic: Estimate
    err_anchor: Estimate
    err_gain: Estimate
    sampling_term: Estimate
    risk_target_synthetic: Estimate
    empirical_synthetic: Array
    risk_target_anchor: Estimate
    empirical_anchor: Array
    cap_share_synthetic: Array = field(default_factory=lambda: np.zeros(0))
    """(R,) share of the target draws x ~ G whose loss under pi_gen is the cap C."""
    cap_share_anchor: Array = field(default_factory=lambda: np.zeros(0))
    """(R,) the same for pi_anchor."""


#: Above this share of target points at the cap, Lemma 3.1's bound is close to trivially
#: true (every capped point contributes exactly C to the risk, whatever the fit).
CAP_WARN_SHARE: float = 0.03


def cap_share(loss: ArrayLike, loss_cap: float) -> Array:
    """Share of draws whose capped loss equals the cap C, per scenario: ``loss`` (R, n)
    -> (R,). A loss is capped where -log pi(x) >= C (or the density underflows to 0)."""
    return np.mean(np.asarray(loss, dtype=float) >= loss_cap, axis=-1)


def cap_saturation(terms: BoundTerms) -> tuple[float, float] | None:
    """Mean shares of target points at the cap for (pi_gen, pi_anchor), or None when the
    terms were stored without them."""
    extras = terms.extras
    if "cap_share_synthetic" not in extras or "cap_share_anchor" not in extras:
        return None
    return (
        float(np.mean(extras["cap_share_synthetic"])),
        float(np.mean(extras["cap_share_anchor"])),
    )


def risk_terms(
    target: GMMBatch,
    gen: GMMBatch,
    fit_anchor: GMMBatch,
    anchor_X: ArrayLike,
    fit_synthetic: GMMBatch,
    synth_X: ArrayLike,
    loss_cap: float,
    n_mc: int,
    rng: np.random.Generator,
) -> RiskTerms:
    """Generalization errors of both fits and the Lemma 3.1 sampling term.

    Population risks are Monte Carlo means of the capped loss over ``n_mc`` draws (exact
    densities); one target sample serves both fits so their difference is sharper.

    Args:
        target: G, the task distribution D.
        gen: D_gen, the law of one synthetic sample.
        fit_anchor: pi_anchor, fitted on ``anchor_X`` (R, m, d).
        fit_synthetic: pi_gen, fitted on ``synth_X`` (R, n, d).
        loss_cap: C.
        n_mc: Monte Carlo draws per expectation and scenario.
        rng: source of the draws.
    """
    _check_n_mc(n_mc)
    x_target = divergences.draw(target, n_mc, rng)
    loss_gen_on_target = capped_loss(divergences.log_density(fit_synthetic, x_target), loss_cap)
    loss_anchor_on_target = capped_loss(divergences.log_density(fit_anchor, x_target), loss_cap)
    x_gen = divergences.draw(gen, n_mc, rng)
    loss_gen_on_gen = capped_loss(divergences.log_density(fit_synthetic, x_gen), loss_cap)

    emp_gen = empirical_risk(fit_synthetic, synth_X, loss_cap)
    emp_anchor = empirical_risk(fit_anchor, anchor_X, loss_cap)

    risk_gen = _mc_mean(loss_gen_on_target)
    risk_anchor = _mc_mean(loss_anchor_on_target)
    risk_gen_on_gen = _mc_mean(loss_gen_on_gen)

    diff_gen = risk_gen.value - emp_gen
    diff_anchor = risk_anchor.value - emp_anchor
    # |mean - const| has the Monte Carlo error of the mean; the gain's error follows from
    # the per-draw linearisation sign(a) l_anchor(x) - sign(b) l_gen(x) on shared draws.
    per_draw_gain = (
        _sign(diff_anchor)[:, None] * loss_anchor_on_target
        - _sign(diff_gen)[:, None] * loss_gen_on_target
    )
    return RiskTerms(
        err_synthetic=Estimate(np.abs(diff_gen), risk_gen.stderr),
        err_anchor=Estimate(np.abs(diff_anchor), risk_anchor.stderr),
        err_gain=Estimate(np.abs(diff_anchor) - np.abs(diff_gen), _mc_mean(per_draw_gain).stderr),
        sampling_term=Estimate(np.abs(risk_gen_on_gen.value - emp_gen), risk_gen_on_gen.stderr),
        risk_target_synthetic=risk_gen,
        empirical_synthetic=emp_gen,
        risk_target_anchor=risk_anchor,
        empirical_anchor=emp_anchor,
        cap_share_synthetic=cap_share(loss_gen_on_target, loss_cap),
        cap_share_anchor=cap_share(loss_anchor_on_target, loss_cap),
    )


def divergence_terms(
    target: GMMBatch,
    model: GMMBatch,
    gen: GMMBatch,
    loss_cap: float,
    n_mc: int,
    rng: np.random.Generator,
) -> tuple[Estimate, Estimate]:
    """Task term ``C * TV(D, D_M)`` and generation term ``C * TV(D_M, D_gen)``, each (R,).

    Total variation comes from ``ggmi_core.divergences.total_variation``. When D_gen has
    the same parameters as M (no noise, no adherence) the generation term is exactly 0.
    """
    _check_loss_cap(loss_cap)
    task = divergences.total_variation(target, model, n_samples=n_mc, rng=rng)
    if _same_mixtures(model, gen):
        zeros = np.zeros(model.n_scenarios)
        generation = Estimate(zeros, zeros.copy())
    else:
        generation = divergences.total_variation(model, gen, n_samples=n_mc, rng=rng)
    return _scaled(task, loss_cap), _scaled(generation, loss_cap)


# --------------------------------------------------------------------- results


@dataclass(frozen=True)
class BoundTerms:
    """Every measured bound term for R scenarios of one configuration.

    Each ``Estimate`` holds per-scenario values and Monte Carlo standard errors, arrays of
    shape (R,), in nats (the information terms are exact: their errors are 0).
    """

    config: ScenarioConfig
    loss_cap: float
    n_mc: int
    metric: str
    task_term: Estimate
    generation_term: Estimate
    sampling_term: Estimate
    err_synthetic: Estimate
    err_anchor: Estimate
    err_gain: Estimate
    H_eM: Estimate
    I_eM_ep: Estimate
    info_gain: Estimate
    h_anchor: Estimate
    h_synthetic: Estimate
    entropy_drop: Estimate
    metric_gap: Estimate
    div_anchor: Estimate
    div_synthetic: Estimate
    extras: dict[str, Array] = field(default_factory=dict)
    scenarios: Any = None
    """The ``ScenarioBatch`` the terms were measured on (for figures and checks)."""

    @property
    def rounds(self) -> int:
        """Number of scenarios R."""
        return int(np.size(self.err_synthetic.value))

    @property
    def bound_total(self) -> Estimate:
        """Task + generation + sampling term, (R,)."""
        parts = (self.task_term, self.generation_term, self.sampling_term)
        return _sum_estimates(parts)

    @property
    def bound_slack(self) -> Estimate:
        """Bound minus measured error, (R,): how loose Lemma 3.1 is (>= 0 when it holds)."""
        total = self.bound_total
        return Estimate(
            total.value - self.err_synthetic.value,
            np.hypot(total.stderr, self.err_synthetic.stderr),
        )

    @property
    def bound_holds(self) -> NDArray[np.bool_]:
        """Per scenario: ``Err(pi_gen) <= bound + 3 standard errors`` of their difference."""
        slack = self.bound_slack
        return slack.value >= -HOLD_TOLERANCE_SE * slack.stderr - 1e-12

    def term(self, key: str) -> Estimate:
        """The per-scenario estimate of term ``key`` (a key of ``TERM_INFO``)."""
        if key == "bound_holds":
            holds = self.bound_holds.astype(float)
            return Estimate(holds, np.zeros_like(holds))
        if key not in TERM_INFO:
            raise ValueError(f"unknown term {key!r}; known: {', '.join(TERM_INFO)}")
        return getattr(self, key)

    def symbol(self, key: str) -> str:
        """Plain-Unicode symbol of a term (the metric gap names its metric)."""
        if key == "metric_gap":
            return f"{metric_short_name(self.metric)} gap"
        return TERM_INFO[key].symbol

    def summary(self) -> pd.DataFrame:
        """One row per term: ``term, symbol, mean, stderr, meaning, direction, group``.

        ``mean`` averages over scenarios; ``stderr`` is the standard error of that mean
        across scenarios (it includes the Monte Carlo noise); with one scenario it is the
        Monte Carlo standard error. For ``bound_holds`` the mean is the share of scenarios.
        """
        rows = []
        for key in SUMMARY_TERMS:
            est = self.term(key)
            mean, stderr = _across_scenarios(np.asarray(est.value), np.asarray(est.stderr))
            info = TERM_INFO[key]
            rows.append(
                {
                    "term": key,
                    "symbol": self.symbol(key),
                    "mean": mean,
                    "stderr": stderr,
                    "meaning": info.meaning,
                    "direction": info.direction,
                    "group": info.group,
                }
            )
        return pd.DataFrame(rows)

    def per_scenario(self) -> pd.DataFrame:
        """Per-scenario values (one row per scenario, one column per term), for export."""
        data: dict[str, ArrayLike] = {"scenario": np.arange(self.rounds)}
        for key in SUMMARY_TERMS:
            data[key] = np.asarray(self.term(key).value)
        return pd.DataFrame(data)


def bound_terms(
    config: ScenarioConfig,
    rounds: int = 50,
    loss_cap: float = DEFAULT_LOSS_CAP,
    n_mc: int = DEFAULT_N_MC,
    metric: str = "js",
    progress: Progress | None = None,
) -> BoundTerms:
    """Measure every bound term for ``rounds`` scenarios of ``config``.

    The scenarios and the two EM fits come from ``ggmi_core.simulation`` (so the metric gap
    is computed on the very fits whose errors are measured here); this function adds the
    loss-based, information and entropy terms with its own seeded Monte Carlo stream.

    Args:
        config: the scenario setting (its seed fixes every draw).
        rounds: number of scenarios R >= 1.
        loss_cap: cap C of the log-loss, in nats.
        n_mc: Monte Carlo draws per expectation and scenario.
        metric: divergence metric of the gap (a key of ``ggmi_core.metrics.METRICS``).
        progress: ``progress(done, total)`` called between units of work; it may raise
            to cancel.

    Returns:
        A ``BoundTerms`` with arrays of shape (R,).
    """
    _check_loss_cap(loss_cap)
    _check_n_mc(n_mc)
    if int(rounds) < 1:
        raise ValueError(f"rounds must be at least 1; got {rounds}")
    extra_steps = 3
    sim_total = [1]

    def sim_progress(done: int, total: int) -> None:
        sim_total[0] = max(int(total), 1)
        if progress is not None:
            progress(done, sim_total[0] + extra_steps)

    sim = simulate(config, rounds=int(rounds), metric=metric, n_mc=n_mc, progress=sim_progress)
    scen = sim.scenarios
    rng = np.random.default_rng([config.seed, _STREAM_KEY])

    def step(i: int) -> None:
        if progress is not None:
            progress(sim_total[0] + i, sim_total[0] + extra_steps)

    fit_anchor = _as_batch(sim.fit_anchor)
    fit_synthetic = _as_batch(sim.fit_synthetic)
    risks = risk_terms(
        scen.target,
        scen.gen,
        fit_anchor,
        scen.anchor_X,
        fit_synthetic,
        scen.synth_X,
        loss_cap,
        n_mc,
        rng,
    )
    step(1)
    task, generation = divergence_terms(scen.target, scen.model, scen.gen, loss_cap, n_mc, rng)
    step(2)
    h_anchor = divergences.entropy(scen.anchor_source, n_samples=n_mc, rng=rng)
    h_synthetic = divergences.entropy(scen.gen, n_samples=n_mc, rng=rng)
    step(3)
    info = information_terms(scen.model.weights, config.K, config.adherence)
    return BoundTerms(
        config=config,
        loss_cap=float(loss_cap),
        n_mc=int(n_mc),
        metric=metric,
        task_term=task,
        generation_term=generation,
        sampling_term=risks.sampling_term,
        err_synthetic=risks.err_synthetic,
        err_anchor=risks.err_anchor,
        err_gain=risks.err_gain,
        H_eM=_exact(info.H_eM),
        I_eM_ep=_exact(info.I_eM_ep),
        info_gain=_exact(info.info_gain),
        h_anchor=_as_arrays(h_anchor),
        h_synthetic=_as_arrays(h_synthetic),
        entropy_drop=Estimate(
            np.asarray(h_anchor.value) - np.asarray(h_synthetic.value),
            np.hypot(h_anchor.stderr, h_synthetic.stderr),
        ),
        metric_gap=Estimate(np.asarray(sim.gap), np.asarray(sim.gap_stderr)),
        div_anchor=Estimate(np.asarray(sim.div_anchor), np.asarray(sim.div_anchor_stderr)),
        div_synthetic=Estimate(np.asarray(sim.div_synthetic), np.asarray(sim.div_synthetic_stderr)),
        scenarios=scen,
        extras={
            "risk_target_synthetic": risks.risk_target_synthetic.value,
            "empirical_synthetic": risks.empirical_synthetic,
            "risk_target_anchor": risks.risk_target_anchor.value,
            "empirical_anchor": risks.empirical_anchor,
            "cap_share_synthetic": risks.cap_share_synthetic,
            "cap_share_anchor": risks.cap_share_anchor,
        },
    )


def bound_terms_without_scenarios(
    config: ScenarioConfig,
    rounds: int = 50,
    loss_cap: float = DEFAULT_LOSS_CAP,
    n_mc: int = DEFAULT_N_MC,
    metric: str = "js",
) -> BoundTerms:
    """``bound_terms`` with ``scenarios=None``: every measured term, none of the samples.

    The scenario arrays are most of the result's bytes; dropping them keeps a cached or
    pickled result (sent back from a worker process) small.
    """
    terms = bound_terms(config, rounds=rounds, loss_cap=loss_cap, n_mc=n_mc, metric=metric)
    return replace(terms, scenarios=None)


# ------------------------------------------------------------------- sweeps and cost


def estimate_bound_cost(
    config: ScenarioConfig, rounds: int, n_mc: int = DEFAULT_N_MC, metric: str = "js"
) -> float:
    """Work of one ``bound_terms`` call, in ``ggmi_core.budget`` units.

    ``simulate`` does the fits and the gap; the extra terms need about as many Monte Carlo
    log-density evaluations again (two TVs, two entropies, three risks), hence the factor 2.
    """
    return 2.0 * estimate_cost(config, rounds, n_mc=n_mc, metric=metric)


def checked_sweep_values(
    config: ScenarioConfig, param: str, values: Iterable[float]
) -> list[float]:
    """Validated, de-duplicated sweep values (in the given order).

    Raises ``ValueError`` naming the parameter when a value is outside its range or makes
    the configuration invalid (e.g. n below K + J + L).
    """
    if param not in BOUND_SWEEP_PARAMS:
        raise ValueError(f"param must be one of {', '.join(BOUND_SWEEP_PARAMS)}; got {param!r}")
    out: list[float] = []
    for v in values:
        checked = getattr(config.replace(**{param: v}), param)
        if checked not in out:
            out.append(checked)
    if not out:
        raise ValueError(f"the sweep over {param} needs at least one value")
    return out


#: Range each swept parameter covers by default, and whether its grid is geometric.
SWEEP_RANGES: dict[str, tuple[float, float, bool]] = {
    "K": (1, 10, False),
    "J": (0, 12, False),
    "L": (0, 12, False),
    "noise_std": (0.0, 2.0, False),
    "adherence": (0.0, 1.0, False),
    "n_anchor_per_component": (5, 200, True),
    "n_synthetic": (50, 1000, True),
}


def default_sweep_values(config: ScenarioConfig, param: str, points: int) -> list[float]:
    """An evenly (or, for sample sizes, geometrically) spaced grid of about ``points`` values.

    Integer parameters are rounded and de-duplicated; the synthetic sample size starts at
    K + J + L at least, so every value is a valid configuration.
    """
    if param not in SWEEP_RANGES:
        raise ValueError(f"param must be one of {', '.join(SWEEP_RANGES)}; got {param!r}")
    if isinstance(points, bool) or not isinstance(points, int) or not 2 <= points <= 50:
        raise ValueError(f"points must be an integer in 2..50; got {points!r}")
    low, high, geometric = SWEEP_RANGES[param]
    if param == "n_synthetic":
        low = max(low, config.n_model_components)
    grid = np.geomspace(low, high, points) if geometric else np.linspace(low, high, points)
    if FIELD_LIMITS[param].integer:
        grid = np.round(grid).astype(int)
    else:
        grid = np.round(grid, 6)
    return checked_sweep_values(config, param, [v.item() for v in grid])


def estimate_bound_sweep_cost(
    config: ScenarioConfig,
    param: str,
    values: Sequence[float],
    rounds: int,
    n_mc: int = DEFAULT_N_MC,
    metric: str = "js",
) -> float:
    """Work of ``sweep_bound_terms`` (sum over values), in ``ggmi_core.budget`` units."""
    return sum(
        estimate_bound_cost(config.replace(**{param: v}), rounds, n_mc, metric)
        for v in checked_sweep_values(config, param, values)
    )


def sweep_bound_terms(
    config: ScenarioConfig,
    param: str,
    values: Sequence[float],
    rounds: int = 30,
    loss_cap: float = DEFAULT_LOSS_CAP,
    n_mc: int = DEFAULT_N_MC,
    metric: str = "js",
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Every term's scenario mean and standard error as one parameter varies.

    Returns a long table with columns ``param, value, term, symbol, mean, stderr, group``
    (one row per value and term of ``SUMMARY_TERMS``). ``progress(done, total)`` counts
    finished values and may raise to cancel.
    """
    grid = checked_sweep_values(config, param, values)
    frames = []
    for i, value in enumerate(grid):
        if progress is not None:
            progress(i, len(grid))
        terms = bound_terms(
            config.replace(**{param: value}),
            rounds=rounds,
            loss_cap=loss_cap,
            n_mc=n_mc,
            metric=metric,
        )
        table = terms.summary()[["term", "symbol", "mean", "stderr", "group"]]
        table.insert(0, "value", value)
        table.insert(0, "param", param)
        frames.append(table)
    if progress is not None:
        progress(len(grid), len(grid))
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------- Lemma 4.8: n against m


def fit_parameter_count(n_components: int, dim: int) -> int:
    """Free parameters of a full-covariance GMM: ``(k - 1) + k d + k d (d + 1) / 2``."""
    k, d = int(n_components), int(dim)
    if k < 1 or d < 1:
        raise ValueError(f"n_components and dim must be at least 1; got {k}, {d}")
    return (k - 1) + k * d + k * d * (d + 1) // 2


def information_standin(n_params: int, size: ArrayLike) -> Array:
    """Stand-in for ``I(S; W)`` in nats: ``(p / 2) log(size)``, same shape as ``size``.

    NOT from the paper: the paper gives no value of ``I(S; W)`` and a fitted mixture has
    none that is finite (W is a deterministic function of a continuous sample). This is the
    description length of p parameters pinned down to their statistical precision
    (about ``1 / sqrt(size)`` each), the count behind BIC/MDL. It grows with the number
    of parameters and only logarithmically with the sample size.
    """
    size = np.asarray(size, dtype=float)
    if np.any(size < 2):
        raise ValueError("sample sizes must be at least 2")
    return 0.5 * float(n_params) * np.log(size)


def lemma44_shape(information: ArrayLike, size: ArrayLike) -> Array:
    """``sqrt(I / size)``: the part of Lemma 4.4 (and 4.8) that depends on data, sqrt(nats).

    The prefactor ``exp(-(L/2) log(1/eta)) sqrt(2 sigma^2)`` is unknown for a mixture fit
    and is left out (taken as 1); Section 4.3 of the paper warns it differs between the
    anchor-trained and the synthetic-trained model, so only the trend in the sample size
    and the effect of I are meaningful.
    """
    return np.sqrt(np.asarray(information, dtype=float) / np.asarray(size, dtype=float))


SAMPLE_SIZE_COLUMNS: tuple[str, ...] = (
    "n",
    "m",
    "ratio_n_over_m",
    "err_synthetic",
    "err_synthetic_stderr",
    "err_anchor",
    "err_anchor_stderr",
    "params_synthetic",
    "params_anchor",
    "info_standin_synthetic",
    "info_standin_anchor",
    "bound_shape_synthetic",
    "bound_shape_anchor",
)
"""Columns of ``sample_size_table`` (errors in nats, bound shapes in sqrt(nats))."""


def sample_size_table(config: ScenarioConfig, sweep: pd.DataFrame) -> pd.DataFrame:
    """Lemma 4.8 against Lemma 4.4/4.6: measured errors and bound shapes as n varies.

    Args:
        config: the setting (its K, J, L, N_k and d fix m and both parameter counts).
        sweep: ``sweep_bound_terms(config, "n_synthetic", values, ...)`` output.

    Returns:
        One row per synthetic sample size n (columns ``SAMPLE_SIZE_COLUMNS``): measured
        ``Err(pi_gen)`` and ``Err(pi_anchor)`` (scenario means and standard errors, nats;
        the anchor side does not depend on n and is re-measured at every n) and the
        stand-in bound shapes ``sqrt(I/n)`` (K+J+L-component fit on n samples) and
        ``sqrt(I/m)`` (K-component fit on the m = K N_k anchor samples).
    """
    missing = {"value", "term", "mean", "stderr"} - set(sweep.columns)
    if missing:
        raise ValueError(f"sweep table lacks columns: {', '.join(sorted(missing))}")
    if "param" in sweep.columns and set(sweep["param"]) != {"n_synthetic"}:
        raise ValueError("sample_size_table needs a sweep over n_synthetic")
    m = config.K * config.n_anchor_per_component
    p_gen = fit_parameter_count(config.K + config.J + config.L, config.dim)
    p_anchor = fit_parameter_count(config.K, config.dim)
    wide = sweep.pivot_table(index="value", columns="term", values=["mean", "stderr"])
    n = wide.index.to_numpy(dtype=float)
    info_gen = information_standin(p_gen, n)
    info_anchor = float(information_standin(p_anchor, m))
    table = pd.DataFrame(
        {
            "n": n.astype(int),
            "m": m,
            "ratio_n_over_m": n / m,
            "err_synthetic": wide[("mean", "err_synthetic")].to_numpy(),
            "err_synthetic_stderr": wide[("stderr", "err_synthetic")].to_numpy(),
            "err_anchor": wide[("mean", "err_anchor")].to_numpy(),
            "err_anchor_stderr": wide[("stderr", "err_anchor")].to_numpy(),
            "params_synthetic": p_gen,
            "params_anchor": p_anchor,
            "info_standin_synthetic": info_gen,
            "info_standin_anchor": info_anchor,
            "bound_shape_synthetic": lemma44_shape(info_gen, n),
            "bound_shape_anchor": float(lemma44_shape(info_anchor, m)),
        }
    )
    return table[list(SAMPLE_SIZE_COLUMNS)].reset_index(drop=True)


def bound_crossing(config: ScenarioConfig) -> int:
    """Smallest n at which the stand-in synthetic bound shape is below the anchor one.

    Solves ``sqrt(I_gen(n) / n) < sqrt(I_anchor(m) / m)`` on the integers (the stand-ins
    of ``information_standin``); n >= K + J + L.
    """
    m = config.K * config.n_anchor_per_component
    p_gen = fit_parameter_count(config.K + config.J + config.L, config.dim)
    target = float(
        lemma44_shape(information_standin(fit_parameter_count(config.K, config.dim), m), m)
    )
    n = np.arange(max(2, config.K + config.J + config.L), 1_000_001)
    below = lemma44_shape(information_standin(p_gen, n), n) < target
    return int(n[np.argmax(below)]) if below.any() else -1


# ------------------------------------------------------------------------ helpers


def _mc_mean(per_draw: Array) -> Estimate:
    """Mean over the last axis and its standard error, arrays (R,)."""
    n = per_draw.shape[-1]
    stderr = per_draw.std(axis=-1, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(per_draw.shape[0])
    return Estimate(per_draw.mean(axis=-1), stderr)


def _sign(x: Array) -> Array:
    # |a| at a = 0 has sub-gradient in [-1, 1]; +1 keeps the error estimate conservative.
    return np.where(x >= 0, 1.0, -1.0)


def _scaled(est: Estimate, factor: float) -> Estimate:
    return Estimate(factor * np.asarray(est.value), factor * np.asarray(est.stderr))


def _exact(values: Array) -> Estimate:
    values = np.asarray(values, dtype=float)
    return Estimate(values, np.zeros_like(values))


def _as_arrays(est: Estimate) -> Estimate:
    return Estimate(np.asarray(est.value, dtype=float), np.asarray(est.stderr, dtype=float))


def _sum_estimates(parts: Sequence[Estimate]) -> Estimate:
    value = sum(np.asarray(p.value, dtype=float) for p in parts)
    stderr = np.sqrt(sum(np.asarray(p.stderr, dtype=float) ** 2 for p in parts))
    return Estimate(value, stderr)


def _across_scenarios(values: Array, mc_stderr: Array) -> tuple[float, float]:
    values = np.atleast_1d(values).astype(float)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan"), float("nan")
    if finite.size == 1:
        return float(finite[0]), float(np.atleast_1d(mc_stderr)[0])
    return float(finite.mean()), float(finite.std(ddof=1) / np.sqrt(finite.size))


def _same_mixtures(a: GMMBatch, b: GMMBatch) -> bool:
    return (
        a.weights.shape == b.weights.shape
        and np.array_equal(a.weights, b.weights)
        and np.array_equal(a.means, b.means)
        and np.array_equal(a.covariances, b.covariances)
    )


def _as_batch(fit: object) -> GMMBatch:
    """Accept a ``GMMBatch`` or an EM result holding one in ``.gmm``."""
    if isinstance(fit, GMMBatch):
        return fit
    gmm = getattr(fit, "gmm", None)
    if isinstance(gmm, GMMBatch):
        return gmm
    raise TypeError(f"expected a GMMBatch or an EM result, got {type(fit).__name__}")


def _check_loss_cap(loss_cap: float) -> None:
    low, high = LOSS_CAP_RANGE
    if isinstance(loss_cap, bool) or not (
        isinstance(loss_cap, int | float) and np.isfinite(loss_cap) and low <= loss_cap <= high
    ):
        raise ValueError(f"loss_cap (C, nats) must be a number in {low}..{high}; got {loss_cap!r}")


def _check_n_mc(n_mc: int) -> None:
    low, high = MIN_BOUND_N_MC, N_MC_RANGE[1]
    if isinstance(n_mc, bool) or not (isinstance(n_mc, int | np.integer) and low <= n_mc <= high):
        raise ValueError(
            f"n_mc (Monte Carlo draws) must be an integer in {low}..{high}; got {n_mc!r}"
        )


def _check_adherence(adherence: float) -> None:
    limit = FIELD_LIMITS["adherence"]
    if not (isinstance(adherence, int | float) and limit.low <= adherence <= limit.high):
        raise ValueError(f"adherence (b) must be a number in 0..1; got {adherence!r}")
