"""The shipped example embeddings are reproducible and show what they are meant to show."""

from pathlib import Path

import numpy as np

from ggmi_core import diagnostics as D
from ggmi_core.example_data import (
    ANCHOR_FILE,
    EXAMPLE_CONFIG,
    SYNTHETIC_FILE,
    example_files,
    make_example_pairs,
)
from ggmi_core.uploads import check_pair, load_embeddings

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def test_committed_example_files_equal_a_fresh_regeneration():
    fresh = example_files()
    assert set(fresh) == {ANCHOR_FILE, SYNTHETIC_FILE}
    for name, data in fresh.items():
        # If this fails after a change to the scenario generator, rerun
        # bench/make_example_embeddings.py and commit the files.
        assert (ASSETS / name).read_bytes() == data, f"assets/{name} is stale"


def test_example_files_parse_as_paired_uploads_with_detectable_dependence():
    anchor = load_embeddings((ASSETS / ANCHOR_FILE).read_bytes(), ANCHOR_FILE)
    synthetic = load_embeddings((ASSETS / SYNTHETIC_FILE).read_bytes(), SYNTHETIC_FILE)
    m = EXAMPLE_CONFIG.K * EXAMPLE_CONFIG.n_anchor_per_component
    assert anchor.shape == synthetic.shape == (m, EXAMPLE_CONFIG.dim)
    assert check_pair(anchor, synthetic).paired
    rng = np.random.default_rng(0)
    assert D.hsic_test(anchor, synthetic, 99, rng).p_value <= 0.02
    # Shuffling the synthetic rows breaks the pairs and the dependence with them.
    shuffled = synthetic[rng.permutation(m)]
    assert D.hsic_test(anchor, shuffled, 99, rng).p_value > 0.05


def test_example_pairs_use_every_anchor_once_with_matching_prompts():
    pairs = make_example_pairs()
    assert D.count_duplicate_rows(pairs.anchor) == 0
    counts = np.bincount(pairs.component, minlength=EXAMPLE_CONFIG.K)
    np.testing.assert_array_equal(counts, EXAMPLE_CONFIG.n_anchor_per_component)
