"""The harness itself against a tiny page: slider -> URL -> chart, PNG and CSV downloads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import (
    download_bytes,
    move_slider,
    plotly_figure_json,
    streamlit_server,
    wait_for_app_idle,
)

from ggmi_viz.export import png_size

HARNESS_APP = Path(__file__).with_name("harness_app.py")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def harness_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("harness") / "server.log"
    with streamlit_server(HARNESS_APP, log) as url:
        yield url


def test_slider_redraws_chart_and_updates_url(page, harness_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{harness_url}/?points=4")
    wait_for_app_idle(page)
    before = plotly_figure_json(page, 0)
    assert len(before["data"][0]["x"]) == 4
    move_slider(page, "Number of points", 2)
    after = plotly_figure_json(page, 0)
    assert len(after["data"][0]["x"]) == 6
    assert "points=6" in page.url


def test_png_download_is_a_png_of_layout_size_times_two(page, harness_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(harness_url)
    wait_for_app_idle(page)
    name, data = download_bytes(page, "Download PNG")
    assert name == "harness.png"
    assert png_size(data) == (1200, 800)
    name, data = download_bytes(page, "Download data (CSV)")
    assert name == "harness.csv"
    assert data.decode().splitlines() == ["x", "0", "1", "2"]
