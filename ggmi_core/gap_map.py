"""The gap over two letters at once: where synthetic data helps and where it hurts.

The paper's Figure 4 (Section 4.4) sweeps one letter at a time with the other two at 2.
A *map* sweeps two letters over a grid with the third at its setting: the J x L plane
(K held) and the K x J plane (L held). Every cell is exactly
``simulate(config.replace(x=xv, y=yv), rounds, metric, n_mc)`` summarised as a sweep row
(``ggmi_core.simulation.gap_point``), so a map's row or column through the held letters'
values equals the one-letter sweep ``sweep(config, letter, values)`` at the same seed,
scenario count and Monte Carlo draws. The zero contour of the mean gap separates the
settings where the synthetic learner beats the anchor learner (gap > 0: synthetic data
help) from those where it loses (gap < 0: they hurt).

Not in the paper: it shows one-letter slices only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import contourpy
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ggmi_core.budget import estimate_cost
from ggmi_core.config import DEFAULT_N_MC, ScenarioConfig
from ggmi_core.resources import assets_dir
from ggmi_core.simulation import SUMMARY_COLUMNS, gap_point, run_in_pool

Array = NDArray[np.float64]

#: The two planes: key -> (x letter, y letter). The third letter is held at its setting.
PLANES: Final[dict[str, tuple[str, str]]] = {"JL": ("J", "L"), "KJ": ("K", "J")}
#: The letter each plane holds fixed.
HELD: Final[dict[str, str]] = {"JL": "K", "KJ": "L"}
#: The stored maps' grid: Figure 4's range 2..15 for both letters.
MAP_VALUES: Final[tuple[int, ...]] = tuple(range(2, 16))
#: The coarser grid a live map uses for settings that are not stored.
COARSE_VALUES: Final[tuple[int, ...]] = (2, 5, 8, 11, 15)
#: Scenarios per cell of the stored maps (paper scale: the issue asks for >= 500).
MAP_ROUNDS: Final[int] = 500
#: Divergences stored: exact Jensen-Shannon (the default) and total variation.
MAP_METRICS: Final[tuple[str, ...]] = ("js", "tv")
MAP_N_MC: Final[int] = DEFAULT_N_MC

#: Columns of a map table: the plane and its letters, the cell's letter values, the
#: sweep-row summary of ``SUMMARY_COLUMNS`` (its ``param``/``value`` name the x letter)
#: and the share of scenarios whose gap is positive.
MAP_COLUMNS: Final[tuple[str, ...]] = (
    "plane", "x", "y", "x_value", "y_value", "K", "J", "L",
    *SUMMARY_COLUMNS, "gap_positive_share",
)  # fmt: skip

Progress = Callable[[int, int], Any]


@dataclass(frozen=True)
class MapCell:
    """One cell to compute: its plane, letter values and the full setting."""

    plane: str
    x_value: int
    y_value: int
    config: ScenarioConfig


def check_plane(plane: str) -> tuple[str, str]:
    """The (x, y) letters of ``plane``; ValueError naming the allowed planes."""
    if plane not in PLANES:
        raise ValueError(f"plane must be one of {', '.join(PLANES)}; got {plane!r}")
    return PLANES[plane]


def map_cells(
    config: ScenarioConfig, plane: str, xs: Sequence[int], ys: Sequence[int]
) -> list[MapCell]:
    """The cells of one plane, y outer and x inner (each setting validated)."""
    x, y = check_plane(plane)
    if not list(xs) or not list(ys):
        raise ValueError("a map needs at least one value of each letter")
    return [
        MapCell(plane, int(xv), int(yv), config.replace(**{x: int(xv), y: int(yv)}))
        for yv in ys
        for xv in xs
    ]


def cell_row(cell: MapCell, summary: dict[str, Any], gaps: Array) -> dict[str, Any]:
    """A map-table row from a cell and ``gap_point``'s summary and per-scenario gaps."""
    x, y = PLANES[cell.plane]
    c = cell.config
    # The summary's sweep columns name this plane's x letter (a cell shared by two planes
    # is computed once, under either letter).
    summary = dict(summary) | {"param": x, "value": getattr(c, x)}
    return {
        "plane": cell.plane, "x": x, "y": y, "x_value": cell.x_value, "y_value": cell.y_value,
        "K": c.K, "J": c.J, "L": c.L, **summary,
        "gap_positive_share": float(np.mean(np.asarray(gaps) > 0)),
    }  # fmt: skip


def gap_map(
    config: ScenarioConfig,
    plane: str,
    xs: Sequence[int] = MAP_VALUES,
    ys: Sequence[int] = MAP_VALUES,
    rounds: int = MAP_ROUNDS,
    metric: str = "js",
    n_mc: int = MAP_N_MC,
    workers: int = 1,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """The gap over one plane: one ``MAP_COLUMNS`` row per cell (y outer, x inner).

    Args:
        config: the held letter and every other setting (its seed fixes every draw).
        plane: a key of ``PLANES``.
        xs, ys: values of the plane's x and y letters.
        rounds, metric, n_mc: as ``ggmi_core.simulation.simulate``.
        workers: processes (1 runs here); the numbers do not depend on it.
        progress: ``progress(done, total)`` after each finished cell.

    Returns:
        DataFrame, gaps in nats (``tv``: a probability).
    """
    cells = map_cells(config, plane, xs, ys)
    return map_table(run_cells(cells, rounds, metric, n_mc, workers, progress))


def run_cells(
    cells: Sequence[MapCell],
    rounds: int,
    metric: str,
    n_mc: int,
    workers: int = 1,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Map rows of ``cells`` (in order); each cell is one ``gap_point`` call, computed once
    even when two planes share it."""
    unique: dict[str, ScenarioConfig] = {}
    for cell in cells:
        unique.setdefault(config_key(cell.config), cell.config)
    keys = list(unique)
    results: dict[str, tuple[dict[str, Any], Array]] = {}
    jobs = [(unique[k], "K", rounds, metric, n_mc) for k in keys]
    if workers <= 1 or len(jobs) == 1:
        for i, (k, job) in enumerate(zip(keys, jobs, strict=True)):
            results[k] = gap_point(*job)
            if progress is not None:
                progress(i + 1, len(jobs))
    else:
        results = dict(zip(keys, run_in_pool(gap_point, jobs, workers, progress), strict=True))
    rows = []
    for cell in cells:
        summary, gaps = results[config_key(cell.config)]
        rows.append(cell_row(cell, summary, gaps))
    return rows


def map_table(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Rows as a DataFrame with exactly ``MAP_COLUMNS``."""
    return pd.DataFrame(list(rows), columns=list(MAP_COLUMNS))


def config_key(config: ScenarioConfig) -> str:
    """A text naming one exact setting (every field), to compute a shared cell once."""
    return repr(sorted(config.to_dict().items()))


# ----------------------------------------------------------------- reading a map


def plane_table(table: pd.DataFrame, plane: str) -> pd.DataFrame:
    """The rows of one plane, sorted y then x."""
    check_plane(plane)
    rows = table[table["plane"] == plane]
    if rows.empty:
        raise ValueError(f"the map table has no rows for plane {plane!r}")
    return rows.sort_values(["y_value", "x_value"]).reset_index(drop=True)


def grid(
    table: pd.DataFrame, plane: str, column: str = "gap_mean"
) -> tuple[NDArray[np.int64], NDArray[np.int64], Array]:
    """``(xs, ys, Z)`` of one plane: Z[i, j] is ``column`` at y = ys[i], x = xs[j]."""
    rows = plane_table(table, plane)
    wide = rows.pivot(index="y_value", columns="x_value", values=column)
    return (
        wide.columns.to_numpy(dtype=np.int64),
        wide.index.to_numpy(dtype=np.int64),
        wide.to_numpy(dtype=float),
    )


def zero_contour(xs: Sequence[float], ys: Sequence[float], z: Array) -> list[Array]:
    """The level-0 lines of ``z`` (shape (len(ys), len(xs))), each an (m, 2) array of
    (x, y) points, linearly interpolated between neighbouring cells (marching squares,
    traced with contourpy). Every point lies on the segment between two neighbouring
    cells whose gaps have opposite signs (or one is 0)."""
    z = np.asarray(z, dtype=float)
    if z.shape != (len(ys), len(xs)):
        raise ValueError(f"z must have shape (len(ys), len(xs)); got {z.shape}")
    if min(z.shape) < 2:
        return []
    generator = contourpy.contour_generator(
        np.asarray(xs, dtype=float), np.asarray(ys, dtype=float), z,
        line_type=contourpy.LineType.Separate,
    )  # fmt: skip
    return [np.asarray(line, dtype=float) for line in generator.lines(0.0)]


def slice_of(table: pd.DataFrame, plane: str, letter: str, held_value: int) -> pd.DataFrame:
    """The one-letter sweep inside a plane: ``letter`` varies, the plane's other letter
    is held at ``held_value`` (rows sorted by ``letter``)."""
    x, y = check_plane(plane)
    if letter not in (x, y):
        raise ValueError(f"plane {plane} varies {x} and {y}, not {letter}")
    other = y if letter == x else x
    rows = plane_table(table, plane)
    rows = rows[rows[other] == held_value]
    return rows.sort_values(letter).reset_index(drop=True)


def figure4_slices(plane: str) -> list[tuple[str, str, int]]:
    """The paper's one-letter slices lying in ``plane`` at its settings (the other
    letters at 2): ``(swept letter, held letter, held value)`` pairs."""
    x, y = check_plane(plane)
    return [(x, y, 2), (y, x, 2)]


def helps_share(table: pd.DataFrame, plane: str) -> float:
    """Share of the plane's cells whose mean gap is positive (synthetic data help)."""
    return float((plane_table(table, plane)["gap_mean"] > 0).mean())


# ----------------------------------------------------------------- stored maps

#: Where ``bench/make_gap_map.py`` writes the stored maps.
ASSETS: Final[Path] = assets_dir()


def stored_map_path(metric: str) -> Path:
    """The committed map table of ``metric`` (``assets/gap_map_<metric>.csv``)."""
    return ASSETS / f"gap_map_{metric}.csv"


@lru_cache(maxsize=len(MAP_METRICS))
def _read_map(metric: str) -> pd.DataFrame:
    path = stored_map_path(metric)
    if not path.is_file():
        raise FileNotFoundError(f"stored map {path.name} is missing; run bench/make_gap_map.py")
    return pd.read_csv(path)


def load_stored_map(metric: str) -> pd.DataFrame:
    """The stored map of ``metric`` (both planes, ``MAP_COLUMNS``); a copy."""
    if metric not in MAP_METRICS:
        raise ValueError(f"stored maps exist for {', '.join(MAP_METRICS)}; got {metric!r}")
    return _read_map(metric).copy()


def is_stored_setting(config: ScenarioConfig, metric: str, n_mc: int) -> bool:
    """True when the stored maps hold both planes of this setting: the held letters K (of
    the J x L plane) and L (of the K x J plane) at 2, every other field at its default
    (J is varied by both planes), a stored metric and the stored Monte Carlo draws."""
    return (
        metric in MAP_METRICS
        and n_mc == MAP_N_MC
        and config.replace(J=2) == ScenarioConfig()
        and stored_map_path(metric).is_file()  # a missing table: computed live instead
    )


# ----------------------------------------------------------------- live maps

#: Most scenarios a cell of a live (coarse) map uses; the work budget may lower it.
LIVE_ROUNDS: Final[int] = 30
#: Fewest scenarios a cell of a live map may use; below it the map is refused.
MIN_LIVE_ROUNDS: Final[int] = 5


def both_planes(
    config: ScenarioConfig, xs: Sequence[int] = COARSE_VALUES, ys: Sequence[int] = COARSE_VALUES
) -> list[MapCell]:
    """The cells of every plane of ``PLANES`` at ``config``'s held letters."""
    return [cell for plane in PLANES for cell in map_cells(config, plane, xs, ys)]


def map_cost(cells: Sequence[MapCell], rounds: int, n_mc: int, metric: str) -> float:
    """Work of computing ``cells`` (each distinct setting once), in the units of
    ``ggmi_core.budget.estimate_cost``."""
    unique = {config_key(c.config): c.config for c in cells}
    return sum(estimate_cost(c, rounds, n_mc, metric) for c in unique.values())
