"""Show the prose of ``assets/content/`` (see ``ggmi_app.content``) on a page.

``prose`` returns one section with its numbers filled in, each paragraph on one line,
for ``st.markdown`` or a caption; ``show_prose`` draws a section that mixes headings,
displayed formulas and Markdown (the Bound-terms page's Statements tab).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from ggmi_app.content import plain_text, render


def prose(name: str, part: str, values: Mapping[str, Any] | None = None) -> str:
    """Section ``part`` of content file ``name`` with ``values`` filled in (every
    placeholder needs a value, every value a placeholder), as Markdown."""
    return plain_text(render(name, part, values))


def show_prose(text: str) -> None:
    """Draw ``text`` paragraph by paragraph: a paragraph ``### heading`` as a subheader,
    a paragraph ``$$ formula $$`` with ``st.latex``, the others as Markdown."""
    markdown: list[str] = []

    def flush() -> None:
        if markdown:
            st.markdown("\n\n".join(markdown))
            markdown.clear()

    for paragraph in text.split("\n\n"):
        if paragraph.startswith("### "):
            flush()
            st.subheader(paragraph[4:])
        elif paragraph.startswith("$$") and paragraph.endswith("$$") and len(paragraph) > 4:
            flush()
            st.latex(paragraph[2:-2].strip())
        else:
            markdown.append(paragraph)
    flush()
