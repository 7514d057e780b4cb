"""The app's pages, in reading order, as data: no page is imported or run here.

One ``PageSpec`` per page (``PAGES``), every page's settings (``all_settings``, from the
data in ``ggmi_app.page_settings``), page links and page-move requests. ``app.py`` hands
the pages' scripts (``PageSpec.entry``, in ``pages/``) to ``st.navigation``, which runs
them; nothing in ``ggmi_app`` imports or runs a page script, so components may import
this module (Home lists the pages, the tour opens them) without an import circle
(``tests/test_architecture.py`` checks it, counting the navigation's page loading).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Final

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from ggmi_app.page_settings import PAGE_SETTINGS
from ggmi_app.params import Param
from ggmi_app.scenario_params import SHARED_SCHEMA
from ggmi_app.state import Keyed, keyed, url_settings


@dataclass(frozen=True)
class PageSpec:
    """One page of the app.

    Attributes:
        key: short name (``PAGE_SETTINGS`` key, settings-file names, rooms).
        title: sidebar and browser-tab title.
        link_label: text of the link on Home.
        description: one line under that link.
        icon: a Streamlit material icon (emoji do not render without an emoji font).
        entry: the page script relative to the repository root (the first page is the
            default one, at the app's root URL).
        url_path: the page's address below the app's root ("" for the default page).
    """

    key: str
    title: str
    link_label: str
    description: str
    icon: str
    entry: str
    url_path: str


PAGES: Final[tuple[PageSpec, ...]] = (
    PageSpec(
        "home", "Home", "Home", "The claim in plain words, the generation chain, the letters.",
        ":material/home:", "pages/0_Home.py", "",
    ),
    PageSpec(
        "distributions", "Distributions", "Distributions (the paper's Figure 2, live)",
        "One simulated scenario: target, model, fitted mixtures and samples, by part.",
        ":material/scatter_plot:", "pages/1_Distributions.py",
        "Distributions",
    ),
    PageSpec(
        "gap-curves", "KL Gap curves", "KL Gap curves (the paper's Figure 4, live)",
        "How the gain from synthetic data changes with K, J, L and more, over many scenarios.",
        ":material/show_chart:", "pages/2_KL_Gap_curves.py",
        "KL_Gap_curves",
    ),
    PageSpec(
        "bounds", "Bound terms", "Bound terms",
        "The terms of the paper's bounds, measured one by one in the simulation.",
        ":material/functions:", "pages/3_Bound_terms.py", "Bound_terms",
    ),
    PageSpec(
        "diagnostics", "Diagnostics", "Diagnostics",
        "The paper's Appendix G checks (HSIC, entropy) on simulated or uploaded data.",
        ":material/biotech:", "pages/4_Diagnostics.py", "Diagnostics",
    ),
    PageSpec(
        "tour", "Guided tour", "Guided tour (the paper's argument in eleven steps)",
        "One figure a step, each with the settings that make it; downloadable as slides.",
        ":material/tour:", "pages/5_Guided_tour.py", "Guided_tour",
    ),
)  # fmt: skip
PAGES_BY_KEY: Final[dict[str, PageSpec]] = {page.key: page for page in PAGES}
SHARED_SETTINGS: Final[Keyed] = keyed(SHARED_SCHEMA)


def link_to(page: PageSpec, label: str) -> None:
    """A link to ``page`` that carries the URL's settings along.

    Without them Streamlit clears the URL when it switches pages, and writing the settings
    back then adds a second browser-history entry. Draw links after the URL is written.
    A page run on its own (tests, ``streamlit run pages/...``) has no navigation: no link.
    """
    with suppress(StreamlitPageNotFoundError):
        st.page_link(page.entry, label=label, icon=page.icon, query_params=url_settings())


#: Session key of a page move requested by a callback (``ggmi_app.frame`` makes it).
SWITCH_KEY: Final[str] = "_ggmi_switch_to"


def request_switch(key: str) -> None:
    """From a widget callback: move to page ``key`` when the next run begins."""
    st.session_state[SWITCH_KEY] = key


def page_settings(key: str) -> Keyed:
    """Page ``key``'s own settings (``{key: Param}``), from ``ggmi_app.page_settings``."""
    return PAGE_SETTINGS[key]


def all_settings() -> dict[str, Param]:
    """Every setting of the app: the shared ones and each page's own."""
    known: dict[str, Param] = dict(SHARED_SETTINGS)
    for page in PAGES:
        known |= PAGE_SETTINGS[page.key]
    return known


def page_of(url_path: str) -> PageSpec:
    """The page at ``url_path`` (Streamlit's ``StreamlitPage.url_path``; "" is Home)."""
    return next((page for page in PAGES if page.url_path == url_path), PAGES[0])
