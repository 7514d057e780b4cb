"""One record per setting: a setting added through its record reaches every place.

The test copies the packages, adds a dummy setting to the copy the way CONTRIBUTING
says (its record in ``ggmi_core/config.py`` and the ``ScenarioConfig`` field the code
reads), and runs the real Distributions page on the copy in a fresh process: the
setting must be in the sidebar, the URL, the settings file, the published presets'
reset and the dataclass's validation, with no other file touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RECORD = (
    '    Setting("dummy_q", 3, 0, 9, True, "dummy quantity", "q", menu_label="q: dummy '
    'quantity", help="A setting added by a test."),\n'
)
FIELD = '    dummy_q: int = _default("dummy_q")\n'
#: Where the record and the field go in the copy of ``ggmi_core/config.py``.
RECORD_BEFORE = ')  # fmt: skip\n"""One record per setting of ``ScenarioConfig``'
FIELD_AFTER = '    mean_gap: float = _default("mean_gap")\n'

#: Runs in the copy: the page through AppTest, then the settings file and the presets.
SCRIPT = r"""
import json
from streamlit.testing.v1 import AppTest

from ggmi_app import page_list, state
from ggmi_app.gap_curves_page import PRESETS as GAP_PRESETS
from ggmi_core.config import ScenarioConfig

out = {}
at = AppTest.from_file("app.py", default_timeout=300)
at.switch_page("pages/1_Distributions.py")
at.run()
assert not at.exception, [e.value for e in at.exception]
widget = at.sidebar.slider(key="w_dummy_q")
out["sidebar"] = [widget.label, widget.value, widget.min, widget.max]
widget.set_value(7).run()
out["url"] = at.query_params.get("dummy_q")
shown = dict(page_list.SHARED_SETTINGS) | dict(page_list.page_settings("distributions"))
values = {key: at.session_state[key] for key in shown if key in at.session_state}
saved = json.loads(state.settings_to_json(shown, values, "distributions"))
out["file_saved"] = saved["settings"].get("dummy_q")
loaded, _ = state.parse_settings_json(b'{"dummy_q": 5}', shown)
out["file_loaded"] = loaded
at.sidebar.button(key="_ggmi_preset::Paper Figure 2 (published settings)").click().run()
out["after_reset"] = [at.session_state["dummy_q"], at.query_params.get("dummy_q")]
out["gap_presets"] = sorted({preset.get("dummy_q") for preset in GAP_PRESETS.values()})
out["config"] = ScenarioConfig(dummy_q=4).dummy_q
try:
    ScenarioConfig(dummy_q=10)
except ValueError as exc:
    out["refused"] = str(exc)
print("RESULT " + json.dumps(out))
"""


def _copy_with_dummy(tmp: Path) -> Path:
    """A copy of the app with the dummy setting added through its record and field."""
    for name in ("ggmi_core", "ggmi_viz", "ggmi_app", "pages"):
        shutil.copytree(ROOT / name, tmp / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "app.py", tmp / "app.py")
    (tmp / "assets").symlink_to(ROOT / "assets")
    config = tmp / "ggmi_core" / "config.py"
    text = config.read_text(encoding="utf-8")
    assert text.count(RECORD_BEFORE) == 1 and text.count(FIELD_AFTER) == 1
    text = text.replace(RECORD_BEFORE, RECORD + RECORD_BEFORE)
    text = text.replace(FIELD_AFTER, FIELD_AFTER + FIELD)
    config.write_text(text, encoding="utf-8")
    return tmp


@pytest.fixture(scope="module")
def dummy_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    copy = _copy_with_dummy(tmp_path_factory.mktemp("one_record"))
    env = {**os.environ, "PYTHONPATH": str(copy), "GGMI_WORKERS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=copy, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1].removeprefix("RESULT "))


def test_the_dummy_setting_is_in_the_sidebar(dummy_run: dict) -> None:
    assert dummy_run["sidebar"] == ["q: dummy quantity", 3, 0, 9]


def test_the_dummy_setting_is_in_the_url(dummy_run: dict) -> None:
    assert dummy_run["url"] == "7"


def test_the_dummy_setting_is_in_the_settings_file(dummy_run: dict) -> None:
    assert dummy_run["file_saved"] == 7
    assert dummy_run["file_loaded"] == {"dummy_q": 5}


def test_the_published_presets_reset_the_dummy_setting(dummy_run: dict) -> None:
    assert dummy_run["after_reset"] == [3, None]  # the default leaves the URL
    assert dummy_run["gap_presets"] == [3]


def test_the_dataclass_takes_and_validates_the_dummy_setting(dummy_run: dict) -> None:
    assert dummy_run["config"] == 4
    assert "dummy_q (dummy quantity) must be an integer in 0..9" in dummy_run["refused"]
