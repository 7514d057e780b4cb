"""The KL-Gap experiment of the paper (Figure 4), batched, for any divergence.

For each of R scenarios (``ggmi_core.scenario``): fit pi^anchor (K components) to the
anchor data and pi^gen (K+J+L components) to the synthetic data with batched EM, then

    gap = div(pi^anchor, G) - div(pi^gen, G)

(larger: the synthetic data helped more), for any metric of ``ggmi_core.metrics.METRICS``
(all in nats except ``tv``, a probability).

Seeds: a configuration's scenarios are processed in chunks whose size depends only on
the configuration; chunk c draws from ``SeedSequence(config.seed).spawn(...)[c]``, so the
same configuration gives identical numbers whatever the worker count. A sweep point for
value v is exactly ``simulate(config.replace(param=v))``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ggmi_core import divergences as dv
from ggmi_core._allocator import keep_freed_memory
from ggmi_core.config import DEFAULT_N_MC, N_MC_RANGE, SWEEPABLE_PARAMS, ScenarioConfig
from ggmi_core.em import EMResult, fit_gmm_batch
from ggmi_core.estimate import Estimate
from ggmi_core.gmm import GMMBatch
from ggmi_core.metrics import METRICS, check_metric
from ggmi_core.scenario import ScenarioBatch, generate_scenarios
from ggmi_core.workers import (
    init_forked_worker,
    init_worker,
    main_hidden,
    one_thread_while_forking,
    pool_context,
)

Array = NDArray[np.float64]
Progress = Callable[[int, int], Any]

ROUNDS_RANGE = (1, 100_000)

MAX_CHUNK_ROUNDS = 100
# Largest (rounds x components x points) EM block of one chunk, bounding memory.
_MAX_CHUNK_ELEMENTS = 6_000_000
# Largest (scenarios x Monte Carlo draws x components) block of one metric evaluation.
_MAX_MC_ELEMENTS = 8_000_000
# Domain tag mixed into the seed so other users of config.seed draw other streams.
_SEED_TAG = 0x6E31


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Per-scenario gaps and everything needed to plot them.

    Attributes:
        config, metric, n_mc: what was run.
        gap, gap_stderr: (R,) div(pi^anchor, G) - div(pi^gen, G) and its Monte Carlo
            standard error (nats; ``tv`` is a probability).
        div_anchor, div_anchor_stderr: (R,) div(pi^anchor, G) (``kl_reverse``: KL(G||pi)).
        div_synthetic, div_synthetic_stderr: (R,) div(pi^gen, G).
        scenarios: the drawn ``ScenarioBatch`` (targets, models, data).
        fit_anchor: pi^anchor per scenario, K components.
        fit_synthetic: pi^gen per scenario, K+J+L components.
        anchor_em, synthetic_em: EM diagnostics (converged, n_iter, mean_loglik).
    """

    config: ScenarioConfig
    metric: str
    n_mc: int
    gap: Array
    gap_stderr: Array
    div_anchor: Array
    div_anchor_stderr: Array
    div_synthetic: Array
    div_synthetic_stderr: Array
    scenarios: ScenarioBatch
    fit_anchor: GMMBatch
    fit_synthetic: GMMBatch
    anchor_em: EMResult
    synthetic_em: EMResult

    @property
    def rounds(self) -> int:
        return self.gap.shape[0]


# ---------------------------------------------------------------------------- simulate


def simulate(
    config: ScenarioConfig,
    rounds: int = 100,
    metric: str = "js",
    n_mc: int = DEFAULT_N_MC,
    progress: Progress | None = None,
) -> SimulationResult:
    """Run the KL-Gap experiment on ``rounds`` scenarios of ``config``.

    Args:
        config: scenario setting (its ``seed`` fixes every draw).
        rounds: R, independent scenarios.
        metric: one of ``METRICS``.
        n_mc: Monte Carlo draws per divergence and scenario (ignored by ``kl_published``,
            which uses the published 1,000 samples x 100 resamplings).
        progress: called as ``progress(done, total)`` after each chunk of scenarios;
            raising from it cancels the run.
    """
    rounds, metric, n_mc = _checked_run(config, rounds, metric, n_mc)
    keep_freed_memory()  # reuse the pages of freed arrays (see ggmi_core._allocator)
    chunks = chunk_sizes(config, rounds)
    seeds = np.random.SeedSequence([_SEED_TAG, config.seed]).spawn(len(chunks))
    parts = []
    for index, (size, seed) in enumerate(zip(chunks, seeds, strict=True)):
        parts.append(_simulate_chunk(config, size, metric, n_mc, seed))
        if progress is not None:
            progress(index + 1, len(chunks))
    return parts[0] if len(parts) == 1 else _concatenate(parts)


def chunk_sizes(config: ScenarioConfig, rounds: int) -> list[int]:
    """Scenario counts of the chunks ``simulate`` processes (depends on config only)."""
    anchor_work = config.K * config.n_anchor
    synth_work = config.n_model_components * config.n_synthetic
    per_round = max(anchor_work, synth_work, 1) * max(1, config.dim // 2)
    size = int(max(1, min(MAX_CHUNK_ROUNDS, _MAX_CHUNK_ELEMENTS // per_round)))
    full, rest = divmod(rounds, size)
    return [size] * full + ([rest] if rest else [])


def _simulate_chunk(
    config: ScenarioConfig, rounds: int, metric: str, n_mc: int, seed: np.random.SeedSequence
) -> SimulationResult:
    g_scen, g_anchor, g_synth, g_div = (np.random.default_rng(s) for s in seed.spawn(4))
    scen = generate_scenarios(config, rounds, g_scen)
    anchor_em = fit_gmm_batch(scen.anchor_X, config.K, g_anchor)
    synthetic_em = fit_gmm_batch(scen.synth_X, config.n_model_components, g_synth)
    div_a, div_s, gap = _metric_in_blocks(
        metric, anchor_em.gmm, synthetic_em.gmm, scen.target, n_mc, g_div
    )
    return SimulationResult(
        config=config,
        metric=metric,
        n_mc=n_mc,
        gap=np.asarray(gap.value, float),
        gap_stderr=np.asarray(gap.stderr, float),
        div_anchor=np.asarray(div_a.value, float),
        div_anchor_stderr=np.asarray(div_a.stderr, float),
        div_synthetic=np.asarray(div_s.value, float),
        div_synthetic_stderr=np.asarray(div_s.stderr, float),
        scenarios=scen,
        fit_anchor=anchor_em.gmm,
        fit_synthetic=synthetic_em.gmm,
        anchor_em=anchor_em,
        synthetic_em=synthetic_em,
    )


def _metric_in_blocks(
    metric: str, fa: GMMBatch, fs: GMMBatch, G: GMMBatch, n_mc: int, rng: np.random.Generator
) -> tuple[Estimate, Estimate, Estimate]:
    """Run a metric on blocks of scenarios small enough to bound the Monte Carlo memory
    (large n_mc); the blocks depend on the configuration and n_mc only."""
    per_row = n_mc * (G.n_components + max(fa.n_components, fs.n_components))
    step = max(1, _MAX_MC_ELEMENTS // per_row)
    rows = G.n_scenarios
    estimate = METRICS[metric].estimate_gap
    if METRICS[metric].fixed_samples or step >= rows:  # fixed sample sizes block by themselves
        return estimate(fa, fs, G, n_mc, rng)
    parts = [
        estimate(
            *(dv.repeat_rows(b, slice(start, start + step), 1) for b in (fa, fs, G)), n_mc, rng
        )
        for start in range(0, rows, step)
    ]
    return tuple(  # type: ignore[return-value]
        Estimate(
            np.concatenate([np.atleast_1d(p[i].value) for p in parts]),
            np.concatenate([np.atleast_1d(p[i].stderr) for p in parts]),
        )
        for i in range(3)
    )


# ---------------------------------------------------------------------------- sweep


def sweep(
    config: ScenarioConfig,
    param: str,
    values: Sequence[float],
    rounds: int = 100,
    metric: str = "js",
    progress: Progress | None = None,
    workers: int = 1,
    n_mc: int = DEFAULT_N_MC,
    scheduler: str | None = None,
    client: Any = None,
) -> pd.DataFrame:
    """Summaries of ``simulate`` for each value of one parameter, one row per value.

    Row v equals the summary of ``simulate(config.replace(**{param: v}), rounds, metric,
    n_mc)`` (same numbers whatever ``workers`` is).

    Args:
        config: the other settings.
        param: one of ``SWEEPABLE_PARAMS``.
        values: the values to try (each validated like the config field).
        rounds, metric, n_mc: as ``simulate``.
        progress: ``progress(done, total)`` after each finished value; raising from it
            cancels the sweep (pending work is dropped).
        workers: processes to use (1 runs in this process).
        scheduler, client: run the values as tasks on a Dask cluster instead (an address
            such as ``"tcp://host:8786"``, or an open ``distributed.Client``); the same
            numbers (``ggmi_core.distributed``).

    Returns:
        DataFrame with columns ``SUMMARY_COLUMNS`` (gaps in nats; ``tv`` is a probability).
    """
    return sweep_params(
        config, {param: values}, rounds, metric, progress=progress, workers=workers, n_mc=n_mc,
        scheduler=scheduler, client=client,
    )  # fmt: skip


def sweep_params(
    config: ScenarioConfig,
    grid: Mapping[str, Sequence[float]],
    rounds: int = 100,
    metric: str = "js",
    progress: Progress | None = None,
    workers: int = 1,
    n_mc: int = DEFAULT_N_MC,
    scheduler: str | None = None,
    client: Any = None,
) -> pd.DataFrame:
    """Several one-parameter sweeps run as one job list (one process pool for all).

    ``grid`` maps each parameter to its values, e.g. Figure 4's
    ``{"K": range(2, 16), "J": range(2, 16), "L": range(2, 16)}``; the result stacks the
    ``sweep`` tables of each parameter in the given order (column ``param`` tells them
    apart). Arguments as ``sweep``; ``progress`` counts finished values over all params.
    """
    if not grid:
        raise ValueError("the sweep grid must name at least one parameter")
    jobs = []
    for param, values in grid.items():
        configs = sweep_configs(config, param, values)
        checked = _checked_run(configs[0], rounds, metric, n_mc)
        jobs.extend((c, param, *checked) for c in configs)
    workers = _checked_workers(workers)
    distinct, first_of = _distinct_configs(jobs)
    if progress is not None and len(distinct) < len(jobs):
        progress = _scaled_progress(progress, len(jobs))
    if scheduler or client is not None:
        from ggmi_core.distributed import run_on_dask  # imports Dask: only when asked

        rows = run_on_dask(summary_row, distinct, progress, scheduler=scheduler, client=client)
    elif workers == 1 or len(distinct) == 1:
        rows = []
        for index, job in enumerate(distinct):
            rows.append(summary_row(*job))
            if progress is not None:
                progress(index + 1, len(distinct))
    else:
        rows = run_in_pool(summary_row, distinct, workers, progress)
    table = [
        _as_param_row(rows[first_of[i]], config, param)
        for i, (config, param, *_) in enumerate(jobs)
    ]
    return pd.DataFrame(table, columns=list(SUMMARY_COLUMNS))


def _distinct_configs(jobs: list[tuple]) -> tuple[list[tuple], list[int]]:
    """Jobs with the same configuration (and run options) once each, and for every job
    the index of its distinct job.

    Figure 4's grid holds K=J=L=2 three times (once per letter); its scenarios, fits and
    gaps are the same numbers each time, so they are computed once.
    """
    distinct: list[tuple] = []
    index_of: dict[tuple, int] = {}
    first_of = []
    for config, param, *options in jobs:
        key = (config, *options)
        if key not in index_of:
            index_of[key] = len(distinct)
            distinct.append((config, param, *options))
        first_of.append(index_of[key])
    return distinct, first_of


def _as_param_row(row: dict[str, Any], config: ScenarioConfig, param: str) -> dict[str, Any]:
    """A summary row relabelled as a row of ``param``'s sweep (same numbers)."""
    if row["param"] == param:
        return row
    return row | {"param": param, "value": getattr(config, param)}


def _scaled_progress(progress: Progress, total: int) -> Progress:
    """``progress`` counted in values of the whole grid while distinct jobs finish."""

    def report(done: int, distinct_total: int) -> Any:
        return progress(done * total // distinct_total, total)

    return report


SUMMARY_COLUMNS: tuple[str, ...] = (
    "param",
    "value",
    "metric",
    "rounds",
    "n_mc",
    "gap_mean",
    "gap_std",
    "gap_sem",
    "gap_median",
    "gap_q10",
    "gap_q90",
    "gap_min",
    "gap_max",
    "gap_mc_stderr",
    "div_anchor_mean",
    "div_anchor_std",
    "div_synthetic_mean",
    "div_synthetic_std",
    "em_converged",
)
"""Sweep table columns. ``gap_std`` is across scenarios (ddof=1), ``gap_sem`` = std /
sqrt(rounds), ``gap_mc_stderr`` the root-mean-square Monte Carlo standard error of one
scenario's gap, ``em_converged`` the fraction of EM fits that met the tolerance."""


def summary_row(
    config: ScenarioConfig, param: str, rounds: int, metric: str, n_mc: int
) -> dict[str, Any]:
    """One sweep row: ``simulate`` on ``config`` summarised (see ``SUMMARY_COLUMNS``)."""
    row, _ = gap_point(config, param, rounds, metric, n_mc)
    return row


def gap_point(
    config: ScenarioConfig, param: str, rounds: int, metric: str, n_mc: int = DEFAULT_N_MC
) -> tuple[dict[str, Any], NDArray[np.float64]]:
    """One sweep value: its summary row and every scenario's gap, shape (R,), in nats.

    A module-level function of picklable arguments, so a dashboard can run one value of a
    sweep in a worker process and draw per-scenario distributions from the gaps.
    """
    result = simulate(config, rounds=rounds, metric=metric, n_mc=n_mc)
    return summarise(result, param), np.asarray(result.gap, dtype=float)


def summarise(result: SimulationResult, param: str) -> dict[str, Any]:
    """Summary statistics of one ``SimulationResult`` as a sweep row."""
    g = result.gap
    n = g.shape[0]
    std = float(g.std(ddof=1)) if n > 1 else float("nan")
    converged = np.concatenate([result.anchor_em.converged, result.synthetic_em.converged])
    value = getattr(result.config, param)
    return {
        "param": param,
        "value": value,
        "metric": result.metric,
        "rounds": n,
        "n_mc": result.n_mc,
        "gap_mean": float(g.mean()),
        "gap_std": std,
        "gap_sem": std / math.sqrt(n) if n > 1 else float("nan"),
        "gap_median": float(np.median(g)),
        "gap_q10": float(np.quantile(g, 0.1)),
        "gap_q90": float(np.quantile(g, 0.9)),
        "gap_min": float(g.min()),
        "gap_max": float(g.max()),
        "gap_mc_stderr": float(np.sqrt(np.mean(np.square(result.gap_stderr)))),
        "div_anchor_mean": float(result.div_anchor.mean()),
        "div_anchor_std": float(result.div_anchor.std(ddof=1)) if n > 1 else float("nan"),
        "div_synthetic_mean": float(result.div_synthetic.mean()),
        "div_synthetic_std": float(result.div_synthetic.std(ddof=1)) if n > 1 else float("nan"),
        "em_converged": float(converged.mean()),
    }


def sweep_configs(
    config: ScenarioConfig, param: str, values: Sequence[float]
) -> list[ScenarioConfig]:
    """Validated configurations for each value (ValueError naming the bad value)."""
    if param not in SWEEPABLE_PARAMS:
        raise ValueError(f"param must be one of {', '.join(SWEEPABLE_PARAMS)}; got {param!r}")
    values = list(values)
    if not values:
        raise ValueError("values must hold at least one value")
    return [config.replace(**{param: v}) for v in values]


def run_in_pool(
    fn: Callable[..., Any], jobs: list[tuple], workers: int, progress: Progress | None
) -> list[Any]:
    """``fn(*job)`` for every job in worker processes, largest settings first (each job's
    first item is its ``ScenarioConfig``); results in job order. Used by the sweeps and
    the gap map."""
    order = sorted(range(len(jobs)), key=lambda i: -_job_cost(jobs[i][0]))
    rows: list[Any] = [None] * len(jobs)
    context = pool_context()
    forked = context.get_start_method() == "fork"
    with (
        one_thread_while_forking() if forked else nullcontext(),
        ProcessPoolExecutor(
            max_workers=min(workers, len(jobs)),
            mp_context=context,
            initializer=init_forked_worker if forked else init_worker,
        ) as pool,
    ):
        with main_hidden():  # the workers start here
            futures = {pool.submit(fn, *jobs[i]): i for i in order}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    rows[futures[future]] = future.result()
                if progress is not None:
                    progress(len(jobs) - len(pending), len(jobs))
        except BaseException:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return rows


def _job_cost(config: ScenarioConfig) -> float:
    """Rough relative cost of one setting, only to schedule large jobs first."""
    return (
        config.K * config.n_anchor + config.n_model_components * config.n_synthetic
    ) * config.dim**2


# ---------------------------------------------------------------------------- checks


def _checked_run(
    config: ScenarioConfig, rounds: int, metric: str, n_mc: int
) -> tuple[int, str, int]:
    if not isinstance(config, ScenarioConfig):
        raise TypeError(f"config must be a ScenarioConfig; got {type(config).__name__}")
    low, high = ROUNDS_RANGE
    if isinstance(rounds, bool) or int(rounds) != rounds or not low <= rounds <= high:
        raise ValueError(f"rounds (scenarios) must be an integer in {low}..{high}; got {rounds!r}")
    check_metric(metric, config.dim)
    low, high = N_MC_RANGE
    if isinstance(n_mc, bool) or int(n_mc) != n_mc or not low <= n_mc <= high:
        raise ValueError(
            f"n_mc (Monte Carlo draws) must be an integer in {low}..{high}; got {n_mc!r}"
        )
    return int(rounds), metric, int(n_mc)


def _checked_workers(workers: int) -> int:
    if isinstance(workers, bool) or int(workers) != workers or not 1 <= workers <= 64:
        raise ValueError(f"workers must be an integer in 1..64; got {workers!r}")
    return int(workers)


def _concatenate(parts: list[SimulationResult]) -> SimulationResult:
    """Join chunk results along the scenario axis."""
    first = parts[0]

    def cat(get):
        return np.concatenate([get(p) for p in parts], axis=0)

    def cat_batch(get):
        return GMMBatch(
            cat(lambda p: get(p).weights),
            cat(lambda p: get(p).means),
            cat(lambda p: get(p).covariances),
        )

    def cat_em(get):
        return EMResult(
            cat_batch(lambda p: get(p).gmm),
            cat(lambda p: get(p).converged),
            cat(lambda p: get(p).n_iter),
            cat(lambda p: get(p).mean_loglik),
        )

    sc = [p.scenarios for p in parts]
    scenarios = ScenarioBatch(
        config=first.config,
        target=cat_batch(lambda p: p.scenarios.target),
        model=cat_batch(lambda p: p.scenarios.model),
        gen=cat_batch(lambda p: p.scenarios.gen),
        anchor_source=cat_batch(lambda p: p.scenarios.anchor_source),
        anchor_X=np.concatenate([s.anchor_X for s in sc]),
        anchor_labels=np.concatenate([s.anchor_labels for s in sc]),
        synth_X=np.concatenate([s.synth_X for s in sc]),
        synth_labels=np.concatenate([s.synth_labels for s in sc]),
        synth_prompt=np.concatenate([s.synth_prompt for s in sc]),
        model_part=first.scenarios.model_part,
    )
    anchor_em = cat_em(lambda p: p.anchor_em)
    synthetic_em = cat_em(lambda p: p.synthetic_em)
    return SimulationResult(
        config=first.config,
        metric=first.metric,
        n_mc=first.n_mc,
        gap=cat(lambda p: p.gap),
        gap_stderr=cat(lambda p: p.gap_stderr),
        div_anchor=cat(lambda p: p.div_anchor),
        div_anchor_stderr=cat(lambda p: p.div_anchor_stderr),
        div_synthetic=cat(lambda p: p.div_synthetic),
        div_synthetic_stderr=cat(lambda p: p.div_synthetic_stderr),
        scenarios=scenarios,
        fit_anchor=anchor_em.gmm,
        fit_synthetic=synthetic_em.gmm,
        anchor_em=anchor_em,
        synthetic_em=synthetic_em,
    )
