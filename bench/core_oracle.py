"""The compiled kernels against the numpy code they replaced, on the full Figure-4 sweep.

    python bench/core_oracle.py [--metric js] [--rounds 100]

For each of the 42 Figure-4 settings (K, J, L each 2..15, the others 2; 100 scenarios a
value, ``simulate``'s seeds) runs ``simulate`` twice: with the compiled kernels and with
the numpy implementation (``tests/core/numpy_reference.py``). Reports per setting the
change of the mean gap against its Monte Carlo standard error, the share of EM fits with
the same iteration count, and for every scenario whose gap moved by more than 1e-8 what
differs first: the k-means++/Lloyd labels, the EM optimum reached from the same labels,
or neither (the fits agree to round-off; the scenario's Monte Carlo draws moved because
an earlier scenario's changed fit made numpy's multinomial sampler consume a different
number of random numbers, which shifts every later draw of the chunk).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "core"))

import numpy_reference as ref  # noqa: E402

from ggmi_core import em, simulation  # noqa: E402
from ggmi_core.config import ScenarioConfig  # noqa: E402
from ggmi_core.scenario import generate_scenarios  # noqa: E402

CAUSES = (
    "k-means labels differ",
    "EM reached another optimum from the same k-means labels",
    "fits agree; Monte Carlo draws shifted by an earlier scenario's changed fit",
)


def _kmeans_differs(config: ScenarioConfig, rounds: int) -> tuple[np.ndarray, np.ndarray]:
    """Per scenario: whether the anchor / synthetic k-means labels differ between paths."""
    chunks = simulation.chunk_sizes(config, rounds)
    seeds = np.random.SeedSequence([simulation._SEED_TAG, config.seed]).spawn(len(chunks))
    out_a, out_s = [], []
    for size, seed in zip(chunks, seeds, strict=True):
        g_scen, g_anchor, g_synth, _ = (np.random.default_rng(s) for s in seed.spawn(4))
        scen = generate_scenarios(config, size, g_scen)
        for X, k, g, out in (
            (scen.anchor_X, config.K, g_anchor, out_a),
            (scen.synth_X, config.n_model_components, g_synth, out_s),
        ):
            shift, scale = ref._standardisation(X)
            Z = (X - shift[:, None, :]) / scale[:, None, None]
            state = g.bit_generator.state
            new = em.kmeans_labels(Z, k, g)
            g.bit_generator.state = state
            old = ref.kmeans_labels(Z, k, g)
            out.append((new != old).any(axis=1))
    return np.concatenate(out_a), np.concatenate(out_s)


def compare(config: ScenarioConfig, rounds: int, metric: str) -> dict:
    new = simulation.simulate(config, rounds=rounds, metric=metric)
    with ref.numpy_kernels():
        old = simulation.simulate(config, rounds=rounds, metric=metric)
    moved = np.abs(new.gap - old.gap) > 1e-8
    mc_se_mean = float(np.sqrt(np.sum(old.gap_stderr**2)) / rounds)
    iters = np.concatenate(
        [new.anchor_em.n_iter == old.anchor_em.n_iter,
         new.synthetic_em.n_iter == old.synthetic_em.n_iter]
    )  # fmt: skip
    causes = dict.fromkeys(CAUSES, 0)
    if moved.any():
        km_a, km_s = _kmeans_differs(config, rounds)
        fit_moved = np.zeros(rounds, dtype=bool)
        for a, b in ((new.fit_anchor, old.fit_anchor), (new.fit_synthetic, old.fit_synthetic)):
            fit_moved |= np.abs(a.means - b.means).max(axis=(1, 2)) > 1e-6
        for r in np.flatnonzero(moved):
            if km_a[r] or km_s[r]:
                causes[CAUSES[0]] += 1
            elif fit_moved[r]:
                causes[CAUSES[1]] += 1
            else:
                causes[CAUSES[2]] += 1
    return {
        "mean_change": float(new.gap.mean() - old.gap.mean()),
        "mc_se_mean": mc_se_mean,
        "gap_sem": float(old.gap.std(ddof=1) / np.sqrt(rounds)),
        "moved": int(moved.sum()),
        "largest_move": float(np.abs(new.gap - old.gap).max()),
        "same_iterations": int(iters.sum()),
        "fits": int(iters.size),
        **causes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metric", default="js")
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    base = ScenarioConfig()
    seen = set()
    total = {"moved": 0, "same_iterations": 0, "fits": 0, **dict.fromkeys(CAUSES, 0)}
    worst_ratio, worst_move = 0.0, 0.0
    print("| setting | mean gap change | MC se of the mean | ratio | moved (>1e-8) | largest |")
    print("| --- | --- | --- | --- | --- | --- |")
    for letter in ("K", "J", "L"):
        for value in range(2, 16):
            config = base.replace(**{letter: value})
            if config in seen:
                continue
            seen.add(config)
            row = compare(config, args.rounds, args.metric)
            for key in total:
                total[key] += row[key]
            ratio = abs(row["mean_change"]) / row["mc_se_mean"]
            worst_ratio = max(worst_ratio, ratio)
            worst_move = max(worst_move, row["largest_move"])
            print(
                f"| {letter}={value} | {row['mean_change']:+.2e} | {row['mc_se_mean']:.4f} | "
                f"{ratio:.3f} | {row['moved']} | {row['largest_move']:.2e} |",
                flush=True,
            )
    print(f"\nsettings: {len(seen)}, scenarios: {len(seen) * args.rounds}; "
          f"largest |mean change| / MC se of the mean: {worst_ratio:.3f}; "
          f"EM fits with the same iteration count: {total['same_iterations']} of "
          f"{total['fits']}; scenarios moved by > 1e-8: {total['moved']} (largest "
          f"{worst_move:.3g})")  # fmt: skip
    for cause in CAUSES:
        print(f"  {cause}: {total[cause]} scenarios")


if __name__ == "__main__":
    main()
