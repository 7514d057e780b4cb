"""The Home diagram: five stages in order, hover explanations, the reverse bottleneck."""

from __future__ import annotations

import numpy as np

from ggmi_viz.home import STAGES, chain_figure, letters_table, stages_table


def _band(fig, startswith):
    (trace,) = [t for t in fig.data if (t.name or "").startswith(startswith)]
    return np.asarray(trace.y, dtype=float)


def _half_heights(y: np.ndarray, n: int) -> np.ndarray:
    """Half-heights per stage of a closed band outline (upper then lower edge)."""
    upper, lower = y[:n], y[n : 2 * n][::-1]
    return (upper - lower) / 2


def test_chain_has_the_five_stages_in_order_joined_by_arrows():
    fig = chain_figure()
    boxes = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(boxes) == 5
    assert [b.x0 < b.x1 for b in boxes] == [True] * 5
    assert sorted(b.x0 for b in boxes) == [b.x0 for b in boxes]
    labels = [
        a.text.replace("<br>", " ")
        for a in fig.layout.annotations
        if a.text and a.text.startswith("<b>")
    ]
    assert labels[:5] == [
        "<b>Anchor data</b>",
        "<b>Prompt</b>",
        "<b>Model M</b>",
        "<b>Curation</b>",
        "<b>Synthetic data</b>",
    ]
    arrows = [a for a in fig.layout.annotations if a.showarrow]
    assert len(arrows) == 5  # four links plus the knowledge inflow into the model


def test_every_stage_has_a_hover_explanation():
    fig = chain_figure()
    (hover,) = [t for t in fig.data if t.name == "stages"]
    assert len(hover.hovertext) == len(STAGES)
    for text, stage in zip(hover.hovertext, STAGES, strict=True):
        assert stage.label in text and len(text) > 40


def test_band_draws_a_reverse_bottleneck_and_the_dashed_one_never_recovers():
    fig = chain_figure()
    n = len(STAGES)
    gain = _half_heights(_band(fig, "information carried"), n)
    plain = _half_heights(_band(fig, "an ordinary bottleneck"), n)
    prompt, model = 1, 2
    assert gain[prompt] == gain.min()  # narrowest at the prompt
    assert gain[-1] > gain[0]  # synthetic data end up carrying more than the anchor data
    assert gain[model] > gain[prompt]
    assert np.all(np.diff(plain) <= 0)  # an ordinary bottleneck can only lose


def test_lecture_mode_enlarges_the_diagram_text_and_no_latex():
    normal, lecture = chain_figure(), chain_figure(lecture=True)
    size = lambda f: max(a.font.size or 0 for a in f.layout.annotations)  # noqa: E731
    assert size(lecture) > size(normal)
    assert lecture.layout.height > normal.layout.height
    for fig in (normal, lecture):
        assert "$" not in fig.to_json()


def test_letters_table_maps_our_letters_to_section_3_1():
    rows = {r["letter"]: r for r in letters_table()}
    assert list(rows)[:6] == ["K", "J", "L", "N_k", "n", "d"]
    # Section 3.1 calls the anchor-sampled count J and counts all of G with its K
    assert rows["K"]["Section 3.1 of the paper"] == "J"
    assert rows["J"]["Section 3.1 of the paper"].startswith("K - J")
    assert all(r["meaning here"] for r in rows.values())


def test_stages_table_holds_what_the_band_draws():
    fig = chain_figure()
    rows = stages_table()
    assert [r["stage"] for r in rows] == [s.label for s in STAGES]
    n = len(STAGES)
    drawn = _half_heights(_band(fig, "information carried"), n)
    scale = drawn[0] / rows[0]["information_sketch"]
    np.testing.assert_allclose(drawn, [r["information_sketch"] * scale for r in rows])
