"""The Bound-terms page's prose comes from ``assets/content/bounds/``: every section is
used by the page, and every variant fills all its placeholders with computed numbers
(and uses every number it is given; the loader refuses otherwise)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ggmi_app import bounds_page, content
from ggmi_app.prose import prose
from ggmi_core.bounds import bound_terms
from ggmi_core.config import ScenarioConfig

PAGE_SOURCE = Path(bounds_page.__file__).read_text(encoding="utf-8")
CITATION = re.compile(r"\b(Section|Lemma|Theorem|Definition|Appendix|Figure)s? [0-9A-G]")


@pytest.mark.parametrize("name", [bounds_page.PAGE_TEXT, bounds_page.STATEMENTS_TEXT])
def test_every_section_of_the_pages_content_is_used_by_the_page(name: str) -> None:
    for part in content.sections(name):
        assert f'"{part}"' in PAGE_SOURCE, f"section '{part}' of {name}.md is never shown"


@pytest.fixture(scope="module", params=[(0.0, "js"), (0.5, "tv")], ids=["b0-js", "b05-tv"])
def terms(request: pytest.FixtureRequest):
    adherence, metric = request.param
    config = ScenarioConfig(adherence=adherence, seed=3)
    return bound_terms(config, rounds=3, n_mc=400, metric=metric)


def _filled(text: str) -> None:
    # No placeholder left (LaTeX's nested groups end in "}}", so look for whole pairs).
    assert not re.search(r"\{\{[^{}]*\}\}", text), text
    assert "nan" not in text.lower().split(), text


def test_every_variant_of_the_breakdown_text_is_filled(terms) -> None:
    reading = bounds_page._information_reading(terms)
    bridge = bounds_page._gain_bridge(terms)
    for text in (reading, bridge):
        _filled(text)
        assert CITATION.search(text)
    if terms.config.adherence == 0:
        assert "At adherence $b = 0$" in reading and "log 2" in bridge
    else:
        assert "At adherence $b = 0.5$" in reading and "log 2" not in bridge
    cap = bounds_page.cap_saturation_text(terms)
    assert cap is not None
    _filled(cap[0])


@pytest.mark.parametrize("config", [ScenarioConfig(), ScenarioConfig(J=15, L=15, dim=5)])
def test_both_lemma48_texts_are_filled(config: ScenarioConfig) -> None:
    text = bounds_page.sample_size_text(config)
    _filled(text)
    assert "Lemma 4.8 (Section 4.3)" in text and "stand-ins the synthetic shape" in text


def test_both_crossing_sentences_read_as_the_code_computes() -> None:
    assert prose(bounds_page.PAGE_TEXT, "sample_size_crossing", {"n": 123}).endswith("n = 123")
    assert "never" in prose(bounds_page.PAGE_TEXT, "sample_size_no_crossing")


def test_each_statement_names_its_result_in_the_paper() -> None:
    for part, text in content.sections(bounds_page.STATEMENTS_TEXT).items():
        if part in ("intro",):
            continue
        assert CITATION.search(text), part
