"""Home page: the paper's claim in plain words, the generation chain drawn, the letters."""

from __future__ import annotations

from typing import Final

import pandas as pd
import streamlit as st

from ggmi_app.figures import SharedFigure, fixed_figure, show_figure
from ggmi_app.messages import WARNING_ICON, escape_markdown
from ggmi_app.scenario_params import recipe_notes
from ggmi_viz.home import chain_figure, letters_table, stages_table

#: This page has no settings of its own.
SETTINGS: dict = {}


#: Above the recipe notes (the notes themselves read their values from the code).
RECIPE_INTRO: Final[str] = (
    "The simulation follows the set-up of Appendix B and the authors' published code "
    "(defaults K = J = L = 2, N_k = 50, n = 200, d = 2). Where it differs in detail, it "
    "says so here; none of these is aligned with the published code, because changing "
    "them would change every stored number."
)


def claims() -> None:
    """The paper's claim in plain words, each point with its section."""
    st.header("The claim, in plain words")
    st.markdown(
        """
    - **Real data is scarce.** Post-training often starts from a handful of real examples,
      the *anchor data*, which show only part of what the task needs (Section 3.1).
    - **Synthetic data is made in a chain.** The anchor examples go into a prompt, a large
      model answers it, and the answers are curated; each step sees only what the one
      before handed over (Section 3.2, Appendix C).
    - **The model can add, not just pass on.** The prompt squeezes the anchor data into a
      few lines, but the model answers from everything it learned before. What it adds
      beyond the prompt is the *information gain* (Definition 4.2). An encoder can only
      lose information on the way through; here generation can put some back: the
      *reverse bottleneck* (Section 4.1).
    - **So synthetic data can generalise better than the anchor data alone.** The paper
      bounds the error of a model trained on synthetic data (Lemma 3.1, Theorem 4.7) and
      the gain over the anchor data, GGMI (Definition 4.9, Theorem 4.10): the bound on the
      gain grows with the information gain, while the error bound grows with how far the
      model's output is from the task and how far the curated data are from the model's
      output (the task and generation divergences of Lemma 3.1).
    - **A toy world shows it.** The paper simulates the chain with Gaussian mixtures
      (Section 3.2, Figure 2; Section 4.4, Figure 4; set-up in Appendix B): the task is a
      mixture, the anchor data cover some of its components, the "model" knows the missing
      ones plus some irrelevant extras. The pages below run that simulation.
    - **Where the simulation stops.** Mutual information with trained parameters, which
      every bound of Section 4 contains, has no finite value for mixtures fitted by EM; the
      pages measure stand-ins and say which. The published KL Gap curves depend on their
      histogram estimator (see the KL Gap curves page).
    """
    )


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
    st.caption(
        "Top: how one synthetic example is made. Bottom: a sketch of the information carried "
        "at each step. The prompt is the narrow point; the model's own knowledge widens the "
        "band again, which an ordinary encoder/decoder bottleneck (dashed) never could. "
        "Hover over a box for what it stands for."
    )


def letters() -> None:
    """The letters K, J, L, N_k, n as this app uses them, and how Section 3.1's differ."""
    st.header("The letters used on every page")
    st.warning(
        "Section 3.1 of the paper uses different letters for the same simulation: there K "
        "counts **all** target components and J the anchor-sampled ones. This app follows "
        "Appendix B and the published code, as in the table.",
        icon=WARNING_ICON,
    )
    st.table(pd.DataFrame(letters_table()).set_index("letter"))
    st.markdown(
        "The target G has K + J components, the model M has K + J + L. The anchor data are "
        "N_k points from each of G's first K components; the synthetic data are n points from "
        "M. Every divergence and entropy in the app is in **nats** (natural logarithms)."
    )


def recipe_notes_section() -> None:
    """Where the simulation follows the published code rather than the paper's text."""
    st.subheader("Notes on the recipe")
    st.markdown(RECIPE_INTRO)
    st.markdown("\n".join(f"- {escape_markdown(note)}" for note in recipe_notes()))
