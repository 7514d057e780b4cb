"""The rooms stay clear: numerics never import UI or plotting, figure builders never Streamlit."""

import ast
import shutil
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


#: What a figure module must not do: run the numerics or read files. ``ggmi_viz`` draws
#: what it is given; loading and computing live in ``ggmi_core`` (or the app's caches).
_NOT_IN_FIGURES = {
    "modules": {"ggmi_core.simulation", "ggmi_core.tour_data", "ggmi_core.resources"},
    "calls": {
        "simulate", "sweep", "sweep_params", "read_csv", "read_parquet", "read_json",
        "read_text", "read_bytes", "load_table", "load_stored_map", "open", "assets_dir",
    },
}  # fmt: skip


def _doing_not_drawing(tree: ast.AST) -> set[str]:
    """Names of the numerics and file readers ``tree`` imports or calls."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in _NOT_IN_FIGURES["modules"]:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names} & _NOT_IN_FIGURES["modules"]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            # a method ``open`` (the exporter's browser) is no file read
            if name in _NOT_IN_FIGURES["calls"] and not (
                name == "open" and isinstance(func, ast.Attribute)
            ):
                found.add(name)
    return found


def test_figure_modules_only_draw():
    offenders = {
        path.name: sorted(found)
        for path in sorted((ROOT / "ggmi_viz").glob("*.py"))
        if (found := _doing_not_drawing(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert offenders == {}
    # the check sees what it looks for
    planted = ast.parse("import pandas as pd\nfrom ggmi_core.simulation import simulate\n"
                        "simulate(c)\npd.read_csv(p)\n")  # fmt: skip
    assert _doing_not_drawing(planted) == {"ggmi_core.simulation", "simulate", "read_csv"}


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


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


#: Calls that import a module named at run time (the page loader's ``importlib``).
_DYNAMIC_IMPORTS = {"import_module", "__import__"}


def _loads_by_name(tree: ast.AST) -> bool:
    """Whether the module imports modules by name at run time (``importlib``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in _DYNAMIC_IMPORTS:
                return True
    return False


def _named_modules(tree: ast.AST, modules: set[str]) -> set[str]:
    """Project modules named by a string in the module (a page list's ``module_name``)."""
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in modules
    }


def _internal_imports(tree: ast.AST, modules: set[str]) -> set[str]:
    """Project modules a module imports anywhere in its body (also inside functions)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        found.update(name for name in names if name in modules)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the project modules it imports (ggmi_core, ggmi_viz, ggmi_app).

    A module that imports by name at run time (``importlib.import_module``) counts as
    importing every project module named by a string in it or in a module it imports:
    the page loader imports whatever the page list names.
    """
    files = [
        f for package in FORBIDDEN | {"ggmi_app": set()} for f in (root / package).rglob("*.py")
    ]
    trees = {_module_name(f, root): ast.parse(f.read_text(encoding="utf-8")) for f in files}
    modules = set(trees)
    imports = {name: _internal_imports(tree, modules) for name, tree in trees.items()}
    graph = {}
    for name, tree in trees.items():
        edges = set(imports[name])
        if _loads_by_name(tree):
            for source in {name, *imports[name]}:
                edges |= _named_modules(trees[source], modules)
            # a package that loads its own submodules lazily (PEP 562) forms no circle
            edges = {e for e in edges if not e.startswith(name + ".")}
        graph[name] = edges - {name}
    return graph


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
    # The loader's importlib calls count: it imports every page module.
    assert {"ggmi_app.home_page", "ggmi_app.tour_page"} <= graph["ggmi_app.registry"]
    # Function-level imports count too: a lazy import only hides a cycle.
    assert _find_cycle(graph) is None


def test_a_circle_through_the_page_loader_is_found(tmp_path):
    """A page module importing the loader closes a circle the loader hides in importlib."""
    for package in ("ggmi_core", "ggmi_viz", "ggmi_app"):
        shutil.copytree(ROOT / package, tmp_path / package)
    assert _find_cycle(import_graph(tmp_path)) is None  # the copy is the real tree
    home = tmp_path / "ggmi_app" / "home_page.py"
    home.write_text(
        home.read_text(encoding="utf-8") + "\n\ndef _planted():\n"
        "    from ggmi_app.registry import run_page\n\n    return run_page\n",
        encoding="utf-8",
    )
    cycle = _find_cycle(import_graph(tmp_path))
    assert cycle is not None
    assert {"ggmi_app.home_page", "ggmi_app.registry"} <= set(cycle)


#: What an entry file may import: the registry (and Streamlit, for ``st.navigation``).
ENTRY_IMPORTS = {"__future__", "streamlit", "ggmi_app.registry"}


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a.b import c`` counts as ``a.b``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


def test_entry_files_import_only_the_registry():
    entries = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
    assert len(entries) > 1
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_modules(path) - ENTRY_IMPORTS)
        for path in entries
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}


def test_the_entry_file_rule_catches_another_import(tmp_path):
    entry = tmp_path / "9_Extra.py"
    entry.write_text(
        "from ggmi_app.registry import run_page\nfrom ggmi_app.state import keyed\n",
        encoding="utf-8",
    )
    assert _imported_modules(entry) - ENTRY_IMPORTS == {"ggmi_app.state"}


def test_every_registered_page_has_an_entry_file_settings_and_main():
    from ggmi_app.registry import PAGES, page_module

    prefixes = set()
    for page in PAGES:
        entry = (ROOT / page.entry).read_text(encoding="utf-8")
        assert f'run_page("{page.key}")' in entry, page.entry
        module = page_module(page)
        assert callable(module.main)
        keys = list(module.SETTINGS)
        # A page's own settings share one prefix that no other page uses.
        own = {key.split("_", 1)[0] for key in keys}
        assert len(own) <= 1, (page.key, own)
        assert not (own & prefixes), (page.key, own)
        prefixes |= own
    entries = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))
    assert entries == sorted(page.entry for page in PAGES)  # no page outside the registry
