"""Home page: the paper's claim in plain words, the generation chain drawn, the letters.

Its explanations are in ``assets/content/home/page.md`` (``PAGE_TEXT``), shown through
``ggmi_app.prose``; headings, links and the page list's descriptions stay here.
"""

from __future__ import annotations

from typing import Final

import pandas as pd
import streamlit as st

from ggmi_app.figures import SharedFigure, fixed_figure, show_figure
from ggmi_app.messages import WARNING_ICON
from ggmi_app.prose import prose
from ggmi_app.scenario_params import recipe_values
from ggmi_core.config import ScenarioConfig
from ggmi_viz.home import chain_figure, letters_table, stages_table

#: This page has no settings of its own.
SETTINGS: dict = {}


#: The page's prose (``assets/content/home/page.md``).
PAGE_TEXT: Final[str] = "home/page"


def claims() -> None:
    """The paper's claim in plain words, each point with its section."""
    st.header("The claim, in plain words")
    st.markdown(prose(PAGE_TEXT, "claims"))


def chain_figure_shared(lecture: bool) -> SharedFigure:
    """The themed generation-chain figure, built once per process and theme, for every run.

    It depends on nothing but the theme, and Home is the page every first visit opens.
    """
    return fixed_figure("home-chain", None, lecture, lambda: chain_figure(lecture=lecture))


def warm_up() -> int:
    """Build the Home figure in both themes now (the server launcher calls this); how many."""
    for lecture in (False, True):
        chain_figure_shared(lecture)
    return 2


def chain_drawing(lecture: bool) -> None:
    """The generation chain figure, its downloads and its caption."""
    show_figure(
        chain_figure_shared(lecture),
        "generation-chain",
        lambda: pd.DataFrame(stages_table()),
        lecture=lecture,
        key="home",
    )
    st.caption(prose(PAGE_TEXT, "chain_caption"))


def letters() -> None:
    """The letters K, J, L, N_k, n as this app uses them, and how Section 3.1's differ."""
    st.header("The letters used on every page")
    st.warning(prose(PAGE_TEXT, "letters_warning"), icon=WARNING_ICON)
    st.table(pd.DataFrame(letters_table()).set_index("letter"))
    st.markdown(prose(PAGE_TEXT, "letters"))


def recipe_notes_section() -> None:
    """Where the simulation follows the published code rather than the paper's text."""
    st.subheader("Notes on the recipe")
    st.markdown(prose(PAGE_TEXT, "recipe_intro", default_letters(ScenarioConfig())))
    st.markdown(prose(PAGE_TEXT, "recipe_notes", recipe_values()))


def default_letters(config: ScenarioConfig) -> dict[str, str | int]:
    """The settings ``recipe_intro`` quotes: ``letters`` reads "K = J = L = 2" when the
    three are equal (else "K = 2, J = 3, L = 2"), and N_k, n and d."""
    counts = {"K": config.K, "J": config.J, "L": config.L}
    if len(set(counts.values())) == 1:
        letters = f"K = J = L = {config.K}"
    else:
        letters = ", ".join(f"{name} = {value}" for name, value in counts.items())
    return {
        "letters": letters,
        "N_k": config.n_anchor_per_component,
        "n": config.n_synthetic,
        "d": config.dim,
    }
