"""Bounded work end to end: every page prices a request before running it.

With ``GGMI_WORK_BUDGET`` set low, every computing page must refuse with a message that
says what to reduce (no traceback, no half-drawn result), and the sliders that set a
scenario count must not offer more scenarios than the budget allows. Long sweeps must
report progress, and a new interaction arriving mid-sweep must cancel the rest of it:
Streamlit stops a script only at its next ``st`` call, so the progress callback has to
be such a call.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from hardening_helpers import assert_no_leak, new_app, work_pages
from page_helpers import messages, plain
from streamlit.elements.progress import ProgressMixin
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from ggmi_app import bounds_page
from ggmi_app.scenario_params import sweep_values
from ggmi_app.state import WIDGET_PREFIX
from ggmi_core.bounds import default_sweep_values, estimate_bound_sweep_cost
from ggmi_core.budget import estimate_cost, estimate_sweep_cost, work_budget
from ggmi_core.config import ScenarioConfig

GAP_PAGE = "pages/2_KL_Gap_curves.py"
BOUNDS_PAGE = "pages/3_Bound_terms.py"
#: A small sweep of the gap page (6 values) with a metric Figure 4 never uses, so spies
#: can tell this sweep's calls from Figure 4's.
GAP_SWEEP = {
    "gap_sweep": "K",
    "gap_sweep_from": "2",
    "gap_sweep_to": "7",
    "gap_sweep_points": "6",
    "gap_rounds": "10",
    "metric": "tv",
    "n_mc": "500",
}


def _seed(name: str) -> str:
    """A seed no other test uses, so a cached result cannot skip the budget check."""
    return str(100_000 + zlib.crc32(name.encode()) % 1_000_000)


# ------------------------------------------------------------ refusal with advice


@pytest.mark.parametrize("page", work_pages())
def test_every_page_refuses_over_budget_work_and_says_what_to_reduce(
    page: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GGMI_WORK_BUDGET", "0.001")
    at = new_app(page, {"seed": _seed(page)})
    at.run()
    assert_no_leak(at)
    refusals = [e for e in messages(at, "error") if "Reduce" in e]
    assert refusals, messages(at, "error")
    for text in refusals:
        assert "allows" in text  # says the server's limit was the reason


def test_refusal_lifts_when_the_budget_allows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    page = "pages/1_Distributions.py"
    seed = _seed("lift")
    monkeypatch.setenv("GGMI_WORK_BUDGET", "0.001")
    at = new_app(page, {"seed": seed})
    at.run()
    assert any("Reduce" in e for e in messages(at, "error"))
    assert not at.get("plotly_chart")
    monkeypatch.delenv("GGMI_WORK_BUDGET")
    at.slider(key="w_noise_std").set_value(0.1).run()
    assert_no_leak(at)
    assert not messages(at, "error")
    assert at.get("plotly_chart")


# ----------------------------------------------------- sliders within the budget


def _gap_rounds_allowed(at: Any) -> int:
    """Scenarios per value the budget allows for the gap page's current sweep."""
    widgets = itertools.chain(at.slider, at.selectbox, at.number_input)
    values = {w.key.removeprefix(WIDGET_PREFIX): w.value for w in widgets}  # setting keys
    config = ScenarioConfig(
        **{k: values[k] for k in ScenarioConfig().to_dict() if k in values and k != "seed"}
    )
    xs = sweep_values(
        values["gap_sweep"],
        values["gap_sweep_from"],
        values["gap_sweep_to"],
        values["gap_sweep_points"],
    )
    per_round = estimate_sweep_cost(
        config, values["gap_sweep"], xs, 1, n_mc=values["n_mc"], metric=values["metric"]
    )
    return int(work_budget() // per_round)


def test_gap_page_rounds_slider_offers_no_more_than_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GGMI_WORK_BUDGET", "20")
    at = new_app(GAP_PAGE, {**GAP_SWEEP, "gap_sweep_to": "15", "gap_sweep_points": "14"})
    at.run()
    assert_no_leak(at)
    allowed = _gap_rounds_allowed(at)
    assert 10 <= allowed < 200  # the setting really is one where the cap matters
    assert at.slider(key="w_gap_rounds").max <= allowed


def test_gap_page_clamps_a_url_asking_for_more_scenarios_than_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GGMI_WORK_BUDGET", "20")
    query = {**GAP_SWEEP, "gap_sweep_to": "15", "gap_sweep_points": "14", "gap_rounds": "200"}
    at = new_app(GAP_PAGE, query)
    at.run()
    assert_no_leak(at)
    allowed = _gap_rounds_allowed(at)
    assert at.slider(key="w_gap_rounds").value <= allowed
    shown = " ".join(messages(at, "warning") + [plain(t.value) for t in at.toast])
    assert "gap_rounds" in shown or "Scenarios per value" in shown
    assert not [e for e in messages(at, "error") if "Reduce" in e]


def test_a_remembered_scenario_count_above_a_lowered_cap_does_not_crash_the_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by bench/load_test.py: leave the page with 200 scenarios chosen, change a shared
    setting elsewhere so the cap drops, come back. Streamlit has dropped the slider's state
    but the app's remembered copy (200) was drawn into a slider whose max is now lower."""
    monkeypatch.setenv("GGMI_WORK_BUDGET", "20")
    query = {k: v for k, v in GAP_SWEEP.items() if k != "gap_rounds"}
    at = new_app(GAP_PAGE, {**query, "gap_sweep_to": "15", "gap_sweep_points": "14"})
    at.session_state["_ggmi_saved::rounds"] = 200
    at.run()
    assert_no_leak(at)
    assert at.slider(key="w_gap_rounds").value <= _gap_rounds_allowed(at)
    assert at.get("plotly_chart")


def _bounds_allowed(at: Any, rounds_cost: Callable[[ScenarioConfig, int, str], float]) -> int:
    widgets = itertools.chain(at.slider, at.selectbox, at.number_input)
    values = {w.key.removeprefix(WIDGET_PREFIX): w.value for w in widgets}  # setting keys
    config = bounds_page.scenario_config(values)
    per_round = rounds_cost(config, values["n_mc"], values["metric"])
    return int(work_budget() // per_round)


def test_bounds_page_scenarios_slider_offers_no_more_than_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ggmi_core.bounds import estimate_bound_cost

    monkeypatch.setenv("GGMI_WORK_BUDGET", "0.5")
    at = new_app(BOUNDS_PAGE, {"n_mc": "1000"})
    at.run()
    assert_no_leak(at)
    allowed = _bounds_allowed(at, lambda c, n_mc, m: estimate_bound_cost(c, 1, n_mc, m))
    assert 5 <= allowed < 200
    assert at.slider(key="w_bounds_scenarios").max <= allowed


def test_bounds_sweep_scenarios_slider_offers_no_more_than_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GGMI_WORK_BUDGET", "2")
    query = {
        "bounds_tab": "How terms move",
        "bounds_move_param": "L",
        "bounds_move_points": "6",
        "n_mc": "1000",
    }
    at = new_app(BOUNDS_PAGE, {**query, "seed": _seed("sweep-cap")})
    at.run()
    assert_no_leak(at)

    def per_scenario(config: ScenarioConfig, n_mc: int, metric: str) -> float:
        grid = default_sweep_values(config, "L", 6)
        return estimate_bound_sweep_cost(config, "L", grid, 1, n_mc, metric)

    allowed = _bounds_allowed(at, per_scenario)
    assert 5 <= allowed < 100  # the sweep's own maximum is 100
    assert at.slider(key="w_bounds_move_scenarios").max <= allowed
    # The breakdown slider is priced for one setting, not six: it offers more.
    assert at.slider(key="w_bounds_scenarios").max > at.slider(key="w_bounds_move_scenarios").max


def test_bounds_page_clamps_scenarios_asked_for_above_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ggmi_core.bounds import estimate_bound_cost

    def one_setting(config: ScenarioConfig, n_mc: int, metric: str) -> float:
        return estimate_bound_cost(config, 1, n_mc, metric)

    monkeypatch.setenv("GGMI_WORK_BUDGET", "0.5")
    at = new_app(BOUNDS_PAGE, {"n_mc": "1000", "bounds_scenarios": "200", "seed": _seed("url-cap")})
    at.run()
    assert_no_leak(at)
    assert at.slider(key="w_bounds_scenarios").value <= _bounds_allowed(at, one_setting)
    # A URL asking for more than the budget allows is lowered, and the visitor told so.
    assert any("lowered to" in t.value for t in at.toast)
    assert not [e for e in messages(at, "error") if "Reduce" in e]
    # A lower budget (or costlier settings) drops the cap below the choice already made:
    # the choice is lowered to the new cap, with a toast.
    at.slider(key="w_bounds_scenarios").set_value(at.slider(key="w_bounds_scenarios").max).run()
    monkeypatch.setenv("GGMI_WORK_BUDGET", "0.2")
    at.slider(key="w_bounds_C").set_value(4.0).run()
    assert_no_leak(at)
    slider = at.slider(key="w_bounds_scenarios")
    assert slider.value == slider.max <= _bounds_allowed(at, one_setting)
    assert any("Scenarios lowered to" in plain(t.value) for t in at.toast)


def test_distributions_sliders_stay_within_the_default_budget() -> None:
    """The most expensive corner of the Distributions sliders still fits the default budget."""
    from ggmi_app.cached import TABLE_MC
    from ggmi_app.scenario_params import SCENARIO_SCHEMA
    from ggmi_core.budget import DEFAULT_WORK_BUDGET

    top = {p.name: p.max for p in SCENARIO_SCHEMA if hasattr(p, "max") and p.name != "seed"}
    corner = ScenarioConfig().replace(**top)
    cost = estimate_cost(corner, rounds=1, n_mc=4 * TABLE_MC, metric="kl_published")
    assert cost <= DEFAULT_WORK_BUDGET


# ------------------------------------------------------ progress and cancellation


@pytest.fixture
def interrupt_progress(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, int], list[str]]:
    """``interrupt(prefix, at)``: record progress texts, request a rerun at update ``at``.

    Only texts starting with ``prefix`` count. The rerun request is what the server does
    when a visitor moves a widget while the script runs; the script must stop at its next
    ``st`` call, and the progress update is such a call. The real method still runs.
    """
    real = ProgressMixin.progress

    def interrupt(prefix: str, at: int) -> list[str]:
        texts: list[str] = []

        def spy(self: Any, value: Any, text: str | None = None, **kw: Any) -> Any:
            if text and text.startswith(prefix):
                texts.append(text)
                if len(texts) == at:
                    ctx = get_script_run_ctx()
                    assert ctx is not None and ctx.script_requests is not None
                    ctx.script_requests.request_rerun(
                        RerunData(
                            query_string=ctx.query_string,
                            page_script_hash=ctx.page_script_hash,
                        )
                    )
            return real(self, value, text=text, **kw)

        monkeypatch.setattr(ProgressMixin, "progress", spy)
        return texts

    return interrupt


def _assert_interrupted_then_completed(texts: list[str], at: int, n: int, service: Any) -> None:
    """The run stopped at update ``at``, the rerun finished, nothing computed twice.

    With one worker, the jobs of the stopped run that had not started are withdrawn (the
    one running finishes); the rerun takes the finished ones from the cache and joins
    the running one.
    """
    assert texts[at - 1].endswith(f"({at} of {n})")
    assert texts[-1].endswith(f"({n} of {n})")
    assert len(texts) < at + n, "the rerun reused the values the stopped run computed"
    stats = service.stats()
    # Each job exactly once across both runs (the tab may hold other sweeps too).
    assert stats.computed == stats.entries >= n
    assert stats.withdrawn >= 1


def test_gap_sweep_reports_progress_and_a_new_interaction_cancels_it(
    interrupt_progress: Callable[[str, int], list[str]], fresh_compute: Callable[..., Any]
) -> None:
    service = fresh_compute(workers=1)
    texts = interrupt_progress("Sweeping K over 6 values", 2)
    at = new_app(GAP_PAGE, {**GAP_SWEEP, "seed": _seed("cancel-gap")})
    at.run()
    assert_no_leak(at)
    assert at.get("plotly_chart")
    _assert_interrupted_then_completed(texts, 2, 6, service)


def test_bounds_sweep_reports_progress_and_a_new_interaction_cancels_it(
    interrupt_progress: Callable[[str, int], list[str]], fresh_compute: Callable[..., Any]
) -> None:
    query = {
        "bounds_tab": "How terms move",
        "bounds_move_param": "noise_std",
        "bounds_move_points": "8",
        "bounds_move_scenarios": "5",
        "n_mc": "1000",
        "seed": _seed("cancel-bounds"),
    }
    service = fresh_compute(workers=1)
    texts = interrupt_progress("Sweeping noise_std over 8 values", 2)
    at = new_app(BOUNDS_PAGE, query)
    at.run()
    assert_no_leak(at)
    assert at.get("plotly_chart")
    _assert_interrupted_then_completed(texts, 2, 8, service)


def test_diagnostics_sweep_reports_progress_and_a_new_interaction_cancels_it(
    interrupt_progress: Callable[[str, int], list[str]], fresh_compute: Callable[..., Any]
) -> None:
    service = fresh_compute(workers=1)
    texts = interrupt_progress("Sweeping adherence over 6 values", 2)
    query = {"diag_scenarios": "5", "diag_permutations": "19", "n_synthetic": "40", "seed": "4321"}
    at = new_app("pages/4_Diagnostics.py", query)
    at.run()
    assert_no_leak(at)
    assert at.get("plotly_chart")
    _assert_interrupted_then_completed(texts, 2, 6, service)


def test_sweep_budget_is_checked_before_any_value_is_computed(
    monkeypatch: pytest.MonkeyPatch, fresh_compute: Callable[..., Any]
) -> None:
    """An over-budget sweep computes nothing at all (not the first values, then refuses)."""
    service = fresh_compute(workers=0)
    monkeypatch.setenv("GGMI_WORK_BUDGET", "0.01")
    for page, query in (
        (GAP_PAGE, {**GAP_SWEEP, "seed": _seed("nothing")}),
        (BOUNDS_PAGE, {"bounds_tab": "How terms move", "seed": _seed("nothing")}),
    ):
        at = new_app(page, query)
        at.run()
        assert_no_leak(at)
        assert any("Reduce" in e for e in messages(at, "error"))
    grid = default_sweep_values(ScenarioConfig(), "L", 6)
    assert estimate_bound_sweep_cost(ScenarioConfig(), "L", grid, 20, 2000, "js") > 0.01
    assert service.stats().computed == 0
