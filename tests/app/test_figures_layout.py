"""show_figure, error boundaries and lecture mode, driven through Streamlit AppTest."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from ggmi_app import figures
from ggmi_viz.export import png_export_available
from ggmi_viz.theme import INTERACTIVE_HINT, LECTURE_FONT_SIZE, NORMAL_FONT_SIZE

TIMEOUT = 30


def figure_page() -> None:
    import pandas as pd
    import plotly.graph_objects as go

    from ggmi_app.figures import show_figure
    from ggmi_app.layout import page_setup

    lecture = page_setup("Figure demo")
    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[0.2, 0.1, 0.3], name="gap"))
    show_figure(fig, "gap curve/K", pd.DataFrame({"K": [1, 2, 3]}), lecture=lecture)


def failing_page() -> None:
    import streamlit as st

    from ggmi_app.messages import error_boundary

    with error_boundary("the sweep"):
        raise ValueError("rounds must be at most 500, got 10000")

    with error_boundary("broken figure"):
        raise RuntimeError("secret internal detail")
    st.write("page still alive")


def _run(page, query: dict[str, str] | None = None) -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_function(page, default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, at.exception
    return at


def _chart(at: AppTest) -> tuple[dict, dict]:
    proto = at.get("plotly_chart")[0].proto
    return json.loads(proto.spec), json.loads(proto.config)


def test_figure_gets_explicit_template_and_toolbar_png_config() -> None:
    at = _run(figure_page)
    spec, config = _chart(at)
    assert spec["layout"]["template"]["layout"]["font"]["size"] == 14
    assert config["toImageButtonOptions"] == {
        "format": "png",
        "filename": "gap-curve-K",
        "scale": 2,
    }
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download PNG", "Download SVG", "Download data (CSV)"]


def test_lecture_mode_from_url_enlarges_type() -> None:
    at = _run(figure_page, {"lecture": "1"})
    spec, _ = _chart(at)
    assert spec["layout"]["template"]["layout"]["font"]["size"] == LECTURE_FONT_SIZE
    assert LECTURE_FONT_SIZE > NORMAL_FONT_SIZE
    at.toggle(key="w_lecture").set_value(False).run()
    spec, _ = _chart(at)
    assert spec["layout"]["template"]["layout"]["font"]["size"] == NORMAL_FONT_SIZE
    assert "lecture" not in at.query_params  # off is the default


def test_lecture_mode_injects_its_css_and_normal_mode_does_not() -> None:
    def css(at: AppTest) -> str:
        return " ".join(h.proto.body for h in at.get("html"))

    at = _run(figure_page, {"lecture": "1"})
    assert "font-size: 20px" in css(at) and "stCaptionContainer" in css(at)
    at.toggle(key="w_lecture").set_value(False).run()
    assert "font-size: 20px" not in css(at)


needs_chromium = pytest.mark.skipif(
    not png_export_available()[0], reason="no Chromium on this machine"
)


def hinted_page() -> None:
    import plotly.graph_objects as go

    from ggmi_app.figures import show_figure
    from ggmi_viz.theme import INTERACTIVE_HINT

    fig = go.Figure(go.Scatter(x=[1, 2], y=[1, 2], name="a"))
    fig.add_trace(go.Scatter(x=[1, 2], y=[2, 1], name="b"))
    fig.update_layout(title="slide", legend_title_text=f"note<br>{INTERACTIVE_HINT}")
    show_figure(fig, "slide")


@needs_chromium
def test_svg_button_exports_a_slide_clean_vector_image(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[str, Callable[[], bytes]]] = []
    real = figures._image_maker

    def spy(fig: Any, name: str, fmt: str, failures: dict[str, str]) -> Callable[[], bytes]:
        maker = real(fig, name, fmt, failures)
        made.append((fmt, maker))
        return maker

    monkeypatch.setattr(figures, "_image_maker", spy)
    at = _run(hinted_page)
    spec, _ = _chart(at)
    assert INTERACTIVE_HINT in spec["layout"]["legend"]["title"]["text"]  # on screen
    svg = dict(made)["svg"]()  # what Streamlit runs when "Download SVG" is clicked
    assert svg.lstrip().startswith(b"<svg") and b"slide" in svg
    assert b"note" in svg and INTERACTIVE_HINT.encode() not in svg


def test_missing_chromium_shows_message_and_keeps_csv(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("GGMI_CHROMIUM", str(tmp_path / "absent"))
    at = _run(figure_page)
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download data (CSV)"]
    info = " ".join(i.value for i in at.info).replace("\\", "")
    assert "unavailable" in info and "camera icon" in info


def test_errors_become_messages_without_tracebacks() -> None:
    at = _run(failing_page)
    errors = [e.value.replace("\\", "") for e in at.error]
    assert len(errors) == 2
    assert "rounds must be at most 500" in errors[0]
    assert "Something went wrong" in errors[1]
    assert "secret internal detail" not in errors[1]
    assert at.markdown[-1].value == "page still alive"


ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
DESKTOP_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IPAD_SAFARI = (
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Safari/605.1.15"
)


@pytest.mark.parametrize(
    ("agent", "phone"),
    [
        (ANDROID_CHROME, True),
        (IPHONE_SAFARI, True),
        (DESKTOP_CHROME, False),
        (IPAD_SAFARI, False),
        ("", False),
        (None, False),
    ],
    ids=["android", "iphone", "desktop", "ipad", "empty", "none"],
)
def test_a_phone_is_told_by_mobi_in_its_user_agent(agent: str | None, phone: bool) -> None:
    from ggmi_app.layout import is_phone

    assert is_phone(agent) is phone


def two_trace_page() -> None:
    import plotly.graph_objects as go

    from ggmi_app.figures import show_figure
    from ggmi_app.layout import page_setup

    lecture = page_setup("Phone demo")
    fig = go.Figure([go.Scatter(x=[1, 2], y=[0, 1], name=n) for n in ("fit on anchor", "target")])
    fig.update_layout(title="A title long enough to need two lines on a phone screen, surely")
    show_figure(fig, "phone demo", lecture=lecture)


@pytest.mark.parametrize("phone", [True, False], ids=["phone", "desktop"])
def test_a_phone_sees_the_phone_layout_and_downloads_keep_the_desktop_one(
    monkeypatch: pytest.MonkeyPatch, phone: bool
) -> None:
    from ggmi_viz.phone import MODEBAR_ROOM

    downloaded: list[Any] = []
    real_row = figures._download_row

    def spy(fig: Any, *args: Any) -> None:
        downloaded.append(fig)
        real_row(fig, *args)

    monkeypatch.setattr(figures, "viewer_is_phone", lambda: phone)
    monkeypatch.setattr(figures, "_download_row", spy)
    at = _run(two_trace_page)
    spec, _ = _chart(at)
    legend = spec["layout"].get("legend", {})
    assert (legend.get("orientation") == "h") is phone
    assert ("<br>" in spec["layout"]["title"]["text"]) is phone
    assert (spec["layout"]["margin"]["t"] == MODEBAR_ROOM) is phone
    (exported,) = downloaded
    assert exported.layout.legend.orientation is None
    assert "<br>" not in exported.layout.title.text


def shared_figure_page() -> None:
    import plotly.graph_objects as go
    import streamlit as st

    from ggmi_app.figures import cached_figures, show_figure
    from ggmi_app.layout import page_setup

    lecture = page_setup("Shared demo")
    builds = st.session_state.setdefault("builds", [])

    def build() -> list[go.Figure]:
        builds.append(1)
        return [go.Figure(go.Scatter(x=[1, 2, 3], y=[3.0, 1.0, 2.0], name="gap"))]

    (shared,) = cached_figures("shared-demo", ("K", 3), lecture, build)
    st.session_state["shared_id"] = id(shared.figure)
    show_figure(shared, "shared demo", lecture=lecture)


def test_a_cached_figure_is_built_once_for_all_sessions_and_drawn_like_a_fresh_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import plotly.graph_objects as go

    from ggmi_viz.theme import apply_theme

    made: list[tuple[str, Callable[[], bytes]]] = []
    real = figures._image_maker
    monkeypatch.setattr(
        figures, "_image_maker", lambda *a: made.append((a[2], real(*a))) or made[-1][1]
    )
    conversions: list[int] = []
    to_dict = go.Figure.to_dict

    def counted(self: go.Figure) -> dict:
        conversions.append(id(self))
        return to_dict(self)

    monkeypatch.setattr(go.Figure, "to_dict", counted)
    figures._shared_figures.clear()
    first, second = _run(shared_figure_page), _run(shared_figure_page)
    # ... and turned into a plotly dict once: the second session's chart reused it.
    assert conversions.count(first.session_state["shared_id"]) == 1
    # Two sessions: the second found the first one's figure object and built nothing.
    assert first.session_state["builds"] == [1] and second.session_state["builds"] == []
    assert first.session_state["shared_id"] == second.session_state["shared_id"]
    fresh = apply_theme(go.Figure(go.Scatter(x=[1, 2, 3], y=[3.0, 1.0, 2.0], name="gap")))
    spec, _ = _chart(second)
    assert spec == json.loads(fresh.to_json())
    # Drawing it twice left it untouched; lecture mode is a different entry, not an edit.
    lecture = _run(shared_figure_page, {"lecture": "1"})
    assert lecture.session_state["builds"] == [1]
    assert _chart(lecture)[0]["layout"]["template"]["layout"]["font"]["size"] == (
        LECTURE_FONT_SIZE
    )
    assert _chart(_run(shared_figure_page))[0] == spec
    if png_export_available()[0]:
        png = dict(made)["png"]()
        assert png.startswith(b"\x89PNG")


def test_csv_bytes_and_lazy_data_are_made_only_when_the_csv_is_downloaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[Any] = []
    monkeypatch.setattr(figures, "dataframe_to_csv_bytes", lambda frame: made.append(frame))
    at = _run(figure_page)
    assert "Download data (CSV)" in [b.proto.label for b in at.get("download_button")]
    assert made == []  # a run that nobody downloads from pays nothing for the CSV


def test_the_slide_fit_script_uses_the_layout_constants() -> None:
    """The script is literal text (its CSP hash is in deploy/haproxy.cfg, and raw HTML must
    be constant), so it repeats the constants: they must agree."""
    from ggmi_app import layout

    script = layout._SLIDE_FIT_SCRIPT
    assert f"var MIN = {layout.SLIDE_MIN_HEIGHT_PX}, GAP = {layout.SLIDE_BOTTOM_GAP_PX}," in script
    assert f'PREFIX = "st-key-{layout.SLIDE_KEY_PREFIX}"' in script
    assert f"/st-key-{layout.SLIDE_KEY_PREFIX}([0-9]+)_/" in script
