"""Start the GGMI Explorer server warm: ``python -m ggmi_app.serve [app.py] [options]``.

A plain ``streamlit run app.py`` answers its health route at once but leaves the work to
its first visitor: that visitor's script run imports numpy, scipy, plotly and every page
module, and the Guided tour builds its twenty figures in a thread beside it (about 7 s
to the first page on the shared 2-core machine). This launcher does that work in the
server process first, then hands over to Streamlit's own command line (``streamlit run``,
unchanged), so the health route answers only once the server is warm: a load balancer or
``docker run`` health check sends nobody to a cold replica, and the first script run finds
everything in ``sys.modules`` and the tour's caches.

Options are those of ``streamlit run`` and pass through unchanged (``-- args`` reach the
script). The script defaults to the repository's ``app.py``; a leading ``*.py`` argument
serves another script, warmed the same way.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ggmi_core.resources import project_root

ROOT: Final[Path] = project_root()
APP: Final[Path] = ROOT / "app.py"

#: How long the launcher waits for the tour's figures and the PNG exporter's browser
#: before it serves anyway (the rest then finishes in the background).
WARM_TIMEOUT_S: Final[float] = 60.0

_NO_RUNTIME_YET: Final[str] = "No runtime found"


@dataclass(frozen=True)
class WarmUp:
    """What ``warm_up`` prepared.

    Attributes:
        modules: the page modules imported (names of ``ggmi_app`` modules).
        tour_figures: Guided-tour figures built and cached (steps x both themes).
        home_figures: Home-page figures built and cached (both themes).
        exporter: whether the PNG exporter's browser is started and has rendered once.
        seconds: wall-clock time of the warm-up (s).
    """

    modules: tuple[str, ...]
    tour_figures: int
    home_figures: int
    exporter: bool
    seconds: float

    def summary(self) -> str:
        """One log line."""
        exporter = "PNG exporter ready" if self.exporter else "PNG exporter not started"
        return (
            f"GGMI Explorer warmed up in {self.seconds:.1f} s: {len(self.modules)} page "
            f"modules, {self.tour_figures} tour figures, {self.home_figures} home figures, "
            f"{exporter}"
        )


class _DropNoRuntimeWarning(logging.Filter):
    """Hide ``st.cache_data``'s "No runtime found" warning while the launcher imports.

    Decorating a function before Streamlit's runtime exists only validates the cache's
    options; the cache itself is made on the first call, inside the running server, with
    the server's storage (and ``server.maxCacheDataSize``). The warning would be a false
    alarm in every server log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return _NO_RUNTIME_YET not in record.getMessage()


@contextmanager
def _quiet_cache_decorators() -> Iterator[None]:
    from streamlit.runtime.caching import cache_data_api

    logger = logging.getLogger(cache_data_api.__name__)  # the module's own logger
    quiet = _DropNoRuntimeWarning()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def _start_exporter() -> threading.Thread | None:
    """Start the PNG exporter's browser in the background (Chromium runs beside Python)."""
    from ggmi_viz.export import warm_up_in_background

    return warm_up_in_background(timeout_s=WARM_TIMEOUT_S)


def _import_pages() -> tuple[str, ...]:
    """Import the frame and every page's component module (and numpy, plotly, ggmi_*).

    The page scripts in ``pages/`` only call these components; Streamlit runs the scripts.
    """
    from ggmi_app import (
        bounds_page,
        diagnostics_page,
        distributions_page,
        frame,  # noqa: F401  (the frame's own imports: rooms, state, layout)
        gap_curves_page,
        home_page,
        tour_page,
    )

    pages = (home_page, distributions_page, gap_curves_page, bounds_page, diagnostics_page)
    return tuple(module.__name__ for module in (*pages, tour_page))


def warm_up(*, exporter: bool = True, timeout_s: float = WARM_TIMEOUT_S) -> WarmUp:
    """Import the app and build what the tour and the Home page show, in this process.

    Args:
        exporter: also start the PNG exporter's headless browser and wait for its first
            render (a server wants this; a test may not).
        timeout_s: at most this long (s) for the tour's figures and the exporter; what
            is not done by then finishes in the background.

    Returns:
        What was prepared (``WarmUp``).
    """
    start = time.perf_counter()
    # Chromium starts in its own processes, so it runs on the second core meanwhile.
    exporter_thread = _start_exporter() if exporter else None
    with _quiet_cache_decorators():
        modules = _import_pages()
    from ggmi_app import home_page, tour_page

    home_figures = home_page.warm_up()
    _skip_bare_mode_check()
    deadline = time.monotonic() + timeout_s
    tour_page.wait_for_warm_up(timeout_s)
    if exporter_thread is not None:
        exporter_thread.join(max(0.0, deadline - time.monotonic()))
    exporter_ready = exporter_thread is not None and not exporter_thread.is_alive()
    return WarmUp(
        modules=modules,
        tour_figures=tour_page.cached_figure_count(),
        home_figures=home_figures,
        exporter=exporter_ready and _exporter_started(),
        seconds=time.perf_counter() - start,
    )


def _skip_bare_mode_check() -> None:
    """Spare the first visitor Streamlit's once-per-process "are we in a REPL?" check.

    Before its first element Streamlit walks the script thread's stack with
    ``inspect.stack()`` (it looks up the source file of every loaded module) to decide
    whether to warn about running without ``streamlit run``: 0.3-0.9 s of the first
    visit on the shared machine (cProfile). This process always runs under ``streamlit
    run``, so the answer is known. A Streamlit without this flag is left as it is.
    """
    from streamlit import delta_generator

    if hasattr(delta_generator, "_use_warning_has_been_displayed"):
        delta_generator._use_warning_has_been_displayed = True


def keep_address_lookups_local() -> None:
    """Stop Streamlit from asking the internet (or the routing table) for this host's IP.

    Streamlit 1.67 judges a WebSocket whose ``Origin`` is neither the request's ``Host``
    nor localhost nor ``browser.serverAddress`` by comparing it with this machine's
    internal IP (a UDP ``connect`` towards 8.8.8.8) and external IP (an HTTP request to
    checkip.amazonaws.com, 1 s time-out, tried twice, repeated on every handshake while
    it fails: ``streamlit.web.server.server_util.is_url_from_allowed_origins``). That
    request runs inside the server's event loop, so each foreign-Origin handshake froze
    every session of the replica for about 2 s, and no configuration option skips it
    (``server.corsAllowedOrigins`` is consulted after it). The same lookups print the
    "Network URL" and "External URL" lines at start-up.

    Answering "unknown" for both only narrows what is allowed: a foreign Origin is then
    refused at once, same-origin pages and ``server.corsAllowedOrigins`` work as before,
    and nothing leaves the machine. Called by ``main`` before Streamlit starts.
    """
    from streamlit import net_util

    def unknown_address() -> None:
        return None

    net_util.get_external_ip = unknown_address
    net_util.get_internal_ip = unknown_address


def _exporter_started() -> bool:
    from ggmi_viz import export

    return export.exporter_is_warm()


class KernelCompileError(SystemExit):
    """The simulation's compiled kernels could not be built or loaded: the server stops."""


def compile_kernels() -> float:
    """Compile the simulation's numba kernels (or load them from the disk cache) now.

    Done before anything is served, so no visitor's first slider move and no worker
    process pays a compile, and a broken toolchain stops the server at start (its
    health route never answers) instead of failing in the middle of a lecture.

    Returns:
        Seconds spent (about 0.1-1 s from the cache, 10-60 s for a first compile).

    Raises:
        KernelCompileError: with a message saying what failed and what to check.
    """
    try:
        from ggmi_core import _jit

        return _jit.compile_all()
    except Exception as exc:  # any failure here must stop the launcher, with its reason
        raise KernelCompileError(
            "GGMI Explorer cannot start: compiling the simulation kernels failed "
            f"({type(exc).__name__}: {exc}). Check that numba and llvmlite are installed "
            "(bash scripts/setup_env.sh) and that NUMBA_CACHE_DIR, if set, is a directory."
        ) from exc


def streamlit_args(argv: Sequence[str]) -> list[str]:
    """The ``streamlit`` command line for ``argv``: ``run``, the script, then ``argv``.

    A leading ``*.py`` argument is the script (as after ``streamlit run``); otherwise the
    repository's ``app.py`` is served.
    """
    args = list(argv)
    target = str(APP)
    if args and args[0].endswith(".py") and not args[0].startswith("-"):
        target = args.pop(0)
    return ["run", target, *args]


def _wants_help(argv: Sequence[str]) -> bool:
    return any(arg in ("-h", "--help") for arg in argv)


def protect_server(environ: MutableMapping[str, str] = os.environ) -> None:
    """Per-visitor protections Streamlit's own server needs before it starts.

    * Uploads: ``ggmi_app.upload_limits`` bounds the bytes a session, a client and this
      process hold.
    * Client addresses: uvicorn rewrites a request's client address from
      ``X-Forwarded-For`` when the peer is in ``FORWARDED_ALLOW_IPS`` (by default
      loopback). It gets the app's own list (``GGMI_TRUSTED_PROXIES``, see
      ``ggmi_app.client``), so the server and the app agree on who a visitor is.
    """
    from ggmi_app import upload_limits
    from ggmi_app.client import trusted_from_env

    upload_limits.install()
    environ["FORWARDED_ALLOW_IPS"] = trusted_from_env(environ).uvicorn_value()


def main(argv: Sequence[str] | None = None) -> None:
    """Warm up, then run Streamlit's own ``streamlit run`` with the given options."""
    args = list(sys.argv[1:] if argv is None else argv)
    protect_server()
    # Importing the CLI also loads ``streamlit.web.bootstrap``, the mark by which the app's
    # modules know they are loaded by a server.
    from streamlit.web import cli

    keep_address_lookups_local()
    if not _wants_help(args):
        seconds = compile_kernels()
        print(f"GGMI Explorer: simulation kernels ready in {seconds:.1f} s", file=sys.stderr)
        report = warm_up()
        print(report.summary(), file=sys.stderr, flush=True)
    cli.main(args=streamlit_args(args), prog_name="streamlit")


if __name__ == "__main__":
    main()
