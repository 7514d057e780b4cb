"""URL <-> widget <-> settings-file round trips, driven through Streamlit AppTest."""

from __future__ import annotations

import json
import math

import pytest
from page_helpers import run_page
from streamlit.testing.v1 import AppTest

from ggmi_app.params import BoolParam, ChoiceParam, FloatParam, IntParam
from ggmi_app.state import keyed, parse_settings_json, settings_to_json

APP = "tests/app/state_demo_app.py"
# Same schema as the demo page (importing the page would run Streamlit calls).
SCHEMA = keyed(
    [
        IntParam("K", "Anchor components K", 3, 1, 10),
        FloatParam("noise", "Curation noise s", 0.5, 0.0, 2.0, 0.05),
        ChoiceParam("metric", "Metric", "js", ("js", "kl", "tv")),
        BoolParam("show_fit", "Show fits", True),
    ]
)
TIMEOUT = 30


def _run(query: dict[str, str] | None = None) -> AppTest:
    return run_page(APP, query)


def _plain(markdown: str) -> str:
    """Messages are Markdown-escaped for display; drop the escapes to compare text."""
    return markdown.replace("\\", "")


def _shown(at: AppTest) -> dict:
    return json.loads(at.json[0].proto.body)


def test_defaults_stay_out_of_the_url_and_changes_go_in() -> None:
    at = _run()
    assert _shown(at)["values"] == {"K": 3, "noise": 0.5, "metric": "js", "show_fit": True}
    assert dict(at.query_params.items()) == {}  # a link at the defaults is the bare page
    assert not at.warning
    at.slider(key="w_K").set_value(6).run()
    assert dict(at.query_params.items()) == {"K": "6"}
    at.slider(key="w_K").set_value(3).run()  # back at its default: out of the URL again
    assert dict(at.query_params.items()) == {}


def test_url_values_restore_widgets() -> None:
    at = _run({"K": "7", "noise": "1.25", "metric": "tv", "show_fit": "0", "lecture": "1"})
    assert at.slider(key="w_K").value == 7
    assert math.isclose(at.slider(key="w_noise").value, 1.25)
    assert at.selectbox(key="w_metric").value == "tv"
    assert at.toggle(key="w_show_fit").value is False
    assert at.toggle(key="w_lecture").value is True
    assert _shown(at)["lecture"] is True
    assert not at.warning


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("K", "abc"),
        ("K", "11"),
        ("K", "1e9"),
        ("K", "٣"),
        ("noise", "nan"),
        ("noise", "inf"),
        ("noise", "1e400"),
        ("metric", "<script>"),
        ("show_fit", "maybe"),
    ],
)
def test_invalid_url_value_falls_back_with_notice(key: str, raw: str) -> None:
    at = _run({key: raw})
    defaults = {"K": 3, "noise": 0.5, "metric": "js", "show_fit": True}
    assert _shown(at)["values"][key] == defaults[key]
    notices = [_plain(w.value) for w in at.warning]
    assert len(notices) == 1
    assert f"'{key}'" in notices[0]
    # The bad text is dropped from the URL (the default needs no URL entry).
    assert key not in at.query_params


def test_notice_disappears_once_the_visitor_changes_a_setting() -> None:
    at = _run({"K": "zzz"})
    assert len(at.warning) == 1
    at.slider(key="w_noise").set_value(1.0).run()
    assert not at.warning


def test_moving_a_slider_updates_the_url() -> None:
    at = _run()
    at.slider(key="w_K").set_value(6).run()
    assert at.query_params["K"] == "6"
    at.selectbox(key="w_metric").set_value("kl").run()
    assert at.query_params["metric"] == "kl"
    assert _shown(at)["values"]["K"] == 6


def test_url_written_by_one_session_restores_the_next() -> None:
    first = _run()
    first.slider(key="w_K").set_value(9).run()
    first.toggle(key="w_show_fit").set_value(False).run()
    url = {k: v for k, v in first.query_params.items()}
    second = _run(url)
    assert _shown(second)["values"] == _shown(first)["values"]


def test_preset_sets_widgets_and_url() -> None:
    at = _run()
    at.button(key="_ggmi_preset::Paper figure 2").click().run()
    assert _shown(at)["values"] == {"K": 5, "noise": 1.0, "metric": "kl", "show_fit": False}
    assert at.query_params["K"] == "5"
    assert at.slider(key="w_K").value == 5


def test_settings_file_upload_round_trips() -> None:
    schema_values = {"K": 8, "noise": 0.25, "metric": "tv", "show_fit": False}
    blob = settings_to_json(SCHEMA, schema_values, page="demo")
    at = _run()
    at.get("file_uploader")[0].set_value(("s.json", blob, "application/json")).run()
    assert not at.exception
    assert _shown(at)["values"] == schema_values
    assert at.query_params["K"] == "8"
    assert any("Loaded 4" in s.value for s in at.success)


@pytest.mark.parametrize(
    ("blob", "expected"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"[1, 2]", "JSON object"),
        (b'{"K": 99}', "out of range"),
        (b'{"noise": NaN}', "not allowed"),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    ],
)
def test_malformed_upload_gives_a_message_not_an_exception(blob: bytes, expected: str) -> None:
    at = _run()
    at.get("file_uploader")[0].set_value(("bad.json", blob, "application/json")).run()
    assert not at.exception
    errors = [_plain(e.value) for e in at.error]
    assert len(errors) == 1
    assert expected in errors[0]
    # Nothing was applied.
    assert _shown(at)["values"]["K"] == 3


def test_a_file_from_another_page_loads_and_names_what_it_ignores() -> None:
    blob = json.dumps({"settings": {"K": 6, "dist_projection": "pca", "gap_sweep": "J"}})
    at = _run()
    at.get("file_uploader")[0].set_value(("s.json", blob.encode(), "application/json")).run()
    assert not at.exception and not at.error
    assert _shown(at)["values"]["K"] == 6
    (message,) = [_plain(s.value) for s in at.success]
    assert "Loaded 1 setting" in message
    assert "'dist_projection', 'gap_sweep'" in message


def test_settings_json_rejects_bad_values_directly() -> None:
    schema = keyed([IntParam("K", "K", 3, 1, 10), BoolParam("b", "b", False)])
    assert parse_settings_json(b'{"settings": {"K": 4, "b": true, "x": 1}}', schema) == (
        {"K": 4, "b": True},
        ["x"],
    )
    with pytest.raises(ValueError, match="whole number"):
        parse_settings_json(b'{"K": true}', schema)
    with pytest.raises(ValueError, match="too large"):
        parse_settings_json(b" " * (70 * 1024), schema)


def test_params_parse_and_round_trip() -> None:
    k = IntParam("K", "K", 4, 2, 20, 2)
    assert k.parse(k.to_url(12)) == 12
    with pytest.raises(ValueError, match="grid"):
        k.parse("5")
    f = FloatParam("s", "s", 0.1, 0.0, 1.0)
    assert f.parse(f.to_url(0.1)) == 0.1
    c = ChoiceParam("m", "m", "a", ("a", "b"))
    with pytest.raises(ValueError, match="allowed: a, b"):
        c.parse("A")
    with pytest.raises(ValueError, match="too long"):
        c.parse("a" * 1000)


def two_schema_page() -> None:
    from ggmi_app.layout import page_setup
    from ggmi_app.params import IntParam
    from ggmi_app.state import show_url_notices, sidebar_controls

    page_setup("two schemas")
    sidebar_controls([IntParam("a", "a", 1, 0, 5)])
    sidebar_controls([IntParam("b", "b", 2, 0, 5)])
    show_url_notices()


def test_notices_of_several_schemas_on_one_page_survive_reruns() -> None:
    at = AppTest.from_function(two_schema_page, default_timeout=TIMEOUT)
    at.query_params.update({"a": "x", "b": "99", "lecture": "2"})
    at.run()
    assert not at.exception
    for _ in range(2):  # the first run and a rerun with nothing changed
        notices = sorted(_plain(w.value) for w in at.warning)
        assert [n.split("'")[1] for n in notices] == ["a", "b", "lecture"]
        at.run()
    # The visitor has moved on: the complaints about the old URL go.
    at.slider(key="w_a").set_value(3).run()
    assert not at.warning
