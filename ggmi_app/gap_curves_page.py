"""KL Gap curves page: the paper's Figure 4 (Section 4.4), as published and live.

Its explanations (captions, the estimator note, the map's introduction, where the numbers
came from) are in ``assets/content/gap_curves/page.md`` (``PAGE_TEXT``), filled with the
stored and computed numbers through ``ggmi_app.prose``.
"""

from __future__ import annotations

import math
from typing import Any, Final

import pandas as pd
import streamlit as st

from ggmi_app.budget_sliders import budget_cap, budget_capped
from ggmi_app.cached import max_rounds, run_gap_sweep, sweep_cost
from ggmi_app.figures import cached_figures, show_figure
from ggmi_app.job_keys import Job
from ggmi_app.messages import INFO_ICON, error_boundary, show_error
from ggmi_app.page_settings import GAP_MAP_PARAM, GAP_PREFIX, GAP_SWEEP_SCHEMA, PAGE_SETTINGS
from ggmi_app.params import IntParam
from ggmi_app.priced import run_priced
from ggmi_app.prose import prose
from ggmi_app.scenario_params import (
    METRIC_PARAM,
    N_MC_PARAM,
    PUBLISHED_SCENARIO,
    ROUNDS_DEFAULT,
    SCENARIO_SCHEMA,
    SHARED_SCHEMA,
    SWEEP_DEFAULT_RANGES,
    rounds_param,
    scenario_config,
    sweep_values,
    swept_out,
)
from ggmi_app.state import apply_preset, keyed, preset_buttons, sidebar_controls
from ggmi_app.stored_assets import STORED_POINTS, figure4_tables, stored_sweep
from ggmi_core import gap_map as gm
from ggmi_core.budget import check_budget, work_budget
from ggmi_core.config import DEFAULT_N_MC, ScenarioConfig
from ggmi_core.quoted import quoted
from ggmi_core.simulation import gap_point
from ggmi_viz.gap_curves import (
    figure4_data,
    figure4_figure,
    gap_curve_figure,
    metric_label,
    param_label,
)
from ggmi_viz.gap_map import gap_map_data, gap_map_figure

PREFIX: Final[str] = GAP_PREFIX
#: The sweep of this page (declared in ``ggmi_app.page_settings``), keys ``gap_<name>``.
SWEEP_SCHEMA: Final = GAP_SWEEP_SCHEMA
#: The map view (key ``gap_map``).
MAP_PARAM: Final = GAP_MAP_PARAM
#: This page's own settings (URL/store key -> param).
SETTINGS: Final = PAGE_SETTINGS["gap-curves"]
RANGE_NAMES: Final[tuple[str, ...]] = ("sweep_from", "sweep_to", "sweep_points")
#: The page's prose (``assets/content/gap_curves/page.md``).
PAGE_TEXT: Final[str] = "gap_curves/page"
#: Scenarios a point in the paper's Figure 4 (Section 4.4): the figure caption quotes the
#: standard error a point would have with so few.
PUBLISHED_ROUNDS: Final[int] = 100
_LAST_SWEEP: Final[str] = "_gap_page_last_sweep"


def range_settings(param: str) -> dict[str, Any]:
    """The range offered when ``param`` becomes the swept setting (keys ``gap_*``)."""
    start, stop, points = SWEEP_DEFAULT_RANGES[param]
    return {
        f"{PREFIX}sweep_from": start,
        f"{PREFIX}sweep_to": stop,
        f"{PREFIX}sweep_points": points,
    }


def figure4_preset(letter: str, metric: str = "kl_published") -> dict[str, Any]:
    """Settings of one column of the paper's Figure 4: sweep ``letter`` over 2..15."""
    # Seed, Monte Carlo draws and scenario count are fixed too: with them the preset
    # names one exact setting, whose points are stored (every divergence), so a click or
    # a switch of divergence shows stored numbers at once (``stored_assets.stored_sweep``).
    return {
        **PUBLISHED_SCENARIO, "metric": metric, "n_mc": DEFAULT_N_MC,
        f"{PREFIX}sweep": letter, **range_settings(letter),
        f"{PREFIX}rounds": ROUNDS_DEFAULT, f"{PREFIX}band": "std",
    }  # fmt: skip


PRESETS: Final[dict[str, dict[str, Any]]] = {
    f"Paper Figure 4: sweep {letter}": figure4_preset(letter) for letter in ("K", "J", "L")
} | {"Figure 4 sweep of K, exact JS": figure4_preset("K", "js")}


def _budget_rounds_param(values: dict[str, Any]) -> IntParam:
    """The scenarios slider capped by the work budget (uncapped if settings are invalid)."""
    try:
        config = scenario_config(values)
        xs = sweep_values(
            values["sweep"], values["sweep_from"], values["sweep_to"], values["sweep_points"]
        )
        cap = max_rounds(config.to_dict(), values["sweep"], xs, values["metric"], values["n_mc"])
    except ValueError:
        cap = None  # the sweep section explains what is wrong
    return budget_capped(rounds_param(), cap, prefix=PREFIX)


def _offer_range_for_new_sweep(swept: str) -> None:
    """When only the swept setting changed, give it a sensible range (K's 2..15 means
    nothing for b); a preset or a loaded file brings its own range and is left alone."""
    current_range = tuple(st.session_state.get(PREFIX + name) for name in RANGE_NAMES)
    previous = st.session_state.get(_LAST_SWEEP)
    if previous is not None and previous[0] != swept and previous[1:] == current_range:
        apply_preset(range_settings(swept), SETTINGS)


def draw_controls() -> dict[str, Any]:
    """The letters held fixed, the sweep, the shared divergence, then the presets.

    The scenario letters come first in the sidebar (the main controls, on every page),
    but are drawn once the sweep is known: its letter is greyed out there.
    """
    st.sidebar.subheader("Settings held fixed")
    letters_slot = st.sidebar.container()
    st.sidebar.subheader("Your sweep")
    by_name = {p.name: p for p in SWEEP_SCHEMA}
    values = sidebar_controls([by_name["sweep"]], prefix=PREFIX)
    _offer_range_for_new_sweep(values["sweep"])
    values |= sidebar_controls([by_name[name] for name in RANGE_NAMES], prefix=PREFIX)
    st.session_state[_LAST_SWEEP] = (values["sweep"], *(values[n] for n in RANGE_NAMES))
    # The scenarios slider sits here but is drawn last: its maximum depends on the other
    # settings (the work budget), so they must be known first.
    rounds_slot = st.sidebar.container()
    values |= sidebar_controls([METRIC_PARAM, N_MC_PARAM])
    values |= sidebar_controls(
        [by_name[name] for name in ("band", "boxes", "robust_y")], prefix=PREFIX
    )
    values |= sidebar_controls(
        [swept_out(p, values["sweep"]) for p in SCENARIO_SCHEMA], container=letters_slot
    )
    values |= sidebar_controls([_budget_rounds_param(values)], prefix=PREFIX, container=rounds_slot)
    presets = st.sidebar.expander("Presets", icon=":material/bookmarks:")
    preset_buttons(PRESETS, keyed(SHARED_SCHEMA) | SETTINGS, container=presets)
    return values


def show_figure4(lecture: bool) -> None:
    st.header("Figure 4 as published, beside an exact divergence")
    with error_boundary("Figure 4"):
        stored = {metric: figure4_tables(metric) for metric in ("kl_published", "js")}
        tables = {metric: found.tables for metric, found in stored.items()}
        notes = [f"{metric_label(metric)}: {found.note}." for metric, found in stored.items()]
        # The tables alone fix the figure, so their content keys its cache. (A file's
        # name is not enough: an asset replaced in place must show its new numbers.)
        (figure4,) = cached_figures(
            "gap-figure4",
            tuple((metric, found.key) for metric, found in stored.items()),
            lecture,
            lambda: [figure4_figure(tables, lecture=lecture)],
        )
        show_figure(
            figure4,
            "figure4-published-and-js",
            lambda: figure4_data(tables),
            lecture,
            key="figure4",
        )
        st.caption(figure4_caption(" ".join(notes)))
        st.info(estimator_note(), icon=INFO_ICON)


def _stats(row: dict[str, float], prefix: str, names: tuple[str, ...]) -> dict[str, float]:
    """``names`` of a stored summary row (``gap_<name>``, or ``rounds``) as ``<prefix>_<name>``."""
    return {f"{prefix}_{n}": float(row[n if n == "rounds" else f"gap_{n}"]) for n in names}


def figure4_caption(sources: str) -> str:
    """How to read a point of Figure 4, with the stored published-estimator row at
    K = J = L = 2 (nats) and ``sources`` (where the stored tables came from)."""
    published = quoted("kl_published_base")
    values = _stats(published, "pub", ("std", "rounds", "sem", "mean")) | {
        "published_rounds": PUBLISHED_ROUNDS,
        "sem_published": published["gap_std"] / math.sqrt(PUBLISHED_ROUNDS),
        "sources": sources,
    }
    return prose(PAGE_TEXT, "figure4_caption", values)


def estimator_note() -> str:
    """Why the estimators disagree (Figure 4, Section 4.4), with the stored exact-KL and
    published-estimator rows at K = J = L = 2 (nats)."""
    exact = _stats(quoted("kl_exact_base"), "exact", ("rounds", "mean", "std", "median", "q90"))
    published = _stats(
        quoted("kl_published_base"), "pub", ("rounds", "mean", "sem", "std", "median")
    )
    return prose(PAGE_TEXT, "estimator_note", exact | published)


def _sweep_results(args: tuple) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """``(summary, per_scenario, source note)``: stored points when these exact settings
    were computed ahead (the Figure-4 presets), else a live, budget-checked sweep."""
    stored = stored_sweep(*args)
    if stored is not None:
        return (*stored, prose(PAGE_TEXT, "sweep_stored", {"file": STORED_POINTS}))
    settings, swept, xs, rounds, metric, n_mc = args
    per_round = sweep_cost(settings, swept, xs, 1, metric, n_mc)
    check_budget(
        sweep_cost(*args),
        what=f"This sweep ({len(xs)} values x {rounds} scenarios; at most "
        f"{int(work_budget() // per_round)} scenarios per value fit)",
    )
    return (*run_gap_sweep(*args), prose(PAGE_TEXT, "sweep_live"))


def gap_map_view(values: dict[str, Any], lecture: bool) -> None:
    """The map of the gap over two letters: stored at the defaults, else live and coarse."""
    st.header("Where synthetic data help: two letters at once")
    shown = sidebar_controls([MAP_PARAM], prefix=PREFIX, container=st.container())["map"]
    if not shown:
        return
    if not lecture:
        st.markdown(prose(PAGE_TEXT, "map_intro"))
    with error_boundary("the map"):
        config = scenario_config(values)
        metric, n_mc = values["metric"], values["n_mc"]
        table, source = _map_table(config, metric, n_mc)
        key = (config.to_dict(), metric, n_mc, int(table["rounds"].min()), len(table))
        (fig,) = cached_figures(
            "gap-map", key, lecture, lambda: [gap_map_figure(table, metric, lecture=lecture)]
        )
        show_figure(
            fig, f"gap-map-{metric}", lambda: gap_map_data(table), lecture, key="gap-map"
        )
        st.caption(source)


def _map_table(config: ScenarioConfig, metric: str, n_mc: int) -> tuple[pd.DataFrame, str]:
    """The stored map when it holds this setting, else a live coarse map within budget."""
    if gm.is_stored_setting(config, metric, n_mc):
        table = gm.load_stored_map(metric)
        rounds = int(table["rounds"].min())
        values = {"rounds": rounds, "seed": config.seed, "file": gm.stored_map_path(metric).name}
        return table, prose(PAGE_TEXT, "map_stored", values)
    cells = gm.both_planes(config)
    cap = budget_cap(gm.map_cost(cells, 1, n_mc, metric))
    rounds = min(gm.LIVE_ROUNDS, cap)
    if rounds < gm.MIN_LIVE_ROUNDS:
        check_budget(
            gm.map_cost(cells, gm.MIN_LIVE_ROUNDS, n_mc, metric),
            what=f"A map of these settings ({len(cells)} cells)",
        )
    unique: dict[str, gm.MapCell] = {}
    for cell in cells:
        unique.setdefault(gm.config_key(cell.config), cell)
    # One pool job per distinct setting, the same job a sweep value is (shared cache).
    jobs = [
        Job.of(gap_point, c.config, gm.PLANES[c.plane][0], rounds, metric, n_mc)
        for c in unique.values()
    ]
    results = run_priced(
        jobs,
        f"Computing the map ({len(jobs)} cells)",
        cost=gm.map_cost(cells, rounds, n_mc, metric),
        what=f"A map of these settings ({len(cells)} cells)",
    )
    points = dict(zip(unique, results, strict=True))
    rows = [gm.cell_row(c, *points[gm.config_key(c.config)]) for c in cells]
    values = {
        "grid": ", ".join(map(str, gm.COARSE_VALUES)),
        "rounds": rounds,
        "cap": cap,
        "seed": config.seed,
        "stored_rounds": gm.MAP_ROUNDS,
    }
    return gm.map_table(rows), prose(PAGE_TEXT, "map_live", values)


def your_sweep(values: dict[str, Any], lecture: bool) -> None:
    swept = values["sweep"]
    st.header(f"Your sweep: {param_label(swept)}")
    try:
        config = scenario_config(values)
        xs = sweep_values(swept, values["sweep_from"], values["sweep_to"], values["sweep_points"])
        for x in xs:  # every swept value must make a valid scenario with the fixed ones
            config.replace(**{swept: x})
    except ValueError as exc:
        show_error(f"These settings do not make a sweep: {exc}")
        return
    settings = config.to_dict()
    args = (settings, swept, xs, values["rounds"], values["metric"], values["n_mc"])
    with error_boundary("your sweep"):
        summary, per_scenario, source = _sweep_results(args)
        bands = ("std", "quantile") if values["band"] == "both" else (values["band"],)
        fixed = ", ".join(f"{p} = {settings[p]}" for p in ("K", "J", "L") if p != swept)
        # ``args`` determine the cached sweep; with the display toggles they fix the figure.
        (fig,) = cached_figures(
            "gap-sweep",
            (args, bands, values["boxes"], values["robust_y"]),
            lecture,
            lambda: [
                gap_curve_figure(
                    summary,
                    swept,
                    values["metric"],
                    per_scenario=per_scenario if values["boxes"] else None,
                    bands=bands,
                    robust_range=values["robust_y"],
                    fixed=fixed,
                    lecture=lecture,
                )
            ],
        )
        show_figure(
            fig,
            f"gap-{values['metric']}-sweep-{swept}",
            lambda: per_scenario.merge(summary.drop(columns=["param"]), on="value", how="left"),
            lecture,
            key="sweep",
        )
        caption = {
            "metric": metric_label(values["metric"]),
            "rounds": values["rounds"],
            "seed": config.seed,
            "source": source,
        }
        st.caption(prose(PAGE_TEXT, "sweep_caption", caption))
        with st.expander("Numbers behind the curve"):
            st.dataframe(summary, hide_index=True, width="stretch")
