"""Home page of GGMI Explorer: the paper's claim in plain words, the chain drawn, links.

Run with ``streamlit run app.py``. This script is also the router: it registers Home and the
pages in ``pages/`` with ``st.navigation`` so the sidebar reads "Home", not the file name.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from ggmi_app.figures import show_figure
from ggmi_app.layout import page_setup
from ggmi_viz.home import chain_figure, letters_table, stages_table

ROOT = Path(__file__).resolve().parent

#: (page file, link label, one-line description) in reading order.
PAGES = (
    (
        "pages/1_Distributions.py",
        "Distributions (the paper's Figure 2, live)",
        "One simulated scenario: target, model, fitted mixtures and samples, by part.",
    ),
    (
        "pages/2_KL_Gap_curves.py",
        "KL Gap curves (the paper's Figure 4, live)",
        "How the gain from synthetic data changes with K, J, L and more, over many scenarios.",
    ),
    (
        "pages/3_Bound_terms.py",
        "Bound terms",
        "The terms of the paper's bounds, measured one by one in the simulation.",
    ),
    (
        "pages/4_Diagnostics.py",
        "Diagnostics",
        "The paper's Appendix G checks (HSIC, entropy) on simulated or uploaded data.",
    ),
)


def home() -> None:
    """The Home page."""
    lecture = page_setup("GGMI Explorer")

    st.title("GGMI Explorer")
    if lecture:
        # Projected, the drawing is the page: it comes first, the text below it.
        _chain_drawing(lecture)
        _claims()
    else:
        st.markdown(
            "An interactive companion to Gan & Liu, *Towards a Theoretical Understanding of "
            "Synthetic Data in LLM Post-Training: A Reverse-Bottleneck Perspective* (ICLR 2025)."
        )
        _claims()
        _chain_drawing(lecture)

    st.header("The letters used on every page")
    st.warning(
        "Section 3.1 of the paper uses different letters for the same simulation: there K "
        "counts **all** target components and J the anchor-sampled ones. This app follows "
        "Appendix B and the published code, as in the table.",
        icon="⚠️",
    )
    st.table(pd.DataFrame(letters_table()).set_index("letter"))
    st.markdown(
        "The target G has K + J components, the model M has K + J + L. The anchor data are "
        "N_k points from each of G's first K components; the synthetic data are n points from "
        "M. Every divergence and entropy in the app is in **nats** (natural logarithms)."
    )

    st.header("Pages")
    for path, label, description in PAGES:
        if (ROOT / path).is_file():
            st.page_link(path, label=label, icon=":material/arrow_forward:")
        else:
            # Pages under construction must not break Home: st.page_link refuses unknown files.
            st.markdown(f"**{label}** (not available yet)")
        st.caption(description)


def _claims() -> None:
    """The paper's claim in plain words."""
    st.header("The claim, in plain words")
    st.markdown(
        """
    - **Real data is scarce.** Post-training often starts from a handful of real examples,
      the *anchor data*, which show only part of what the task needs.
    - **Synthetic data is made in a chain.** The anchor examples go into a prompt, a large
      model answers it, and the answers are filtered or edited (curation). Each step only
      sees what the previous one handed over.
    - **The model can add, not just pass on.** A prompt squeezes the anchor data into a few
      lines, but the model answers from everything it learned before. What it adds beyond
      the prompt is the *information gain*. An encoder can only lose information on the way
      through; here the generation step can put some back: a *reverse bottleneck*.
    - **So synthetic data can generalise better than the anchor data alone,** and the paper
      bounds by how much: the gain (GGMI, generalisation gain via mutual information) is
      larger when the model adds more, and it is limited by how far the model's output and
      the curated data drift from the real task.
    - **A toy world shows it.** The paper simulates all of this with Gaussian mixtures: the
      task is a mixture, the anchor data covers some of its components, the "model" knows
      the missing ones plus some irrelevant extras. The pages below let you run that
      simulation yourself.
    """
    )


def _chain_drawing(lecture: bool) -> None:
    """The generation chain figure, its downloads and its caption."""
    show_figure(
        chain_figure(lecture=lecture),
        "generation-chain",
        pd.DataFrame(stages_table()),
        lecture=lecture,
        key="home",
    )
    st.caption(
        "Top: how one synthetic example is made. Bottom: a sketch of the information carried "
        "at each step. The prompt is the narrow point; the model's own knowledge widens the "
        "band again, which an ordinary encoder/decoder bottleneck (dashed) never could. "
        "Hover over a box for what it stands for."
    )


def navigation() -> list:
    """Home first, then every page file that exists, in reading order."""
    pages = [st.Page(home, title="Home", icon=":material/home:", default=True)]
    for path, label, _ in PAGES:
        if (ROOT / path).is_file():
            pages.append(st.Page(path, title=label.split(" (")[0]))
    return pages


st.navigation(navigation()).run()
