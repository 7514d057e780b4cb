"""Failures on real pages: no Chromium, a hanging renderer, errors inside cached calls.

Each test breaks one real function with ``monkeypatch`` (never a stub of a page) and
checks that the page degrades with a message, shows no traceback, and recovers on the
visitor's next interaction once the cause is gone.
"""

from __future__ import annotations

import asyncio
import importlib
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from hardening_helpers import assert_no_leak, new_app, page_files, visible_text
from page_helpers import messages

from ggmi_app import figures
from ggmi_core.budget import BudgetExceeded
from ggmi_viz import export
from ggmi_viz.export import PngExportError, png_export_available, png_size

SECRET = "secret internal detail 7f3a"

needs_chromium = pytest.mark.skipif(
    not png_export_available()[0], reason="no Chromium on this machine"
)


def _seed(name: str, high: int = 2**31 - 1) -> str:
    """A seed no other test uses (so the broken call is a cache miss), below ``high``."""
    return str(zlib.crc32(name.encode()) % high)


# --------------------------------------------------------------------- no Chromium


@pytest.mark.parametrize("page", page_files())
def test_without_chromium_every_chart_offers_the_toolbar_fallback(
    page: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("GGMI_CHROMIUM", str(tmp_path / "no-chromium-here"))
    at = new_app(page)
    at.run()
    assert_no_leak(at)
    charts = at.get("plotly_chart")
    assert charts, "the page draws its charts without a server-side browser"
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download PNG" not in labels
    fallbacks = [m for m in messages(at, "info") if "camera icon" in m]
    assert fallbacks and all("unavailable" in m for m in fallbacks)
    assert not messages(at, "error")


# ------------------------------------------------------------- a hanging renderer


@pytest.fixture
def png_makers(monkeypatch: pytest.MonkeyPatch) -> list[Callable[[], bytes]]:
    """Every PNG callable the page hands to its download buttons (the real ones)."""
    made: list[Callable[[], bytes]] = []
    real = figures._png_maker

    def spy(*args: Any, **kwargs: Any) -> Callable[[], bytes]:
        maker = real(*args, **kwargs)
        made.append(maker)
        return maker

    monkeypatch.setattr(figures, "_png_maker", spy)
    return made


@needs_chromium
def test_hanging_png_export_times_out_with_a_message_and_the_next_export_works(
    monkeypatch: pytest.MonkeyPatch, png_makers: list[Callable[[], bytes]]
) -> None:
    at = new_app("pages/1_Distributions.py")
    at.run()
    assert_no_leak(at)
    assert png_makers, "the page offers a PNG download"

    async def hang(k: Any, fig_dict: dict, opts: dict) -> bytes:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    with monkeypatch.context() as broken:
        broken.setattr(export, "_render", hang)
        broken.setattr(figures, "PNG_TIMEOUT_S", 2.0)
        # What Streamlit does when the visitor clicks "Download PNG".
        with pytest.raises(PngExportError, match="timed out"):
            png_makers[-1]()

    at.run()  # the next interaction shows what happened, the chart still drawn
    assert_no_leak(at)
    assert at.get("plotly_chart")
    warnings = [w for w in messages(at, "warning") if "last PNG export failed" in w]
    assert warnings and "timed out" in warnings[0] and "camera icon" in warnings[0]

    png_makers.clear()
    at.run()
    data = png_makers[-1]()
    width, height = png_size(data)
    assert width >= 2 * 600 and height >= 2 * 400  # scale 2 of a full-size figure
    at.run()
    assert not [w for w in messages(at, "warning") if "last PNG export failed" in w]


# ------------------------------------------------ exceptions inside cached calls


def _raiser(exc: BaseException) -> Callable[..., Any]:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return broken


#: Per page: the real function its cached call runs, a cheap URL, and the next
#: interaction (a slider key and its new value).
CASES: dict[str, tuple[str, dict[str, str], str, float]] = {
    "pages/1_Distributions.py": ("ggmi_core.simulation.simulate", {}, "noise_std", 0.05),
    "pages/2_KL_Gap_curves.py": (
        "ggmi_core.simulation.simulate",
        {
            "gap_sweep_from": "2",
            "gap_sweep_to": "4",
            "gap_sweep_points": "3",
            "gap_rounds": "10",
            "n_mc": "500",
        },
        "noise_std",
        0.05,
    ),
    "pages/3_Bound_terms.py": (
        "ggmi_core.bounds.bound_terms",
        {"bounds_scenarios": "10", "n_mc": "1000"},
        "noise_std",
        0.05,
    ),
    "pages/4_Diagnostics.py": (
        "ggmi_core.diagnostics.diagnostics_sweep",
        {"diag_scenarios": "5", "diag_permutations": "19", "n_synthetic": "40"},
        "noise_std",
        0.05,
    ),
}


def _patch_target(monkeypatch: pytest.MonkeyPatch, dotted: str, replacement: Any) -> None:
    # import_module, not attribute lookup: ggmi_core re-exports ``simulate`` the
    # function under the name of its module.
    module, name = dotted.rsplit(".", 1)
    monkeypatch.setattr(importlib.import_module(module), name, replacement)


def _assert_next_interaction_recovers(at: Any, slider: str, value: float) -> None:
    """The visitor's next move, with the cause gone, draws the page without an error."""
    at.slider(key=f"w_{slider}").set_value(value).run()
    assert_no_leak(at)
    assert not messages(at, "error")
    assert at.get("plotly_chart")


def _seed_query(page: str, tag: str) -> dict[str, str]:
    if "Diagnostics" in page:
        return {"seed": _seed(page + tag, 99_999)}
    return {"seed": _seed(page + tag)}


@pytest.mark.parametrize("page", sorted(p for p in CASES if p in page_files()))
@pytest.mark.parametrize(
    "exc",
    [RuntimeError(SECRET), MemoryError(SECRET), KeyError(SECRET)],
    ids=["RuntimeError", "MemoryError", "KeyError"],
)
def test_unexpected_error_in_a_cached_call_is_a_message_then_recovers(
    page: str,
    exc: BaseException,
    monkeypatch: pytest.MonkeyPatch,
    fresh_compute: Callable[..., Any],
) -> None:
    fresh_compute(workers=0)  # the numerics run where monkeypatch can break them
    target, query, slider, value = CASES[page]
    at = new_app(page, {**query, **_seed_query(page, type(exc).__name__)})
    with monkeypatch.context() as broken:
        _patch_target(broken, target, _raiser(exc))
        at.run()
    assert_no_leak(at)
    errors = messages(at, "error")
    assert any("Something went wrong" in e for e in errors), errors
    assert SECRET not in visible_text(at)

    _assert_next_interaction_recovers(at, slider, value)


@pytest.mark.parametrize("page", sorted(p for p in CASES if p in page_files()))
def test_budget_refusal_inside_a_cached_call_says_what_to_reduce_then_recovers(
    page: str, monkeypatch: pytest.MonkeyPatch, fresh_compute: Callable[..., Any]
) -> None:
    fresh_compute(workers=0)
    target, query, slider, value = CASES[page]
    refusal = BudgetExceeded("This request is too big for the server. Reduce the scenarios.")
    at = new_app(page, {**query, **_seed_query(page, "budget")})
    with monkeypatch.context() as broken:
        _patch_target(broken, target, _raiser(refusal))
        at.run()
    assert_no_leak(at)
    errors = messages(at, "error")
    assert any("Reduce the scenarios" in e for e in errors), errors

    _assert_next_interaction_recovers(at, slider, value)


def test_a_failed_call_is_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same settings right after a failure compute afresh instead of replaying it."""
    page = "pages/1_Distributions.py"
    at = new_app(page, _seed_query(page, "not-cached"))
    with monkeypatch.context() as broken:
        _patch_target(broken, "ggmi_core.simulation.simulate", _raiser(RuntimeError(SECRET)))
        at.run()
    assert any("Something went wrong" in e for e in messages(at, "error"))
    at.run()  # unchanged settings: a rerun (e.g. a reload) must not replay the failure
    assert_no_leak(at)
    assert not messages(at, "error")
    assert at.get("plotly_chart")
