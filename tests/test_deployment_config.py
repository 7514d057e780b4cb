"""Deployment settings as Streamlit will really apply them, and no HTML built from input.

``tests/test_packaging.py`` checks the text of ``.streamlit/config.toml``. Here we ask
Streamlit itself, in a fresh process started where the server starts (the repo root,
as the Docker image does), which values are in force; check that the image ships the
config file and does not override it; and scan every page and glue module for raw-HTML
calls whose argument is not a constant (so it cannot carry a visitor's input).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Streamlit options a hosted demo depends on, with the value that must be in force.
REQUIRED = {
    "server.enableXsrfProtection": True,
    "server.enableCORS": True,
    "browser.gatherUsageStats": False,
    "client.showErrorDetails": "none",
    "client.toolbarMode": "viewer",
    "server.runOnSave": False,
    "server.enableStaticServing": False,
    "server.enableAgentApi": False,
}
_EFFECTIVE = [*REQUIRED, "server.maxUploadSize", "server.maxMessageSize", "server.maxCacheDataSize"]


@pytest.fixture(scope="module")
def effective_options() -> dict[str, object]:
    """The options Streamlit resolves when started from the repo root (fresh process)."""
    code = textwrap.dedent(
        f"""
        import json
        from streamlit import config
        config.get_config_options(force_reparse=True)
        known = config._config_options_template
        print(json.dumps({{
            k: config.get_option(k) if k in known else "<absent>" for k in {_EFFECTIVE!r}
        }}))
        """
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT / ".no-home")}  # no user config
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("option", sorted(REQUIRED))
def test_security_option_is_in_force(effective_options: dict, option: str) -> None:
    if option == "server.enableAgentApi" and effective_options[option] == "<absent>":
        return  # older Streamlit has no agent API at all, which is just as closed
    assert effective_options[option] == REQUIRED[option]


def test_upload_limit_matches_the_parsers_own_limit(effective_options: dict) -> None:
    """The server refuses bodies the parser would refuse anyway, and nothing bigger passes."""
    from ggmi_core.uploads import MAX_UPLOAD_BYTES

    limit_mb = effective_options["server.maxUploadSize"]
    assert isinstance(limit_mb, int) and 1 <= limit_mb <= 50
    # Streamlit counts maxUploadSize in MiB; a file the server accepts must be one the
    # parser at least looks at, or visitors get a bare 413 instead of our message.
    assert limit_mb * 1024 * 1024 <= MAX_UPLOAD_BYTES
    assert 1 <= effective_options["server.maxMessageSize"] <= 200


def test_cache_data_has_a_byte_budget(effective_options: dict) -> None:
    from streamlit.byte_util import config_max_cache_data_size_to_bytes

    value = effective_options["server.maxCacheDataSize"]
    assert value not in (None, "", "0", 0, "<absent>")
    # Streamlit's own parser (None would mean "no limit"); a real but roomy bound.
    limit = config_max_cache_data_size_to_bytes(value)
    assert limit is not None and 64 * 2**20 <= limit <= 2**30


def test_docker_image_ships_the_config_and_does_not_override_it() -> None:
    ignored = [
        ln.strip().rstrip("/")
        for ln in (ROOT / ".dockerignore").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert not any(p in {".streamlit", ".streamlit/config.toml", "*", "**"} for p in ignored)
    docker = (ROOT / "Dockerfile").read_text()
    # The image installs the wheel built from the whole context; the wheel carries the
    # config beside the installed app.py, where Streamlit reads it for that script
    # (tests/test_install.py checks the settings in force). No flag or environment
    # variable may switch a protection off again.
    assert "COPY . ." in docker and "pip wheel" in docker and "--no-deps /tmp/wheels" in docker
    assert 'CMD ["ggmi-explorer"' in docker
    wheel_files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    assert ".streamlit/config.toml" in wheel_files["targets"]["wheel"]["force-include"]
    lowered = docker.lower().replace("_", "").replace("-", "").replace(".", "")
    for weakening in (
        "enablexsrfprotection=false",
        "serverenablexsrfprotection=false",
        "enablecors=false",
        "showerrordetails=full",
        "showerrordetails=true",
        "gatherusagestats=true",
        "enableagentapi=true",
    ):
        assert weakening not in lowered, weakening


# ----------------------------------------------------------------- raw HTML scan

_HTML_FUNCS = {"html"}  # st.html, components.html, st.components.v1.html
_SCANNED = ("app.py", "pages", "ggmi_app")


def _module_constants(tree: ast.Module) -> set[str]:
    """Names assigned once at module level to a constant string (optionally annotated)."""
    consts: set[str] = set()
    for node in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        if value is not None and _is_constant_text(value, consts):
            consts.update(t.id for t in targets if isinstance(t, ast.Name))
    return consts


def _is_constant_text(node: ast.expr, consts: set[str]) -> bool:
    """A string literal, a module-level constant, or an if/else or + of those."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.Name):
        return node.id in consts
    if isinstance(node, ast.IfExp):
        return _is_constant_text(node.body, consts) and _is_constant_text(node.orelse, consts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_constant_text(node.left, consts) and _is_constant_text(node.right, consts)
    return False


def _renders_raw_html(call: ast.Call) -> bool:
    """Whether ``call`` may render its markup as raw HTML."""
    unsafe = next((k for k in call.keywords if k.arg == "unsafe_allow_html"), None)
    if unsafe is not None:
        return not (isinstance(unsafe.value, ast.Constant) and unsafe.value.value is False)
    return isinstance(call.func, ast.Attribute) and call.func.attr in _HTML_FUNCS


def _html_argument(call: ast.Call) -> ast.expr | None:
    """The markup argument of a raw-HTML call, or None when the call renders no raw HTML."""
    if not _renders_raw_html(call):
        return None
    if call.args:
        return call.args[0]
    body = next((k.value for k in call.keywords if k.arg in {"body", "html"}), None)
    # No markup argument at all: nothing constant to vouch for it, so flag it.
    return body if body is not None else ast.Name(id="<missing>")


def unsafe_html_calls(source: str, filename: str = "<src>") -> list[str]:
    """``file:line`` of every raw-HTML call whose markup is not constant text."""
    tree = ast.parse(source, filename=filename)
    consts = _module_constants(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            arg = _html_argument(node)
            if arg is not None and not _is_constant_text(arg, consts):
                found.append(f"{filename}:{node.lineno}")
    return found


def _scanned_files() -> list[Path]:
    files: list[Path] = []
    for entry in _SCANNED:
        path = ROOT / entry
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


def test_no_raw_html_is_built_from_anything_but_constants() -> None:
    files = _scanned_files()
    assert len(files) >= 5
    offenders = [
        hit
        for f in files
        for hit in unsafe_html_calls(f.read_text(encoding="utf-8"), str(f.relative_to(ROOT)))
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("snippet", "flagged"),
    [
        ('st.markdown(f"<b>{name}</b>", unsafe_allow_html=True)', True),
        ("st.markdown(text, unsafe_allow_html=True)", True),
        ("st.html(user_css)", True),
        ("components.html('<p>' + name + '</p>')", True),
        ("st.write(x, unsafe_allow_html=flag)", True),
        ('st.markdown("<hr>", unsafe_allow_html=True)', False),
        ("st.markdown(text, unsafe_allow_html=False)", False),
        ("st.markdown(text)", False),
        ("st.html(_CSS if lecture else _BASE)", False),
    ],
)
def test_the_scan_tells_constants_from_built_markup(snippet: str, flagged: bool) -> None:
    source = f'_CSS = "<style></style>"\n_BASE: str = "<style>p {{}}</style>"\n{snippet}\n'
    assert bool(unsafe_html_calls(source)) is flagged
