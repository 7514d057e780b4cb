"""Flip-books: several precomputed frames of one figure, stepped in the browser.

A flip-book holds the traces of every frame in one plotly figure and an in-figure slider
(``layout.sliders``) whose steps use plotly's ``"update"`` method: a step swaps the
visible traces (a visibility mask) and the frame's title and axis ranges, all inside
plotly.js, so stepping never asks the server for anything. Frames may have different
numbers of traces (a figure with K components draws K of something), which plotly's
animation frames cannot handle; visibility masks can.

The server never learns where the visitor left the slider, so anything the server makes
from a flip-book (an image export, the phone layout) uses the *active* frame, the one
the slider starts on: ``plain_frame`` recovers it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import plotly.graph_objects as go

from ggmi_viz.theme import apply_theme

#: Key in ``layout.meta`` under which a flip-book keeps what ``plain_frame`` needs.
FLIPBOOK_META: Final[str] = "flipbook"
#: Layout keys a step may set besides the title: per axis, its range and title.
_AXIS_PREFIXES: Final[tuple[str, ...]] = ("xaxis", "yaxis")


def _own_visibility(trace: go.basedatatypes.BaseTraceType) -> bool | str:
    """A trace's visibility in its own frame (``True``, ``"legendonly"`` or ``False``)."""
    return True if trace.visible is None else trace.visible


def _step_layout(frame: go.Figure) -> dict[str, Any]:
    """The layout a step sets for ``frame``: its title text and every axis' range and title.

    An axis without a fixed range gets ``autorange`` back, so a frame that lets plotly
    choose is not drawn in the previous frame's range.
    """
    update: dict[str, Any] = {"title.text": frame.layout.title.text}
    for name in frame.layout:
        if not name.startswith(_AXIS_PREFIXES):
            continue
        axis = frame.layout[name]
        if axis.range is not None:
            update[f"{name}.range"] = list(axis.range)
            update[f"{name}.autorange"] = False
        else:
            update[f"{name}.autorange"] = True
        update[f"{name}.title.text"] = axis.title.text
    return update


def flipbook_figure(
    frames: Sequence[go.Figure],
    labels: Sequence[str],
    active: int,
    prefix: str,
    *,
    lecture: bool = False,
) -> go.Figure:
    """One figure holding every frame, showing ``frames[active]``, with a step per frame.

    Args:
        frames: the frames, each a complete figure (same axes; trace counts may differ).
            The layout of ``frames[active]`` is the flip-book's layout.
        labels: one short label per frame, shown under the slider's steps (e.g. "3").
        active: index of the frame shown first (the slider starts there).
        prefix: text before the current value above the slider (e.g. "K = ").
        lecture: lecture-mode theme (large type for the slider too).

    Returns:
        A new themed figure: the frames' traces in frame order, only the active frame's
        visible (hidden traces are out of the legend, so legend entries do not repeat),
        and ``layout.sliders[0]`` with one ``"update"`` step per frame. The inputs are
        not changed.

    Raises:
        ValueError: no frames, labels not one per frame, or ``active`` out of range.
    """
    if not frames:
        raise ValueError("a flip-book needs at least one frame")
    if len(labels) != len(frames):
        raise ValueError(f"need one label per frame: {len(labels)} labels, {len(frames)} frames")
    if not 0 <= active < len(frames):
        raise ValueError(f"active must index a frame (0..{len(frames) - 1}), got {active}")
    owners: list[int] = []
    own: list[bool | str] = []
    data: list[go.basedatatypes.BaseTraceType] = []
    for index, frame in enumerate(frames):
        for trace in frame.data:
            owners.append(index)
            own.append(_own_visibility(trace))
            data.append(trace)
    masks = [
        [vis if owner == index else False for owner, vis in zip(owners, own, strict=True)]
        for index in range(len(frames))
    ]
    fig = go.Figure(data=data, layout=frames[active].layout)
    for trace, vis in zip(fig.data, masks[active], strict=True):
        trace.visible = vis
    base = frames[active].layout
    meta = dict(base.meta) if isinstance(base.meta, dict) else {}
    meta[FLIPBOOK_META] = {
        "title": base.title.to_plotly_json(),
        "margin": base.margin.to_plotly_json(),
        "prefix": prefix,
    }
    steps = [
        {
            "method": "update",
            "label": str(label),
            "value": str(label),
            "args": [{"visible": mask}, _step_layout(frame)],
        }
        for label, mask, frame in zip(labels, masks, frames, strict=True)
    ]
    fig.update_layout(
        meta=meta,
        sliders=[{"name": FLIPBOOK_META, "active": active, "steps": steps,
                  "currentvalue": {"prefix": prefix, "visible": True}}],
    )  # fmt: skip
    return apply_theme(fig, lecture)


def is_flipbook(fig: go.Figure | dict[str, Any]) -> bool:
    """Whether ``fig`` (a figure or its dict) was made by ``flipbook_figure``."""
    layout = fig.get("layout", {}) if isinstance(fig, dict) else fig.layout.to_plotly_json()
    meta = layout.get("meta")
    return isinstance(meta, dict) and FLIPBOOK_META in meta and bool(layout.get("sliders"))


def plain_frame(fig: go.Figure | dict[str, Any]) -> go.Figure:
    """The flip-book's active frame as a plain figure (no slider); other figures copied.

    The traces are those of the frame the slider starts on, with their own visibility;
    the title and margin are the frame's own again (the slider's room above the plot is
    given back). ``fig`` itself is not changed.
    """
    out = go.Figure(fig)
    if not is_flipbook(out):
        return out
    slider = out.layout.sliders[0]
    step = slider.steps[slider.active or 0]
    visible = step.args[0]["visible"]
    kept = []
    for trace, vis in zip(out.data, visible, strict=True):
        if vis is not False:
            trace.visible = None if vis is True else vis
            kept.append(trace)
    out.data = kept
    meta = dict(out.layout.meta)
    saved = meta.pop(FLIPBOOK_META)
    out.layout.sliders = None
    out.layout.meta = meta or None
    out.layout.title = saved["title"]
    out.layout.margin = saved["margin"]
    return out
