"""Every stored number the app's prose quotes is recomputed from its recipe, at the stored
seed; a changed stored number (or a change in the code behind it) fails here."""

from __future__ import annotations

import pandas as pd
import pytest

from ggmi_core import quoted as q
from ggmi_core import tour_data


def _params():
    for name, quote in q.QUOTES.items():
        marks = [pytest.mark.slow] if quote.slow else []
        yield pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", list(_params()))
def test_stored_quote_is_what_its_recipe_computes(name: str) -> None:
    quote = q.QUOTES[name]
    stored = quote.stored()
    assert stored, f"{quote.source} gave no values"
    assert q.mismatches(stored, quote.recompute()) == []


def test_a_changed_stored_number_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Edit one number of the stored exact-KL table: the recomputation disagrees."""
    original = tour_data.load_table("kl_exact")
    edited = original.copy()
    row = edited.index[(edited["param"] == "K") & (edited["value"] == 2)][0]
    edited.loc[row, "gap_median"] += 0.01

    def load(name: str) -> pd.DataFrame:
        return edited if name == "kl_exact" else tour_data.load_table.__wrapped__(name)

    monkeypatch.setattr(tour_data, "load_table", load)
    quote = q.QUOTES["kl_exact_base"]
    found = q.mismatches(quote.stored(), quote.recompute())
    assert len(found) == 1 and found[0].startswith("gap_median")


def test_mismatches_names_missing_and_differing_values() -> None:
    assert q.mismatches({"a": 1.0}, {"a": 1.0}) == []
    assert q.mismatches({"a": 1.0}, {"a": 1.0 + 1e-12}) == []
    assert q.mismatches({"a": 1.0}, {"a": 1.001})[0].startswith("a: stored")
    assert "missing from the recomputation" in q.mismatches({"a": 1.0, "b": 2.0}, {"a": 1.0})[0]


def test_quoted_reads_only_registered_quotes() -> None:
    with pytest.raises(KeyError, match="no stored quote"):
        q.quoted("made_up")
    assert q.quoted("kl_exact_base")["rounds"] == tour_data.KL_EXACT_ROUNDS


def test_the_tour_text_shows_the_stored_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tour's sentences read their numbers through ``quoted``: a different stored value
    shows up in the text."""
    from ggmi_app import tour_page

    step = next(s for s in tour_page.STEPS if s.figure == "estimator")
    before = tour_page.step_body(step)
    real = q.quoted

    def fake(name: str) -> dict[str, float]:
        values = real(name)
        return values | {"gap_median": -123.4} if name == "kl_exact_base" else values

    monkeypatch.setattr(tour_page, "quoted", fake)
    tour_page.numbers.cache_clear()
    try:
        after = tour_page.step_body(step)
    finally:
        tour_page.numbers.cache_clear()
    assert "-123.4" in after and "-123.4" not in before


def test_every_tour_step_formats_from_the_quoted_numbers() -> None:
    from ggmi_app import tour_page

    for step in tour_page.STEPS:
        body = tour_page.step_body(step)
        assert "{" not in body and "}" not in body
