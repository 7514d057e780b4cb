"""Home page through AppTest: the diagram, the letters warning, links that work."""

from __future__ import annotations

from page_helpers import ROOT, figures, messages, run_page, traces

PAGE_FILES = (
    "pages/1_Distributions.py",
    "pages/2_KL_Gap_curves.py",
    "pages/3_Bound_terms.py",
    "pages/4_Diagnostics.py",
    "pages/5_Guided_tour.py",
)


def test_home_draws_the_chain_and_warns_about_section_3_1_letters() -> None:
    at = run_page("app.py")
    (spec,) = figures(at)
    boxes = [s for s in spec["layout"]["shapes"] if s["type"] == "rect"]
    assert len(boxes) == 5
    assert any(t["name"] == "stages" for t in traces(spec))
    assert any("Section 3.1" in w for w in messages(at, "warning"))
    table = at.table[0].value
    assert list(table.index)[:3] == ["K", "J", "L"]
    assert not at.error


def test_home_links_every_page_that_exists() -> None:
    at = run_page("app.py")
    links = at.get("page_link")
    existing = [p for p in PAGE_FILES if (ROOT / p).is_file()]
    assert len(links) == len(existing) >= 2
    shown = " ".join(m.value for m in at.markdown)
    for p in PAGE_FILES:
        if not (ROOT / p).is_file():
            assert "not available yet" in shown


def test_lecture_mode_from_the_url_enlarges_the_diagram() -> None:
    normal = figures(run_page("app.py"))[0]
    at = run_page("app.py", {"lecture": "1"})
    assert at.toggle(key="lecture").value is True
    lecture = figures(at)[0]
    assert lecture["layout"]["height"] > normal["layout"]["height"]
    size = lambda s: max(a.get("font", {}).get("size", 0) for a in s["layout"]["annotations"])  # noqa: E731
    assert size(lecture) > size(normal)
