"""Home page through AppTest: the diagram, the letters warning, links that work."""

from __future__ import annotations

from page_helpers import ROOT, figures, messages, run_page, traces

from ggmi_app.page_list import PAGES

TOUR_ENTRY = "Start the guided tour: the paper's argument in eleven steps"


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


def test_sidebar_and_home_link_every_page_of_the_registry() -> None:
    at = run_page("app.py")
    labels = [link.proto.label for link in at.get("page_link")]
    assert all((ROOT / page.entry).is_file() for page in PAGES)
    # The sidebar lists every page by title; Home's body links every other page.
    sidebar = [page.title for page in PAGES]
    body = [page.link_label for page in PAGES if page.key != "home"]
    assert sorted(labels) == sorted([*sidebar, *body, TOUR_ENTRY])


def test_the_tour_entry_and_the_drawing_come_before_the_claims_in_both_modes() -> None:
    for query in ({}, {"lecture": "1"}):
        at = run_page("app.py", query)
        order = [node.type for node in at.main]
        kinds = [
            "tour"
            if node.type == "page_link" and node.proto.label == TOUR_ENTRY
            else "claims"
            if node.type == "header" and "plain words" in node.value
            else node.type
            for node in at.main
        ]
        assert kinds.index("tour") < order.index("plotly_chart") < kinds.index("claims"), query


def test_lecture_mode_from_the_url_enlarges_the_diagram() -> None:
    normal = figures(run_page("app.py"))[0]
    at = run_page("app.py", {"lecture": "1"})
    assert at.toggle(key="w_lecture").value is True
    lecture = figures(at)[0]
    assert lecture["layout"]["height"] > normal["layout"]["height"]
    size = lambda s: max(a.get("font", {}).get("size", 0) for a in s["layout"]["annotations"])  # noqa: E731
    assert size(lecture) > size(normal)
