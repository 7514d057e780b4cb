"""The Diagnostics page driven through Streamlit AppTest: sweeps, example data, bad uploads."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from page_helpers import figure_titled as _figure
from page_helpers import figures as _figures
from page_helpers import run_page
from streamlit.testing.v1 import AppTest

from ggmi_app.diagnostics_page import SWEEP_GRIDS

PAGE = "pages/4_Diagnostics.py"
FAST = {"diag_scenarios": "5", "diag_permutations": "19", "n_synthetic": "100"}
DATA_TAB = {"diag_tab": "Your data"}


def _run(query: dict[str, str] | None = None) -> AppTest:
    return run_page(PAGE, query)


def _rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def _values(data: object) -> list[float]:
    """Trace data as floats; plotly ships numpy arrays as base64 typed arrays."""
    if isinstance(data, dict) and "bdata" in data:
        raw = base64.b64decode(data["bdata"])
        return np.frombuffer(raw, dtype=np.dtype(data["dtype"])).astype(float).tolist()
    return [float(v) for v in data]  # type: ignore[union-attr]


def _trace(fig: dict, name: str) -> dict:
    for trace in fig["data"]:
        if trace.get("name") == name:
            return trace
    raise AssertionError(f"no trace {name!r}")


def _plain(text: str) -> str:
    return text.replace("\\", "")


def _errors(at: AppTest) -> list[str]:
    return [_plain(e.value) for e in at.error]


# --------------------------------------------------------------------------- simulation


def test_default_simulation_tab_plots_hsic_and_entropies_against_adherence() -> None:
    at = _run(FAST)
    assert not at.error
    hsic = _figure(at, "Dependence of synthetic samples")
    mean = _trace(hsic, "mean HSIC")
    assert _values(mean["x"]) == list(SWEEP_GRIDS["adherence"])
    # Following the prompt more makes pairs more dependent.
    assert _values(mean["y"])[-1] > 5 * _values(mean["y"])[0]
    _figure(at, "Entropy of synthetic and anchor data")
    assert "diag_sweep" not in at.query_params
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels.count("Download data (CSV)") == 2


def test_paper_numbers_are_a_separate_table_marked_as_the_papers() -> None:
    at = _run(FAST)
    assert any("The paper's numbers" in h.value for h in at.subheader)
    table = at.dataframe[0].value
    assert table["HSIC"].head(3).tolist() == ["7.8703", "7.8668", "7.8502"]
    assert table["semantic entropy"].tolist()[-1] == "–"  # Llama-3.2-1B: no usable output
    # ... and never drawn on our axes.
    for fig in _figures(at):
        for trace in fig["data"]:
            if "y" in trace and not isinstance(trace["y"], dict):
                assert 7.8703 not in trace["y"]


def test_sweeping_n_k_and_moving_the_adherence_slider_changes_the_figure() -> None:
    at = _run({**FAST, "diag_sweep": "n_anchor_per_component", "adherence": "0.2"})
    before = _values(_trace(_figure(at, "Dependence"), "mean HSIC")["y"])
    assert _values(_trace(_figure(at, "Dependence"), "mean HSIC")["x"]) == list(
        SWEEP_GRIDS["n_anchor_per_component"]
    )
    at.slider(key="w_adherence").set_value(0.9)
    _rerun(at)
    after = _values(_trace(_figure(at, "Dependence"), "mean HSIC")["y"])
    assert at.query_params["adherence"] == "0.9"
    assert np.mean(after) > 3 * np.mean(before)


def test_an_oversized_sweep_is_refused_with_advice_not_run() -> None:
    at = _run({"n_synthetic": "600", "diag_scenarios": "50", "diag_permutations": "499"})
    assert any("Reduce the scenarios per value" in e for e in _errors(at))
    assert not at.get("plotly_chart")


def test_bad_url_values_fall_back_with_a_notice() -> None:
    at = _run({**FAST, "K": "9999", "diag_sweep": "<script>"})
    notices = " ".join(_plain(w.value) for w in at.warning)
    assert "K" in notices and "diag_sweep" in notices
    assert at.slider(key="w_K").value == 2


def test_lecture_mode_enlarges_figure_type() -> None:
    normal = _figure(_run(FAST), "Dependence")
    big = _figure(_run({**FAST, "lecture": "1"}), "Dependence")
    size = lambda f: f["layout"]["template"]["layout"]["font"]["size"]  # noqa: E731
    assert size(big) > size(normal)


# --------------------------------------------------------------------------- your data


def test_example_button_produces_numbers_and_figures() -> None:
    at = _run(DATA_TAB)
    assert not at.get("plotly_chart")
    assert any("Try the example data" in _plain(i.value) for i in at.info)
    at.button(key="dg_example").click()
    _rerun(at)
    assert not at.error
    assert any("example data" in _plain(s.value) for s in at.success)
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["p-value (permutation)"]) == pytest.approx(1 / 200)
    pca = _figure(at, "Principal-component projection of 8-D")
    assert [t["name"] for t in pca["data"]] == ["anchor (300)", "synthetic (300)"]
    _figure(at, "Is the pairing special?")
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download these numbers (CSV)" in labels


def test_unchecking_the_pairing_drops_hsic() -> None:
    at = _run(DATA_TAB)
    at.button(key="dg_example").click()
    _rerun(at)
    at.checkbox(key="dg_paired").uncheck()
    _rerun(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["HSIC"] == "not paired"
    assert len(at.get("plotly_chart")) == 1  # projection only


def _npy(array: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, **kw)
    return buf.getvalue()


def _csv(array: np.ndarray) -> bytes:
    buf = io.StringIO()
    np.savetxt(buf, array, delimiter=",")
    return buf.getvalue().encode()


GOOD = np.random.default_rng(0).normal(size=(40, 3))
_NAN = GOOD.copy()
_NAN[[3, 9], 1] = np.nan

BAD_UPLOADS = [
    ("empty.csv", b"", "is empty"),
    ("notes.txt", b"1,2\n" * 20, "unsupported file type .txt"),
    ("text.csv", b"name,x,y\n" + b"abc,1,2\n" * 20, 'non-numeric values in column(s) "name"'),
    ("holes.npy", _npy(_NAN), "2 of 40 rows contain missing, NaN or infinite values"),
    ("flat.npy", _npy(np.arange(40.0)), "1-D array of 40 values"),
    ("cube.npy", _npy(np.zeros((20, 3, 2))), "3-D array"),
    ("evil.npy", _npy(np.array([{"a": 1}] * 40, dtype=object), allow_pickle=True), "pickled"),
    ("few.csv", _csv(GOOD[:4]), "at least 10 samples"),
    ("garbage.parquet", b"PAR1\x00\x01not parquet", "not a Parquet file"),
    ("damaged.parquet", b"PAR1" + b"\x00" * 20 + b"PAR1", "not a readable Parquet file"),
    ("wide.csv", (",".join(["1"] * 3000) + "\n").encode() * 12, "3,000 columns"),
]


@pytest.mark.parametrize("name,data,needle", BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_malformed_anchor_upload_gives_a_message_and_nothing_breaks(name, data, needle) -> None:
    at = _run(DATA_TAB)
    at.file_uploader(key="dg_anchor_file").set_value((name, data, "application/octet-stream"))
    at.file_uploader(key="dg_synthetic_file").set_value(("ok.csv", _csv(GOOD), "text/csv"))
    _rerun(at)
    errors = _errors(at)
    assert len(errors) == 1 and needle in errors[0], errors
    assert errors[0].startswith("The anchor file cannot be used")
    assert not at.get("plotly_chart")
    # The rest of the page still works: the example button recovers after removing it.
    at.file_uploader(key="dg_anchor_file").set_value(None)
    at.button(key="dg_example").click()
    _rerun(at)
    assert not at.error and at.get("plotly_chart")


def test_mismatched_dimensions_are_named() -> None:
    at = _run(DATA_TAB)
    at.file_uploader(key="dg_anchor_file").set_value(("a.npy", _npy(GOOD), "x"))
    at.file_uploader(key="dg_synthetic_file").set_value(("s.npy", _npy(GOOD[:, :2]), "x"))
    _rerun(at)
    assert any("anchor file has 3 columns but the synthetic file has 2" in e for e in _errors(at))


def test_one_file_alone_asks_for_the_other() -> None:
    at = _run(DATA_TAB)
    at.file_uploader(key="dg_synthetic_file").set_value(("s.csv", _csv(GOOD), "text/csv"))
    _rerun(at)
    assert any("Upload the second file" in _plain(i.value) for i in at.info)
    assert not at.error


def test_unequal_row_counts_skip_hsic_and_explain_why() -> None:
    at = _run(DATA_TAB)
    at.file_uploader(key="dg_anchor_file").set_value(("a.csv", _csv(GOOD), "text/csv"))
    at.file_uploader(key="dg_synthetic_file").set_value(("s.csv", _csv(GOOD[:30] + 1), "text/csv"))
    _rerun(at)
    assert not at.error
    warning = " ".join(_plain(w.value) for w in at.warning)
    assert "HSIC is not computed" in warning and "random pairing" in warning
    assert {m.label: m.value for m in at.metric}["HSIC"] == "not paired"
    pca = _figure(at, "Principal-component projection")
    assert [t["name"] for t in pca["data"]] == ["anchor (40)", "synthetic (30)"]


def test_large_uploads_are_subsampled_server_side_with_a_notice() -> None:
    rng = np.random.default_rng(3)
    big = rng.normal(size=(1500, 4))
    at = _run(DATA_TAB)
    at.file_uploader(key="dg_anchor_file").set_value(("a.npy", _npy(big), "x"))
    at.file_uploader(key="dg_synthetic_file").set_value(("s.npy", _npy(big + 0.1), "x"))
    _rerun(at)
    notice = " ".join(_plain(i.value) for i in at.info)
    assert "1,500 and 1,500 rows" in notice and "at most 1,000 rows" in notice
    pca = _figure(at, "Principal-component projection")
    assert [t["name"] for t in pca["data"]] == ["anchor (1,000)", "synthetic (1,000)"]
    # Pairs stayed together: each synthetic row is its anchor row + 0.1 (p is minimal).
    assert float({m.label: m.value for m in at.metric}["p-value (permutation)"]) == 1 / 200


def test_permutation_slider_sets_the_p_value_resolution_and_the_null_histogram() -> None:
    at = _run({**DATA_TAB, "diag_data_permutations": "99"})
    at.button(key="dg_example").click()
    _rerun(at)
    assert float({m.label: m.value for m in at.metric}["p-value (permutation)"]) == 0.01
    null = _figure(at, "Is the pairing special?")
    assert len(_values(null["data"][0]["x"])) == 99
    at.slider(key="w_diag_data_permutations").set_value(299)
    _rerun(at)
    assert at.query_params["diag_data_permutations"] == "299"
    assert float({m.label: m.value for m in at.metric}["p-value (permutation)"]) == pytest.approx(
        1 / 300,
        rel=2e-3,  # shown with 3 significant digits
    )
    assert len(_values(_figure(at, "Is the pairing special?")["data"][0]["x"])) == 299


def test_both_tabs_follow_the_configured_work_budget(monkeypatch) -> None:
    monkeypatch.setenv("GGMI_WORK_BUDGET", "0.001")
    at = _run({**FAST, "seed": "4242"})
    assert any("Reduce" in e and "allows" in e for e in _errors(at))
    assert not at.get("plotly_chart")
    at = _run(DATA_TAB)
    at.button(key="dg_example").click()
    _rerun(at)
    assert any("Reduce" in e for e in _errors(at))
    assert not at.get("plotly_chart")
