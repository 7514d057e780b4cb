"""The app's pages, in reading order, as data: no page module is imported here.

One ``PageSpec`` per page (``PAGES``), the shared settings, page links and page-move
requests. Page modules may import this module (Home lists the pages, the tour opens
them); the loader that imports the page modules is ``ggmi_app.registry``, which page
modules never import. So the import graph has no circle, also counting the loader's
``importlib`` calls (``tests/test_architecture.py`` checks both).

A page's own settings are known once the loader has imported it: it records them here
(``record_page_settings``) and ``page_settings`` reads them back.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Final

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from ggmi_app.scenario_params import SHARED_SCHEMA
from ggmi_app.state import Keyed, keyed, url_settings


@dataclass(frozen=True)
class PageSpec:
    """One page of the app.

    Attributes:
        key: short name (``run_page(key)``, settings-file names).
        title: sidebar and browser-tab title.
        link_label: text of the link on Home.
        description: one line under that link.
        icon: a Streamlit material icon (emoji do not render without an emoji font).
        entry: the entry file relative to the repository root (the first page is the
            default one, at the app's root URL).
        module_name: the ``ggmi_app`` module holding ``SETTINGS`` and ``main`` (loaded by
            ``ggmi_app.registry``, never imported here).
        url_path: the page's address below the app's root ("" for the default page).
    """

    key: str
    title: str
    link_label: str
    description: str
    icon: str
    entry: str
    module_name: str
    url_path: str


PAGES: Final[tuple[PageSpec, ...]] = (
    PageSpec(
        "home", "Home", "Home", "The claim in plain words, the generation chain, the letters.",
        ":material/home:", "pages/0_Home.py", "ggmi_app.home_page", "",
    ),
    PageSpec(
        "distributions", "Distributions", "Distributions (the paper's Figure 2, live)",
        "One simulated scenario: target, model, fitted mixtures and samples, by part.",
        ":material/scatter_plot:", "pages/1_Distributions.py", "ggmi_app.distributions_page",
        "Distributions",
    ),
    PageSpec(
        "gap-curves", "KL Gap curves", "KL Gap curves (the paper's Figure 4, live)",
        "How the gain from synthetic data changes with K, J, L and more, over many scenarios.",
        ":material/show_chart:", "pages/2_KL_Gap_curves.py", "ggmi_app.gap_curves_page",
        "KL_Gap_curves",
    ),
    PageSpec(
        "bounds", "Bound terms", "Bound terms",
        "The terms of the paper's bounds, measured one by one in the simulation.",
        ":material/functions:", "pages/3_Bound_terms.py", "ggmi_app.bounds_page", "Bound_terms",
    ),
    PageSpec(
        "diagnostics", "Diagnostics", "Diagnostics",
        "The paper's Appendix G checks (HSIC, entropy) on simulated or uploaded data.",
        ":material/biotech:", "pages/4_Diagnostics.py", "ggmi_app.diagnostics_page", "Diagnostics",
    ),
    PageSpec(
        "tour", "Guided tour", "Guided tour (the paper's argument in eleven steps)",
        "One figure a step, each with the settings that make it; downloadable as slides.",
        ":material/tour:", "pages/5_Guided_tour.py", "ggmi_app.tour_page", "Guided_tour",
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


#: Session key of a page move requested by a callback (``registry.run_page`` makes it).
SWITCH_KEY: Final[str] = "_ggmi_switch_to"


def request_switch(key: str) -> None:
    """From a widget callback: move to page ``key`` when the next run begins."""
    st.session_state[SWITCH_KEY] = key


_PAGE_SETTINGS: dict[str, Keyed] = {}


def record_page_settings(key: str, settings: Keyed) -> None:
    """Record page ``key``'s own settings (the loader calls this when it imports the page)."""
    _PAGE_SETTINGS[key] = settings


def page_settings(key: str) -> Keyed:
    """Page ``key``'s own settings (``{key: Param}``), as the loader recorded them.

    Raises:
        LookupError: the page was not loaded yet (``ggmi_app.registry`` loads every page
            before a page's ``main`` runs).
    """
    if key not in _PAGE_SETTINGS:
        raise LookupError(f"page {key!r} is not loaded; ggmi_app.registry loads the pages")
    return _PAGE_SETTINGS[key]
