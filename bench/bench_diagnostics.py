"""Timings of the diagnostics estimators and the upload parser (run from the repo root).

    /tmp/venv/bin/python bench/bench_diagnostics.py [--quick]

Prints the median wall time of a few repetitions for each case. Timings are for
information only: tests never assert them.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ggmi_core import diagnostics as D
from ggmi_core.config import ScenarioConfig
from ggmi_core.uploads import load_embeddings


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Median seconds of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition per case")
    repeats = 1 if parser.parse_args().quick else 3
    rng = np.random.default_rng(0)
    rows = []
    for n, d in [(1000, 2), (3000, 2), (3000, 8), (1000, 768), (3000, 64)]:
        X = rng.normal(size=(n, d))
        Y = X[:, :1] + rng.normal(size=(n, 1))
        rows.append((f"hsic n={n} d={d}", timed(lambda X=X, Y=Y: D.hsic(X, Y), repeats)))
        rows.append((f"knn_entropy n={n} d={d}", timed(lambda X=X: D.knn_entropy(X), repeats)))
        Q = rng.normal(size=(n, d))
        rows.append(
            (f"knn_kl n={n} d={d}", timed(lambda X=X, Q=Q: D.knn_kl_divergence(X, Q), repeats))
        )
    for n, perms in [(300, 199), (1000, 199), (2000, 99)]:
        X = rng.normal(size=(n, 8))
        Y = rng.normal(size=(n, 8))
        rows.append(
            (
                f"hsic_test n={n} permutations={perms}",
                timed(lambda X=X, Y=Y, p=perms: D.hsic_test(X, Y, p, rng), repeats),
            )
        )
    labels = rng.integers(0, 10, size=3000)
    rows.append(("cluster_entropy n=3000", timed(lambda: D.cluster_entropy(labels), repeats)))
    config = ScenarioConfig(adherence=0.5)
    rows.append(
        (
            "diagnostics_sweep default page (6 values x 20 scenarios, 99 permutations, n=200)",
            timed(
                lambda: D.diagnostics_sweep(
                    config, "adherence", [0, 0.2, 0.4, 0.6, 0.8, 1.0], 20, 99
                ),
                1,
            ),
        )
    )
    for n, d in [(1000, 768), (325, 3072)]:
        a = rng.normal(size=(n, d))
        s = a + rng.normal(size=(n, d))
        rows.append(
            (
                f"analyse_embeddings n={n} d={d} (199 permutations)",
                timed(lambda a=a, s=s: D.analyse_embeddings(a, s, True, 199, rng), 1),
            )
        )
    big = rng.normal(size=(2500, 768))
    buf = io.StringIO()
    np.savetxt(buf, big, delimiter=",", fmt="%.6f")
    csv_bytes = buf.getvalue().encode()
    rows.append(
        (
            f"load_embeddings CSV {len(csv_bytes) / 2**20:.1f} MB (2500 x 768)",
            timed(lambda: load_embeddings(csv_bytes, "big.csv"), repeats),
        )
    )
    npy = io.BytesIO()
    np.save(npy, big)
    rows.append(
        (
            f"load_embeddings NPY {len(npy.getvalue()) / 2**20:.1f} MB",
            timed(lambda: load_embeddings(npy.getvalue(), "big.npy"), repeats),
        )
    )
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        print(f"{name:<{width}}  {seconds * 1000:9.1f} ms")


if __name__ == "__main__":
    main()
