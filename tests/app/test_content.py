"""The prose in ``assets/content/``: the loader fills every placeholder and refuses
mismatches by name; every content file parses; the tour's steps quote every number the
tour supplies and leave no placeholder unfilled."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from ggmi_app import content

CITATION = re.compile(r"\b(Section|Lemma|Theorem|Definition|Appendix|Figure|Table)s? [0-9A-G]")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sample.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_fill_formats_named_placeholders_and_leaves_latex_braces_alone() -> None:
    text = "Gap {{gap:+.3f}} nats in {{rounds}} runs; $S_{\\mathrm{gen}}$ and {single}."
    out = content.fill(text, {"gap": 0.0604, "rounds": 300}, where="here")
    assert out == "Gap +0.060 nats in 300 runs; $S_{\\mathrm{gen}}$ and {single}."


def test_a_missing_value_names_the_file_and_the_placeholder() -> None:
    with pytest.raises(content.ContentError, match=r"tour/x\.md.*\{\{gap\}\}"):
        content.fill("The gap is {{gap:.2f}}.", {}, where="content file tour/x.md")


def test_an_unused_value_is_refused_unless_allowed() -> None:
    with pytest.raises(content.ContentError, match="rounds is given but never used"):
        content.fill("Only {{gap}}.", {"gap": 1, "rounds": 2}, where="f")
    assert content.fill("Only {{gap}}.", {"gap": 1, "rounds": 2}, where="f",
                        every_value_used=False) == "Only 1."  # fmt: skip


def test_malformed_placeholders_and_bad_specs_are_refused() -> None:
    with pytest.raises(content.ContentError, match="malformed placeholder"):
        content.fill("Broken {{ gap-mean }}.", {}, where="f")
    with pytest.raises(content.ContentError, match="cannot format"):
        content.fill("{{name:.2f}}", {"name": "text"}, where="f")


def test_sections_are_split_on_their_marker_lines(tmp_path: Path, monkeypatch) -> None:
    _write(tmp_path, "<!-- a note -->\n<!-- section: one -->\nFirst\n\n<!-- section: two -->\n"
                     "Second {{x}}\n")  # fmt: skip
    monkeypatch.setattr(content, "CONTENT_DIR", tmp_path)
    assert content.sections("sample") == {"one": "First", "two": "Second {{x}}"}
    assert content.render("sample", "two", {"x": 3}) == "Second 3"
    with pytest.raises(content.ContentError, match="no section 'three'"):
        content.section("sample", "three")
    with pytest.raises(content.ContentError, match="is missing"):
        content.section("absent", "one")


def test_comments_inside_a_section_are_not_shown(tmp_path: Path, monkeypatch) -> None:
    _write(tmp_path, "<!-- section: one -->\n<!-- a note\n  on two lines -->\nFirst line\n"
                     "<!-- between -->\nsecond <!-- inline --> line\n")  # fmt: skip
    monkeypatch.setattr(content, "CONTENT_DIR", tmp_path)
    assert content.plain_text(content.section("sample", "one")) == "First line second line"


def test_an_edited_file_is_read_again(tmp_path: Path, monkeypatch) -> None:
    path = _write(tmp_path, "<!-- section: one -->\nBefore\n")
    monkeypatch.setattr(content, "CONTENT_DIR", tmp_path)
    assert content.section("sample", "one") == "Before"
    path.write_text("<!-- section: one -->\nAfter, edited\n", encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert content.section("sample", "one") == "After, edited"


def test_plain_text_joins_wrapped_lines_and_keeps_paragraphs() -> None:
    assert content.plain_text("one\ntwo\n\nthree  four\n") == "one two\n\nthree four"


def test_plain_text_keeps_each_list_item_on_its_own_line() -> None:
    text = "Intro\n- first item\n  wrapped\n* second\n+ third is\n300. not a new item\n\nAfter"
    assert content.plain_text(text) == (
        "Intro\n- first item wrapped\n* second\n+ third is 300. not a new item\n\nAfter"
    )


def test_every_content_file_parses_into_sections() -> None:
    files = content.content_files()
    assert len(files) >= 11
    for path in files:
        found = content._sections_of(path)
        assert found and all(text for text in found.values()), path


def test_the_tour_steps_quote_every_number_and_fill_every_placeholder() -> None:
    from ggmi_app import tour_page

    numbers = tour_page.numbers()
    used: set[str] = set()
    for step in tour_page.STEPS:
        used |= content.placeholders(step.body)
        body = tour_page.step_body(step)
        assert "{{" not in body and "}}" not in body, step.figure
        for words in (step.title, step.slide, step.cites):
            assert not content.placeholders(words) and "{{" not in words, step.figure
        assert CITATION.search(body) and CITATION.search(step.cites), step.figure
    assert used == set(numbers), f"numbers no step quotes: {sorted(set(numbers) - used)}"


def test_each_tour_step_has_its_content_file() -> None:
    from ggmi_app import tour_page

    files = {p.stem for p in (content.CONTENT_DIR / "tour").glob("*.md")}
    assert files == {step.figure for step in tour_page.STEPS}
