"""bench/load_test.py only ever talks to a loopback server, and measures real run ends."""

from __future__ import annotations

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.load_test import check_loopback, page_paths, script_finished


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8501", "http://localhost:9000/", "http://[::1]:8501", "http://127.8.0.1"],
)
def test_loopback_urls_are_accepted(url: str) -> None:
    assert check_loopback(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5:8501",
        "http://example.org",
        "https://demo.example.org/ggmi",
        "http://0.0.0.0:8501",
        "http://127.0.0.1.nip.io:8501",
        "ftp://127.0.0.1",
        "http://localhost.evil.org",
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(SystemExit, match=r"loopback|http"):
        check_loopback(url)


def _frame(status: int) -> bytes:
    msg = ForwardMsg()
    msg.script_finished = status
    return msg.SerializeToString()


def test_only_a_final_end_of_run_message_counts() -> None:
    assert script_finished(_frame(ForwardMsg.FINISHED_SUCCESSFULLY))
    assert script_finished(_frame(ForwardMsg.FINISHED_WITH_COMPILE_ERROR))
    assert not script_finished(_frame(ForwardMsg.FINISHED_EARLY_FOR_RERUN))
    other = ForwardMsg()
    other.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
    other.ClearField("script_finished")
    other.page_not_found.page_name = "x"
    assert not script_finished(other.SerializeToString())
    assert not script_finished("text frame")
    assert not script_finished(b"\xff" * 10)


def test_every_page_file_has_a_url() -> None:
    paths = page_paths()
    assert paths["Home"] == ""
    assert {"Distributions", "KL_Gap_curves", "Bound_terms", "Diagnostics"} <= set(paths)
