"""The project's image, running: installed package, non-root, read-only, a page and a PNG.

Run by ``scripts/test_deploy.sh`` against a container started from the image with its
own command, a read-only root file system and tmpfs mounts (``GGMI_DEPLOY_CONTAINER``,
``GGMI_DEPLOY_URL``); see tests/deploy/conftest.py.
"""

from __future__ import annotations

import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from browser_helpers import open_and_draw, plotly_figure_json, wait_for_app_idle

from ggmi_viz.export import PNG_MAGIC, png_size

CONTAINER = os.environ.get("GGMI_DEPLOY_CONTAINER", "")


def _exec(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", "exec", CONTAINER, *args], capture_output=True, text=True, timeout=120
    )


def test_health_route_answers_ok(deploy_url: str) -> None:
    with urllib.request.urlopen(f"{deploy_url}/_stcore/health", timeout=10) as response:
        assert response.status == 200 and response.read() == b"ok"


#: Every process of the container with its real, effective, saved and file-system uids.
_UIDS = """
import os
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        status = open(f"/proc/{pid}/status").read().splitlines()
        raw = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
        cmd = " ".join(raw.replace(chr(0), " ").split())[:80]  # one line, even for -c code
    except OSError:
        continue  # ended while we looked
    uids = next(line.split()[1:] for line in status if line.startswith("Uid:"))
    print(",".join(uids), cmd)
"""


def test_every_process_runs_as_the_unprivileged_user() -> None:
    # The server, its workers and the exporter's Chromium: all uid 10001, none root.
    result = _exec("python", "-c", _UIDS)
    assert result.returncode == 0, result.stderr
    rows = [line.split(" ", 1) for line in result.stdout.splitlines() if line.strip()]
    assert any("ggmi-explorer" in cmd for _, cmd in rows), rows
    assert any("chromium" in cmd for _, cmd in rows), rows  # the PNG exporter is warm
    assert {uids for uids, _ in rows} == {"10001,10001,10001,10001"}, rows


def test_the_root_file_system_is_read_only_and_tmp_is_writable() -> None:
    assert _exec("touch", "/home/app/../../opt/probe").returncode != 0
    assert _exec("touch", "/usr/local/lib/probe").returncode != 0
    assert _exec("touch", "/tmp/probe").returncode == 0
    mounts = _exec("cat", "/proc/mounts").stdout.splitlines()
    root = next(line.split() for line in mounts if line.split()[1] == "/")
    assert "ro" in root[3].split(","), root


def test_the_package_is_installed_not_on_pythonpath() -> None:
    result = _exec(
        "python",
        "-c",
        "import os, ggmi_core, ggmi_app; from ggmi_core.resources import project_root; "
        "print(os.environ.get('PYTHONPATH', '')); print(ggmi_core.__file__); print(project_root())",
    )
    assert result.returncode == 0, result.stderr
    pythonpath, core_file, root = result.stdout.splitlines()
    assert pythonpath == ""
    assert "-packages/ggmi_core/" in core_file
    assert root.endswith("-packages/ggmi_explorer")
    assert _exec("ggmi", "--help").returncode == 0


def test_distributions_draws_in_chromium_and_exports_a_png(new_page: Any, deploy_url: str) -> None:
    page = new_page()
    open_and_draw(page, f"{deploy_url}/Distributions")
    figure = plotly_figure_json(page)
    assert figure["data"], "the chart has no traces"
    assert page.locator('[data-testid="stException"]').count() == 0
    button = page.get_by_role("button", name="Download PNG").first
    button.scroll_into_view_if_needed()
    with page.expect_download(timeout=90_000) as info:
        button.click()
    data = Path(info.value.path()).read_bytes()
    assert data.startswith(PNG_MAGIC)
    width, height = png_size(data)
    assert width >= 600 and height >= 300
    wait_for_app_idle(page)
    assert not page.errors


def test_every_tour_step_draws_from_the_installed_files(new_page: Any, deploy_url: str) -> None:
    """Each step reads stored tables (Figure 4, the gap map, the tour's own): from the
    installed package they must all be there, with no error box and no fallback."""
    from ggmi_app.tour_page import STEPS

    page = new_page()
    for step in range(1, len(STEPS) + 1):
        open_and_draw(page, f"{deploy_url}/Guided_tour?tour_step={step}")
        assert page.locator('[data-testid="stException"]').count() == 0, step
        assert page.get_by_role("button", name="Open this on").count() == 1, step
