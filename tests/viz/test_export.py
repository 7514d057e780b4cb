"""PNG/SVG/CSV export: real kaleido renders, the lock, the timeout and no-browser paths."""

from __future__ import annotations

import asyncio
import io
import subprocess
import threading

import pandas as pd
import plotly.graph_objects as go
import pytest

from ggmi_viz import export
from ggmi_viz.export import (
    MIN_EXPORT_MARGIN,
    PngExportError,
    dataframe_to_csv_bytes,
    figure_to_png,
    figure_to_svg,
    png_export_available,
    png_size,
    slide_ready,
)
from ggmi_viz.theme import INTERACTIVE_HINT, TITLE_PAD_PX, apply_theme

needs_chromium = pytest.mark.skipif(
    not png_export_available()[0], reason="no Chromium on this machine"
)


def _figure(width: int = 400, height: int = 300) -> go.Figure:
    fig = go.Figure(go.Scatter(x=[0, 1, 2], y=[0.1, 0.4, 0.2], name="gap (nats)"))
    fig.update_layout(width=width, height=height, title="test figure")
    return apply_theme(fig)


@needs_chromium
def test_png_has_magic_and_layout_size_times_scale() -> None:
    data = figure_to_png(_figure(400, 300), scale=2)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert png_size(data) == (800, 600)


@needs_chromium
def test_explicit_size_overrides_layout() -> None:
    data = figure_to_png(_figure(400, 300), scale=1.5, width=200, height=100)
    assert png_size(data) == (300, 150)


@needs_chromium
def test_lock_serialises_concurrent_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Four threads export at once; the renderer never runs two figures together."""
    active = 0
    peak = 0
    guard = threading.Lock()
    real_render = export._render

    async def counting_render(k, fig_dict, opts):  # type: ignore[no-untyped-def]
        nonlocal active, peak
        with guard:
            active += 1
            peak = max(peak, active)
        try:
            # Give other threads every chance to enter while this one is inside.
            await asyncio.sleep(0.05)
            return await real_render(k, fig_dict, opts)
        finally:
            with guard:
                active -= 1

    monkeypatch.setattr(export, "_render", counting_render)
    results: list[bytes] = []
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        try:
            results.append(figure_to_png(_figure(200 + 10 * w, 150), scale=1))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert peak == 1
    assert sorted(png_size(r)[0] for r in results) == [200, 210, 220, 230]


@needs_chromium
def test_hanging_render_times_out_and_next_call_recovers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    figure_to_png(_figure(), scale=1)  # make sure a warm browser exists
    first_browser = export._browser

    async def hang(k, fig_dict, opts):  # type: ignore[no-untyped-def]
        await asyncio.sleep(3600)

    monkeypatch.setattr(export, "_render", hang)
    with pytest.raises(PngExportError, match="timed out"):
        figure_to_png(_figure(), scale=1, timeout_s=1)
    assert export._browser is None  # torn down, not left half-broken

    monkeypatch.undo()
    data = figure_to_png(_figure(300, 200), scale=1)
    assert png_size(data) == (300, 200)
    assert export._browser is not first_browser


@needs_chromium
def test_a_failed_render_is_retried_once_on_a_fresh_browser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    figure_to_png(_figure(), scale=1)  # a warm browser exists
    first_browser = export._browser
    real_render = export._render
    calls = 0

    async def fails_first(k, fig_dict, opts):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("ReferenceError: kaleido_scopes is not defined")
        return await real_render(k, fig_dict, opts)

    monkeypatch.setattr(export, "_render", fails_first)
    assert png_size(figure_to_png(_figure(300, 200), scale=1)) == (300, 200)
    assert calls == 2 and export._browser is not first_browser

    async def always_fails(k, fig_dict, opts):  # type: ignore[no-untyped-def]
        raise RuntimeError("broken renderer")

    monkeypatch.setattr(export, "_render", always_fails)
    with pytest.raises(PngExportError, match="broken renderer"):
        figure_to_png(_figure(), scale=1)


def test_missing_browser_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("GGMI_CHROMIUM", str(tmp_path / "no-such-chromium"))
    ok, reason = png_export_available()
    assert not ok
    assert "no-such-chromium" in reason
    with pytest.raises(PngExportError, match="unavailable"):
        figure_to_png(_figure(), scale=1)


@pytest.mark.parametrize("scale", [0, -1, 100])
def test_bad_scale_is_a_value_error(scale: float) -> None:
    with pytest.raises(ValueError, match="scale"):
        figure_to_png(_figure(), scale=scale)


def test_csv_round_trips() -> None:
    df = pd.DataFrame({"value": [1, 2], "gap_mean": [0.125, 1e-12]})
    back = pd.read_csv(io.BytesIO(dataframe_to_csv_bytes(df)))
    pd.testing.assert_frame_equal(back, df)


def test_browser_that_never_starts_times_out_without_leaking(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """A 'browser' that never answers: startup gives up and its process is gone."""
    marker = f"ggmi-fake-browser-{tmp_path.name}"
    fake = tmp_path / "fake-chromium"
    fake.write_text(f"#!/bin/bash\nexec -a {marker} sleep 120\n")
    fake.chmod(0o755)
    monkeypatch.setenv("GGMI_CHROMIUM", str(fake))
    monkeypatch.setattr(export, "MIN_STARTUP_S", 1.0)
    with pytest.raises(PngExportError, match="starting the Chromium browser"):
        figure_to_png(_figure(), scale=1, timeout_s=1)
    assert export._browser is None
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    assert marker not in ps.stdout


def _kaleido_tab_class() -> type:
    from kaleido._kaleido_tab._tab import _KaleidoTab

    return _KaleidoTab


@needs_chromium
def test_png_is_returned_before_kaleidos_page_reload(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reload after a render runs in the background; the next render waits for it."""
    figure_to_png(_figure(), scale=1)  # a warm browser
    tab_class = _kaleido_tab_class()
    real_reload = tab_class.reload
    gate = threading.Event()
    reloads_done: list[bool] = []

    async def gated_reload(self):  # type: ignore[no-untyped-def]
        while not gate.is_set():
            await asyncio.sleep(0.02)
        await real_reload(self)
        reloads_done.append(True)

    monkeypatch.setattr(tab_class, "reload", gated_reload)
    data = figure_to_png(_figure(300, 200), scale=1)
    assert png_size(data) == (300, 200)
    assert reloads_done == []  # the image came back while the reload was still held
    gate.set()
    data = figure_to_png(_figure(250, 150), scale=1)  # waits for that reload first
    assert png_size(data) == (250, 150)
    assert reloads_done  # ... which has run


@needs_chromium
def test_failed_background_reload_restarts_the_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    figure_to_png(_figure(), scale=1)
    first_browser = export._browser
    assert first_browser is not None
    tab_class = _kaleido_tab_class()

    async def broken_reload(self):  # type: ignore[no-untyped-def]
        raise RuntimeError("simulated reload failure")

    monkeypatch.setattr(tab_class, "reload", broken_reload)
    assert png_size(figure_to_png(_figure(300, 200), scale=1)) == (300, 200)
    for _ in range(200):  # the reload fails on the browser's own thread, soon after
        if first_browser.broken:
            break
        threading.Event().wait(0.05)
    assert first_browser.broken and "simulated reload failure" in first_browser.broken

    monkeypatch.undo()
    assert png_size(figure_to_png(_figure(250, 150), scale=1)) == (250, 150)
    assert export._browser is not first_browser


@needs_chromium
def test_svg_is_a_vector_image_of_the_layout_size_with_the_figure_text() -> None:
    import xml.etree.ElementTree as ET

    data = figure_to_svg(_figure(400, 300))
    root = ET.fromstring(data.decode("utf-8"))
    assert root.tag.endswith("svg")
    assert (float(root.get("width")), float(root.get("height"))) == (400.0, 300.0)
    text = "".join(root.itertext())
    assert "test figure" in text and "0.4" in text  # title and a tick label, as text
    # vector, not a picture of one: the curve is an SVG path, no embedded bitmap
    assert b"<path" in data and b"data:image/png" not in data


@needs_chromium
def test_svg_export_drops_the_interactive_hint() -> None:
    fig = _figure(400, 300)
    fig.update_layout(
        showlegend=True, legend_title_text=f"lines: densest 50%<br>{INTERACTIVE_HINT}"
    )
    data = figure_to_svg(fig)
    assert b"densest 50%" in data and INTERACTIVE_HINT.encode() not in data


def test_slide_ready_keeps_the_legend_note_but_not_the_hint_and_leaves_fig_alone() -> None:
    fig = _figure()
    fig.update_layout(legend_title_text=f"lines: densest 50%<br>{INTERACTIVE_HINT}")
    clean = slide_ready(fig)
    assert clean.layout.legend.title.text == "lines: densest 50%"
    assert INTERACTIVE_HINT in fig.layout.legend.title.text  # the on-screen figure keeps it
    only_hint = go.Figure(layout={"legend_title_text": INTERACTIVE_HINT})
    assert slide_ready(only_hint).layout.legend.title.text is None


def test_slide_ready_pads_the_title_and_margins_off_the_canvas_edge() -> None:
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1]))
    fig.update_layout(title={"text": "edge", "x": 0, "xanchor": "left", "pad": {"l": 0}})
    fig.update_layout(margin={"l": 0, "r": 0, "t": 5, "b": 0})
    clean = slide_ready(fig)
    assert clean.layout.title.pad.l >= TITLE_PAD_PX
    for side in "lrtb":
        assert clean.layout.margin[side] >= MIN_EXPORT_MARGIN
    assert apply_theme(go.Figure(fig), lecture=True).layout.margin.l >= MIN_EXPORT_MARGIN


@needs_chromium
def test_exported_title_does_not_touch_the_left_edge() -> None:
    """A title asked to sit at x = 0 with no padding is drawn off the canvas edge."""
    import re

    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1]))
    fig.update_layout(
        title={"text": "edge title", "x": 0, "xanchor": "left", "pad": {"l": 0}},
        width=400,
        height=200,
        margin={"l": 0, "r": 0, "t": 60, "b": 0},
    )
    svg = figure_to_svg(fig).decode("utf-8")
    title = re.search(r'<text class="gtitle"[^>]*\sx="([0-9.]+)"', svg)
    assert title is not None and float(title.group(1)) >= TITLE_PAD_PX


@needs_chromium
def test_warm_up_starts_the_browser_once_in_the_background(monkeypatch) -> None:
    monkeypatch.setattr(export, "_warm_started", False)
    export.shutdown()
    thread = export.warm_up_in_background()
    assert thread is not None and export.warm_up_in_background() is None
    thread.join(timeout=60)
    assert export._browser is not None and export._browser.started
    assert export.figure_to_png(_figure(), scale=1).startswith(export.PNG_MAGIC)


@needs_chromium
def test_the_exporters_chromium_starts_with_its_network_services_off() -> None:
    from choreographer.channels import Pipe

    browser = export.offline_browser_class()(Pipe(), export.find_chromium())
    browser.pre_open()
    try:
        cli = browser.get_cli()
    finally:
        browser.clean()
    for switch in export.OFFLINE_CHROMIUM_SWITCHES:
        assert switch in cli
    assert "--disable-component-update" in cli and "--disable-sync" in cli  # choreographer's


_EXPORT_BEHIND_A_RECORDING_PROXY = """
import json, os, sys, time
import plotly.graph_objects as go
from ggmi_viz import export
png = export.figure_to_png(go.Figure(go.Scatter(x=[0, 1], y=[1, 0])), timeout_s=60)
time.sleep(float(sys.argv[1]))  # background services of an unrestricted Chromium call out
print(json.dumps({"png": png[:8] == export.PNG_MAGIC}))
"""


@needs_chromium
@pytest.mark.slow
def test_the_exporter_contacts_nothing_outside() -> None:
    """Through a proxy that records every attempt: none (9 on the previous commit)."""
    import json
    import os
    import sys
    from pathlib import Path

    from tests.outbound_helpers import RecordingProxy

    root = Path(__file__).resolve().parents[2]
    with RecordingProxy() as proxy:
        env = {**os.environ, "CHOREO_PROXY_SERVER": proxy.url, "PYTHONPATH": str(root)}
        done = subprocess.run(
            [sys.executable, "-c", _EXPORT_BEHIND_A_RECORDING_PROXY, "10"],
            cwd=root, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout.splitlines()[-1]) == {"png": True}
        assert proxy.seen() == []
