"""Figure 2's size on the wire and its build time, for a few K.

For each K the Distributions page's default scenario (every other setting at its
default) is simulated once; then the contour surfaces (``scenario_contours``: grid and
Monte Carlo mass) and the themed figure drawn from them are timed separately, and the
figure's JSON (``plotly.io.to_json``, what the page sends per slider step) is measured,
in total and for its contour lines alone.

Run from the repo root::

    GGMI_WORKERS=0 python bench/bench_figure2_payload.py --K 2 8 15 --repeats 9

Measured 2026-12-02 (load 4-5 on 2 cores), default settings, figure JSON in KB when the
lines were sent as 240 x 240 float32 grids for plotly.js to contour -> as traced lines:
K = 2: 564 -> 61, K = 8: 1376 -> 131, K = 15: 1454 -> 185 (the contour lines alone:
534 -> 32, 1339 -> 94, 1408 -> 139). Drawing the figure from its surfaces costs ~1 ms
more per mixture (tracing), ``to_json`` ~6 ms less; the surfaces themselves are unchanged.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import plotly.graph_objects as go  # noqa: E402
import plotly.io as pio  # noqa: E402


def _median_seconds(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def measure(K: int, repeats: int) -> dict[str, float]:
    """Sizes (KB) and median times (ms) of Figure 2 at the default settings with this K."""
    from ggmi_app.cached import SCENARIO_METRIC, TABLE_MC
    from ggmi_app.distributions_page import DISPLAY_SCHEMA, layer_selection
    from ggmi_app.params import defaults
    from ggmi_app.scenario_params import SCENARIO_SCHEMA, scenario_config
    from ggmi_core.scenario_report import scenario_contours, view_from_result
    from ggmi_core.simulation import simulate
    from ggmi_viz.distributions import scenario_figure

    values = {**defaults((*SCENARIO_SCHEMA, *DISPLAY_SCHEMA)), "K": K}
    result = simulate(scenario_config(values), rounds=1, metric=SCENARIO_METRIC, n_mc=TABLE_MC)
    view = view_from_result(result, 0)
    layers, projection = layer_selection(values), values["projection"]
    t_surfaces, contours = _median_seconds(
        lambda: scenario_contours(view, layers, projection), repeats
    )
    t_draw, fig = _median_seconds(
        lambda: scenario_figure(view, layers, projection, contours=contours), repeats
    )
    t_json, text = _median_seconds(lambda: pio.to_json(fig), repeats)
    # The lines' share: the figure's JSON less that of the same figure without them.
    others = [
        t for t in fig.data if t.legendgroup not in contours.mass or t.name.endswith("(hover)")
    ]
    lines = len(text) - len(pio.to_json(go.Figure(data=others, layout=fig.layout)))
    return {
        "K": K,
        "figure_kb": len(text) / 1000,
        "lines_kb": lines / 1000,
        "surfaces_ms": 1000 * t_surfaces,
        "draw_ms": 1000 * t_draw,
        "to_json_ms": 1000 * t_json,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--K", type=int, nargs="+", default=[2, 8, 15])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    print("K  figure JSON (KB)  contour lines (KB)  surfaces (ms)  draw (ms)  to_json (ms)")
    for K in args.K:
        r = measure(K, args.repeats)
        print(
            f"{r['K']:<2} {r['figure_kb']:>16.0f} {r['lines_kb']:>19.0f} "
            f"{r['surfaces_ms']:>14.0f} {r['draw_ms']:>10.0f} {r['to_json_ms']:>13.0f}"
        )


if __name__ == "__main__":
    main()
