"""Tour figures, assets and slides: assets match their recipes, slides are 1920x1080 PNGs."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from ggmi_core import tour_data
from ggmi_core.bounds import (
    LESSON_ROUNDS,
    N_GRID,
    bound_terms_without_scenarios,
    sample_size_table,
    sweep_bound_terms,
)
from ggmi_viz import tour
from ggmi_viz.export import png_export_available, png_size
from ggmi_viz.theme import LECTURE_FONT_SIZE, TEMPLATE_TRACE_TYPES


def test_bound_terms_survive_the_json_round_trip() -> None:
    terms = bound_terms_without_scenarios(
        tour_data.TOUR_CONFIG, 4, tour_data.TOUR_LOSS_CAP, 500, "js"
    )
    back = tour_data.terms_from_json(tour_data.terms_to_json(terms))
    pd.testing.assert_frame_equal(back.summary(), terms.summary())
    np.testing.assert_array_equal(back.bound_holds, terms.bound_holds)
    assert back.config == terms.config


def test_lemma31_asset_is_what_its_recipe_computes() -> None:
    fresh = bound_terms_without_scenarios(
        tour_data.TOUR_CONFIG, tour_data.BREAKDOWN_ROUNDS, tour_data.TOUR_LOSS_CAP,
        tour_data.TOUR_N_MC,
        tour_data.TOUR_METRIC,
    )  # fmt: skip
    pd.testing.assert_frame_equal(tour_data.load_lemma31_terms().summary(), fresh.summary())


def test_sample_size_asset_is_what_its_recipe_computes() -> None:
    sweep = sweep_bound_terms(
        tour_data.TOUR_CONFIG, "n_synthetic", list(N_GRID), LESSON_ROUNDS,
        tour_data.TOUR_LOSS_CAP, tour_data.TOUR_N_MC, tour_data.TOUR_METRIC,
    )  # fmt: skip
    stored = tour_data.load_table("sample_size")
    fresh = sample_size_table(tour_data.TOUR_CONFIG, sweep)
    pd.testing.assert_frame_equal(stored, fresh, check_dtype=False)


@pytest.mark.parametrize("figure_id", list(tour.FIGURES))
@pytest.mark.parametrize("lecture", [False, True])
def test_every_tour_figure_builds_with_data(figure_id: str, lecture: bool) -> None:
    inputs = tour_data.step_inputs(figure_id)
    fig = tour.step_figure(figure_id, inputs, lecture)
    assert fig.data
    assert len(tour.step_data(figure_id, inputs)) > 0
    # The slim template styles only these trace types; a new one must be added there.
    assert {trace.type for trace in fig.data} <= set(TEMPLATE_TRACE_TYPES)


def test_exact_kl_asset_has_the_figure4_grid() -> None:
    table = tour_data.load_table("kl_exact")
    assert set(table["param"]) == {"K", "J", "L"}
    for _, rows in table.groupby("param"):
        assert tuple(rows["value"]) == tour_data.KL_EXACT_VALUES
    assert (table["rounds"] == tour_data.KL_EXACT_ROUNDS).all()


def test_slide_names_are_numbered_and_safe() -> None:
    names = tour.slide_names(["The toy world", "Lemma 3.1, term by term"])
    assert names == ["01-the-toy-world.png", "02-lemma-3-1-term-by-term.png"]


def test_hints_are_removed_from_slide_figures() -> None:
    fig = tour.step_figure("world", tour_data.step_inputs("world"), lecture=False)
    assert "click" in (fig.layout.legend.title.text or "")
    cleaned = tour._without_hints(fig)
    assert "click" not in (cleaned.layout.legend.title.text or "").lower()


@pytest.mark.skipif(not png_export_available()[0], reason="no Chromium for PNG export")
def test_tour_slides_zip_holds_one_full_hd_png_per_step() -> None:
    from ggmi_app import tour_page

    data = tour_page._slides_zip()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert len(names) == len(tour_page.STEPS)
        for name in names:
            assert png_size(archive.read(name)) == (tour.SLIDE_WIDTH, tour.SLIDE_HEIGHT)
    assert (tour.SLIDE_WIDTH, tour.SLIDE_HEIGHT) == (1920, 1080)


def test_figure_ids_and_their_inputs_agree() -> None:
    """Every figure the tour draws has inputs in the core, and an unknown id is refused."""
    for figure_id in tour.FIGURES:
        assert tour_data.step_inputs(figure_id)
    with pytest.raises(ValueError, match="unknown tour figure"):
        tour_data.step_inputs("made_up")


@pytest.mark.parametrize("figure_id", sorted(tour.FIGURES))
def test_lecture_axis_titles_stay_short_and_full_size(figure_id: str) -> None:
    """A projected tour chart's axis titles keep the lecture body size and at most three
    lines: step 6's "KL Gap, exact KL(fit || G) (nats)" once wrapped to four lines and was
    shrunk to the least size; step 9's right title took three lines beside its ticks."""
    figure = tour.step_figure(figure_id, tour_data.step_inputs(figure_id), lecture=True)
    layout = figure.layout.to_plotly_json()
    for name, axis in layout.items():
        if not name.startswith(("xaxis", "yaxis")) or not isinstance(axis, dict):
            continue
        title = axis.get("title") or {}
        text = title.get("text") or ""
        lines = text.count("<br>") + 1 if text else 0
        limit = 2 if figure_id == "sample_size" else 3
        assert lines <= limit, (figure_id, name, text)
        # the theme shrinks a title too long for its panel, down to 14 px
        size = (title.get("font") or {}).get("size", LECTURE_FONT_SIZE)
        assert size >= LECTURE_FONT_SIZE, (figure_id, name, text, size)
