"""Each page's own settings, as data: the frame knows every setting without running a page.

A page's own settings are display and sweep controls that only that page draws; their
keys carry the page's prefix (``dist_projection``, ``gap_sweep``, ``bounds_C``). The
scenario letters, the divergence, Monte Carlo samples and lecture mode are shared by
every page (``ggmi_app.scenario_params.SHARED_SCHEMA``, from the records in
``ggmi_core.config``). ``PAGE_SETTINGS`` maps a page's key (``ggmi_app.page_list``) to
``{key: Param}``; the page modules draw these same ``Param`` objects.

This module imports no page module and starts nothing: importing it is cheap, so the
frame (``ggmi_app.frame``) restores, links and saves every page's settings on every run.
"""

from __future__ import annotations

from typing import Final

from ggmi_app.params import BoolParam, ChoiceParam, FloatParam, IntParam, Param
from ggmi_app.scenario_params import SWEEP_PARAMS, rounds_param
from ggmi_app.state import Keyed, keyed
from ggmi_core.bounds import BOUND_SWEEP_PARAMS, DEFAULT_LOSS_CAP
from ggmi_core.config import SETTINGS_BY_NAME
from ggmi_viz.bounds import param_short_label
from ggmi_viz.distributions import DEFAULT_LAYERS, LAYERS
from ggmi_viz.gap_curves import PARAM_LABELS

# ------------------------------------------------------------------ Distributions

DIST_PREFIX: Final[str] = "dist_"
#: Letters the flip-book can step (see ``ggmi_app.flipbook``).
FLIP_LETTERS: Final[tuple[str, ...]] = ("K", "J", "L")

#: Figure-2 display settings (layers and projection), keys ``dist_<name>``.
DIST_DISPLAY_SCHEMA: Final[tuple[Param, ...]] = (
    ChoiceParam(
        "projection",
        "Projection for d > 2",
        "coordinates",
        ("coordinates", "pca"),
        labels={"coordinates": "first two coordinates", "pca": "principal axes of the samples"},
    ),
    *(BoolParam(f"show_{key}", label, key in DEFAULT_LAYERS) for key, label in LAYERS.items()),
    ChoiceParam(
        "flip",
        "Step a letter in the browser (flip-book)",
        "off",
        ("off", *FLIP_LETTERS),
        labels={"off": "off", **{letter: f"step {letter}" for letter in FLIP_LETTERS}},
        help="Precompute Figure 2 for up to 8 values of one letter around the sidebar's "
        "value; a slider in the figure then steps between them at once, without asking "
        "the server. Links and downloads keep the sidebar's value.",
    ),
)

# ------------------------------------------------------------------ KL Gap curves

GAP_PREFIX: Final[str] = "gap_"
#: The sweep of the gap-curves page (keys ``gap_<name>``); the letters held fixed are shared.
GAP_SWEEP_SCHEMA: Final[tuple[Param, ...]] = (
    ChoiceParam("sweep", "Sweep", "K", SWEEP_PARAMS, labels=PARAM_LABELS),
    FloatParam("sweep_from", "from", 2.0, 0.0, 5000.0, 1.0, widget="number", format="%g"),
    FloatParam("sweep_to", "to", 15.0, 0.0, 5000.0, 1.0, widget="number", format="%g"),
    IntParam("sweep_points", "values in the range", 14, 2, 20),
    rounds_param(),
    ChoiceParam("band", "Summary", "std", ("std", "quantile", "both"),
                labels={"std": "mean +- 1 std (as published)",
                        "quantile": "median and 10-90% band",
                        "both": "both"}),
    BoolParam("boxes", "Show every scenario (box plots)", True),
    BoolParam("robust_y", "Clip the y axis to the central scenarios", True),
)  # fmt: skip
#: The map view (key ``gap_map``): off by default, since a live map computes many cells.
GAP_MAP_PARAM: Final[BoolParam] = BoolParam(
    "map", "Show the map of two letters", False,
    help="The gap over J x L and K x J with the line where it crosses 0.",
)  # fmt: skip

# ------------------------------------------------------------------ Bound terms

BOUNDS_PREFIX: Final[str] = "bounds_"
#: Loss cap and scenario count of the bounds page (keys ``bounds_<name>``); the scenario
#: letters, the metric and the Monte Carlo size are the app's shared settings.
BOUNDS_SCHEMA: Final[tuple[Param, ...]] = (
    FloatParam(
        "C", "C: loss cap (nats)", DEFAULT_LOSS_CAP, 0.5, 50.0, 0.5,
        help="The loss is min(C, max(0, −log π(x))); Lemma 3.1 needs a bounded loss.",
    ),
    IntParam(
        "scenarios", "Scenarios", 50, 5, 200, step=5,
        help="Independent scenarios averaged for each number. The largest value offered is "
        "what this server's work budget allows for the other settings.",
    ),
)  # fmt: skip

BOUNDS_SWEEP_PREFIX: Final[str] = f"{BOUNDS_PREFIX}move_"
#: Controls of the "How terms move" tab (keys ``bounds_move_<name>``).
BOUNDS_SWEEP_SCHEMA: Final[tuple[Param, ...]] = (
    ChoiceParam(
        "param",
        "Parameter to sweep",
        "L",
        BOUND_SWEEP_PARAMS,
        labels={p: param_short_label(p) for p in BOUND_SWEEP_PARAMS},
    ),
    IntParam("points", "Values", 6, 3, 10),
    IntParam(
        "scenarios",
        "Scenarios per value",
        20,
        5,
        100,
        step=5,
        help="The largest value offered is what this server's work budget allows for this sweep.",
    ),
)

# ------------------------------------------------------------------ Diagnostics

#: Keys of the diagnostics page's own settings carry these prefixes.
DIAG_SIM_PREFIX: Final[str] = "diag_"
DIAG_DATA_PREFIX: Final[str] = "diag_data_"

#: Values of each diagnostics sweep. N_k includes the paper's 3, 10 and 20 in-context
#: instances.
DIAG_SWEEP_GRIDS: Final[dict[str, tuple[float, ...]]] = {
    "adherence": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
    "n_anchor_per_component": (3, 10, 20, 50, 100, 200),
}

DIAG_SIM_SCHEMA: Final[tuple[Param, ...]] = (
    ChoiceParam(
        "sweep", "Sweep", "adherence", tuple(DIAG_SWEEP_GRIDS),
        labels={  # the record's menu label and the grid's range
            p: f"{SETTINGS_BY_NAME[p].menu_label} ({min(g):g} to {max(g):g})"
            for p, g in DIAG_SWEEP_GRIDS.items()
        },
        help="N_k plays the part of the paper's number of in-context instances "
        "(Appendix G.3).",
    ),
    IntParam("scenarios", "Scenarios per value", 10, 5, 50, step=5),
    IntParam("permutations", "HSIC permutations", 99, 19, 499, step=20,
             help="The smallest possible p-value is 1 / (permutations + 1)."),
)  # fmt: skip

DIAG_DATA_SCHEMA: Final[tuple[Param, ...]] = (
    IntParam("permutations", "HSIC permutations", 199, 99, 499, step=100,
             help="The smallest possible p-value is 1 / (permutations + 1)."),
    IntParam("k", "k: neighbours for the kNN estimators", 3, 1, 10,
             help="Larger k: less variance, more bias."),
)  # fmt: skip

# ------------------------------------------------------------------ Guided tour

TOUR_PREFIX: Final[str] = "tour_"
#: Steps of the guided tour (``ggmi_app.tour_page.STEPS``; a test checks they agree).
TOUR_STEP_COUNT: Final[int] = 11
TOUR_STEP_PARAM: Final[IntParam] = IntParam(
    "step", "Tour step", 1, 1, TOUR_STEP_COUNT,
    help="Also Left/Right arrows and PageUp/PageDown.",
)  # fmt: skip

# ------------------------------------------------------------------ every page

#: Page key (``ggmi_app.page_list.PageSpec.key``) -> that page's own settings.
PAGE_SETTINGS: Final[dict[str, Keyed]] = {
    "home": {},
    "distributions": keyed(DIST_DISPLAY_SCHEMA, DIST_PREFIX),
    "gap-curves": keyed((*GAP_SWEEP_SCHEMA, GAP_MAP_PARAM), GAP_PREFIX),
    "bounds": keyed(BOUNDS_SCHEMA, BOUNDS_PREFIX) | keyed(BOUNDS_SWEEP_SCHEMA, BOUNDS_SWEEP_PREFIX),
    "diagnostics": keyed(DIAG_SIM_SCHEMA, DIAG_SIM_PREFIX)
    | keyed(DIAG_DATA_SCHEMA, DIAG_DATA_PREFIX),
    "tour": keyed([TOUR_STEP_PARAM], TOUR_PREFIX),
}
