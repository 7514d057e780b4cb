"""``pip install .`` gives a working GGMI Explorer: packages, app files, commands, settings.

The wheel is built offline from this checkout (hatchling and its requirements.txt plugin
are in requirements-dev.txt) and installed into a new virtual environment, away from the
repository: a fresh interpreter in a temporary folder, without PYTHONPATH. The
environment borrows the third-party packages of the test venv through a ``.pth`` file
(nothing is downloaded), so everything of the project itself must come from the wheel.
``scripts/test_deploy.sh`` installs the same wheel in the container image.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.test_deployment_config import REQUIRED

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ggmi_core", "ggmi_viz", "ggmi_app")
#: Files the running app reads besides the packages, as the wheel must carry them.
APP_FILES = ("app.py", ".streamlit/config.toml")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built from the checkout without network access."""
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "--wheel-dir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (found,) = out.glob("ggmi_explorer-*.whl")
    return found


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, **extra}


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with the wheel installed; returns its ``bin`` folder."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c",
             "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    # The test venv's third-party packages, after the new venv's own site-packages.
    (site / "test_venv_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=300, env=_clean_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return venv / "bin"


def _run(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=timeout
    )


def test_the_wheel_holds_the_packages_and_the_app_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in PACKAGES:
        modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / package).glob("*.py")}
        assert modules and modules <= names, sorted(modules - names)
    pages = {f"ggmi_explorer/{p.relative_to(ROOT).as_posix()}" for p in ROOT.glob("pages/*.py")}
    assert pages and pages <= names
    for name in APP_FILES:
        assert f"ggmi_explorer/{name}" in names
    # Every file in assets/ (tables, the gap map, the tab icon), not a list to keep in step.
    assets = {
        f"ggmi_explorer/{p.relative_to(ROOT).as_posix()}"
        for p in (ROOT / "assets").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert assets and assets <= names, sorted(assets - names)
    assert not any("__pycache__" in n or n.startswith(("tests/", "bench/")) for n in names)


def test_the_package_depends_on_exactly_requirements_txt(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        meta_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(meta_name).decode())
        entry_points = archive.read(meta_name.replace("METADATA", "entry_points.txt")).decode()
    declared = {str(Requirement(r)) for r in metadata.get_all("Requires-Dist")}
    tested = {
        str(Requirement(line))
        for raw in (ROOT / "requirements.txt").read_text().splitlines()
        if (line := raw.split("#", 1)[0].strip())
    }
    assert declared == tested
    assert "ggmi = ggmi_core.cli:main" in entry_points
    assert "ggmi-explorer = ggmi_app.serve:main" in entry_points


def test_the_installed_packages_find_their_files_away_from_the_checkout(
    installed: Path, tmp_path: Path
) -> None:
    code = textwrap.dedent(
        """
        import ggmi_app.page_list as page_list, ggmi_core, ggmi_core.tour_data as tour_data
        from ggmi_app import serve
        from ggmi_core.resources import project_root
        print(ggmi_core.__file__)
        print(project_root())
        print(all((project_root() / page.entry).is_file() for page in page_list.PAGES))
        tables = [tour_data.load_table(n) for n in ("sample_size", "js")]
        print(serve.APP.is_file(), all(len(t) > 0 for t in tables))
        """
    )
    result = _run([str(installed / "python"), "-c", code], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    core_file, root, pages_ok, app_and_tour = result.stdout.split("\n")[:4]
    venv = installed.parent
    assert Path(core_file).is_relative_to(venv) and not Path(core_file).is_relative_to(ROOT)
    assert Path(root).name == "ggmi_explorer" and Path(root).is_relative_to(venv)
    assert pages_ok == "True" and app_and_tour == "True True"


def test_the_ggmi_command_matches_python_m_ggmi_core(installed: Path, tmp_path: Path) -> None:
    args = ["simulate", "--K", "3", "--rounds", "4", "--metric", "js"]
    command = _run([str(installed / "ggmi"), *args], tmp_path)
    module = subprocess.run(
        [sys.executable, "-m", "ggmi_core", *args], cwd=ROOT, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert command.returncode == 0, command.stderr[-2000:]
    assert module.returncode == 0, module.stderr[-2000:]

    def numbers(out: str) -> list[str]:  # the last line is the wall-clock time
        return [line for line in out.splitlines() if not line.startswith("time:")]

    assert numbers(command.stdout) == numbers(module.stdout) and numbers(command.stdout)


def test_ggmi_explorer_is_streamlit_run_of_the_installed_app(
    installed: Path, tmp_path: Path
) -> None:
    result = _run([str(installed / "ggmi-explorer"), "--help"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Usage: streamlit run" in result.stdout


def test_the_installed_app_runs_with_the_shipped_streamlit_settings(
    installed: Path, tmp_path: Path
) -> None:
    """Started from any folder, Streamlit applies the config.toml installed beside app.py."""
    code = textwrap.dedent(
        f"""
        import json
        from streamlit import config
        from ggmi_app import serve
        config._main_script_path = str(serve.APP)  # what `streamlit run <app.py>` sets
        config.get_config_options(force_reparse=True)
        print(json.dumps({{k: config.get_option(k) for k in {sorted(REQUIRED)!r}}}))
        print(config.get_option("server.maxUploadSize"))
        """
    )
    home = tmp_path / "home"
    home.mkdir()
    result = subprocess.run(
        [str(installed / "python"), "-c", code], cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home)}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    options, upload = result.stdout.strip().splitlines()[-2:]
    assert json.loads(options) == REQUIRED
    assert int(upload) == 20
