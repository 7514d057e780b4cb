"""The README's screenshots: two pages in headless Chromium at 1280x720, as small PNGs.

    python bench/make_screenshots.py [--out docs/img]

Starts the app as deployed on a free loopback port (``bench/devserver.py``), opens the
Distributions page and the KL Gap curves page at their default settings in Debian's
Chromium, waits until every chart is drawn and the app is idle, and saves each window
as a PNG reduced to a 128-colour palette (Pillow), which keeps the files small. Nothing
is downloaded; run it by hand after a visible change to those pages.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path
from typing import Final

from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from devserver import CHROMIUM, CHROMIUM_ARGS, ROOT, run_streamlit  # noqa: E402

#: (address below the app's root, file name) of each screenshot.
SHOTS: Final[tuple[tuple[str, str], ...]] = (
    ("Distributions", "distributions.png"),
    ("KL_Gap_curves", "gap-curves.png"),
)
VIEWPORT: Final[dict[str, int]] = {"width": 1280, "height": 720}
#: Palette size of the saved PNGs: the pages use a handful of flat colours.
COLOURS: Final[int] = 128
IDLE_JS: Final[str] = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  const charts = document.querySelectorAll('.js-plotly-plot');
  return charts.length > 0 && [...charts].every((c) => c.querySelector('.main-svg'));
}
"""


def small_png(data: bytes) -> bytes:
    """``data`` (a PNG) with a ``COLOURS``-colour palette, optimised."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT).save(
        out, format="PNG", optimize=True
    )
    return out.getvalue()


def take(base_url: str, out: Path) -> list[Path]:
    """Open each page of ``SHOTS`` and save its screenshot under ``out``."""
    from playwright.sync_api import sync_playwright

    saved = []
    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for path, name in SHOTS:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(f"{base_url}/{path}")
            page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=120_000)
            page.wait_for_function(IDLE_JS, timeout=300_000)
            page.wait_for_timeout(1500)  # plotly's transitions settle
            target = out / name
            target.write_bytes(small_png(page.screenshot()))
            saved.append(target)
            page.close()
        browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        with run_streamlit(ROOT / "app.py", log, timeout_s=180) as (base_url, _pid):
            for path in take(base_url, args.out):
                print(f"{path.relative_to(ROOT)}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
