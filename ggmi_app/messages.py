"""Messages for visitors: escaped notices and errors, and the error boundary.

A leaf module (Streamlit and ``ggmi_app.compute`` only), so the state, page-chrome and
figure modules can all use it without importing each other.

Visitors never see a traceback: ``error_boundary`` turns ``ValueError`` (the project's
"bad input" signal, including ``BudgetExceeded``) into its message, and any other
exception into a generic message while the details go to the server log. Streamlit's own
control flow (``st.stop``, ``st.rerun``) derives from ``BaseException`` and passes through.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Final

import streamlit as st

from ggmi_app.compute import ComputeError

_LOG = logging.getLogger(__name__)

WARNING_ICON: Final[str] = ":material/warning:"
ERROR_ICON: Final[str] = ":material/block:"
INFO_ICON: Final[str] = ":material/info:"

_MD_SPECIAL: Final = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def escape_markdown(text: str) -> str:
    """Backslash-escape Markdown/Streamlit syntax so ``text`` shows literally.

    Messages can quote untrusted input (a URL value, an uploaded key); escaping keeps
    it from turning into links, images, LaTeX or coloured directives.
    """
    return _MD_SPECIAL.sub(r"\\\1", text)


def show_notices(notices: Sequence[str]) -> None:
    """Show each notice as a warning (text is escaped, never rendered as HTML)."""
    for notice in notices:
        st.warning(escape_markdown(notice), icon=WARNING_ICON)


def show_error(message: str) -> None:
    """Show ``message`` as an error box (escaped)."""
    st.error(escape_markdown(message), icon=ERROR_ICON)


@contextmanager
def error_boundary(what: str = "this section") -> Iterator[None]:
    """Turn failures inside the block into a message instead of a traceback.

    ``ValueError`` shows its own message (our code writes those for visitors); any
    other ``Exception`` shows a generic message and is logged with its traceback.
    """
    try:
        yield
    except (ValueError, ComputeError) as exc:
        show_error(f"Cannot show {what}: {exc}")
    except Exception:
        _LOG.exception("unexpected error while showing %s", what)
        show_error(
            f"Something went wrong while showing {what}. The problem was logged; "
            "try other settings or reload the page."
        )
