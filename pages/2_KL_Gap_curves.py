"""KL Gap curves: the paper's Figure 4, as published and live."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from pandas.util import hash_pandas_object

from ggmi_app.cached import budget_capped, figure4_tables, max_rounds, run_sweep, sweep_cost
from ggmi_app.figures import cached_figures, show_figure
from ggmi_app.layout import error_boundary, page_setup, show_error
from ggmi_app.scenario_params import (
    FIGURE4_PRESETS,
    SCENARIO_SCHEMA,
    SWEEP_SCHEMA,
    default_range,
    rounds_param,
    scenario_config,
    sweep_values,
    swept_out,
)
from ggmi_app.state import apply_preset, preset_buttons, settings_io, sidebar_controls
from ggmi_core.budget import check_budget, work_budget
from ggmi_viz.gap_curves import (
    ESTIMATOR_NOTE,
    figure4_data,
    figure4_figure,
    gap_curve_figure,
    metric_label,
    param_label,
)

SWEEP_CHOICE, *SWEEP_REST = SWEEP_SCHEMA
SCHEMA = (*SCENARIO_SCHEMA, *SWEEP_SCHEMA)
_LAST_SWEEP = "_gap_page_last_sweep"


def tables_fingerprint(tables: dict[str, dict[str, pd.DataFrame]]) -> tuple:
    """A cheap content key of ``{metric: {letter: summary}}``: names, columns, row hashes.

    ``st.cache_data`` hashing these six small tables itself costs ~40 ms a rerun; pandas'
    vectorised row hashes cost ~0.4 ms.
    """
    return tuple(
        (metric, letter, tuple(summary.columns), hash_pandas_object(summary).to_numpy().tobytes())
        for metric, by_letter in tables.items()
        for letter, summary in by_letter.items()
    )


def _budget_rounds_param(values: dict):
    """The scenarios slider capped by the work budget (uncapped if settings are invalid).

    A value asked for above the cap is lowered to it, with a toast.
    """
    try:
        config = scenario_config(values)
        xs = sweep_values(
            values["sweep"], values["sweep_from"], values["sweep_to"], values["sweep_points"]
        )
        cap = max_rounds(config.to_dict(), values["sweep"], xs, values["metric"], values["n_mc"])
    except ValueError:
        cap = None  # the sweep section explains what is wrong
    return budget_capped(rounds_param(), cap)


lecture = page_setup("KL Gap curves")
st.title("KL Gap curves (the paper's Figure 4)")
if not lecture:
    st.markdown(
        "The gap is how much closer to the target G the learner trained on synthetic data "
        "gets than the one trained on anchor data: divergence(fit on anchor, G) minus "
        "divergence(fit on synthetic, G). Positive means the synthetic data helped. Each "
        "point summarises many independent scenarios."
    )

# ------------------------------------------------------------------ sidebar controls
with st.sidebar:
    st.subheader("Presets")
    preset_buttons(FIGURE4_PRESETS, SCHEMA)
    st.subheader("Your sweep")
sweep = sidebar_controls([SWEEP_CHOICE])
RANGE_KEYS = ("sweep_from", "sweep_to", "sweep_points")
previous = st.session_state.get(_LAST_SWEEP)
if (
    previous is not None
    and previous[0] != sweep["sweep"]
    and previous[1:] == tuple(st.session_state.get(k) for k in RANGE_KEYS)
):
    # Only the swept setting changed (not a preset or a loaded file, which bring their
    # own range): give it a sensible range, since K's 2..15 means nothing for b.
    apply_preset(default_range(sweep["sweep"]), SWEEP_SCHEMA)
values = sweep | sidebar_controls([p for p in SWEEP_REST if p.name in RANGE_KEYS])
st.session_state[_LAST_SWEEP] = (values["sweep"], *(values[k] for k in RANGE_KEYS))
# The scenarios slider sits here but is drawn last: its maximum depends on the other
# settings (the work budget), so they must be known first.
rounds_slot = st.sidebar.container()
values |= sidebar_controls([p for p in SWEEP_REST if p.name not in (*RANGE_KEYS, "rounds")])
st.sidebar.subheader("Settings held fixed")
values |= sidebar_controls([swept_out(p, values["sweep"]) for p in SCENARIO_SCHEMA])
values |= sidebar_controls([_budget_rounds_param(values)], container=rounds_slot)
settings_io(SCHEMA, values, page="gap-curves")

# ------------------------------------------------------- Figure 4 as published + JS
st.header("Figure 4 as published, beside an exact divergence")
with error_boundary("Figure 4"):
    tables, notes = {}, []
    for metric in ("kl_published", "js"):
        tables[metric], note = figure4_tables(metric)
        notes.append(f"{metric_label(metric)}: {note}.")
    # The tables alone fix the figure, so their fingerprint keys its cache: a rerun skips
    # building and theming this grid of six panels. (A file's name is not enough: an
    # asset replaced in place must show its new numbers.)
    (figure4,) = cached_figures(
        "gap-figure4",
        tables_fingerprint(tables),
        lecture,
        lambda: [figure4_figure(tables, lecture=lecture)],
    )
    show_figure(
        figure4,
        "figure4-published-and-js",
        figure4_data(tables),
        lecture,
        key="figure4",
    )
    st.caption(
        "Top row: the published estimator, reproducing the paper's curves (mean +- 1 "
        "standard deviation over scenarios). Bottom row: the same sweeps with the exact "
        "Jensen-Shannon divergence. Sources: " + " ".join(notes)
    )
    st.info(ESTIMATOR_NOTE, icon="ℹ️")

# ---------------------------------------------------------------------- your sweep
st.header(f"Your sweep: {param_label(values['sweep'])}")
try:
    config = scenario_config(values)
    xs = sweep_values(
        values["sweep"], values["sweep_from"], values["sweep_to"], values["sweep_points"]
    )
    for x in xs:  # every swept value must make a valid scenario with the fixed ones
        config.replace(**{values["sweep"]: x})
except ValueError as exc:
    show_error(f"These settings do not make a sweep: {exc}")
    st.stop()

settings = config.to_dict()
args = (settings, values["sweep"], xs, values["rounds"], values["metric"], values["n_mc"])
with error_boundary("your sweep"):
    cost = sweep_cost(*args)
    per_round = sweep_cost(settings, values["sweep"], xs, 1, values["metric"], values["n_mc"])
    allowed = int(work_budget() // per_round)
    check_budget(
        cost,
        what=f"This sweep ({len(xs)} values x {values['rounds']} scenarios; at most "
        f"{allowed} scenarios per value fit)",
    )
    summary, per_scenario = run_sweep(*args)
    bands = ("std", "quantile") if values["band"] == "both" else (values["band"],)
    fixed = ", ".join(f"{p} = {settings[p]}" for p in ("K", "J", "L") if p != values["sweep"])
    # ``args`` determine the cached sweep; with the display toggles they fix the figure.
    (fig,) = cached_figures(
        "gap-sweep",
        (args, bands, values["boxes"], values["robust_y"]),
        lecture,
        lambda: [
            gap_curve_figure(
                summary,
                values["sweep"],
                values["metric"],
                per_scenario=per_scenario if values["boxes"] else None,
                bands=bands,
                robust_range=values["robust_y"],
                fixed=fixed,
                lecture=lecture,
            )
        ],
    )
    data = per_scenario.merge(summary.drop(columns=["param"]), on="value", how="left")
    show_figure(fig, f"gap-{values['metric']}-sweep-{values['sweep']}", data, lecture, key="sweep")
    st.caption(
        f"{metric_label(values['metric'])}; {values['rounds']} scenarios per value, seed "
        f"{config.seed}. Boxes show every scenario (middle half in the box, outliers as "
        "dots) because single gaps are heavy-tailed: the mean and its +- 1 std band can be "
        "pulled far by a few scenarios, the median and 10-90% band cannot."
    )
    with st.expander("Numbers behind the curve"):
        st.dataframe(summary, hide_index=True, width="stretch")
