"""Scenario-count sliders whose maximum is what the work budget allows.

The pages' pattern for a slider whose range depends on the other settings: make a slot
where the slider belongs, draw the other settings, price them into a cap
(``budget_cap``, or ``ggmi_app.cached.max_rounds`` for a sweep), then draw the slider
into the slot (``budget_slider``). The KL Gap curves and Bound terms pages use them.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ggmi_app.params import IntParam
from ggmi_app.scenario_params import cap_param
from ggmi_app.state import sidebar_controls
from ggmi_core.budget import work_budget


def budget_cap(per_scenario: float) -> int:
    """Most scenarios the work budget allows when each costs ``per_scenario`` units."""
    return int(work_budget() // per_scenario) if per_scenario > 0 else 10**9


def budget_capped(param: IntParam, cap: int | None, *, prefix: str = "") -> IntParam:
    """A scenario-count param capped at ``cap``; lowers a remembered value above it.

    Call it before drawing the widget (``sidebar_controls([...])``), after the settings
    the cap depends on. A value chosen before the cap dropped (still in the widget's
    state, or applied from a loaded settings file) is lowered to the new maximum with a
    toast: Streamlit would refuse to draw a slider holding it. A URL value above the cap
    needs nothing here: the widget's seeding rejects it with a notice naming the allowed
    range. ``cap=None`` (settings not valid yet) leaves ``param`` as it is.
    """
    capped = cap_param(param, cap)
    key = prefix + param.name
    asked = st.session_state.get(key)
    if isinstance(asked, int) and asked > capped.max:
        st.session_state[key] = capped.max
        label = param.label[:1].upper() + param.label[1:]
        st.toast(f"{label} lowered to {capped.max}: the work budget allows no more.")
    return capped


def budget_slider(slot: Any, param: IntParam, cap: int | None, *, prefix: str = "") -> int:
    """Draw the scenario-count slider ``param`` into ``slot``, its maximum lowered to ``cap``.

    The pages' pattern for a slider whose range depends on the other settings: make the
    ``slot`` (``st.sidebar.container()``) where the slider belongs, draw the other
    settings, price them into ``cap`` (``budget_cap``), then call this.
    """
    capped = budget_capped(param, cap, prefix=prefix)
    return sidebar_controls([capped], prefix=prefix, container=slot)[param.name]
