"""Fixtures shared by the page tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ggmi_app import compute


@pytest.fixture
def fresh_compute(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., compute.ComputeService]]:
    """``fresh_compute(workers=...)``: give the pages a new, empty compute service.

    ``workers=0`` computes in the script's thread, where ``monkeypatch`` reaches the
    numerics; a pool runs them in worker processes, which it does not. The service is
    shut down after the test.
    """
    made: list[compute.ComputeService] = []

    def make(workers: int = 0) -> compute.ComputeService:
        service = compute.ComputeService(workers=workers)
        made.append(service)
        monkeypatch.setattr(compute, "_SERVICE", service)
        return service

    yield make
    for service in made:
        service.shutdown()
