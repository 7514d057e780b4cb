"""The rooms stay clear: numerics never import UI or plotting, figure builders never Streamlit."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "ggmi_core": {
        "streamlit",
        "plotly",
        "kaleido",
        "matplotlib",
        "ggmi_viz",
        "ggmi_app",
    },
    "ggmi_viz": {"streamlit", "ggmi_app"},
}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_stay_in_their_room(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package} has no modules"
    offenders = {
        str(f.relative_to(ROOT)): sorted(_imported_roots(f) & FORBIDDEN[package]) for f in files
    }
    assert {f: bad for f, bad in offenders.items() if bad} == {}


def test_no_global_numpy_random_state_in_library_code():
    for package in ("ggmi_core", "ggmi_viz", "ggmi_app"):
        for f in (ROOT / package).rglob("*.py"):
            text = f.read_text(encoding="utf-8")
            for banned in (
                "np.random.seed(",
                "np.random.rand(",
                "np.random.normal(",
                "np.random.randn(",
                "np.random.choice(",
                "np.random.uniform(",
            ):
                assert banned not in text, f"{f.relative_to(ROOT)} uses global state: {banned}"
