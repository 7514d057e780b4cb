"""The Bound-terms page driven through Streamlit AppTest: sliders move the right terms."""

from __future__ import annotations

import base64
import math
from pathlib import Path

import numpy as np
import pytest
from page_helpers import app_test, plain
from page_helpers import figure_titled as _figure
from page_helpers import figures as _figures
from streamlit.testing.v1 import AppTest

from ggmi_core.bounds import CAP_WARN_SHARE
from ggmi_viz.theme import LECTURE_FONT_SIZE

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "3_Bound_terms.py")
TIMEOUT = 30
FAST = {"bounds_scenarios": "10", "n_mc": "1000"}  # keep each run well under a second
GEN_TERM = "C·TV(D_M, D_gen) ↓"
TASK_TERM = "C·TV(D, D_M) ↓"


def _run(query: dict[str, str] | None = None) -> AppTest:
    at = app_test(PAGE, TIMEOUT)
    at.query_params.update({**FAST, **(query or {})})
    at.run()
    assert not at.exception, at.exception
    return at


def _bar(fig: dict, name: str) -> float:
    for trace in fig["data"]:
        if trace.get("name") == name and trace["type"] == "bar":
            return float(trace["y"][0])
    raise AssertionError(f"no bar {name!r}")


def _bar_by_x(fig: dict, x_start: str) -> float:
    for trace in fig["data"]:
        if trace["type"] == "bar" and str(trace["x"][0]).startswith(x_start):
            return float(trace["y"][0])
    raise AssertionError(f"no bar at {x_start!r}")


def _values(data: object) -> list[float]:
    """Trace data as a list; plotly sends numpy arrays as base64 typed arrays."""
    if isinstance(data, dict) and "bdata" in data:
        raw = base64.b64decode(data["bdata"])
        return np.frombuffer(raw, dtype=np.dtype(data["dtype"])).astype(float).tolist()
    return [float(v) for v in data]  # type: ignore[union-attr]


def _plain(text: str) -> str:
    return text.replace("\\", "")


def test_default_page_shows_three_figures_and_zero_generation_term() -> None:
    at = _run()
    assert not at.error
    lemma = _figure(at, "Lemma 3.1 holds in 10 of 10")
    assert _bar(lemma, GEN_TERM) == 0.0
    assert _bar(lemma, TASK_TERM) > 0.0
    info = _figure(at, "Information gain")
    assert _bar_by_x(info, "Δ_I") == pytest.approx(math.log(6))
    _figure(at, "Generalization gain")
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels.count("Download data (CSV)") == 3
    assert "noise_std" not in at.query_params  # at its default


def test_noise_slider_makes_the_generation_term_nonzero() -> None:
    at = _run()
    at.slider(key="w_noise_std").set_value(0.5).run()
    assert not at.exception
    gen = _bar(_figure(at, "Lemma 3.1"), GEN_TERM)
    assert 0.0 < gen <= 10.0
    assert at.query_params["noise_std"] == "0.5"
    at.slider(key="w_noise_std").set_value(1.5).run()
    assert _bar(_figure(at, "Lemma 3.1"), GEN_TERM) > gen


def test_adherence_lowers_information_gain_and_raises_shared_information() -> None:
    at = _run()
    at.slider(key="w_adherence").set_value(0.8).run()
    info = _figure(at, "Information gain")
    assert _bar_by_x(info, "Δ_I") < math.log(6)
    assert _bar_by_x(info, "I(e_M; e_p)") > 0.0


def test_loss_cap_slider_bounds_every_stacked_term() -> None:
    at = _run({"noise_std": "1.0"})
    at.slider(key="w_bounds_C").set_value(1.0).run()
    lemma = _figure(at, "Lemma 3.1")
    for name in (TASK_TERM, GEN_TERM):
        assert 0.0 <= _bar(lemma, name) <= 1.0
    assert "C = 1" in lemma["layout"]["yaxis"]["title"]["text"]


def test_url_restores_sliders_and_results() -> None:
    at = _run(
        {"K": "3", "L": "0", "J": "1", "noise_std": "0.25", "bounds_C": "5.0", "lecture": "1"}
    )
    assert at.slider(key="w_K").value == 3
    assert at.slider(key="w_L").value == 0
    assert at.slider(key="w_noise_std").value == pytest.approx(0.25)
    info = _figure(at, "Information gain")
    assert _bar_by_x(info, "Δ_I") == pytest.approx(math.log(4))
    lemma = _figure(at, "Lemma 3.1")
    assert _bar(lemma, GEN_TERM) > 0.0
    assert lemma["layout"]["template"]["layout"]["font"]["size"] == LECTURE_FONT_SIZE


def test_bad_url_values_give_notices_and_defaults() -> None:
    at = _run({"K": "lots", "noise_std": "9", "metric": "<b>x</b>"})
    notices = " ".join(_plain(w.value) for w in at.warning)
    assert "'K'" in notices and "'noise_std'" in notices and "'metric'" in notices
    assert at.slider(key="w_K").value == 2
    assert at.slider(key="w_noise_std").value == 0.0
    assert not at.error
    assert _figure(at, "Lemma 3.1")


def test_impossible_combination_is_an_error_message_not_a_traceback() -> None:
    at = _run({"K": "10", "J": "10", "L": "12", "n_synthetic": "20"})
    assert not at.exception
    assert any("n_synthetic" in _plain(e.value) for e in at.error)
    assert not at.get("plotly_chart")


def test_oversized_request_is_refused_with_advice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GGMI_WORK_BUDGET", "0.01")
    at = _run()
    assert any("Reduce" in _plain(e.value) for e in at.error)
    assert not at.get("plotly_chart")


def _trace(at: AppTest, name_start: str) -> dict:
    for fig in _figures(at):
        for trace in fig["data"]:
            if trace.get("name", "").startswith(name_start):
                return trace
    raise AssertionError(f"no trace named {name_start!r}")


def test_sweep_tab_plots_every_term_against_the_swept_parameter() -> None:
    at = _run(
        {
            "bounds_tab": "How terms move",
            "bounds_move_param": "noise_std",
            "bounds_move_points": "3",
        }
    )
    assert not at.error
    titles = [f["layout"]["title"]["text"] for f in _figures(at)]
    # J/L contrast and the Δ_I split first, then the four sweep panels, then Lemma 4.8
    assert titles[0].startswith("J and L raise") and titles[1].startswith("Where the information")
    assert titles[2].startswith("Trade-off") and len(titles) == 7
    assert titles[-1].startswith("Lemma 4.8")
    gen = _trace(at, GEN_TERM)
    assert _values(gen["x"]) == [0.0, 1.0, 2.0]
    y = _values(gen["y"])
    assert y[0] == 0.0 and y[0] < y[1] < y[2]
    for name in ("Δ_I = H(e_M | e_p) ↑", "δ = H(S_anchor) − H(S_gen) ↑", "JS gap ↑"):
        _trace(at, name)
    at.selectbox(key="w_bounds_move_param").set_value("L").run()
    gain = _trace(at, "Δ_I")
    assert _values(gain["y"]) == pytest.approx([math.log(4 + L) for L in _values(gain["x"])])
    assert at.query_params.get("bounds_move_param") is None  # L is the default
    button_ids = [b.proto.id for b in at.get("download_button")]
    assert any(i.endswith("bounds-sweep-L-tradeoff-csv") for i in button_ids)


def test_statements_tab_renders_each_statement_beside_numbers() -> None:
    at = _run({"bounds_tab": "Statements"})
    assert len(at.latex) == 7  # Lemma 4.8 joined the six statements
    text = " ".join(m.value for m in at.markdown)
    assert "holds in 10 of 10 scenarios" in text
    assert "not measurable" in text.lower()
    assert not at.get("plotly_chart")


def test_sweep_tab_explains_j_against_l_with_measured_curves() -> None:
    at = _run({"bounds_tab": "How terms move", "bounds_move_points": "3"})
    contrast = _figure(at, "J and L raise")
    traces = [t for t in contrast["data"] if t["name"].startswith("Δ_I")]
    j_gain, l_gain = (_values(t["y"]) for t in traces)
    assert j_gain == pytest.approx(l_gain)  # same Δ_I for the same J and L values
    task = [_values(t["y"]) for t in contrast["data"] if t["name"].startswith("C·TV(D, D_M)")]
    assert task[0][-1] < task[0][0] and task[1][-1] > task[1][0]
    text = " ".join(m.value for m in at.markdown)
    assert "Section 4.4" in text and "task" in text and "Lemma 3.1" in text
    lemma48 = _figure(at, "Lemma 4.8")
    names = [t["name"] for t in lemma48["data"]]
    assert any("m = 100" in n for n in names)
    assert "not from the paper" in text


def test_breakdown_explains_negative_entropy_drop_and_the_gain_scale() -> None:
    at = _run()
    text = _plain(" ".join(m.value for m in at.markdown))
    assert "H(e_M) = " in text and "Delta_I" in text
    assert "is negative" in text and "Definition 4.9" in text
    assert "capped" in text and "KL(G" in text


def test_loss_cap_share_is_shown_beside_the_bound_and_warned_about_when_large() -> None:
    quiet = _run()
    captions = plain(" ".join(c.value for c in quiet.caption))
    assert "Loss cap:" in captions and "under the synthetic fit" in captions
    assert not [w for w in quiet.warning if "loss cap" in plain(w.value)]
    noisy = _run({"bounds_C": "2", "noise_std": "1"})
    warnings = [plain(w.value) for w in noisy.warning if "loss cap" in plain(w.value)]
    assert len(warnings) == 1 and "trivially true" in warnings[0]
    share = float(warnings[0].split("%")[0])
    assert share > 100 * CAP_WARN_SHARE
