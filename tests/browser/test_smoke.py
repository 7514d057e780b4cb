"""The home page loads in a real browser and shows its title without errors."""

from __future__ import annotations

import pytest
from browser_helpers import wait_for_app_idle

pytestmark = pytest.mark.browser


def test_home_page_renders_title(page, app_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page.goto(app_url)
    wait_for_app_idle(page)
    heading = page.locator("h1").first
    heading.wait_for(state="visible")
    assert heading.inner_text().strip()
    assert page.title().strip() and page.title() != "Streamlit"
    assert page.locator('[data-testid="stException"]').count() == 0
    shot = tmp_path / "home.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes().startswith(b"\x89PNG")
