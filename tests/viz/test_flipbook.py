"""Flip-books: frames merged under an in-figure slider, and the plain active frame back."""

from __future__ import annotations

from collections import Counter

import plotly.graph_objects as go
import pytest

from ggmi_core.config import ScenarioConfig
from ggmi_core.scenario_report import view_from_result
from ggmi_core.simulation import simulate
from ggmi_viz.distributions import DEFAULT_LAYERS, scenario_figure
from ggmi_viz.export import slide_ready
from ggmi_viz.flipbook import flipbook_figure, is_flipbook, plain_frame
from ggmi_viz.phone import for_phone
from ggmi_viz.theme import LECTURE_FONT_SIZE, NORMAL_FONT_SIZE, apply_theme, slider_room


def _frame(index: int, traces: int) -> go.Figure:
    """A themed frame with ``traces`` named lines, one hidden from the legend, one only
    in the legend, a title and axis ranges of its own."""
    fig = go.Figure()
    for t in range(traces):
        fig.add_scatter(x=[0, 1], y=[index, t], name=f"line {t}")
    fig.data[0].showlegend = False
    fig.data[-1].visible = "legendonly"
    fig.update_layout(title=f"frame {index}")
    fig.update_xaxes(range=[0, index + 1], title="x")
    fig.update_yaxes(range=[-index, 10], title=f"y of {index}")
    return apply_theme(fig)


@pytest.fixture(scope="module")
def scenario_frames() -> list[go.Figure]:
    """Figure 2 for K = 1, 2, 3 (small samples): trace contents differ between frames."""
    frames = []
    for k in (1, 2, 3):
        config = ScenarioConfig(K=k, n_anchor_per_component=20, n_synthetic=60)
        view = view_from_result(simulate(config, rounds=1, metric="js", n_mc=500), 0)
        frames.append(scenario_figure(view, DEFAULT_LAYERS, lecture=True))
    return frames


def _owners(frames: list[go.Figure]) -> list[int]:
    return [i for i, frame in enumerate(frames) for _ in frame.data]


def test_each_step_shows_exactly_one_frames_traces() -> None:
    frames = [_frame(0, 2), _frame(1, 4), _frame(2, 3)]  # trace counts differ
    fig = flipbook_figure(frames, ["a", "b", "c"], 1, "n = ")
    owners = _owners(frames)
    assert len(fig.data) == 9
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["a", "b", "c"]
    for index, step in enumerate(steps):
        assert step.method == "update"
        mask = step.args[0]["visible"]
        shown = {owners[i] for i, vis in enumerate(mask) if vis is not False}
        assert shown == {index}
        own = [True, *([True] * (len(frames[index].data) - 2)), "legendonly"]
        assert [vis for vis, o in zip(mask, owners, strict=True) if o == index] == own
        assert step.args[1]["title.text"] == f"frame {index}"
        assert step.args[1]["xaxis.range"] == [0, index + 1]
        assert step.args[1]["yaxis.title.text"] == f"y of {index}"


def test_active_frame_is_visible_at_start_with_its_layout() -> None:
    frames = [_frame(0, 2), _frame(1, 4), _frame(2, 3)]
    fig = flipbook_figure(frames, ["a", "b", "c"], 2, "n = ")
    slider = fig.layout.sliders[0]
    assert slider.active == 2 and slider.currentvalue.prefix == "n = "
    assert [t.visible for t in fig.data] == list(slider.steps[2].args[0]["visible"])
    assert fig.layout.title.text == "frame 2"
    assert tuple(fig.layout.xaxis.range) == (0, 3)
    assert is_flipbook(fig) and is_flipbook(fig.to_dict())
    assert not is_flipbook(frames[0])
    # the inputs are left as they were
    assert frames[0].data[0].visible is None and not frames[2].layout.sliders


def test_legend_entries_are_unique_among_visible_traces(scenario_frames) -> None:
    fig = flipbook_figure(scenario_frames, ["1", "2", "3"], 1, "K = ", lecture=True)
    names = [t.name for t in fig.data]
    legend = [t.showlegend is not False for t in fig.data]
    all_entries = Counter(n for n, shown in zip(names, legend, strict=True) if shown)
    assert max(all_entries.values()) == 3  # every frame has the same entries...
    for step in fig.layout.sliders[0].steps:
        mask = step.args[0]["visible"]
        entries = [n for n, vis, shown in zip(names, mask, legend, strict=True) if shown and vis]
        assert entries and len(entries) == len(set(entries))  # ...but one frame is shown


def test_plain_frame_is_the_active_frame(scenario_frames) -> None:
    for lecture in (False, True):
        frames = [apply_theme(go.Figure(f), lecture) for f in scenario_frames]
        fig = apply_theme(
            flipbook_figure(frames, ["1", "2", "3"], 2, "K = ", lecture=lecture), lecture
        )
        plain = plain_frame(fig)
        assert plain.to_plotly_json()["data"] == frames[2].to_plotly_json()["data"]
        assert plain.layout.title == frames[2].layout.title
        assert plain.layout.margin == frames[2].layout.margin
        assert not plain.layout.sliders and not is_flipbook(plain)
        assert fig.layout.sliders  # the flip-book itself is unchanged


def test_phone_and_exports_get_the_plain_active_frame() -> None:
    frames = [_frame(0, 2), _frame(1, 4)]
    fig = flipbook_figure(frames, ["a", "b"], 0, "n = ")
    phone = for_phone(fig)
    assert not phone.layout.sliders and len(phone.data) == 2
    assert phone.to_plotly_json() == for_phone(frames[0]).to_plotly_json()
    slide = slide_ready(fig)
    assert not slide.layout.sliders and len(slide.data) == 2
    assert slide.to_plotly_json() == slide_ready(frames[0]).to_plotly_json()


@pytest.mark.parametrize("lecture", [False, True])
def test_slider_sits_between_title_and_plot_in_readable_type(lecture: bool) -> None:
    frames = [_frame(0, 2), _frame(1, 3)]
    fig = flipbook_figure(frames, ["a", "b"], 0, "n = ", lecture=lecture)
    slider = fig.layout.sliders[0]
    size = LECTURE_FONT_SIZE if lecture else NORMAL_FONT_SIZE
    assert slider.font.size == size and slider.currentvalue.font.size > size
    assert (slider.y, slider.yanchor) == (1.0, "bottom")  # on top of the plot area
    title = fig.layout.title
    # the title sits on the plot area too, padded by at least the slider's height, and the
    # fixed top margin holds toolbar row, title line, padding and slider (no automargin)
    assert (title.yref, title.y, title.yanchor, title.automargin) == ("paper", 1.0, "bottom", False)
    assert title.pad.b >= slider_room(lecture)
    title_line = title.font.size or fig.layout.template.layout.title.font.size
    assert fig.layout.margin.t >= title.pad.b + title_line
    again = apply_theme(go.Figure(fig), lecture)  # re-theming changes nothing
    assert again.to_plotly_json() == fig.to_plotly_json()


def test_bad_arguments_are_refused() -> None:
    frames = [_frame(0, 2), _frame(1, 2)]
    with pytest.raises(ValueError, match="one label per frame"):
        flipbook_figure(frames, ["a"], 0, "n = ")
    with pytest.raises(ValueError, match="active"):
        flipbook_figure(frames, ["a", "b"], 2, "n = ")
    with pytest.raises(ValueError, match="at least one frame"):
        flipbook_figure([], [], 0, "n = ")
