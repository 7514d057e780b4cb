"""The rooms stay clear: numerics never import UI or plotting, figure builders never Streamlit."""

import ast
import shutil
import subprocess
import sys
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
    """A package module's dotted name; a script's (``app.py``, ``pages/*.py``) its path."""
    relative = path.relative_to(root)
    if relative.parts[0] not in FORBIDDEN | {"ggmi_app": set()}:
        return relative.as_posix()
    parts = relative.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


#: Calls that load code named at run time: ``importlib``, ``runpy``, ``exec``, and
#: ``st.navigation``, which runs the page scripts its pages name.
_DYNAMIC_LOADS = {"import_module", "__import__", "run_path", "run_module", "exec", "navigation"}


def _loads_by_name(tree: ast.AST) -> bool:
    """Whether the module loads code named at run time (see ``_DYNAMIC_LOADS``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in _DYNAMIC_LOADS:
                return True
    return False


def _named_modules(tree: ast.AST, modules: set[str]) -> set[str]:
    """Project modules and scripts named by a string (a page list's ``entry``)."""
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


def _reachable(start: str, imports: dict[str, set[str]]) -> set[str]:
    """``start`` and every module it imports, directly or through others."""
    seen, todo = {start}, [start]
    while todo:
        for nxt in imports[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def _project_files(root: Path) -> list[Path]:
    packages = FORBIDDEN | {"ggmi_app": set()}
    files = [f for package in packages for f in (root / package).rglob("*.py")]
    return [*files, root / "app.py", *sorted((root / "pages").glob("*.py"))]


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module or script -> the project modules and page scripts it imports or runs.

    A module that loads code by name at run time (``importlib``, ``runpy``, ``exec``,
    ``st.navigation``) counts as importing every project module and page script named by
    a string in it or in any module it imports: ``app.py`` runs the page scripts that
    ``ggmi_app.page_list`` names.
    """
    trees = {
        _module_name(f, root): ast.parse(f.read_text(encoding="utf-8"))
        for f in _project_files(root)
    }
    modules = set(trees)
    imports = {name: _internal_imports(tree, modules) for name, tree in trees.items()}
    graph = {}
    for name, tree in trees.items():
        edges = set(imports[name])
        if _loads_by_name(tree):
            for source in _reachable(name, imports):
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


def _page_entries() -> set[str]:
    from ggmi_app.page_list import PAGES

    return {page.entry for page in PAGES}


def test_the_package_import_graph_has_no_cycle():
    graph = import_graph()
    assert "ggmi_app.state" in graph and graph["ggmi_app.layout"]  # the graph was read
    # st.navigation counts: app.py runs every page script of the page list.
    assert _page_entries() <= graph["app.py"]
    # Function-level imports count too: a lazy import only hides a cycle.
    assert _find_cycle(graph) is None


def test_the_packages_never_import_or_run_a_page_script():
    graph = import_graph()
    entries = _page_entries()
    offenders = {
        name: sorted(edges & (entries | {"app.py"}))
        for name, edges in graph.items()
        if name.startswith("ggmi_")
    }
    assert {name: bad for name, bad in offenders.items() if bad} == {}


def test_a_circle_through_the_page_list_is_found(tmp_path):
    """A component that runs a page script closes a circle, even named through the list."""
    for package in ("ggmi_core", "ggmi_viz", "ggmi_app", "pages"):
        shutil.copytree(ROOT / package, tmp_path / package)
    shutil.copy(ROOT / "app.py", tmp_path / "app.py")
    assert _find_cycle(import_graph(tmp_path)) is None  # the copy is the real tree
    home = tmp_path / "ggmi_app" / "home_page.py"
    home.write_text(
        home.read_text(encoding="utf-8") + "\n\ndef _planted():\n"
        "    import runpy\n\n    return runpy.run_path(PAGES[-1].entry)\n",
        encoding="utf-8",
    )
    cycle = _find_cycle(import_graph(tmp_path))
    assert cycle is not None
    assert "ggmi_app.home_page" in cycle and any(c.startswith("pages/") for c in cycle)


#: What ``app.py`` may import: the frame (and Streamlit, for ``st.navigation``).
APP_IMPORTS = {"__future__", "streamlit", "ggmi_app.frame"}
#: What a page script may import besides ``ggmi_app`` components: pages sit above
#: ``ggmi_app`` and reach ``ggmi_viz`` and ``ggmi_core`` only through it.
PAGE_IMPORTS = {"__future__", "streamlit"}


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a.b import c`` counts as ``a.b``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


def _entry_offenders(path: Path) -> set[str]:
    """What entry file ``path`` imports beyond the entry-file rule."""
    imported = _imported_modules(path)
    if path.name == "app.py":
        return imported - APP_IMPORTS
    return {m for m in imported - PAGE_IMPORTS if m != "ggmi_app" and not m.startswith("ggmi_app.")}


def test_entry_files_follow_the_entry_file_rule():
    entries = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
    assert len(entries) > 1
    offenders = {str(path.relative_to(ROOT)): sorted(_entry_offenders(path)) for path in entries}
    assert {path: bad for path, bad in offenders.items() if bad} == {}


def test_the_entry_file_rule_catches_another_import(tmp_path):
    (tmp_path / "pages").mkdir()
    page = tmp_path / "pages" / "9_Extra.py"
    page.write_text(
        "from ggmi_app.frame import page_frame\nfrom ggmi_core.config import ScenarioConfig\n",
        encoding="utf-8",
    )
    assert _entry_offenders(page) == {"ggmi_core.config"}
    app = tmp_path / "app.py"
    app.write_text("from ggmi_app.frame import frame\nfrom ggmi_app.state import keyed\n")
    assert _entry_offenders(app) == {"ggmi_app.state"}


def test_every_page_has_a_framed_page_script_and_settings_as_data():
    from ggmi_app.page_list import PAGES
    from ggmi_app.page_settings import PAGE_SETTINGS

    assert [page.key for page in PAGES] == list(PAGE_SETTINGS)  # every page, in order
    prefixes = set()
    for page in PAGES:
        entry = ROOT / page.entry
        assert f'page_frame("{page.key}")' in entry.read_text(encoding="utf-8"), page.entry
        components = [m for m in _imported_modules(entry) if m.startswith("ggmi_app")]
        assert components, page.entry
        keys = list(PAGE_SETTINGS[page.key])
        # A page's own settings share one prefix that no other page uses.
        own = {key.split("_", 1)[0] for key in keys}
        assert len(own) <= 1, (page.key, own)
        assert not (own & prefixes), (page.key, own)
        prefixes |= own
    entries = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))
    assert entries == sorted(page.entry for page in PAGES)  # no page outside the list


def test_the_page_components_draw_the_settings_declared_for_them():
    from ggmi_app import (
        bounds_page,
        diagnostics_page,
        distributions_page,
        gap_curves_page,
        tour_page,
    )
    from ggmi_app.page_settings import PAGE_SETTINGS, TOUR_STEP_COUNT

    assert distributions_page.SETTINGS is PAGE_SETTINGS["distributions"]
    assert gap_curves_page.SETTINGS is PAGE_SETTINGS["gap-curves"]
    assert bounds_page.SETTINGS is PAGE_SETTINGS["bounds"]
    assert diagnostics_page.SETTINGS is PAGE_SETTINGS["diagnostics"]
    assert tour_page.SETTINGS is PAGE_SETTINGS["tour"]
    assert len(tour_page.STEPS) == TOUR_STEP_COUNT


def test_importing_the_app_starts_no_thread():
    """Importing a page component has no side effect: the tour's warm-up starts on use."""
    code = (
        "import threading\n"
        "from ggmi_app import frame, home_page, tour_page, bounds_page, gap_curves_page\n"
        "print(sorted(t.name for t in threading.enumerate() if t.name == 'tour-warm-up'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
