"""Server-side PNG and SVG export with kaleido (v1) and CSV export. No streamlit here.

Design:

- One warm headless Chromium (a ``kaleido.Kaleido`` instance) lives in a dedicated
  daemon thread that runs its own asyncio event loop, so the ~1 s browser start is
  paid once, not per download.
- A module lock serialises calls: kaleido's shared server is not thread-safe
  (plotly/Kaleido#444) and Streamlit runs every session in its own thread.
- Every wait is bounded: waiting for the lock, starting the browser and rendering
  each raise ``PngExportError`` after ``timeout_s`` instead of hanging a session.
- After any failure the browser is torn down (killed if needed) and the next call
  starts a fresh one.
- kaleido reloads its page after every render (a fresh page for the next figure) and
  only then hands back the image. Here the reload runs in the background instead, so a
  download does not wait for it; the next render waits for it in kaleido's tab queue.
  A reload that fails or hangs marks the browser broken and the next call restarts it.
- Every export is slide-clean (``slide_ready``): hints meant for the interactive chart
  ("click an entry to hide it") are dropped, and title and plot keep a margin from the
  canvas edge.
- MathJax is disabled (kaleido would otherwise load it from a CDN) and plotly.js comes
  from the installed plotly package, so export never touches the network.

The browser is Debian's ``/usr/bin/chromium`` unless ``BROWSER_PATH`` (the variable
choreographer itself reads) or ``GGMI_CHROMIUM`` names another executable.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import io
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import Any, Final

import pandas as pd
import plotly.graph_objects as go

from ggmi_viz.flipbook import plain_frame
from ggmi_viz.theme import EXPORT_HEIGHT, EXPORT_WIDTH, INTERACTIVE_HINT, TITLE_PAD_PX

_LOG = logging.getLogger(__name__)

DEFAULT_CHROMIUM: Final[str] = "/usr/bin/chromium"
_OTHER_NAMES: Final[tuple[str, ...]] = ("chromium", "chromium-browser", "google-chrome")
#: Largest accepted export scale and canvas side (CSS px): bounds memory per request.
MAX_SCALE: Final[float] = 4.0
MAX_SIDE_PX: Final[int] = 4000
#: A browser start gets at least this long even when ``timeout_s`` is small.
MIN_STARTUP_S: Final[float] = 30.0
#: Longest a background page reload (after a render) may take before the browser is
#: declared broken and restarted on the next call.
RELOAD_TIMEOUT_S: Final[float] = 30.0
PNG_MAGIC: Final[bytes] = b"\x89PNG\r\n\x1a\n"
#: Smallest margin (CSS px) an exported figure keeps on every side.
MIN_EXPORT_MARGIN: Final[int] = 20


class PngExportError(RuntimeError):
    """PNG (or SVG) export failed, timed out or is unavailable; the message says why."""


def slide_ready(fig: go.Figure) -> go.Figure:
    """A copy of ``fig`` fit for a slide; ``fig`` itself is not changed.

    Drops legend-title lines holding the interactive hint (a slide cannot be clicked),
    keeps at least ``MIN_EXPORT_MARGIN`` px of margin on every side and pads a
    left-aligned title off the canvas edge. A flip-book (``ggmi_viz.flipbook``) is
    exported as its active frame: a still image cannot be stepped.
    """
    out = plain_frame(fig)
    legend_title = out.layout.legend.title.text
    if legend_title:
        kept = [line for line in legend_title.split("<br>") if INTERACTIVE_HINT not in line]
        out.layout.legend.title.text = "<br>".join(kept) or None
    margin = out.layout.margin
    for side in ("l", "r", "t", "b"):
        value = margin[side]
        margin[side] = MIN_EXPORT_MARGIN if value is None else max(value, MIN_EXPORT_MARGIN)
    title = out.layout.title
    if title.text:
        pad_left = title.pad.l if title.pad is not None and title.pad.l is not None else 0
        title.pad.l = max(pad_left, TITLE_PAD_PX)
    return out


def find_chromium() -> str | None:
    """Return the Chromium executable to use, or None when none is usable.

    Order: ``GGMI_CHROMIUM``, ``BROWSER_PATH`` (both taken as given, even when they
    point nowhere, so a misconfiguration is reported rather than silently bypassed),
    then Debian's ``/usr/bin/chromium``, then the usual names on ``PATH``.
    """
    for var in ("GGMI_CHROMIUM", "BROWSER_PATH"):
        value = os.environ.get(var)
        if value:
            return value if _is_executable(value) else None
    if _is_executable(DEFAULT_CHROMIUM):
        return DEFAULT_CHROMIUM
    for name in _OTHER_NAMES:
        found = shutil.which(name)
        if found and _is_executable(found):
            return found
    return None


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def png_export_available() -> tuple[bool, str]:
    """Report whether server-side PNG export can run here: ``(ok, reason)``.

    Cheap (no browser start): checks that kaleido imports and Chromium exists.
    """
    try:
        import kaleido  # noqa: F401
    except ImportError as exc:  # pragma: no cover - kaleido is a hard requirement
        return False, f"the kaleido package is not installed ({exc})"
    path = find_chromium()
    if path is None:
        configured = os.environ.get("GGMI_CHROMIUM") or os.environ.get("BROWSER_PATH")
        where = f"at {configured!r}" if configured else f"at {DEFAULT_CHROMIUM} or on PATH"
        return False, f"no Chromium browser found {where} (install Debian's 'chromium')"
    return True, f"Chromium at {path}"


#: Chromium switches that keep the exporter's browser off the network. choreographer
#: already passes --disable-component-update, --disable-sync and --no-first-run; without
#: these, Chromium still contacted Google's account, update, safe-browsing and
#: optimization-hint services and a search engine at start-up. The exporter only ever
#: loads a local page and the installed plotly.js, so no host name needs resolving:
#: the resolver rule makes any name lookup fail locally (a proxy given for a test still
#: sees what would be attempted, since Chromium then asks the proxy instead).
OFFLINE_CHROMIUM_SWITCHES: Final[tuple[str, ...]] = (
    "--disable-background-networking",
    "--disable-client-side-phishing-detection",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-features=OptimizationHints,OptimizationGuideModelDownloading,"
    "MediaRouter,DialMediaRouteProvider,Translate,AutofillServerCommunication,"
    "CertificateTransparencyComponentUpdater,SafeBrowsingEnhancedProtection,"
    "InterestFeedContentSuggestions,NetworkTimeServiceQuerying",
    "--safebrowsing-disable-auto-update",
    "--no-pings",
    "--no-service-autorun",
    "--dns-prefetch-disable",
    "--disable-search-engine-choice-screen",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
)


def offline_browser_class() -> type:
    """choreographer's ``Chromium`` with ``OFFLINE_CHROMIUM_SWITCHES`` added to its command.

    Passed to ``kaleido.Kaleido`` as ``browser_cls`` (choreographer's documented way to
    pick the browser implementation); everything else about the start is unchanged.
    """
    from choreographer.browsers import Chromium

    class OfflineChromium(Chromium):
        def get_cli(self) -> list[str]:
            return [*super().get_cli(), *OFFLINE_CHROMIUM_SWITCHES]

    return OfflineChromium


class _WarmBrowser:
    """A Kaleido instance and the event loop thread that owns it."""

    def __init__(self, browser_path: str) -> None:
        self.browser_path = browser_path
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run_loop, name="ggmi-kaleido", daemon=True)
        self.kaleido: Any = None
        self.started = False
        #: Why the browser cannot be reused (a failed background reload), else None.
        self.broken: str | None = None
        self.background: set[asyncio.Future[Any]] = set()
        self.thread.start()

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, Any], timeout_s: float) -> Any:
        """Run ``coro`` on the browser's loop; raise ``TimeoutError`` after ``timeout_s``."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout=timeout_s)
        except FutureTimeoutError:
            future.cancel()
            raise TimeoutError from None

    def start(self, timeout_s: float) -> None:
        import kaleido

        async def _open() -> Any:
            # n=1 tab: calls are serialised by our lock anyway. Kaleido's own per-render
            # timeout is a second line of defence behind ours.
            k = kaleido.Kaleido(
                n=1,
                timeout=timeout_s,
                mathjax=False,
                path=self.browser_path,
                browser_cls=offline_browser_class(),
            )
            # Keep a handle before opening, so a start that times out can still be
            # closed (or its Chromium killed) instead of leaking the process.
            self.kaleido = k
            await k.open()
            self._reload_in_background(k)
            return k

        self.kaleido = self.run(_open(), timeout_s)
        self.started = True

    def _reload_in_background(self, k: Any) -> None:
        """Make kaleido hand back each image before (not after) its page reload.

        kaleido's ``_return_kaleido_tab(tab)`` reloads the tab's page and puts the tab
        back in its queue; it runs before ``calc_fig`` returns and costs a plotly.js
        parse (0.2-0.6 s on the shared 2-core machine). Run it as a task instead. It
        is a private kaleido name: if a kaleido version lacks it, nothing changes.
        """
        give_back = getattr(k, "_return_kaleido_tab", None)
        if give_back is None:
            _LOG.info("kaleido has no _return_kaleido_tab; page reloads stay in line")
            return

        def finished(task: asyncio.Future[Any]) -> None:
            self.background.discard(task)
            if self.kaleido is not k:
                return  # closing (close() cancels what is left): nothing to report
            error = None if task.cancelled() else task.exception()
            if task.cancelled() or error is not None:
                self.broken = f"its page reload failed ({error!r})"
                _LOG.warning("kaleido page reload failed (%r); restarting next time", error)

        async def give_back_later(tab: Any) -> None:
            task = asyncio.ensure_future(asyncio.wait_for(give_back(tab), RELOAD_TIMEOUT_S))
            self.background.add(task)
            task.add_done_callback(finished)

        k._return_kaleido_tab = give_back_later

    async def _cancel_background(self) -> None:
        pending = list(self.background)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def close(self, timeout_s: float = 5.0) -> None:
        """Close the browser politely, kill it if that fails, and stop the loop."""
        k = self.kaleido
        self.kaleido = None
        if self.background and self.loop.is_running():
            with contextlib.suppress(BaseException):  # best effort: we are closing anyway
                self.run(self._cancel_background(), timeout_s)
        if k is not None and not self.started:
            # Half-started: there is nothing to close politely, and trying would wait.
            _kill_process(getattr(k, "subprocess", None))
        elif k is not None and self.loop.is_running():
            try:
                self.run(k.close(), timeout_s)
            except BaseException as exc:  # best effort teardown
                _LOG.warning("kaleido close failed (%r); killing Chromium", exc)
                _kill_process(getattr(k, "subprocess", None))
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=timeout_s)


def _kill_process(proc: Any) -> None:
    """SIGKILL the browser and its process group (Chromium forks helpers)."""
    if proc is None:
        return
    with contextlib.suppress(Exception):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.kill()
    with contextlib.suppress(Exception):
        proc.wait(timeout=5)


_LOCK = threading.Lock()
_browser: _WarmBrowser | None = None


async def _render(k: Any, fig_dict: dict[str, Any], opts: dict[str, Any]) -> bytes:
    """Render one figure to PNG bytes. A module-level hook so tests can make it hang."""
    return await k.calc_fig(fig_dict, opts=opts)


def _validate_size(scale: float, width: int, height: int) -> None:
    if not (0 < scale <= MAX_SCALE):
        raise ValueError(f"scale must be in (0, {MAX_SCALE}], got {scale!r}")
    for name, side in (("width", width), ("height", height)):
        if not (10 <= side <= MAX_SIDE_PX):
            raise ValueError(f"{name} must be in [10, {MAX_SIDE_PX}] px, got {side!r}")


def _canvas_size(fig: go.Figure, width: int | None, height: int | None) -> tuple[int, int]:
    """Width and height in CSS px: explicit args, then the figure's layout, then 16:9."""
    w = width or fig.layout.width or EXPORT_WIDTH
    h = height or fig.layout.height or EXPORT_HEIGHT
    return int(w), int(h)


def _shutdown_browser() -> None:
    global _browser
    browser, _browser = _browser, None
    if browser is not None:
        browser.close()


def _get_browser(path: str, timeout_s: float) -> _WarmBrowser:
    """Return the warm browser for ``path``, starting one if needed (lock held)."""
    global _browser
    if _browser is not None and (_browser.browser_path != path or _browser.broken):
        if _browser.broken:
            _LOG.warning("restarting kaleido's browser: %s", _browser.broken)
        _shutdown_browser()
    if _browser is None:
        candidate = _WarmBrowser(path)
        try:
            candidate.start(max(timeout_s, MIN_STARTUP_S))
        except BaseException:
            candidate.close()
            raise
        _browser = candidate
    return _browser


def figure_to_png(
    fig: go.Figure,
    scale: float = 2,
    width: int | None = None,
    height: int | None = None,
    timeout_s: float = 20,
) -> bytes:
    """Render ``slide_ready(fig)`` to PNG bytes with kaleido and a warm headless Chromium.

    The image is ``round(width * scale) x round(height * scale)`` pixels; width and
    height (CSS px) default to the figure's layout size, else 1280 x 720.

    Raises:
        ValueError: scale or size out of range.
        PngExportError: no Chromium, the browser failed to start, the render failed,
            or any step took longer than ``timeout_s`` seconds (the browser is then
            restarted on the next call).
    """
    return _export(fig, "png", scale, width, height, timeout_s)


def figure_to_svg(
    fig: go.Figure,
    width: int | None = None,
    height: int | None = None,
    timeout_s: float = 20,
) -> bytes:
    """Render ``slide_ready(fig)`` to SVG bytes (UTF-8 vector image, scales without blur).

    Width and height (CSS px, the SVG's own size) default to the figure's layout size,
    else 1280 x 720. Same browser, lock, timeouts and errors as ``figure_to_png``.
    """
    return _export(fig, "svg", 1, width, height, timeout_s)


def _export(
    fig: go.Figure,
    fmt: str,
    scale: float,
    width: int | None,
    height: int | None,
    timeout_s: float,
) -> bytes:
    w, h = _canvas_size(fig, width, height)
    _validate_size(scale, w, h)
    if timeout_s <= 0:
        raise ValueError(f"timeout_s must be positive, got {timeout_s!r}")
    name = fmt.upper()
    ok, reason = png_export_available()
    if not ok:
        raise PngExportError(f"{name} export is unavailable: {reason}.")
    path = find_chromium()
    assert path is not None  # png_export_available checked it

    fig_dict = slide_ready(fig).to_dict()
    opts = {"format": fmt, "scale": scale, "width": w, "height": h}
    deadline = time.monotonic() + timeout_s
    if not _LOCK.acquire(timeout=timeout_s):
        raise PngExportError(
            f"{name} export is busy with other requests; gave up after {timeout_s:g} s. "
            "Try again in a moment, or use the camera icon in the chart toolbar."
        )
    try:
        data = _render_locked(fig_dict, opts, path, timeout_s, deadline)
    finally:
        _LOCK.release()
    return data


def _looks_like(data: object, fmt: str) -> bool:
    if not isinstance(data, bytes):
        return False
    if fmt == "png":
        return data.startswith(PNG_MAGIC)
    return data.lstrip()[:200].find(b"<svg") >= 0


def _render_locked(
    fig_dict: dict[str, Any],
    opts: dict[str, Any],
    path: str,
    timeout_s: float,
    deadline: float,
    retry: bool = True,
) -> bytes:
    """Render with the shared browser; after a failure (not a time-out) retry once on a
    fresh browser while time remains."""
    name = str(opts["format"]).upper()
    try:
        browser = _get_browser(path, timeout_s)
    except TimeoutError:
        raise PngExportError(
            f"{name} export timed out while starting the Chromium browser."
        ) from None
    except Exception as exc:
        raise PngExportError(f"{name} export could not start Chromium: {exc}") from exc

    remaining = max(deadline - time.monotonic(), 1.0)
    try:
        data = browser.run(_render(browser.kaleido, fig_dict, opts), remaining)
    except TimeoutError:
        _shutdown_browser()
        raise PngExportError(
            f"{name} export timed out after {timeout_s:g} s; the renderer was restarted. "
            "Try again, or use the camera icon in the chart toolbar."
        ) from None
    except Exception as exc:
        _shutdown_browser()
        if retry and deadline - time.monotonic() > 1.0:
            # Under load kaleido's tab can be asked to render before its own script
            # loaded ("kaleido_scopes is not defined"); a fresh browser then works.
            return _render_locked(fig_dict, opts, path, timeout_s, deadline, retry=False)
        raise PngExportError(f"{name} export failed: {exc}") from exc
    if not _looks_like(data, str(opts["format"])):
        _shutdown_browser()
        article = "an" if name == "SVG" else "a"
        raise PngExportError(
            f"{name} export returned something that is not {article} {name} image."
        )
    return data


_WARM_LOCK = threading.Lock()
_warm_started = False


def exporter_is_warm() -> bool:
    """Whether this process has a started, usable exporter browser (no browser start)."""
    browser = _browser
    return browser is not None and browser.started and browser.broken is None


def warm_up_in_background(timeout_s: float = 60) -> threading.Thread | None:
    """Start the browser and render one tiny PNG in a daemon thread, once per process.

    The first export otherwise pays Chromium's start and plotly.js's first load (2-3 s on
    the shared 2-core machine); a server calls this when it starts so a visitor's first
    download finds a warm browser. Holds the export lock only while it renders, like any
    export. Returns the thread (None when already started or export is unavailable);
    failures are logged, never raised: the first real export then simply starts afresh.
    """
    global _warm_started
    with _WARM_LOCK:
        if _warm_started or not png_export_available()[0]:
            return None
        _warm_started = True

    def warm() -> None:
        try:
            tiny = go.Figure(go.Scatter(x=[0, 1], y=[0, 1]))
            figure_to_png(tiny, scale=1, width=64, height=48, timeout_s=timeout_s)
        except Exception as exc:  # best effort: a real export reports its own failure
            _LOG.warning("warming the PNG exporter failed: %s", exc)

    thread = threading.Thread(target=warm, name="ggmi-export-warmup", daemon=True)
    thread.start()
    return thread


def shutdown() -> None:
    """Close the warm browser (also registered to run at interpreter exit).

    Waits at most 5 s for a running export, so a hung render cannot block exit.
    """
    if _LOCK.acquire(timeout=5):
        try:
            _shutdown_browser()
        finally:
            _LOCK.release()


atexit.register(shutdown)


def dataframe_to_csv_bytes(df: pd.DataFrame) -> bytes:
    """Encode ``df`` as UTF-8 CSV without the index (values keep full precision)."""
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue().encode("utf-8")


def png_size(data: bytes) -> tuple[int, int]:
    """Read ``(width, height)`` in pixels from a PNG's IHDR chunk."""
    if not data.startswith(PNG_MAGIC) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
