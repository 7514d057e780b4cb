"""Per-client turns for page runs (``ggmi_app.client.PageRunGate``), on a fake clock.

The replay against a real server is ``tests/test_rerun_flood.py``; these pin the rules:
turns per client at once, first come first served, the CPU share only under contention,
a waiting run that its session abandons, and the environment variables.
"""

from __future__ import annotations

import threading
import time

import pytest

from ggmi_app import client
from ggmi_app.client import (
    DEFAULT_PAGE_RUN_SHARE,
    DEFAULT_PAGE_RUNS,
    PageRunGate,
    page_run_share_from_env,
    page_runs_from_env,
)

FLOODER, VISITOR = "ip:203.0.113.66", "ip:198.51.100.7"


class Clock:
    """Monotonic seconds that move only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _gate(limit: int = 1, share: float = 0.5, wait_s: float = 0.3) -> tuple[PageRunGate, Clock]:
    clock = Clock()
    return PageRunGate(limit, share, burst_s=2.0, wait_s=wait_s, clock=clock), clock


def test_one_run_per_client_at_a_time_and_other_clients_are_not_held() -> None:
    gate = PageRunGate(1, 0.0, wait_s=0.2)
    assert gate.acquire(FLOODER)
    assert not gate.acquire(FLOODER)  # its second tab waits, then gives up
    assert gate.acquire(VISITOR)  # another client is not behind it
    gate.release(FLOODER)
    assert gate.acquire(FLOODER)
    assert (gate.running(FLOODER), gate.waiting(FLOODER)) == (1, 0)


def test_waiting_runs_of_a_client_go_in_the_order_they_came() -> None:
    gate = PageRunGate(1, 0.0, wait_s=10)
    assert gate.acquire(FLOODER)
    order: list[int] = []

    def tab(number: int) -> None:
        assert gate.acquire(FLOODER)
        order.append(number)
        gate.release(FLOODER)

    threads = []
    for number in range(4):
        thread = threading.Thread(target=tab, args=(number,))
        thread.start()
        threads.append(thread)
        deadline = time.monotonic() + 5
        while gate.waiting(FLOODER) < number + 1 and time.monotonic() < deadline:
            time.sleep(0.01)  # queued before the next one comes
    gate.release(FLOODER)
    for thread in threads:
        thread.join(10)
    assert order == [0, 1, 2, 3]
    assert (gate.running(FLOODER), gate.waiting(FLOODER)) == (0, 0)


def test_a_client_over_its_cpu_share_waits_only_while_others_use_the_server() -> None:
    gate, clock = _gate(share=0.5)
    # Alone on the server: five CPU seconds in a row (beyond the 2 s burst) never wait.
    for _ in range(5):
        assert gate.acquire(FLOODER)
        gate.release(FLOODER, 1.0)
    # Another client runs a page: the flooder (3 s in debt) now waits for its share.
    assert gate.acquire(VISITOR)
    gate.release(VISITOR, 0.05)
    assert not gate.acquire(FLOODER)
    assert gate.acquire(VISITOR)  # the visitor, within its share, is not held
    gate.release(VISITOR, 0.05)
    clock.now += 3.0 / 0.5  # the debt is paid back at half a CPU second a second
    assert gate.acquire(FLOODER)
    gate.release(FLOODER, 0.1)


def test_the_share_lapses_when_the_other_client_has_gone_quiet() -> None:
    gate, clock = _gate(share=0.5)
    assert gate.acquire(VISITOR)
    gate.release(VISITOR, 0.05)
    assert gate.acquire(FLOODER)
    gate.release(FLOODER, 4.0)
    clock.now += 1.0
    assert not gate.acquire(FLOODER)  # the visitor was here a second ago
    clock.now += client.CONTENTION_S  # still in debt, but nobody else is served
    assert gate.acquire(FLOODER)


def test_a_run_whose_session_asks_for_a_rerun_leaves_the_queue() -> None:
    gate = PageRunGate(1, 0.0, wait_s=10)
    assert gate.acquire(FLOODER)

    class Rerun(Exception):
        pass

    def check() -> None:
        raise Rerun

    with pytest.raises(Rerun):
        gate.acquire(FLOODER, check)
    assert gate.waiting(FLOODER) == 0


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        PageRunGate(0)
    with pytest.raises(ValueError, match="fraction"):
        PageRunGate(1, 1.5)


@pytest.mark.parametrize(
    ("environ", "runs", "share"),
    [
        ({}, DEFAULT_PAGE_RUNS, DEFAULT_PAGE_RUN_SHARE),
        ({"GGMI_PAGE_RUNS_PER_CLIENT": "0", "GGMI_PAGE_RUN_SHARE": "0"}, 0, 0.0),
        ({"GGMI_PAGE_RUNS_PER_CLIENT": "3", "GGMI_PAGE_RUN_SHARE": "0.8"}, 3, 0.8),
        ({"GGMI_PAGE_RUNS_PER_CLIENT": "-1", "GGMI_PAGE_RUN_SHARE": "2"}, 1, 0.25),
        ({"GGMI_PAGE_RUNS_PER_CLIENT": "many", "GGMI_PAGE_RUN_SHARE": "nan"}, 1, 0.25),
    ],
)
def test_limits_come_from_the_environment(
    environ: dict[str, str], runs: int, share: float
) -> None:
    assert page_runs_from_env(environ) == runs
    assert page_run_share_from_env(environ) == share


def test_a_run_without_a_network_client_is_never_held(monkeypatch: pytest.MonkeyPatch) -> None:
    gate = PageRunGate(1, 0.5, wait_s=0.1)
    monkeypatch.setattr(client, "page_run_gate", lambda: gate)
    assert gate.acquire(client.LOCAL_CLIENT)  # even with its one turn taken
    with client.page_run_turn():
        with client.page_run_turn():  # AppTest and bare mode: nothing to count
            pass


def test_a_page_run_holds_its_clients_turn_and_is_charged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate = PageRunGate(1, 0.5, wait_s=0.1)
    monkeypatch.setattr(client, "page_run_gate", lambda: gate)
    monkeypatch.setattr(client, "current_client", lambda: FLOODER)
    with client.page_run_turn():
        assert gate.running(FLOODER) == 1
    assert gate.running(FLOODER) == 0
    usage = gate._usage[FLOODER]  # charged at least the fixed cost of a run
    assert usage.tokens <= gate.burst_s - client.PAGE_RUN_OVERHEAD_S + 1e-6
