"""Page chrome: page config, the lecture-mode switch, notices and error boundaries.

Visitors never see a traceback: ``error_boundary``/``guarded`` turn ``ValueError``
(the project's "bad input" signal, including ``BudgetExceeded``) into its message, and
any other exception into a generic message while the details go to the server log.
Streamlit's own control flow (``st.stop``, ``st.rerun``) derives from
``BaseException`` and passes through untouched.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final, ParamSpec, TypeVar

import streamlit as st

from ggmi_app import compute
from ggmi_app.compute import Job

_LOG = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

LECTURE_KEY: Final[str] = "lecture"

# Static CSS only: nothing built from user input goes into HTML.
_BASE_CSS: Final[str] = """
<style>
/* Keep the chart area wide; the sidebar carries the controls. */
[data-testid="stMainBlockContainer"] { padding-top: 2rem; }
</style>
"""

_LECTURE_CSS: Final[str] = """
<style>
/* Lecture mode: type readable from the back of a room, no decorative clutter. */
html { font-size: 20px; }
[data-testid="stMainBlockContainer"] { padding-top: 1rem; max-width: 100%; }
[data-testid="stMarkdownContainer"] p,
[data-testid="stMarkdownContainer"] li { font-size: 1.3rem; line-height: 1.5; }
[data-testid="stSidebar"] label p { font-size: 1.1rem; }
[data-testid="stToolbar"],
[data-testid="stDecoration"],
[data-testid="stAppDeployButton"],
[data-testid="stMainMenu"],
footer { display: none !important; }
</style>
"""

_MD_SPECIAL: Final = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def escape_markdown(text: str) -> str:
    """Backslash-escape Markdown/Streamlit syntax so ``text`` shows literally.

    Messages can quote untrusted input (a URL value, an uploaded key); escaping keeps
    it from turning into links, images, LaTeX or coloured directives.
    """
    return _MD_SPECIAL.sub(r"\\\1", text)


def _lecture_param() -> Any:
    from ggmi_app.params import BoolParam

    return BoolParam(
        LECTURE_KEY,
        "Lecture mode",
        False,
        help="Large type, thick lines and no clutter, for projecting. Kept in the URL.",
    )


def page_setup(title: str, icon: str = "📈", *, layout: str = "wide") -> bool:
    """Configure the page, draw the lecture-mode toggle, inject CSS; return lecture.

    The toggle is kept in the URL as ``lecture=1``/``lecture=0`` (widget key
    ``"lecture"``). Call once at the top of every page, before other elements.
    """
    from ggmi_app.state import sidebar_controls

    st.set_page_config(page_title=title, page_icon=icon, layout=layout)
    lecture = bool(sidebar_controls([_lecture_param()])[LECTURE_KEY])
    st.html(_LECTURE_CSS if lecture else _BASE_CSS)
    return lecture


def show_notices(notices: Sequence[str]) -> None:
    """Show each notice as a warning (text is escaped, never rendered as HTML)."""
    for notice in notices:
        st.warning(escape_markdown(notice), icon="⚠️")


def show_error(message: str) -> None:
    """Show ``message`` as an error box (escaped)."""
    st.error(escape_markdown(message), icon="🚫")


@contextmanager
def error_boundary(what: str = "this section") -> Iterator[None]:
    """Turn failures inside the block into a message instead of a traceback.

    ``ValueError`` shows its own message (our code writes those for visitors); any
    other ``Exception`` shows a generic message and is logged with its traceback.
    """
    try:
        yield
    except (ValueError, compute.ComputeError) as exc:
        show_error(f"Cannot show {what}: {exc}")
    except Exception:
        _LOG.exception("unexpected error while showing %s", what)
        show_error(
            f"Something went wrong while showing {what}. The problem was logged; "
            "try other settings or reload the page."
        )


def run_jobs(jobs: Sequence[Job], text: str) -> list[Any]:
    """Results of ``jobs`` from the shared worker pool, behind a progress bar.

    The bar says ``text (done of total)`` as results arrive and disappears at the end.
    Each update is also where Streamlit stops a run the visitor's next interaction
    replaced: the exception withdraws this run's queued jobs (see ``ggmi_app.compute``).
    """
    bar = st.progress(0.0, text=text)

    def update(done: int, total: int) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"{text} ({done} of {total})")

    results = compute.service().run(jobs, progress=update)
    bar.empty()
    return results


def guarded(fn: Callable[P, R]) -> Callable[P, R | None]:
    """Decorator form of ``error_boundary``: returns None when ``fn`` failed."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | None:
        result: R | None = None
        with error_boundary(fn.__name__.replace("_", " ")):
            result = fn(*args, **kwargs)
        return result

    return wrapper
