"""Diagnostics page: the paper's Appendix G checks (HSIC, entropy), simulated or uploaded.

Two tabs:

* ``render_simulation``: HSIC, kNN/exact/cluster entropies against N_k or adherence in
  the GMM simulation, beside the paper's own Appendix G numbers (a separate table);
* ``render_your_data``: the same diagnostics on embeddings a visitor uploads (or the
  shipped example), with HSIC and its permutation null, entropies, kNN KL both ways and a
  PCA picture.

Uploads are parsed by ``ggmi_core.uploads`` (every failure is an ``UploadError`` whose
message is shown, escaped), capped in rows server-side with a seeded subsample, and
analysed by ``ggmi_core.diagnostics.analyse_embeddings``. Cached calls are bounded.
The explanations are in ``assets/content/diagnostics/page.md`` (``PAGE_TEXT``); the
messages about a visitor's files stay here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import streamlit as st

from ggmi_app.cached import CACHE_MAX_ENTRIES, CACHE_TTL_S
from ggmi_app.figures import cached_figures, show_figure
from ggmi_app.job_keys import Job
from ggmi_app.messages import INFO_ICON, error_boundary, escape_markdown, show_error
from ggmi_app.page_settings import (
    DIAG_DATA_PREFIX,
    DIAG_DATA_SCHEMA,
    DIAG_SIM_PREFIX,
    DIAG_SIM_SCHEMA,
    DIAG_SWEEP_GRIDS,
    PAGE_SETTINGS,
)
from ggmi_app.priced import run_priced_table
from ggmi_app.prose import prose
from ggmi_app.scenario_params import SCENARIO_SCHEMA, scenario_config, swept_out
from ggmi_app.state import sidebar_controls
from ggmi_core import diagnostics as diag
from ggmi_core.config import ScenarioConfig
from ggmi_core.example_data import ANCHOR_FILE, SYNTHETIC_FILE
from ggmi_core.resources import assets_dir
from ggmi_core.uploads import (
    ALLOWED_EXTENSIONS,
    MAX_UPLOAD_BYTES,
    Limits,
    UploadError,
    check_pair,
    load_embeddings,
    subsample_rows,
)
from ggmi_viz import diagnostics as figures

TAB_KEY: Final[str] = "diag_tab"
#: The page's prose (``assets/content/diagnostics/page.md``).
PAGE_TEXT: Final[str] = "diagnostics/page"
TAB_LABELS: Final[tuple[str, str]] = ("Simulation", "Your data")
ASSETS: Final[Path] = assets_dir()

#: Keys of this page's own settings carry these prefixes, its sweeps these grids; all
#: declared in ``ggmi_app.page_settings``. The scenario letters are the app's shared settings.
SIM_PREFIX: Final[str] = DIAG_SIM_PREFIX
DATA_PREFIX: Final[str] = DIAG_DATA_PREFIX
SWEEP_GRIDS: Final = DIAG_SWEEP_GRIDS
SIM_SCHEMA: Final = DIAG_SIM_SCHEMA
DATA_SCHEMA: Final = DIAG_DATA_SCHEMA

#: At most this many rows of each file are analysed (a seeded random subsample beyond).
ANALYSIS_MAX_ROWS: Final[int] = 1000
#: ... and at most this many numbers per file, so wide embeddings keep fewer rows.
ANALYSIS_MAX_VALUES: Final[int] = 1_000_000
#: Seed of the row subsample and of the HSIC permutations on uploaded data.
DATA_SEED: Final[int] = 0
_EXAMPLE_FLAG: Final[str] = "_dg_use_example"

#: This page's own settings (URL/store key -> param).
SETTINGS: Final = PAGE_SETTINGS["diagnostics"]


def draw_controls() -> dict[str, Any]:
    """Draw the simulation controls in the sidebar (URL-backed) and return their values.

    The swept setting's own slider is greyed out: the sweep sets it.
    """
    st.sidebar.subheader("Simulation")
    sweep, *rest = SIM_SCHEMA
    values = sidebar_controls([sweep], prefix=SIM_PREFIX)
    values |= sidebar_controls([swept_out(p, values["sweep"]) for p in SCENARIO_SCHEMA])
    return values | sidebar_controls(rest, prefix=SIM_PREFIX)


# ------------------------------------------------------------------ simulation


def run_diagnostics_sweep(values: Mapping[str, Any], config: ScenarioConfig) -> pd.DataFrame:
    """The whole sweep after a cost check: one worker-pool job per value, cached.

    ``diagnostics_sweep`` seeds every value from the same config seed, so one value
    computed alone equals that value inside a full sweep.
    """
    param = values["sweep"]
    grid = SWEEP_GRIDS[param]
    rounds, permutations = values["scenarios"], values["permutations"]
    jobs = [
        Job.of(
            diag.diagnostics_sweep, config, param, [value], rounds=rounds,
            n_permutations=permutations,
        )
        for value in grid
    ]  # fmt: skip
    return run_priced_table(
        jobs,
        f"Sweeping {param} over {len(grid)} values",
        cost=diag.diagnostics_sweep_cost(config, param, grid, rounds, permutations),
        check=diag.check_diagnostics_cost,
    )


def sweep_caption(summary: pd.DataFrame, param: str, scenarios: int, permutations: int) -> str:
    """The sweep figures' caption: what a point is, and how mean HSIC and the synthetic
    cluster entropy (nats) move from the first to the last swept value."""
    first, last = summary.iloc[0], summary.iloc[-1]
    values = {
        "scenarios": scenarios,
        "permutations": permutations,
        "min_points": diag.MIN_POINTS_FOR_KNN,
        "name": "b" if param == "adherence" else "N_k",
        "first": first["value"],
        "last": last["value"],
        "hsic_first": first["hsic_mean"],
        "hsic_last": last["hsic_mean"],
        "entropy_first": first["synthetic_cluster_entropy_mean"],
        "entropy_last": last["synthetic_cluster_entropy_mean"],
    }
    return prose(PAGE_TEXT, "sweep_caption", values)


def n_anchor_note(adherence: float) -> str:
    """Why the N_k sweep is not the paper's in-context-instances sweep (at adherence 0,
    also why HSIC finds nothing at all)."""
    note = prose(PAGE_TEXT, "n_anchor_note")
    return note + " " + prose(PAGE_TEXT, "n_anchor_no_prompt") if adherence == 0 else note


def paper_table_for_display() -> pd.DataFrame:
    """The paper's table with numbers as text ("–" where the paper had no output)."""
    table = figures.paper_results_table()
    for column in ("HSIC", "semantic entropy"):
        table[column] = table[column].map(lambda v: "–" if pd.isna(v) else f"{v:.4f}")
    return table


def render_simulation(values: Mapping[str, Any], config: ScenarioConfig, lecture: bool) -> None:
    """Sweep figures, the paper's numbers beside them, and how to read both."""
    param = values["sweep"]
    if not lecture:
        st.markdown(prose(PAGE_TEXT, "simulation_intro"))
    if param == "n_anchor_per_component":
        st.info(n_anchor_note(config.adherence), icon=INFO_ICON)
    per_scenario = run_diagnostics_sweep(values, config)
    summary = diag.summarise_sweep(per_scenario)
    stem = f"diagnostics-{param}-K{config.K}-J{config.J}-L{config.L}-seed{config.seed}"
    # The cached sweep points are fixed by these inputs, so they key the figures too: a
    # rerun on cached numbers skips building and theming both (most of its CPU time).
    hsic, entropy = cached_figures(
        "diagnostics-sweep",
        (config.to_dict(), param, values["scenarios"], values["permutations"]),
        lecture,
        lambda: [
            figures.hsic_sweep_figure(per_scenario, summary, param, lecture),
            figures.entropy_sweep_figure(
                summary, param, config.K, config.n_target_components, lecture
            ),
        ],
    )
    show_figure(
        hsic,
        f"{stem}-hsic",
        lambda: per_scenario.rename(columns={"value": param}),
        lecture,
        key="dg-hsic",
    )
    show_figure(
        entropy,
        f"{stem}-entropy",
        lambda: figures.sweep_data(summary, param),
        lecture,
        key="dg-entropy",
    )
    st.caption(sweep_caption(summary, param, values["scenarios"], values["permutations"]))
    st.subheader("The paper's numbers (real LLM data, not this simulation)")
    left, right = st.columns([3, 2])
    with left:
        st.dataframe(paper_table_for_display(), hide_index=True)
    with right:
        st.markdown(prose(PAGE_TEXT, "paper_table_note"))


# ------------------------------------------------------------------ your data


@dataclasses.dataclass(frozen=True)
class PreparedPair:
    """Two parsed embedding files, capped to the analysis limits, or an error message.

    Attributes:
        anchor, synthetic: (n, d) and (m, d) arrays actually analysed (None on error).
        rows_in_files: rows of (anchor, synthetic) as uploaded.
        same_rows: the files have equal row counts (row pairing possible).
        subsampled: rows were dropped to meet ``row_cap``.
        row_cap: most rows analysed per file for this dimension.
        error: a message for the visitor, or None.
    """

    anchor: np.ndarray | None = None
    synthetic: np.ndarray | None = None
    rows_in_files: tuple[int, int] = (0, 0)
    same_rows: bool = False
    subsampled: bool = False
    row_cap: int = ANALYSIS_MAX_ROWS
    error: str | None = None


def analysis_row_cap(dim: int) -> int:
    """Rows analysed per file: ``ANALYSIS_MAX_ROWS``, fewer for very wide embeddings."""
    return int(max(50, min(ANALYSIS_MAX_ROWS, ANALYSIS_MAX_VALUES // max(dim, 1))))


#: Entries of ``prepare_pair``'s cache: each holds up to two capped arrays of at most
#: ``ANALYSIS_MAX_VALUES`` floats (8 MB each), so the cache stays under 64 MB.
PREPARED_CACHE_ENTRIES: Final[int] = 4


@st.cache_data(max_entries=PREPARED_CACHE_ENTRIES, ttl=CACHE_TTL_S, show_spinner=False)
def prepare_pair(
    anchor_bytes: bytes, anchor_name: str, synthetic_bytes: bytes, synthetic_name: str
) -> PreparedPair:
    """Parse, validate and cap both files; never raises for bad files (returns ``error``).

    Errors are returned rather than raised so that ``st.cache_data`` keeps them too: a bad
    20 MB file is parsed once, not on every rerun.
    """
    arrays = []
    for role, data, name in (
        ("anchor", anchor_bytes, anchor_name),
        ("synthetic", synthetic_bytes, synthetic_name),
    ):
        try:
            arrays.append(load_embeddings(data, name))
        except UploadError as exc:
            return PreparedPair(error=f"The {role} file cannot be used: {exc}")
    anchor, synthetic = arrays
    try:
        pair = check_pair(anchor, synthetic)
    except UploadError as exc:
        return PreparedPair(error=str(exc))
    cap = analysis_row_cap(pair.dim)
    rng = np.random.default_rng(DATA_SEED)
    (anchor_c, synthetic_c), reduced = subsample_rows(
        (anchor, synthetic), cap, rng, paired=pair.paired
    )
    return PreparedPair(
        anchor=anchor_c,
        synthetic=synthetic_c,
        rows_in_files=(pair.n_anchor, pair.n_synthetic),
        same_rows=pair.paired,
        subsampled=reduced,
        row_cap=cap,
    )


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, ttl=CACHE_TTL_S, show_spinner=False)
def cached_analysis(
    anchor: np.ndarray, synthetic: np.ndarray, paired: bool, permutations: int, k: int
) -> diag.EmbeddingReport:
    """``analyse_embeddings`` with the page's fixed seed (a few hundred KB per entry)."""
    rng = np.random.default_rng(DATA_SEED)
    return diag.analyse_embeddings(anchor, synthetic, paired, permutations, rng, k=k)


def example_files() -> tuple[tuple[bytes, str], tuple[bytes, str]]:
    """The shipped example files as (bytes, name) for anchor and synthetic."""
    return (
        ((ASSETS / ANCHOR_FILE).read_bytes(), ANCHOR_FILE),
        ((ASSETS / SYNTHETIC_FILE).read_bytes(), SYNTHETIC_FILE),
    )


def _use_example() -> None:
    st.session_state[_EXAMPLE_FLAG] = True


def _use_uploads() -> None:
    # A new upload means the visitor wants their own files, not the example any more.
    st.session_state[_EXAMPLE_FLAG] = False


def _upload_widgets() -> tuple[Any, Any]:
    # No ``type=`` filter on purpose: Streamlit 1.67 enforces it by raising while it
    # decodes the widget state (before our code runs, and outside any error boundary when
    # the widget has a callback). ``load_embeddings`` refuses other types with a message.
    mb = MAX_UPLOAD_BYTES // (1024 * 1024)
    help_text = (
        f"Accepted: {', '.join(ALLOWED_EXTENSIONS)}. Rows are samples, columns are embedding "
        f"dimensions. Server limits: {Limits().describe()}."
    )
    left, right = st.columns(2)
    anchor = left.file_uploader(
        "Anchor embeddings (real data)", key="dg_anchor_file",
        max_upload_size=mb, help=help_text, on_change=_use_uploads,
    )  # fmt: skip
    synthetic = right.file_uploader(
        "Synthetic embeddings (generated data)", key="dg_synthetic_file",
        max_upload_size=mb, help=help_text, on_change=_use_uploads,
    )  # fmt: skip
    return anchor, synthetic


def _example_row() -> None:
    cols = st.columns([2, 1, 1])
    cols[0].button(
        "Try the example data",
        key="dg_example",
        on_click=_use_example,
        type="primary",
        icon=":material/science:",
        help="Two 300 x 8 CSV files made by this project's simulation (adherence 0.6).",
    )
    (anchor_bytes, anchor_name), (synth_bytes, synth_name) = example_files()
    cols[1].download_button(
        "Example anchor CSV", anchor_bytes, anchor_name, "text/csv",
        key="dg_example_anchor_csv", on_click="ignore",
    )  # fmt: skip
    cols[2].download_button(
        "Example synthetic CSV", synth_bytes, synth_name, "text/csv",
        key="dg_example_synthetic_csv", on_click="ignore",
    )  # fmt: skip


def selected_files(anchor_upload: Any, synthetic_upload: Any) -> tuple[Any, str] | None:
    """The pair to analyse and a description of its source, or None when incomplete.

    The example wins from the click of its button until the next change of an uploader.
    """
    if st.session_state.get(_EXAMPLE_FLAG):
        return example_files(), "the example data (a simulated scenario with adherence 0.6)"
    if anchor_upload is not None and synthetic_upload is not None:
        return (
            (anchor_upload.getvalue(), anchor_upload.name),
            (synthetic_upload.getvalue(), synthetic_upload.name),
        ), "your uploaded files"
    if anchor_upload is not None or synthetic_upload is not None:
        st.info("Upload the second file too: the diagnostics compare anchor with synthetic data.")
    return None


def render_your_data(lecture: bool) -> None:
    """Upload (or example) -> validated arrays -> diagnostics, figures and tables."""
    if not lecture:
        st.markdown(prose(PAGE_TEXT, "data_intro"))
    settings = sidebar_controls(
        DATA_SCHEMA, prefix=DATA_PREFIX, container=st.expander("Analysis settings")
    )
    anchor_upload, synthetic_upload = _upload_widgets()
    _example_row()
    chosen = selected_files(anchor_upload, synthetic_upload)
    if chosen is None:
        if anchor_upload is None and synthetic_upload is None:
            st.info("Upload both files, or press **Try the example data**.")
        return
    ((anchor_bytes, anchor_name), (synth_bytes, synth_name)), source = chosen
    with st.spinner("Reading the files..."):
        prepared = prepare_pair(anchor_bytes, anchor_name, synth_bytes, synth_name)
    if prepared.error is not None:
        show_error(prepared.error)
        return
    st.success(escape_markdown(f"Analysing {source}."), icon=":material/check_circle:")
    paired = _pairing_choice(prepared)
    _row_cap_notice(prepared)
    diag.check_diagnostics_cost(
        diag.analysis_cost(
            prepared.anchor.shape[0],
            prepared.synthetic.shape[0],
            prepared.anchor.shape[1],
            paired,
            settings["permutations"],
        )
    )
    with st.spinner("Computing HSIC, entropies and the projection..."):
        report = cached_analysis(
            prepared.anchor, prepared.synthetic, paired, settings["permutations"], settings["k"]
        )
    _show_report(report, lecture)


def _pairing_choice(prepared: PreparedPair) -> bool:
    n_a, n_s = prepared.rows_in_files
    if not prepared.same_rows:
        st.warning(
            f"The files have different row counts ({n_a:,} anchor, {n_s:,} synthetic), so "
            "rows cannot be matched and **HSIC is not computed**. We do not pair rows at "
            "random: a random pairing is independent by construction, so HSIC's p-value "
            "would be uniform and say nothing about your data. To test dependence, give "
            "both files the same rows, row i of the synthetic file being the answer to a "
            "prompt built from row i of the anchor file (repeat anchor rows if one prompt "
            "produced several samples).",
            icon=INFO_ICON,
        )
        return False
    return st.checkbox(
        "Rows are paired: row i of the synthetic file came from a prompt built from row i "
        "of the anchor file",
        value=True,
        key="dg_paired",
        help="Switch off if the two files merely have the same number of rows: HSIC is "
        "then skipped, since it tests the dependence of pairs.",
    )


def _row_cap_notice(prepared: PreparedPair) -> None:
    if not prepared.subsampled:
        return
    n_a, n_s = prepared.rows_in_files
    how = (
        "the same rows from both files, so pairs stay together"
        if prepared.same_rows
        else "each file separately"
    )
    st.info(
        f"Your files have {n_a:,} and {n_s:,} rows. To keep the shared server responsive, "
        f"at most {prepared.row_cap:,} rows per file are analysed at this dimension: a "
        f"random subsample (seed {DATA_SEED}), {how}.",
        icon=":material/content_cut:",
    )


def _show_report(report: diag.EmbeddingReport, lecture: bool) -> None:
    cols = st.columns(4)
    if report.hsic is not None:
        cols[0].metric("HSIC", f"{report.hsic.statistic:.4g}")
        cols[1].metric("p-value (permutation)", f"{report.hsic.p_value:.3g}")
    else:
        cols[0].metric("HSIC", "not paired")
        cols[1].metric("p-value (permutation)", "–")
    cols[2].metric("Entropy drop anchor - synthetic", f"{report.entropy_drop:.3f} nats")
    cols[3].metric("KL(synthetic || anchor)", f"{report.kl_synthetic_anchor:.3f} nats")
    table = figures.report_table(report)
    shown = table.assign(
        value=table["value"].map(lambda v: f"{v:.4g}"),
        **{"±": table["±"].map(lambda v: "" if np.isnan(v) else f"{v:.2g}")},
    )
    st.dataframe(
        shown,
        hide_index=True,
        column_config={"reading": st.column_config.TextColumn(width="large")},
    )
    st.download_button(
        "Download these numbers (CSV)",
        table.to_csv(index=False).encode(),
        "diagnostics-your-data.csv",
        "text/csv",
        key="dg_report_csv",
        on_click="ignore",
    )
    show_figure(
        figures.projection_figure(report, lecture=lecture),
        "diagnostics-your-data-pca",
        lambda: figures.projection_data(report),
        lecture,
        key="dg-pca",
    )
    if report.hsic is not None:
        show_figure(
            figures.hsic_null_figure(report.hsic, lecture),
            "diagnostics-your-data-hsic-null",
            lambda: figures.hsic_null_data(report.hsic),
            lecture,
            key="dg-null",
        )
    if not lecture:
        st.caption(prose(PAGE_TEXT, "report_caption", {"k": report.k}))


def render_tabs(values: Mapping[str, Any], lecture: bool) -> None:
    """The two tabs; only the open one runs (the choice is kept in the URL)."""
    simulation, your_data = st.tabs(TAB_LABELS, key=TAB_KEY, bind="query-params")
    with simulation:
        if simulation.open:
            try:
                config = scenario_config(values)
            except ValueError as exc:
                show_error(f"These settings do not form a valid scenario: {exc}")
            else:
                with error_boundary("the simulation diagnostics"):
                    render_simulation(values, config, lecture)
    with your_data:
        if your_data.open:
            with error_boundary("the diagnostics of your data"):
                render_your_data(lecture)
