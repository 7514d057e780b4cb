"""Benchmark of ggmi_core against the published approach (run by hand, never in tests).

    python bench/bench_core.py [--repeats 3] [--published-per-value 1]

Measures, in one run:

1. The published approach -- a per-scenario loop of scikit-learn ``GaussianMixture`` fits
   (K components on the anchor data, K+J+L on the synthetic data) followed by the
   histogram KL averaged over 100 resamplings of 1,000 draws (the published code's
   estimator) -- on a sample
   of Figure-4 scenarios (``--published-per-value`` scenarios for each of the 42 values),
   and ggmi_core on exactly the same scenarios (same data sets) with the same estimator
   and with ``js``. The published loop's full-sweep time is *extrapolated* from the
   sample: mean time per scenario of each value x 100 scenarios, summed over values.
2. The full Figure-4 sweep with ggmi_core and ``js`` (K, J, L each 2..15, the others 2,
   100 scenarios a value: 4,200 scenarios, both fits each): wall time (median of
   ``--repeats`` runs) and peak memory (max RSS of this process and of the largest
   worker from ``getrusage``; tracemalloc peak of numpy/Python allocations of one
   in-process run).
3. One slider setting (100 scenarios at the defaults, ``js``): median wall time.

Prints a markdown table. Other processes on a shared machine distort wall times; rerun on
a quiet machine for numbers to publish.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # parallelism comes from processes

import numpy as np  # noqa: E402
from scipy.stats import entropy as scipy_entropy  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ggmi_core.config import ScenarioConfig  # noqa: E402
from ggmi_core.em import fit_gmm_batch  # noqa: E402
from ggmi_core.metrics import METRICS  # noqa: E402
from ggmi_core.scenario import ScenarioBatch, generate_scenarios  # noqa: E402
from ggmi_core.simulation import simulate, sweep_params  # noqa: E402

FIG4_VALUES = range(2, 16)
FIG4_GRID = {p: FIG4_VALUES for p in ("K", "J", "L")}
ROUNDS = 100


# ----------------------------------------------------------------- the published loop


def _sklearn_mixture(weights, means, covariances) -> GaussianMixture:
    """A GaussianMixture holding given parameters, used only for ``.sample`` as published."""
    gm = GaussianMixture(n_components=len(weights))
    gm.weights_, gm.means_, gm.covariances_ = weights, means, covariances
    return gm


def _published_histogram_kl(p_samples: np.ndarray, q_samples: np.ndarray) -> float:
    p_density, _ = np.histogramdd(p_samples, bins=50, density=True)
    q_density, _ = np.histogramdd(q_samples, bins=50, density=True)
    p_density = np.clip(p_density, 1e-10, None)
    q_density = np.clip(q_density, 1e-10, None)
    return float(scipy_entropy(p_density.ravel(), q_density.ravel()))


def published_scenario_gap(scen: ScenarioBatch, r: int, seed: int) -> float:
    """One scenario the published way: two sklearn fits, then 100 histogram-KL rounds."""
    c = scen.config
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        anchor_fit = GaussianMixture(c.K, random_state=seed).fit(scen.anchor_X[r])
        synth_fit = GaussianMixture(c.n_model_components, random_state=seed + 1).fit(
            scen.synth_X[r]
        )
    gt = _sklearn_mixture(scen.target.weights[r], scen.target.means[r], scen.target.covariances[r])
    gap = 0.0
    for _ in range(100):
        g = gt.sample(1000)[0]
        a = anchor_fit.sample(1000)[0]
        s = synth_fit.sample(1000)[0]
        gap += _published_histogram_kl(a, g) - _published_histogram_kl(s, g)
    return gap / 100


def ggmi_core_on(scen: ScenarioBatch, metric: str, seed: int) -> np.ndarray:
    """ggmi_core's fits and metric on exactly the data sets of ``scen`` (gap per scenario)."""
    rng = np.random.default_rng(seed)
    c = scen.config
    fa = fit_gmm_batch(scen.anchor_X, c.K, rng).gmm
    fs = fit_gmm_batch(scen.synth_X, c.n_model_components, rng).gmm
    return np.asarray(METRICS[metric].estimate_gap(fa, fs, scen.target, 2000, rng)[2].value)


def bench_published(per_value: int) -> dict[str, float]:
    """Published loop vs ggmi_core on the same sampled scenarios; full-sweep extrapolation.

    Also compares the two kl_published gaps scenario by scenario (same data sets; the fits
    differ only through k-means seeding, the histograms through their draws).
    """
    base = ScenarioConfig()
    published_full = published_full_cpu = 0.0
    published_time = published_cpu = 0.0
    samples: list[ScenarioBatch] = []
    published_gaps: list[float] = []
    for param, values in FIG4_GRID.items():
        for v in values:
            scen = generate_scenarios(
                base.replace(**{param: v}), per_value, np.random.default_rng([v, ord(param)])
            )
            samples.append(scen)
            start, cpu0 = time.perf_counter(), time.process_time()
            published_gaps.extend(published_scenario_gap(scen, r, seed=r) for r in range(per_value))
            spent = time.perf_counter() - start
            spent_cpu = time.process_time() - cpu0
            published_time += spent
            published_cpu += spent_cpu
            published_full += spent / per_value * ROUNDS
            published_full_cpu += spent_cpu / per_value * ROUNDS
    timings, core_gaps = {}, {}
    for metric in ("kl_published", "js"):
        start = time.perf_counter()
        core_gaps[metric] = np.concatenate([ggmi_core_on(scen, metric, seed=0) for scen in samples])
        timings[metric] = time.perf_counter() - start
    diff = core_gaps["kl_published"] - np.asarray(published_gaps)
    sampled = len(published_gaps)
    return {
        "scenarios": sampled,
        "published_s": published_time,
        "published_per_scenario_s": published_time / sampled,
        "published_full_extrapolated_s": published_full,
        "published_cpu_s": published_cpu,
        "published_full_extrapolated_cpu_s": published_full_cpu,
        "core_kl_published_s": timings["kl_published"],
        "core_js_s": timings["js"],
        "paired_diff_mean": float(diff.mean()),
        "paired_diff_sem": float(diff.std(ddof=1) / np.sqrt(sampled)),
        "paired_corr": float(np.corrcoef(core_gaps["kl_published"], published_gaps)[0, 1]),
    }


# ----------------------------------------------------------------- ggmi_core timings


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (seconds)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def bench_full_sweep(repeats: int, workers: int) -> tuple[list[float], list[float], object]:
    """Wall and CPU seconds of each full Figure-4 js sweep, and the last table."""
    walls, cpus = [], []
    table = None
    for _ in range(repeats):
        cpu0, start = _cpu_seconds(), time.perf_counter()
        table = sweep_params(
            ScenarioConfig(), FIG4_GRID, rounds=ROUNDS, metric="js", workers=workers
        )
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu_seconds() - cpu0)
    return walls, cpus, table


def traced_peak_mb() -> float:
    """tracemalloc peak (numpy and Python allocations) of one in-process full sweep."""
    tracemalloc.start()
    sweep_params(ScenarioConfig(), FIG4_GRID, rounds=ROUNDS, metric="js", workers=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def bench_slider(repeats: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of one slider setting, ``repeats`` times (after a warm-up)."""
    simulate(ScenarioConfig(), rounds=ROUNDS, metric="js")  # warm-up (imports, caches)
    times, cpus = [], []
    for _ in range(repeats):
        start, cpu0 = time.perf_counter(), time.process_time()
        simulate(ScenarioConfig(), rounds=ROUNDS, metric="js")
        times.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu0)
    return times, cpus


def project_published_table(rounds_sampled: int = 40, workers: int = 2) -> dict[str, float]:
    """Projected wall time of ``make_figure4_assets.py --metrics kl_published`` at its
    1,000 scenarios a value: per-scenario time measured at each letter's ends (2 and 15,
    ``rounds_sampled`` scenarios each, one process), interpolated linearly over 2..15,
    times 1,000 scenarios, summed over the 42 values, divided by ``workers``."""
    per_scenario = {}
    for letter in ("K", "J", "L"):
        for value in (2, 15):
            config = ScenarioConfig().replace(**{letter: value})
            start = time.perf_counter()
            simulate(config, rounds=rounds_sampled, metric="kl_published")
            per_scenario[letter, value] = (time.perf_counter() - start) / rounds_sampled
    total = 0.0
    for letter in ("K", "J", "L"):
        low, high = per_scenario[letter, 2], per_scenario[letter, 15]
        total += sum(low + (high - low) * (v - 2) / 13 for v in FIG4_VALUES) * 1000
    return {
        "per_scenario_min_s": min(per_scenario.values()),
        "per_scenario_max_s": max(per_scenario.values()),
        "projected_s": total / workers,
    }


def _maxrss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement")
    parser.add_argument(
        "--published-per-value", type=int, default=1,
        help="published-loop scenarios sampled per sweep value (42 values)",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=2, help="processes for the sweep")
    parser.add_argument("--skip-published", action="store_true", help="skip the slow part 1")
    args = parser.parse_args()

    load_start = os.getloadavg()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"load average {load_start[0]:.2f}", file=sys.stderr)  # fmt: skip
    slider, slider_cpu = bench_slider(max(5, args.repeats))
    sweep_1, cpu_1, _ = bench_full_sweep(1, 1)
    sweep_w, cpu_w, table = bench_full_sweep(args.repeats, args.workers)
    rss_parent = _maxrss_mb(resource.RUSAGE_SELF)
    rss_child = _maxrss_mb(resource.RUSAGE_CHILDREN)
    traced = traced_peak_mb()
    pub = None if args.skip_published else bench_published(args.published_per_value)
    projection = project_published_table(workers=args.workers)
    load_end = os.getloadavg()

    full = statistics.median(sweep_w)
    print("| measurement | value |")
    print("| --- | --- |")
    print(f"| load average (1 / 5 / 15 min) at start; at end | "
          f"{' / '.join(f'{x:.1f}' for x in load_start)}; "
          f"{' / '.join(f'{x:.1f}' for x in load_end)} ({os.cpu_count()} cores) |")  # fmt: skip
    print(f"| one slider setting (100 scenarios, defaults, js), median of {len(slider)} | "
          f"{statistics.median(slider):.3f} s (best {min(slider):.3f} s) |")  # fmt: skip
    print(f"| the same, CPU seconds (this process), median | "
          f"{statistics.median(slider_cpu):.3f} s (best {min(slider_cpu):.3f} s) |")  # fmt: skip
    runs = ", ".join(f"{t:.2f}" for t in sweep_w)
    print(
        f"| full Figure-4 sweep, js, 4,200 scenarios, {args.workers} workers, median of "
        f"{len(sweep_w)} | {full:.2f} s (runs: {runs}; best {min(sweep_w):.2f} s) |"
    )
    print(
        f"| CPU time of one {args.workers}-worker sweep (user+sys, all processes), median | "
        f"{statistics.median(cpu_w):.2f} s |"
    )
    print(f"| full Figure-4 sweep, js, 1 process | {sweep_1[0]:.2f} s wall, {cpu_1[0]:.2f} s CPU |")
    print(f"| peak RSS: main process / largest worker | {rss_parent:.0f} MB / {rss_child:.0f} MB |")
    print(f"| tracemalloc peak, one in-process full sweep | {traced:.0f} MB |")
    if pub is not None:
        n = pub["scenarios"]
        ext = pub["published_full_extrapolated_s"]
        print(
            f"| published loop (sklearn + histogram KL), {n} sampled scenarios | "
            f"{pub['published_s']:.1f} s ({pub['published_per_scenario_s']:.3f} s a scenario) |"
        )
        print(f"| published loop, CPU time on the sample (one thread) | "
              f"{pub['published_cpu_s']:.1f} s |")  # fmt: skip
        print(f"| published loop, full sweep extrapolated from the sample | {ext:.0f} s wall, "
              f"{pub['published_full_extrapolated_cpu_s']:.0f} s CPU |")  # fmt: skip
        print(
            f"| ggmi_core on the same {n} scenarios (one per call: no batching), "
            f"kl_published / js | "
            f"{pub['core_kl_published_s']:.2f} s / {pub['core_js_s']:.3f} s |"
        )
        print(
            f"| speed-up on the sample, same estimator (kl_published) | "
            f"{pub['published_s'] / pub['core_kl_published_s']:.0f}x |"
        )
        print(f"| speed-up on the sample, js | {pub['published_s'] / pub['core_js_s']:.0f}x |")
        print(f"| speed-up, full js sweep vs extrapolated published loop | {ext / full:.0f}x wall, "
              f"{pub['published_full_extrapolated_cpu_s'] / statistics.median(cpu_w):.0f}x "
              f"CPU seconds |")  # fmt: skip
        print(
            f"| kl_published gap, ggmi_core - published loop, same {n} scenarios | "
            f"{pub['paired_diff_mean']:+.2f} +- {pub['paired_diff_sem']:.2f} nats "
            f"(correlation {pub['paired_corr']:.2f}) |"
        )
    print(
        f"| kl_published, one scenario of Figure 4 (one process; fastest / slowest setting) | "
        f"{projection['per_scenario_min_s']:.3f} s / {projection['per_scenario_max_s']:.3f} s |"
    )
    print(
        f"| projected `make_figure4_assets.py --metrics kl_published`, 1,000 scenarios a "
        f"value, {args.workers} workers | {projection['projected_s'] / 60:.0f} min |"
    )
    gaps = table.groupby("param")["gap_mean"].agg(["first", "last"])
    print(
        "\nFigure-4 js gap at value 2 -> 15:",
        {p: tuple(round(v, 3) for v in row) for p, row in gaps.iterrows()},
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
