"""The shipped example embeddings: a simulated scenario written as two paired CSV files.

The "Try the example data" button of the Diagnostics page loads
``assets/example_anchor.csv`` and ``assets/example_synthetic.csv``. They come from
``generate_scenarios`` with prompt adherence > 0, so each synthetic row depends on the
anchor row beside it and HSIC has something to find. ``bench/make_example_embeddings.py``
rewrites them; a test checks that the committed files equal a fresh regeneration.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ggmi_core.config import ScenarioConfig
from ggmi_core.scenario import generate_scenarios

Array = NDArray[np.float64]

#: The scenario behind the example files: 8-dimensional, 3 anchor components of 100
#: samples, one unsampled and one task-irrelevant component, adherence 0.6.
EXAMPLE_CONFIG = ScenarioConfig(
    K=3, J=1, L=1, n_anchor_per_component=100, n_synthetic=600, dim=8, adherence=0.6, seed=2025
)
ANCHOR_FILE = "example_anchor.csv"
SYNTHETIC_FILE = "example_synthetic.csv"
#: Decimals written to the CSV files (enough for the estimators, small files).
DECIMALS = 5


@dataclass(frozen=True)
class ExamplePairs:
    """Paired example embeddings: row i of ``synthetic`` answered a prompt built from
    row i of ``anchor``. Both (K*N_k, d); ``component`` (K*N_k,) is the anchor component."""

    anchor: Array
    synthetic: Array
    component: NDArray[np.int64]


def make_example_pairs(config: ScenarioConfig = EXAMPLE_CONFIG) -> ExamplePairs:
    """Draw one scenario and pair every anchor sample with one synthetic sample.

    Each anchor sample is used exactly once: for component k, the first N_k synthetic
    samples whose prompt named k are matched with the anchor samples of k in a random
    order. ``n_synthetic`` must leave at least N_k prompts per component (2 K N_k does,
    with overwhelming probability); the rows are then shuffled jointly.
    """
    rng = np.random.default_rng(config.seed)
    batch = generate_scenarios(config, 1, rng)
    anchor_X, anchor_labels = batch.anchor_X[0], batch.anchor_labels[0]
    synth_X, prompts = batch.synth_X[0], batch.synth_prompt[0]
    anchors, synths, comps = [], [], []
    for k in range(config.K):
        members = rng.permutation(np.flatnonzero(anchor_labels == k))
        asked = np.flatnonzero(prompts == k)[: members.size]
        if asked.size < members.size:
            raise ValueError(
                f"only {asked.size} synthetic samples named component {k}; raise n_synthetic"
            )
        anchors.append(anchor_X[members])
        synths.append(synth_X[asked])
        comps.append(np.full(members.size, k))
    order = rng.permutation(sum(a.shape[0] for a in anchors))
    return ExamplePairs(
        anchor=np.vstack(anchors)[order],
        synthetic=np.vstack(synths)[order],
        component=np.concatenate(comps)[order].astype(np.int64),
    )


def embeddings_to_csv(X: Array, decimals: int = DECIMALS) -> bytes:
    """CSV bytes with a header ``e1,...,ed`` and fixed-point numbers (deterministic)."""
    buf = io.StringIO()
    buf.write(",".join(f"e{j + 1}" for j in range(X.shape[1])) + "\n")
    np.savetxt(buf, X, delimiter=",", fmt=f"%.{decimals}f")
    return buf.getvalue().encode("ascii")


def example_files(config: ScenarioConfig = EXAMPLE_CONFIG) -> dict[str, bytes]:
    """File name -> CSV bytes of the two example files."""
    pairs = make_example_pairs(config)
    return {
        ANCHOR_FILE: embeddings_to_csv(pairs.anchor),
        SYNTHETIC_FILE: embeddings_to_csv(pairs.synthetic),
    }
