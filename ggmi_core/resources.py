"""Where the project's files that are not modules live: in a checkout and when installed.

The app needs files beside its packages: the router ``app.py``, the page entry files in
``pages/``, the Streamlit settings ``.streamlit/config.toml`` and the precomputed tables
in ``assets/``. In a checkout they sit in the repository root, next to ``ggmi_core/``.
A wheel (``pip install .``, see ``pyproject.toml``) cannot put them at the top of
``site-packages``, so it installs the same tree in a folder ``ggmi_explorer/`` beside
the packages. ``project_root()`` returns whichever of the two this code runs from, so the
app, the figure builders and the command line find them the same way in both cases.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final

#: Name of the folder that holds the project's files in an installed wheel (beside the
#: packages in ``site-packages``); ``pyproject.toml`` builds it.
INSTALLED_FOLDER: Final[str] = "ggmi_explorer"
#: A file that marks the folder as the project's (the Streamlit router).
MARKER: Final[str] = "app.py"
#: The precomputed Figure-4 tables in ``assets/`` by divergence (written by
#: ``bench/make_figure4_assets.py``; 1,000 / 100 scenarios a value).
FIGURE4_FILES: Final[dict[str, str]] = {
    "kl_published": "figure4_kl_published.csv",
    "js": "figure4_js.csv",
}


@cache
def project_root() -> Path:
    """The folder with ``app.py``, ``pages/``, ``assets/`` and ``.streamlit/``.

    The repository root when the packages run from a checkout (also an editable
    install), else the installed ``ggmi_explorer/`` folder beside them.

    Raises:
        FileNotFoundError: neither holds ``app.py`` (an incomplete install), with both
            places named.
    """
    packages_parent = Path(__file__).resolve().parents[1]
    for candidate in (packages_parent, packages_parent / INSTALLED_FOLDER):
        if (candidate / MARKER).is_file():
            return candidate
    raise FileNotFoundError(
        f"GGMI Explorer's files (app.py, pages/, assets/) are neither in {packages_parent} "
        f"nor in {packages_parent / INSTALLED_FOLDER}: reinstall the package "
        "(pip install .) or run from a checkout of the repository"
    )


def assets_dir() -> Path:
    """The folder of precomputed tables and example data (``assets/``)."""
    return project_root() / "assets"
