"""Metric and parameter records stay the single source: every use resolves to them."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from ggmi_app.gap_curves_page import SWEEP_SCHEMA
from ggmi_app.scenario_params import METRIC_PARAM, SWEEP_PARAMS
from ggmi_core.bounds import BOUND_SWEEP_PARAMS
from ggmi_core.config import FIELD_LIMITS, PARAM_LABELS, SWEEPABLE_PARAMS, ScenarioConfig
from ggmi_core.diagnostics import DIAGNOSTIC_SWEEP_PARAMS
from ggmi_core.metrics import METRIC_LABELS, METRIC_UNITS, METRICS, check_metric, get_metric
from ggmi_core.simulation import simulate
from ggmi_viz import gap_curves

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    [
        *(ROOT / "ggmi_core").rglob("*.py"),
        *(ROOT / "ggmi_viz").rglob("*.py"),
        *(ROOT / "ggmi_app").rglob("*.py"),
        *(ROOT / "pages").rglob("*.py"),
        *(ROOT / "bench").rglob("*.py"),
        ROOT / "app.py",
    ]
)


def _strings(node: ast.AST) -> list[str]:
    """String constants of a constant, or of a tuple/list/set of constants."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [s for item in node.elts for s in _strings(item)]
    return []


def _metric_keys_used(tree: ast.AST) -> list[str]:
    """Strings the code passes or compares as metric keys."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in ("metric", "metrics"):
            found += _strings(node.value)
        elif isinstance(node, ast.arguments):
            named = [*node.posonlyargs, *node.args]
            pairs = zip(named[len(named) - len(node.defaults) :], node.defaults, strict=True)
            found += [s for arg, d in pairs if arg.arg == "metric" for s in _strings(d)]
            kw = zip(node.kwonlyargs, node.kw_defaults, strict=True)
            found += [s for arg, d in kw if arg.arg == "metric" and d for s in _strings(d)]
        elif isinstance(node, ast.For) and getattr(node.target, "id", "") == "metric":
            found += _strings(node.iter)
        elif isinstance(node, ast.Compare) and getattr(node.left, "id", "") == "metric":
            found += [s for c in node.comparators for s in _strings(c)]
        elif isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            if any(k in METRICS for k in keys):  # a table keyed by metric: all keys must be
                found += [k for k in keys if isinstance(k, str)]
    return found


def test_every_metric_key_in_the_code_is_a_registered_metric():
    unknown = {
        str(path.relative_to(ROOT)): sorted(set(keys) - set(METRICS))
        for path in SOURCES
        if (keys := _metric_keys_used(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert {f: bad for f, bad in unknown.items() if bad} == {}


def test_the_scan_sees_metric_keys_where_they_are_used():
    # guards the test above against scanning nothing
    used = {k for path in SOURCES for k in _metric_keys_used(ast.parse(path.read_text()))}
    assert {"kl_published", "js"} <= used


def test_metric_records_are_complete_and_distinct():
    assert len({m.label for m in METRICS.values()}) == len(METRICS)
    assert len({m.gap_title for m in METRICS.values()}) == len(METRICS)
    for key, metric in METRICS.items():
        assert metric.key == key and metric.label and metric.short
        assert metric.unit in ("nats", "probability")
        assert metric.axis_title.endswith(f"({metric.unit})")
    assert sum(m.published for m in METRICS.values()) == 1


def test_figures_and_menus_offer_exactly_the_registered_metrics():
    for table in (METRIC_LABELS, METRIC_UNITS, gap_curves.METRIC_GAP_TITLES):
        assert list(table) == list(METRICS)
    menu = METRIC_PARAM
    assert tuple(menu.options) == tuple(METRICS)


@pytest.mark.parametrize("key", list(METRICS))
def test_each_metric_runs_and_its_pair_estimator_agrees_with_its_gap_estimator(key):
    metric = METRICS[key]
    result = simulate(ScenarioConfig(seed=1), rounds=2, metric=key, n_mc=4000)
    fit, target = result.fit_anchor[0], result.scenarios.target[0]
    pair = metric.divergence(fit, target, 4000, np.random.default_rng(2))
    se = np.hypot(pair.stderr, result.div_anchor_stderr[0])
    assert abs(pair.value - result.div_anchor[0]) < 5 * se + 1e-9


def test_unknown_metrics_and_too_many_dimensions_are_refused_by_name():
    with pytest.raises(ValueError, match="metric must be one of"):
        get_metric("kl_typo")
    limited = [k for k, m in METRICS.items() if m.max_dim is not None]
    for key in limited:
        with pytest.raises(ValueError, match=f"needs dim <= {METRICS[key].max_dim}"):
            check_metric(key, METRICS[key].max_dim + 1)


def test_every_sweepable_parameter_has_a_record_with_a_distinct_label():
    assert set(SWEEPABLE_PARAMS) <= set(FIELD_LIMITS)
    # each analysis's own list picks from the records marked sweepable
    for names in (SWEEP_PARAMS, DIAGNOSTIC_SWEEP_PARAMS, BOUND_SWEEP_PARAMS):
        assert set(names) <= set(SWEEPABLE_PARAMS)
    labels = [PARAM_LABELS[p] for p in SWEEPABLE_PARAMS]
    assert all(labels) and len(set(labels)) == len(labels)
    (menu,) = [p for p in SWEEP_SCHEMA if p.name == "sweep"]
    assert all(menu.labels[p] == FIELD_LIMITS[p].label for p in menu.options)
    # the letters of theory.md §3
    symbols = {p: FIELD_LIMITS[p].symbol for p in ("K", "J", "L", "n_anchor_per_component")}
    assert symbols == {"K": "K", "J": "J", "L": "L", "n_anchor_per_component": "N_k"}
