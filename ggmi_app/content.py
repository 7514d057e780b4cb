"""The app's prose, kept out of the code: Markdown files with named placeholders.

The words a lecturer may want to change (the guided tour's steps, the Bound-terms page's
explanations and its Statements tab) live under ``assets/content/`` as Markdown files.
A file holds one or more named sections, each opened by a line of its own::

    <!-- section: body -->

and a section's text may quote computed numbers through placeholders written
``{{name}}`` or, with a format specification as in Python's ``format``,
``{{name:.2f}}``. The code supplies the values (measured or read from the stored tables
of ``ggmi_core.quoted``, never typed into the text); ``render`` fills them in and
refuses, naming the file, the section and the placeholder, a placeholder without a
value, a value that no placeholder uses (a number the text stopped quoting), or a
malformed placeholder (``{{...}}`` that is not one). Single braces are left alone, so LaTeX such as
``$S_{\\mathrm{gen}}$`` is written as usual. Other ``<!-- ... -->`` comments are notes for
whoever edits the file and are never shown.

No Streamlit here: the pages decide how a section is shown (``ggmi_app.prose``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from ggmi_core.resources import assets_dir

#: Folder of the content files (inside ``assets/``, so the wheel carries it).
CONTENT_DIR: Final[Path] = assets_dir() / "content"

_SECTION = re.compile(r"^<!--\s*section:\s*([A-Za-z0-9_-]+)\s*-->\s*$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::([^{}]*?))?\s*\}\}")
_MALFORMED = re.compile(r"\{\{[^{}]*\}\}")
#: A note for editors inside a section: not shown. One on lines of its own goes with its
#: lines (so it does not split a paragraph); one within a line leaves the line's words.
_COMMENT_LINES = re.compile(r"^[ \t]*<!--.*?-->[ \t]*(?:\n|\Z)", re.DOTALL | re.MULTILINE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


class ContentError(ValueError):
    """A content file is missing, lacks a section, or does not match its values."""


def content_files() -> list[Path]:
    """Every content file (``*.md`` under ``CONTENT_DIR``), sorted."""
    return sorted(CONTENT_DIR.rglob("*.md"))


def _sections_of(path: Path) -> dict[str, str]:
    """Section name -> raw text of the file at ``path``, read again once it changes (a
    lecturer's edit shows on the next page run; the tour reads its steps at start-up)."""
    if not path.is_file():
        raise ContentError(f"content file {_shown(path)} is missing")
    return _parsed(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=64)
def _parsed(path: Path, _mtime_ns: int) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    marks = list(_SECTION.finditer(text))
    if not marks:
        raise ContentError(f"content file {_shown(path)} has no '<!-- section: name -->' line")
    sections: dict[str, str] = {}
    for mark, after in zip(marks, [*marks[1:], None], strict=True):
        name = mark.group(1)
        if name in sections:
            raise ContentError(f"content file {_shown(path)} has section '{name}' twice")
        end = after.start() if after is not None else len(text)
        body = _COMMENT_LINES.sub("", text[mark.end() : end])
        sections[name] = _COMMENT.sub("", body).strip()
    return sections


def _shown(path: Path) -> str:
    """``path`` as a lecturer finds it: relative to the assets folder."""
    try:
        return str(path.relative_to(assets_dir().parent))
    except ValueError:
        return str(path)


def content_path(name: str) -> Path:
    """The file of content ``name`` (``"tour/world"`` -> ``assets/content/tour/world.md``)."""
    return CONTENT_DIR / f"{name}.md"


def sections(name: str) -> dict[str, str]:
    """Section name -> raw text (placeholders unfilled) of content file ``name``."""
    return dict(_sections_of(content_path(name)))


def section(name: str, part: str) -> str:
    """The raw text of section ``part`` of content file ``name``."""
    found = _sections_of(content_path(name))
    if part not in found:
        raise ContentError(
            f"content file {_shown(content_path(name))} has no section '{part}' "
            f"(it has: {', '.join(found)})"
        )
    return found[part]


def placeholders(text: str) -> set[str]:
    """The placeholder names ``text`` uses."""
    return {m.group(1) for m in _PLACEHOLDER.finditer(text)}


def fill(text: str, values: Mapping[str, Any], *, where: str, every_value_used: bool = True) -> str:
    """``text`` with every ``{{name}}`` / ``{{name:spec}}`` replaced by its value.

    Args:
        text: a section's raw text.
        values: name -> value (a number formatted by the placeholder's spec, or text).
        where: what to name in an error (file and section).
        every_value_used: refuse values that no placeholder uses (the default); off only
            where one set of values serves many texts (the tour's steps), whose union is
            checked by a test instead.

    Raises:
        ContentError: a placeholder has no value, a value is unused, a format
            specification does not suit its value, or a ``{{``/``}}`` is left over.
    """
    used = placeholders(text)
    missing = sorted(used - set(values))
    if missing:
        raise ContentError(
            f"{where}: no value for placeholder {', '.join('{{' + m + '}}' for m in missing)}"
            f" (values given: {', '.join(sorted(values)) or 'none'})"
        )
    unused = sorted(set(values) - used)
    if every_value_used and unused:
        raise ContentError(f"{where}: value {', '.join(unused)} is given but never used")

    def one(match: re.Match[str]) -> str:
        name, spec = match.group(1), match.group(2) or ""
        try:
            return format(values[name], spec)
        except (TypeError, ValueError) as exc:
            raise ContentError(
                f"{where}: placeholder {{{{{name}:{spec}}}}} cannot format {values[name]!r}: {exc}"
            ) from exc

    filled = _PLACEHOLDER.sub(one, text)
    # A pair of double braces with no brace inside was meant as a placeholder (LaTeX's
    # nested groups, ``S_{\mathrm{gen}}``, always have one).
    bad = _MALFORMED.search(filled)
    if bad:
        raise ContentError(f"{where}: malformed placeholder {bad.group(0)!r}")
    return filled


def render(name: str, part: str, values: Mapping[str, Any] | None = None, **options: bool) -> str:
    """Section ``part`` of content file ``name`` with ``values`` filled in (see ``fill``)."""
    where = f"content file {_shown(content_path(name))}, section '{part}'"
    return fill(section(name, part), values or {}, where=where, **options)


#: A line that opens a bulleted Markdown list item ("- ", "* " or "+ "). Numbered items
#: are not recognised: a wrapped line may well start with a number ("300. EM ...").
_LIST_ITEM = re.compile(r"^\s*[-*+]\s")


def plain_text(text: str) -> str:
    """``text`` with each paragraph on one line (the files wrap their lines for editing;
    a slide, a heading or a popover wants each paragraph whole). Paragraphs stay apart,
    and so do the items of a list: a line opening an item starts a new line, and the
    wrapped lines under it join it."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(_joined(p) for p in paragraphs if p.strip())


def _joined(paragraph: str) -> str:
    """One paragraph's lines joined, one line per list item (if it is a list)."""
    lines: list[list[str]] = []
    for line in paragraph.splitlines():
        if not line.strip():
            continue
        if not lines or _LIST_ITEM.match(line):
            lines.append([])
        lines[-1].extend(line.split())
    return "\n".join(" ".join(words) for words in lines)
