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


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _internal_imports(path: Path, modules: set[str]) -> set[str]:
    """Project modules ``path`` imports anywhere in its body (also inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        found.update(name for name in names if name in modules)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (ggmi_core, ggmi_viz, ggmi_app)."""
    files = [
        f for package in FORBIDDEN | {"ggmi_app": set()} for f in (ROOT / package).rglob("*.py")
    ]
    modules = {_module_name(f): f for f in files}
    return {name: _internal_imports(f, set(modules)) - {name} for name, f in modules.items()}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_planted_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_package_import_graph_has_no_cycle():
    graph = import_graph()
    assert "ggmi_app.state" in graph and graph["ggmi_app.layout"]  # the graph was read
    # Function-level imports count too: a lazy import only hides a cycle.
    assert _find_cycle(graph) is None


def test_every_registered_page_has_an_entry_file_settings_and_main():
    from ggmi_app.registry import PAGES

    prefixes = set()
    for page in PAGES:
        entry = (ROOT / page.entry).read_text(encoding="utf-8")
        assert f'run_page("{page.key}")' in entry, page.entry
        module = page.module()
        assert callable(module.main)
        keys = list(module.SETTINGS)
        # A page's own settings share one prefix that no other page uses.
        own = {key.split("_", 1)[0] for key in keys}
        assert len(own) <= 1, (page.key, own)
        assert not (own & prefixes), (page.key, own)
        prefixes |= own
    entries = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))
    assert entries == sorted(page.entry for page in PAGES)  # no page outside the registry
