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


# ------------------------------------------------ Home, Distributions, KL Gap, Diagnostics
# Their prose is in assets/content/<page>/page.md. Each page runs under AppTest in the
# states that show every section (the gap map, the flip-book, the N_k sweep at b = 0,
# the example data); every section must be shown, filled, in one of them.

ROOT = Path(__file__).resolve().parents[2]
SMALL_GAP = {"gap_rounds": "10", "gap_sweep_points": "4", "gap_sweep_from": "2",
             "gap_sweep_to": "5", "gap_map": "1", "n_synthetic": "100", "n_mc": "500"}  # fmt: skip
FAST_DIAG = {"diag_scenarios": "5", "diag_permutations": "19", "n_synthetic": "100"}
#: page content -> (its page script and component, the states (URL query, button to click)
#: that together show every section).
PAGE_PROSE: dict[str, tuple[tuple[str, ...], tuple[tuple[dict[str, str], str | None], ...]]] = {
    "home/page": (("pages/0_Home.py", "ggmi_app/home_page.py"), (({}, None),)),
    "distributions/page": (
        ("pages/1_Distributions.py", "ggmi_app/distributions_page.py"),
        (({"dist_flip": "K"}, None),),
    ),
    "gap_curves/page": (
        ("pages/2_KL_Gap_curves.py", "ggmi_app/gap_curves_page.py"),
        (({"gap_map": "1", "metric": "js"}, None), (SMALL_GAP, None)),
    ),
    "diagnostics/page": (
        ("pages/4_Diagnostics.py", "ggmi_app/diagnostics_page.py"),
        (
            ({**FAST_DIAG, "diag_sweep": "n_anchor_per_component", "adherence": "0"}, None),
            ({"diag_tab": "Your data"}, "dg_example"),
        ),
    ),
}
TEXT_ELEMENTS = ("markdown", "caption", "info", "warning")
MENTIONS_THE_PAPER = re.compile(r"\b(the paper|paper's)\b")


def _words(text: str) -> str:
    return " ".join(text.split())


def _pattern(raw: str) -> re.Pattern[str]:
    """A section's words with each placeholder matching whatever filled it."""
    pieces = re.split(r"\{\{[^{}]*\}\}", _words(content.plain_text(raw)))
    return re.compile("(.+?)".join(re.escape(p) for p in pieces), re.DOTALL)


def _shown_texts(page: str, query: dict[str, str], click: str | None) -> list[str]:
    from page_helpers import app_test

    at = app_test(page, timeout=300)
    at.query_params.update(query)
    at.run()
    if click is not None:
        at.button(key=click).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    texts: list[str] = []

    def walk(node) -> None:  # every text element, in tabs, columns and expanders too
        if getattr(node, "type", None) in TEXT_ELEMENTS:
            texts.append(node.value)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return texts


@pytest.mark.parametrize("name", list(PAGE_PROSE))
def test_every_section_of_a_pages_content_is_named_by_its_code(name: str) -> None:
    files, _ = PAGE_PROSE[name]
    source = "".join((ROOT / f).read_text(encoding="utf-8") for f in files)
    for part in content.sections(name):
        assert f'"{part}"' in source, f"section '{part}' of {name}.md is never shown"


@pytest.mark.parametrize("name", list(PAGE_PROSE))
def test_every_section_is_shown_filled_and_cites_the_paper(name: str) -> None:
    files, states = PAGE_PROSE[name]
    shown = [
        _words(text) for query, click in states for text in _shown_texts(files[0], query, click)
    ]
    for text in shown:  # nothing left unfilled (LaTeX's nested groups have a brace inside)
        assert not re.search(r"\{\{[^{}]*\}\}", text), text
        assert "<!--" not in text, text
    for part, raw in content.sections(name).items():
        found = [text for text in shown if _pattern(raw).search(text)]
        assert found, f"section '{part}' of {name}.md is not on the page in {states}"
        for text in found:  # the element as shown: a continuation leans on its lead's cite
            if MENTIONS_THE_PAPER.search(text):
                assert CITATION.search(text), f"{name}.md '{part}' speaks of the paper uncited"


def test_the_gap_curves_notes_have_no_latex_and_fill_from_the_stored_rows() -> None:
    from ggmi_app import gap_curves_page

    assert all("$" not in raw for raw in content.sections(gap_curves_page.PAGE_TEXT).values())
    note = gap_curves_page.estimator_note()
    caption = gap_curves_page.figure4_caption("Sources here.")
    for text in (note, caption):
        _filled(text)
        assert CITATION.search(text)
    assert caption.endswith("Sources: Sources here.") and "Figure 4, Section 4.4" in note


def test_the_recipe_intro_names_unequal_letters_one_by_one() -> None:
    from ggmi_app import home_page

    equal = prose(home_page.PAGE_TEXT, "recipe_intro", home_page.default_letters(ScenarioConfig()))
    assert "K = J = L = 2, N_k = 50, n = 200, d = 2" in equal
    other = home_page.default_letters(ScenarioConfig(J=3, dim=5))
    assert "K = 2, J = 3, L = 2, N_k = 50, n = 200, d = 5" in prose(
        home_page.PAGE_TEXT, "recipe_intro", other
    )


def test_the_n_k_note_adds_its_adherence_zero_sentence_only_at_zero() -> None:
    from ggmi_app import diagnostics_page

    at_zero, at_half = diagnostics_page.n_anchor_note(0.0), diagnostics_page.n_anchor_note(0.5)
    assert at_zero.startswith(at_half + " With prompt adherence b = 0")
    assert "Tables 2-3" in at_half and "{{" not in at_zero
