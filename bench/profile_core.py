"""Where one slider setting's CPU time goes: cProfile and per-kernel CPU timings.

    python bench/profile_core.py [--repeats 10] [--letter K=15]

Runs ``simulate`` (100 scenarios, js, the defaults unless ``--letter`` changes one
letter) once to warm up, then

* a cProfile of ``--repeats`` runs on the CPU clock (``time.process_time``: the machine
  is shared, so wall time measures the neighbours), the top functions by own time;
* every compiled kernel re-run on the very arguments one run passed to it (recorded
  during the warm-up run), median CPU time of 7 repetitions;
* numpy's normal draws of one setting's Monte Carlo sample, the same count drawn (and
  turned into points) by the compiled sampler, and the exp per element of
  numpy, of the kernels' own ``_exp_clamped`` and of numba's ``math.exp``.

Every line printed starts with the load average, since the numbers depend on it.
"""

from __future__ import annotations

import argparse
import collections
import copy
import cProfile
import io
import math
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ggmi_core import _jit
from ggmi_core.config import ScenarioConfig
from ggmi_core.simulation import simulate

KERNELS = (
    "mixtures_logsumexp",
    "em_fit",
    "kmeans_plusplus",
    "lloyd",
    "draw_grouped_points",
    "draw_component_points",
    "cluster_moments",
    "point_sq_norms",
    "natural_parameters_2x2",
    "standardise",
    "js_gap_moments",
)


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def _cpu_median(fn, repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def _snapshot(arg):
    """A copy of a kernel argument (a generator copied with its state)."""
    if isinstance(arg, (np.ndarray, np.random.Generator)):
        return copy.deepcopy(arg)
    return arg


def _recorded_calls(config: ScenarioConfig) -> dict[str, list[tuple]]:
    """The arguments of every kernel call of one ``simulate`` run."""
    calls: dict[str, list[tuple]] = collections.defaultdict(list)
    originals = {name: getattr(_jit, name) for name in KERNELS}

    def recorder(name):
        def call(*args):
            calls[name].append(tuple(_snapshot(a) for a in args))
            return originals[name](*args)

        return call

    for name in KERNELS:
        setattr(_jit, name, recorder(name))
    try:
        simulate(config, rounds=100, metric="js")
    finally:
        for name, fn in originals.items():
            setattr(_jit, name, fn)
    return calls


def _exp_timings() -> dict[str, float]:
    import numba

    @numba.njit
    def libm_exp(x):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = math.exp(x[i])
        return out

    x = np.random.default_rng(0).uniform(-30.0, 5.0, 1_000_000)
    libm_exp(x[:10])
    per = {
        "numpy exp": _cpu_median(lambda: np.exp(x)),
        "_exp_clamped (kernels)": _cpu_median(lambda: _jit.exp_clamped(x)),
        "numba math.exp": _cpu_median(lambda: libm_exp(x)),
    }
    return {k: v / x.size * 1e9 for k, v in per.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--letter", default="", help="e.g. K=15")
    args = parser.parse_args()
    letters = {}
    if args.letter:
        key, value = args.letter.split("=")
        letters[key] = int(value)
    config = ScenarioConfig().replace(**letters)
    _jit.compile_all()
    calls = _recorded_calls(config)

    one = _cpu_median(lambda: simulate(config, rounds=100, metric="js"), max(5, args.repeats))
    print(f"[{_load()}] one setting {letters or 'defaults'}: {one * 1e3:.1f} ms CPU (median)")

    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(args.repeats):
        simulate(config, rounds=100, metric="js")
    profile.disable()
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(20)
    print(f"[{_load()}] cProfile, {args.repeats} runs, CPU clock:")
    print(text.getvalue())

    total = 0.0
    for name in KERNELS:
        recorded = calls[name]
        fn = getattr(_jit, name)
        cpu = _cpu_median(lambda fn=fn, recorded=recorded: [fn(*a) for a in recorded])
        total += cpu
        print(f"[{_load()}] {name:20s} {len(recorded):2d} calls  {cpu * 1e3:7.2f} ms CPU")
    print(f"[{_load()}] {'kernels together':20s}           {total * 1e3:7.2f} ms CPU")

    rng = np.random.default_rng(0)
    normals = _cpu_median(lambda: rng.standard_normal((300_000, config.dim)))
    print(f"[{_load()}] numpy standard_normal, 300,000 points x d: {normals * 1e3:.2f} ms CPU")
    one_normal = np.zeros((1, 1))
    points = _cpu_median(
        lambda: _jit.draw_grouped_points(
            rng, one_normal, np.ones((1, 1, 1)), np.array([300_000 * config.dim])
        )
    )
    print(f"[{_load()}] the same normals drawn in a kernel:        {points * 1e3:.2f} ms CPU")
    for name, ns in _exp_timings().items():
        print(f"[{_load()}] {name:24s} {ns:.2f} ns an element (CPU)")


if __name__ == "__main__":
    main()
