"""The Diagnostics page in a real browser: sweep slider, example data, a bad upload, PNG."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from browser_helpers import (
    download_bytes,
    move_slider,
    plotly_array,
    plotly_figure_json,
    plotly_figure_titled,
    wait_for_app_idle,
)

from ggmi_viz.export import png_size

pytestmark = pytest.mark.browser

FAST = "diag_scenarios=5&diag_permutations=19&n_synthetic=100"
SCREENSHOTS = Path("/tmp")


def _mean_hsic(fig: dict) -> list[float]:
    return plotly_array(next(t for t in fig["data"] if t.get("name") == "mean HSIC")["y"])


def _no_exceptions(page) -> None:  # type: ignore[no-untyped-def]
    assert page.locator('[data-testid="stException"]').count() == 0


def test_adherence_slider_moves_hsic_and_png_downloads(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/Diagnostics?{FAST}&diag_sweep=n_anchor_per_component&adherence=0.2")
    wait_for_app_idle(page)
    _no_exceptions(page)
    before = plotly_figure_titled(page, "Dependence of synthetic samples")
    assert plotly_array(before["data"][2]["x"]) == [3.0, 10.0, 20.0, 50.0, 100.0, 200.0]
    page.get_by_text("The paper's numbers (real LLM data, not this simulation)").wait_for()

    move_slider(page, "b: prompt adherence", 12)  # 0.2 -> 0.8 in steps of 0.05
    _no_exceptions(page)
    after = plotly_figure_titled(page, "Dependence of synthetic samples")
    assert parse_qs(urlparse(page.url).query)["adherence"] == ["0.8"]
    assert sum(_mean_hsic(after)) > 3 * sum(_mean_hsic(before))

    name, data = download_bytes(page, "Download PNG")
    assert name.endswith("-hsic.png") and name.startswith("diagnostics-n_anchor_per_component")
    width, height = png_size(data)
    assert width >= 1000 and height >= 500
    (SCREENSHOTS / "ggmi_diagnostics_hsic_download.png").write_bytes(data)
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "ggmi_diagnostics_simulation.png"))
    # The paper's numbers sit in their own table below our entropy figure.
    page.get_by_text("The paper's numbers (real LLM data").scroll_into_view_if_needed()
    assert page.locator('[data-testid="stDataFrame"]').count() >= 1
    page.screenshot(path=str(SCREENSHOTS / "ggmi_diagnostics_paper_table.png"))


def test_example_button_then_a_malformed_upload(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/Diagnostics?diag_tab=Your+data")
    wait_for_app_idle(page)
    _no_exceptions(page)
    page.get_by_role("button", name="Try the example data").click()
    wait_for_app_idle(page, expect_rerun=True)
    _no_exceptions(page)
    page.get_by_text("Analysing the example data").wait_for()
    pca = plotly_figure_json(page, 0)
    assert [t["name"] for t in pca["data"]] == ["anchor (300)", "synthetic (300)"]
    assert page.get_by_text("p-value (permutation)").count() >= 1

    name, data = download_bytes(page, "Download PNG")
    assert name == "diagnostics-your-data-pca.png"
    width, height = png_size(data)
    assert width >= 1000 and height >= 500
    (SCREENSHOTS / "ggmi_diagnostics_pca_download.png").write_bytes(data)
    page.screenshot(path=str(SCREENSHOTS / "ggmi_diagnostics_example.png"), full_page=True)

    # Now a broken anchor file and a fine synthetic one.
    bad = b"id,x,y\n" + b"row,1.0,2.0\n" * 20
    good = b"x,y\n" + b"1.0,2.0\n3.0,4.5\n" * 10
    uploaders = page.locator('[data-testid="stFileUploader"]')
    uploaders.filter(has_text="Anchor embeddings").locator('input[type="file"]').set_input_files(
        {"name": "broken.csv", "mimeType": "text/csv", "buffer": bad}
    )
    wait_for_app_idle(page, expect_rerun=True)
    uploaders.filter(has_text="Synthetic embeddings").locator('input[type="file"]').set_input_files(
        {"name": "fine.csv", "mimeType": "text/csv", "buffer": good}
    )
    wait_for_app_idle(page, expect_rerun=True)
    error = page.locator('[data-testid="stAlertContentError"]').first
    error.wait_for()
    text = error.inner_text()
    assert "The anchor file cannot be used" in text and '"id"' in text
    _no_exceptions(page)
    assert page.locator(".js-plotly-plot").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "ggmi_diagnostics_bad_upload.png"), full_page=True)
