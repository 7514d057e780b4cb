"""Figure-2 builders on hand-made mixtures: layers, part colours, exact projections."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from scipy.interpolate import RegularGridInterpolator
from scipy.stats import chi2

from ggmi_core.gmm import GMM
from ggmi_core.scenario_report import (
    MAX_GRID_SIZE,
    ScenarioView,
    divergence_table,
    enclosed_mass,
    level_lines,
    refine_grid_axes,
    scenario_contours,
    view_projection,
)
from ggmi_viz.distributions import (
    DEFAULT_LAYERS,
    LAYERS,
    MASS_LEVELS,
    MAX_POINTS_PER_GROUP,
    figure_data,
    level_crossings,
    projection_caption,
    scenario_figure,
    slide_divergence_table,
)
from ggmi_viz.theme import PART_COLORS, ROLE_COLORS


def handmade_view(K=2, J=2, L=2, d=2, n_k=40, n=150, seed=0) -> ScenarioView:
    """A scenario built by hand: G has K+J parts, M adds L, samples are labelled."""
    rng = np.random.default_rng(seed)

    def components(k):
        means = rng.uniform(0, 10, (k, d))
        a = rng.uniform(0, 1, (k, d, d))
        return means, a @ np.swapaxes(a, -1, -2) + 0.05 * np.eye(d)

    m_g, c_g = components(K + J)
    target = GMM(np.full(K + J, 1 / (K + J)), m_g, c_g)
    m_l, c_l = components(L)
    model = GMM(
        np.full(K + J + L, 1 / (K + J + L)),
        np.concatenate([m_g, m_l]),
        np.concatenate([c_g, c_l]),
    )
    anchor_labels = np.repeat(np.arange(K), n_k)
    anchor = np.concatenate(
        [GMM([1.0], m_g[k : k + 1], c_g[k : k + 1]).sample(n_k, rng) for k in range(K)]
    )
    synth, synth_labels = model.sample_with_labels(n, rng)
    fit_anchor = GMM(np.full(K, 1 / K), m_g[:K] + 0.1, c_g[:K] * 1.2)
    return ScenarioView(
        target=target,
        model=model,
        fit_anchor=fit_anchor,
        fit_synthetic=model,
        anchor_X=anchor,
        anchor_labels=anchor_labels,
        synth_X=synth,
        synth_labels=synth_labels,
        model_part=np.array([0] * K + [1] * J + [2] * L),
        gen=model,
    )


def _traces(fig, kind):
    return [t for t in fig.data if t.type == kind]


def _all_text(fig) -> str:
    return fig.to_json()


def _contour_lines(fig) -> list:
    """The traces that draw contour lines (their hover points are separate markers)."""
    return [t for t in _traces(fig, "scatter") if t.mode == "lines" and t.legendgroup in _MIXTURES]


_MIXTURES = {"target", "model", "gen", "fit_anchor", "fit_synthetic"}


def _pieces(trace) -> list[np.ndarray]:
    """A line trace's pieces, (n_i, 2) each, split at its gaps (NaN)."""
    xy = np.stack([np.asarray(trace.x, float), np.asarray(trace.y, float)], axis=1)
    breaks = np.flatnonzero(np.isnan(xy[:, 0]))
    chunks = [chunk[~np.isnan(chunk[:, 0])] for chunk in np.split(xy, breaks)]
    return [chunk for chunk in chunks if len(chunk)]


def _level_at(shown, key: str, points: np.ndarray) -> np.ndarray:
    """The drawn mass surface interpolated (bilinearly) at the points (n, 2)."""
    surface = RegularGridInterpolator((shown.ys, shown.xs), shown.mass[key].astype(float))
    return surface(points[:, ::-1])


def test_each_contour_layer_draws_lines_in_its_role_colour_at_both_levels():
    view = handmade_view()
    layers = {"target", "model", "fit_anchor", "fit_synthetic"}
    fig = scenario_figure(view, layers=layers)
    shown = scenario_contours(view, layers, "coordinates")
    lines = _contour_lines(fig)
    assert [t.legendgroup for t in lines] == list(shown.mass)  # one trace per mixture
    expected = {"target G", "model M", "fit on anchor", "fit on synthetic"}
    assert {t.name for t in lines} == expected
    for t in lines:
        assert t.line.color == ROLE_COLORS[t.name] and t.showlegend and t.hoverinfo == "skip"
        # every piece lies on the 50% or the 90% line of that mixture's mass surface,
        # and both levels are drawn
        levels = set()
        for piece in _pieces(t):
            values = _level_at(shown, t.legendgroup, piece)
            level = min(MASS_LEVELS, key=lambda q: abs(q - values[0]))
            np.testing.assert_allclose(values, level, atol=1e-4)
            levels.add(level)
        assert levels == set(MASS_LEVELS)
        mass = shown.mass[t.legendgroup]
        assert mass.min() >= 0.0 and mass.max() <= 1.0
        # the grid must reach beyond the 90% line, or the outer contour would be cut
        assert mass.max() > 0.95


@pytest.mark.parametrize("d", [2, 3])
def test_figure_2_sends_no_grid_for_the_browser_to_contour(d):
    fig = scenario_figure(handmade_view(d=d), layers=set(LAYERS), projection="pca")
    assert not {"contour", "histogram2dcontour", "heatmap"} & {t.type for t in fig.data}
    assert {t.legendgroup for t in _contour_lines(fig)} == _MIXTURES


def test_contour_lines_are_much_smaller_than_the_grids_they_replace():
    """The lines must cost far less than sending the surfaces for plotly.js to contour."""
    view = handmade_view(K=8, J=2, L=2, n=400)
    fig = scenario_figure(view)
    shown = scenario_contours(view, DEFAULT_LAYERS, "coordinates")
    # The same figure with each mixture's lines swapped for its grid as a contour trace
    # (float32, as the surfaces are kept): what the page sent before.
    line_ids = {id(t) for t in _contour_lines(fig)}
    assert len(line_ids) == len(shown.mass)
    grids = [
        go.Contour(x=shown.xs, y=shown.ys, z=shown.mass[t.legendgroup]) if id(t) in line_ids else t
        for t in fig.data
    ]
    as_grids = len(pio.to_json(go.Figure(data=grids, layout=fig.layout)))
    assert len(pio.to_json(fig)) < as_grids / 3


def test_toggling_layers_adds_and_removes_traces():
    view = handmade_view()
    only_g = scenario_figure(view, layers={"target"})
    # lines + their hover points (drawn as nothing)
    assert [(t.type, t.mode) for t in only_g.data] == [("scatter", "lines"), ("scatter", "none")]
    assert {t.legendgroup for t in only_g.data} == {"target"}
    nothing = scenario_figure(view, layers=set())
    assert len(nothing.data) == 0
    full = scenario_figure(view, layers=set(LAYERS))
    assert len(full.data) > len(scenario_figure(view, layers=DEFAULT_LAYERS).data)


def test_unknown_layer_is_refused():
    with pytest.raises(ValueError, match="unknown layer"):
        scenario_figure(handmade_view(), layers={"target", "moon"})


def test_synthetic_points_are_coloured_by_the_part_of_their_component():
    view = handmade_view(K=2, J=3, L=2, n=300)
    fig = scenario_figure(view, layers={"synthetic_samples", "anchor_samples"})
    scatters = _traces(fig, "scatter")
    anchor = [t for t in scatters if t.name.startswith("anchor")]
    synth = [t for t in scatters if t.name.startswith("synthetic")]
    assert len(anchor) == 1 and anchor[0].marker.color == PART_COLORS[0]
    assert len(anchor[0].x) == len(view.anchor_X)
    assert len(synth) == 3
    seen = 0
    for trace in synth:
        part = next(p for p, c in PART_COLORS.items() if c == trace.marker.color)
        components = np.asarray(trace.customdata) - 1  # 1-based in the hover
        assert set(view.model_part[components]) == {part}
        seen += len(trace.x)
    assert seen == len(view.synth_X)


def test_component_ellipses_come_one_trace_per_part_in_part_colours():
    view = handmade_view(K=2, J=1, L=3)
    fig = scenario_figure(view, layers={"components"})
    traces = _traces(fig, "scatter")
    assert [t.line.color for t in traces] == [PART_COLORS[0], PART_COLORS[1], PART_COLORS[2]]
    # one closed outline per component, separated by gaps
    assert [list(t.x).count(None) for t in traces] == [2, 1, 3]


def test_ellipse_has_the_2_sd_mahalanobis_radius():
    view = handmade_view(K=1, J=0, L=0)
    fig = scenario_figure(view, layers={"components"})
    (trace,) = _traces(fig, "scatter")
    pts = np.array([p for p in zip(trace.x, trace.y, strict=True) if p[0] is not None])
    mu, cov = view.model.means[0], view.model.covariances[0]
    diff = pts - mu
    maha = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
    np.testing.assert_allclose(maha, 4.0, rtol=1e-8)


def test_pca_figure_plots_the_projected_points_on_principal_axes():
    view = handmade_view(d=4, n=400)
    proj = view_projection(view, "pca")
    fig = scenario_figure(view, layers={"anchor_samples"}, projection="pca")
    (trace,) = _traces(fig, "scatter")
    np.testing.assert_allclose(trace.x, proj.points(view.anchor_X)[:, 0])
    assert "principal axis 1" in fig.layout.xaxis.title.text


def test_precomputed_contours_draw_the_same_figure():
    view = handmade_view(d=3)
    layers = {"target", "fit_anchor", "anchor_samples"}
    shown = scenario_contours(view, layers, "pca")
    given = scenario_figure(view, layers=layers, projection="pca", contours=shown)
    assert given.to_json() == scenario_figure(view, layers=layers, projection="pca").to_json()
    target = next(t for t in _contour_lines(given) if t.legendgroup == "target")
    expected = [
        line.astype(np.float32)
        for lines in level_lines(shown.xs, shown.ys, shown.mass["target"], MASS_LEVELS)
        for line in lines
    ]
    drawn = _pieces(target)
    assert len(drawn) == len(expected)
    for a, b in zip(drawn, expected, strict=True):
        np.testing.assert_array_equal(a, b)


def test_one_dimensional_view_draws_densities_that_integrate_to_one():
    view = handmade_view(d=1)
    fig = scenario_figure(view, layers={"target", "fit_anchor", "anchor_samples"})
    lines = [t for t in fig.data if t.mode == "lines"]
    assert {t.name for t in lines} == {"target G", "fit on anchor"}
    for t in lines:
        x, y = np.asarray(t.x), np.asarray(t.y)
        assert np.trapezoid(y, x) == pytest.approx(1.0, abs=0.01)
    rug = [t for t in fig.data if t.mode == "markers"]
    assert len(rug) == 1 and np.all(np.asarray(rug[0].y) < 0)
    assert fig.layout.yaxis.title.text.startswith("density")


def test_large_sample_groups_are_thinned_for_drawing():
    view = handmade_view(K=1, J=0, L=0, n=MAX_POINTS_PER_GROUP + 500)
    fig = scenario_figure(view, layers={"synthetic_samples"})
    (trace,) = _traces(fig, "scatter")
    assert len(trace.x) == MAX_POINTS_PER_GROUP


def test_no_latex_dollar_signs_and_axis_titles_name_data_units():
    for d in (1, 2, 3):
        fig = scenario_figure(handmade_view(d=d), layers=set(LAYERS), lecture=d == 3)
        assert "$" not in _all_text(fig)
        assert "data unit" in fig.layout.xaxis.title.text


def test_figure_data_lists_every_sample_with_its_part_and_projection():
    view = handmade_view(d=3)
    data = figure_data(view, "pca")
    assert len(data) == len(view.anchor_X) + len(view.synth_X)
    assert {"kind", "part", "component", "x1", "x2", "x3", "axis1", "axis2"} <= set(data.columns)
    synth = data[data.kind == "synthetic"]
    assert (
        synth.part.map(
            {"anchor-sampled part": 0, "unsampled part": 1, "task-irrelevant part": 2}
        ).to_numpy()
        == view.synth_part
    ).all()
    assert "principal axes" in projection_caption(view, "pca")
    assert "d = 1" in projection_caption(handmade_view(d=1))


def test_same_view_gives_the_same_figure():
    view = handmade_view()
    assert scenario_figure(view).to_json() == scenario_figure(view).to_json()


def test_gen_layer_draws_d_gen_in_its_own_style():
    view = handmade_view()
    fig = scenario_figure(view, layers={"gen", "model"})
    names = [t.name for t in fig.data]
    assert any(n.startswith("D_gen") for n in names) and any(n.startswith("model M") for n in names)
    dashes = {t.line.dash for t in _contour_lines(fig)}
    assert len(dashes) == 2


def test_contours_leave_hover_to_points_on_their_lines():
    """The lines answer no hover; invisible points on them carry the mixture's text."""
    view = handmade_view()
    layers = {"target", "anchor_samples"}
    fig = scenario_figure(view, layers=layers)
    (lines,) = _contour_lines(fig)
    assert lines.hoverinfo == "skip"
    hover = next(t for t in _traces(fig, "scatter") if t.name == "target G (hover)")
    # nothing drawn, yet each point answers a hover, with a label in the line's colour
    assert hover.mode == "none" and hover.hoveron == "points" and not hover.showlegend
    assert hover.hoverlabel.bgcolor == lines.line.color
    assert hover.legendgroup == lines.legendgroup  # hidden together from the legend
    # the hover points sit on the 50% and 90% lines of the drawn mass surface
    shown = scenario_contours(view, layers, "coordinates")
    mass, xs, ys = shown.mass["target"], shown.xs, shown.ys
    pts = np.stack([hover.x, hover.y], axis=1)
    ix = np.clip(np.searchsorted(xs, pts[:, 0]) - 1, 0, len(xs) - 2)
    iy = np.clip(np.searchsorted(ys, pts[:, 1]) - 1, 0, len(ys) - 2)
    cell_lo = np.minimum.reduce(
        [mass[iy, ix], mass[iy + 1, ix], mass[iy, ix + 1], mass[iy + 1, ix + 1]]
    )
    cell_hi = np.maximum.reduce(
        [mass[iy, ix], mass[iy + 1, ix], mass[iy, ix + 1], mass[iy + 1, ix + 1]]
    )
    level = np.where(np.asarray(hover.customdata) == "50%", 0.5, 0.9)
    assert np.all((cell_lo <= level) & (level <= cell_hi))
    assert set(hover.customdata) == {"50%", "90%"}


def test_level_crossings_of_a_radial_surface_lie_on_the_circle():
    xs = ys = np.linspace(-2, 2, 81)
    gx, gy = np.meshgrid(xs, ys)
    pts = level_crossings(xs, ys, np.hypot(gx, gy), 1.0)
    assert len(pts) > 50
    np.testing.assert_allclose(np.hypot(pts[:, 0], pts[:, 1]), 1.0, atol=2e-3)


def test_two_component_lines_pass_through_every_grid_crossing_of_their_level():
    """Traced lines and ``level_crossings`` find the same points where the grid crosses."""
    g = GMM([0.6, 0.4], [[0.0, 0.0], [2.2, 0.5]], np.stack([np.eye(2), 0.5 * np.eye(2)]))
    xs, ys = np.linspace(-4.0, 5.0, 97), np.linspace(-3.5, 3.5, 83)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    mass = enclosed_mass(g, grid, np.random.default_rng(1)).reshape(len(ys), len(xs))
    mass = mass.astype(np.float32)
    for level, lines in zip(MASS_LEVELS, level_lines(xs, ys, mass, MASS_LEVELS), strict=True):
        assert not np.any(mass == level)  # no vertex at a grid node: both see the same points
        vertices = np.unique(np.concatenate(lines).round(9), axis=0)
        crossings = np.unique(level_crossings(xs, ys, mass, level).round(9), axis=0)
        # level_crossings interpolates in the surface's float32, the lines in float64
        np.testing.assert_allclose(vertices, crossings, atol=1e-5)
        for line in lines:  # well inside the grid: every line closes on itself
            np.testing.assert_array_equal(line[0], line[-1])


def test_component_ellipses_answer_hovers_only_on_their_outline():
    fig = scenario_figure(handmade_view(), layers={"components"})
    assert {t.hoveron for t in _traces(fig, "scatter")} == {"points"}


def _thin_diagonal(minor_sd: float) -> GMM:
    """One component at 35 degrees through (5.02, 5): major sd 2, minor sd ``minor_sd``.

    Off the grid's own diagonal, so the ridge passes between grid nodes.
    """
    c, s = np.cos(np.radians(35.0)), np.sin(np.radians(35.0))
    rot = np.array([[c, -s], [s, c]])
    cov = rot @ np.diag([4.0, minor_sd**2]) @ rot.T
    return GMM([1.0], [[5.02, 5.0]], cov[None])


def _columns_seeing_the_50_percent_region(g: GMM, xs, ys) -> np.ndarray:
    """For each grid column within 1 of x = 5: does a grid node lie inside the 50% line?"""
    inside_logpdf = g.logpdf(np.array([[5.0, 5.0]]))[0] - chi2.ppf(0.5, 2) / 2
    logp = g.logpdf(np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)).reshape(len(ys), len(xs))
    return (logp > inside_logpdf).any(axis=0)[np.abs(xs - 5.0) < 1.0]


def test_refined_grid_is_fine_across_a_thin_component_and_keeps_the_ends():
    base = np.linspace(0.0, 10.0, 120)
    g = _thin_diagonal(0.02)
    xs, ys = refine_grid_axes(base, base, [g])
    for axis in (xs, ys):
        assert axis[0] == base[0] and axis[-1] == base[-1]
        assert np.all(np.diff(axis) > 0) and len(axis) <= MAX_GRID_SIZE
        # across the component (conditional sd 0.05 * sqrt(2)) the lines are several
        # times closer than the base spacing of 10 / 119
        near = np.abs(axis - 5.0) < 0.5
        assert np.diff(axis[near]).max() < (10 / 119) / 2
    # The base grid steps over the ridge in some columns (its contour breaks into
    # beads); the refined grid has a node inside the 50% region in every column.
    assert not _columns_seeing_the_50_percent_region(g, base, base).all()
    assert _columns_seeing_the_50_percent_region(g, xs, ys).all()


def test_refining_leaves_a_grid_alone_when_every_component_is_wide():
    base = np.linspace(-5.0, 5.0, 120)
    wide = GMM([0.5, 0.5], [[-1.0, 0.0], [1.0, 0.0]], np.stack([np.eye(2), np.eye(2)]))
    xs, ys = refine_grid_axes(base, base, [wide])
    np.testing.assert_array_equal(xs, base)
    np.testing.assert_array_equal(ys, base)


def test_slide_divergence_table_puts_each_value_beside_its_error():
    view = handmade_view()
    table = divergence_table(view, np.random.default_rng(3), n_mc=400)
    slide = slide_divergence_table(table)
    assert list(slide.columns[:2]) == ["divergence", "unit"]
    assert len(slide.columns) == 5 and len(slide) == len(table)
    for (_, row), (_, cells) in zip(table.iterrows(), slide.iterrows(), strict=True):
        values = [cells[c].split("\u00a0±\u00a0") for c in slide.columns[2:]]
        for (value, error), (v_col, e_col) in zip(
            values, [("anchor_fit", "anchor_fit_se"), ("synthetic_fit", "synthetic_fit_se"),
                     ("gap", "gap_se")], strict=True
        ):  # fmt: skip
            assert float(value) == pytest.approx(row[v_col], abs=5e-4)
            assert float(error) == pytest.approx(row[e_col], abs=5e-4)
