"""The map figure: one heatmap per plane, the labelled zero line, Figure 4's slices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ggmi_core import gap_map as gm
from ggmi_viz.gap_map import (
    CONTOUR_NAME,
    HELPS_LABEL,
    HURTS_LABEL,
    SLICE_NAME,
    gap_map_data,
    gap_map_figure,
)


def _table(plane_values: dict[str, np.ndarray]) -> pd.DataFrame:
    """A map table whose mean gap per plane is given on the grid 2..2+n (y rows, x cols)."""
    rows = []
    for plane, z in plane_values.items():
        x, y = gm.PLANES[plane]
        held = gm.HELD[plane]
        for i in range(z.shape[0]):
            for j in range(z.shape[1]):
                letters = {held: 2, x: 2 + j, y: 2 + i}
                rows.append(
                    {"plane": plane, "x": x, "y": y, "x_value": 2 + j, "y_value": 2 + i,
                     **letters, "param": x, "value": 2 + j, "metric": "js", "rounds": 7,
                     "gap_mean": z[i, j], "gap_sem": 0.01, "gap_positive_share": 0.5}
                )  # fmt: skip
    return gm.map_table(rows)


Z = np.array([[0.2, 0.1, 0.05, 0.1], [-0.1, 0.02, 0.1, 0.2], [-0.2, -0.1, 0.0, 0.1]])


@pytest.mark.parametrize("lecture", [False, True])
def test_each_plane_has_its_heatmap_zero_line_labels_and_slices(lecture):
    table = _table({"JL": Z, "KJ": -Z})
    fig = gap_map_figure(table, "js", lecture=lecture)
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 2
    np.testing.assert_allclose(np.asarray(heatmaps[0].z, float), Z)
    assert fig.layout.coloraxis.cmid == 0.0 and fig.layout.coloraxis.cmin == -0.2
    contours = [t for t in fig.data if t.name == CONTOUR_NAME]
    assert {t.xaxis for t in contours} == {"x", "x2"}
    assert sum(bool(t.showlegend) for t in contours) == 1
    labels = [a.text for a in fig.layout.annotations if "<b>" in (a.text or "")]
    assert sorted(labels) == sorted([f"<b>{HELPS_LABEL}</b>", f"<b>{HURTS_LABEL}</b>"] * 2)
    # Figure 4's slices: in J x L the row L = 2 (J swept) and the column J = 2 (L swept)
    slices = [t for t in fig.data if t.name == SLICE_NAME and t.xaxis == "x"]
    rows = {(tuple(np.asarray(t.x)), tuple(np.asarray(t.y))) for t in slices}
    assert ((2, 3, 4, 5), (2, 2, 2, 2)) in rows and ((2, 2, 2), (2, 3, 4)) in rows
    assert "JS gap" in fig.layout.title.text and "7 scenarios a cell" in fig.layout.title.text


def test_a_map_all_on_one_side_names_only_that_side():
    fig = gap_map_figure(_table({"JL": np.abs(Z) + 0.01}), "tv", planes=("JL",))
    labels = [a.text for a in fig.layout.annotations if "<b>" in (a.text or "")]
    assert labels == [f"<b>{HELPS_LABEL}</b>"]
    assert not [t for t in fig.data if t.name == CONTOUR_NAME]


def test_hover_names_the_cell_its_error_and_share_positive():
    fig = gap_map_figure(_table({"JL": Z}), "js", planes=("JL",))
    heat = next(t for t in fig.data if t.type == "heatmap")
    assert "J = %{x}, L = %{y}" in heat.hovertemplate and "standard error" in heat.hovertemplate
    assert np.asarray(heat.customdata).shape == (3, 4, 2)


def test_csv_data_is_the_map_table():
    table = _table({"JL": Z, "KJ": Z})
    pd.testing.assert_frame_equal(gap_map_data(table), table)


def test_an_empty_plane_list_is_refused():
    with pytest.raises(ValueError, match="at least one plane"):
        gap_map_figure(_table({"JL": Z}), "js", planes=())
