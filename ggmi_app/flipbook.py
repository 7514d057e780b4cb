"""The Distributions page's flip-book: Figure 2 for a window of one letter's values.

The page's chart normally follows the sidebar through the server (one rerun a slider
step). A flip-book precomputes the figure for up to ``WINDOW`` values of K, J or L around
the sidebar's value and lets an in-figure slider step between them in the browser
(``ggmi_viz.flipbook``). Frames are ordinary cached scenarios (``scenario_view``), so a
frame the visitor later picks in the sidebar is already computed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ggmi_app.cached import scenario_cost, scenario_view
from ggmi_app.figures import SharedFigure, cached_figures
from ggmi_app.params import IntParam
from ggmi_app.scenario_params import SCENARIO_SCHEMA, scenario_config
from ggmi_core.budget import check_budget
from ggmi_core.config import ScenarioConfig
from ggmi_viz.distributions import scenario_figure
from ggmi_viz.flipbook import flipbook_figure

#: Most frames a flip-book holds (each is one full Figure 2).
WINDOW: Final[int] = 8


@dataclass(frozen=True)
class FlipWindow:
    """The frames of one flip-book: the letter, its values and their scenarios."""

    letter: str
    values: tuple[int, ...]
    configs: tuple[ScenarioConfig, ...]
    active: int  # index of the sidebar's value in ``values``


def _letter_param(letter: str) -> IntParam:
    for param in SCENARIO_SCHEMA:
        if param.name == letter and isinstance(param, IntParam):
            return param
    raise ValueError(f"the flip-book steps K, J or L, not {letter!r}")


def window_values(current: int, low: int, high: int, size: int = WINDOW) -> list[int]:
    """At most ``size`` consecutive whole numbers in ``[low, high]`` that hold ``current``.

    ``current`` sits a little left of the middle (three below it when it can), and the
    window slides inwards at either end of the range so it keeps ``size`` values.
    """
    if not low <= current <= high:
        raise ValueError(f"{current} is outside {low}..{high}")
    start = max(low, min(current - (size - 1) // 2, high - size + 1))
    return list(range(start, min(high, start + size - 1) + 1))


def flip_window(values: Mapping[str, Any], letter: str) -> FlipWindow:
    """The flip-book of ``letter`` around the sidebar's settings ``values``.

    Values outside the letter's slider range are never offered; values that do not
    make a valid scenario with the other settings (e.g. n < K + J + L) are skipped.

    Raises:
        ValueError: ``letter`` is not K, J or L, or the sidebar's settings are invalid.
    """
    param = _letter_param(letter)
    current = int(values[letter])
    kept: list[tuple[int, ScenarioConfig]] = []
    for value in window_values(current, param.min, param.max):
        try:
            kept.append((value, scenario_config({**values, letter: value})))
        except ValueError:
            if value == current:
                raise
    shown = tuple(value for value, _ in kept)
    return FlipWindow(letter, shown, tuple(c for _, c in kept), shown.index(current))


def check_flipbook_budget(window: FlipWindow) -> float:
    """Price every frame of ``window`` (each a whole scenario); raise when too big."""
    cost = sum(scenario_cost(config) for config in window.configs)
    check_budget(cost, what=f"This flip-book ({len(window.configs)} scenarios)")
    return cost


def _frame(config: ScenarioConfig, layers: tuple[str, ...], projection: str, lecture: bool) -> Any:
    """Figure 2 of ``config``, from (or into) the cache the page's plain chart uses.

    The key and the builder are the page's own, so a frame is the chart the page draws
    for that setting, and a window that moves by one value rebuilds no frame it shares.
    The shared figure is only read: ``flipbook_figure`` copies what it takes.
    """
    settings = config.to_dict()
    (shared,) = cached_figures(
        "figure2",
        (settings, layers, projection),
        lecture,
        lambda: [
            scenario_figure(
                scenario_view(settings),
                layers=set(layers),
                projection=projection,  # type: ignore[arg-type]
                lecture=lecture,
            )
        ],
    )
    return shared.figure


def flipbook_chart(
    window: FlipWindow, layers: tuple[str, ...], projection: str, lecture: bool
) -> SharedFigure:
    """The flip-book figure of ``window``, built once per setting for every session.

    Check the budget first (``check_flipbook_budget``): building computes every frame's
    scenario and its contour grids (frames seen before come from the chart cache).
    """

    def build() -> list[Any]:
        frames = [_frame(config, layers, projection, lecture) for config in window.configs]
        labels = [str(value) for value in window.values]
        prefix = f"{window.letter} = "
        return [flipbook_figure(frames, labels, window.active, prefix, lecture=lecture)]

    active = window.configs[window.active]
    key = (active.to_dict(), layers, projection, window.letter)
    (fig,) = cached_figures("figure2-flipbook", key, lecture, build)
    return fig
