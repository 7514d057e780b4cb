"""The Guided-tour page driven through Streamlit AppTest.

Every step renders its figure and cites the paper; Previous/Next move ``tour_step``; the
"Open this on ... page" button applies the step's settings and switches page; the
recipes of the tour's assets are the pages' own, so the opened page shows the same numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from page_helpers import app_test, figures
from streamlit.testing.v1 import AppTest

from ggmi_app import bounds_page, diagnostics_page, tour_page
from ggmi_app.page_list import SHARED_SETTINGS, page_settings
from ggmi_app.state import check_settings
from ggmi_core import tour_data
from ggmi_core.bounds import DEFAULT_LOSS_CAP
from ggmi_viz import tour

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "5_Guided_tour.py")
APP = str(ROOT / "app.py")
TIMEOUT = 60
N_STEPS = len(tour_page.STEPS)
CITATION = re.compile(r"\b(Section|Lemma|Theorem|Definition|Appendix|Figure) [0-9A-G]")


def _run(step: str | None = None, lecture: bool = False) -> AppTest:
    at = app_test(PAGE, TIMEOUT)
    if step is not None:
        at.query_params["tour_step"] = step
    if lecture:
        at.query_params["lecture"] = "1"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _url_step(at: AppTest) -> str:
    value = at.query_params.get("tour_step", "1")  # step 1 is the default: no URL entry
    return value[0] if isinstance(value, list) else str(value)


def _body(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


@pytest.mark.parametrize("step", range(1, N_STEPS + 1))
def test_every_step_renders_one_figure_and_cites_the_paper(step: int) -> None:
    at = _run(str(step))
    assert not at.error
    assert at.title[0].value == tour_page.STEPS[step - 1].title
    specs = figures(at)
    assert len(specs) == 1
    assert specs[0]["data"], "the figure has no traces"
    assert CITATION.search(_body(at)), _body(at)
    assert _url_step(at) == str(step)


def test_step_texts_have_two_to_four_sentences_with_their_numbers_filled() -> None:
    for step in tour_page.STEPS:
        text = tour_page.step_body(step)
        assert "{" not in text and "}" not in text
        sentences = [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", text) if s]
        assert 2 <= len(sentences) <= 6, (step.title, len(sentences))


def test_next_and_previous_change_the_step_and_the_url() -> None:
    at = _run("1")
    assert at.button(key="tour_prev").disabled
    at.button(key="tour_next").click().run()
    assert at.session_state["tour_step"] == 2
    assert at.title[0].value == tour_page.STEPS[1].title
    assert _url_step(at) == "2"
    at.button(key="tour_next_page").click().run()  # the clicker's PageDown button
    assert at.session_state["tour_step"] == 3
    at.button(key="tour_prev").click().run()
    assert at.session_state["tour_step"] == 2
    at.button(key="tour_prev_page").click().run()
    assert at.session_state["tour_step"] == 1


def test_next_is_disabled_on_the_last_step() -> None:
    at = _run(str(N_STEPS))
    assert at.button(key="tour_next").disabled
    assert at.button(key="tour_next_page").disabled


@pytest.mark.parametrize("raw", ["0", str(N_STEPS + 1), "abc", "2.5"])
def test_bad_step_in_the_url_falls_back_with_a_notice(raw: str) -> None:
    at = _run(raw)
    assert at.session_state["tour_step"] == 1
    notices = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "tour_step" in notices


def test_lecture_mode_renders_every_step() -> None:
    for step in (1, 6, 8):
        at = _run(str(step), lecture=True)
        assert len(figures(at)) == 1


def test_every_step_preset_is_valid_for_its_target_page() -> None:
    for step in tour_page.STEPS:
        known = dict(SHARED_SETTINGS) | page_settings(step.page)
        _, errors, ignored = check_settings(known, step.settings)
        assert not errors and not ignored, (step.title, errors, ignored)


def test_tour_recipes_are_the_pages_own() -> None:
    """Opening a step on its page recomputes the same numbers, not different ones."""
    assert tour_data.TOUR_LOSS_CAP == DEFAULT_LOSS_CAP
    assert tour_data.HSIC_GRID == diagnostics_page.SWEEP_GRIDS["adherence"]
    tabs = {label for s in tour_page.STEPS if s.tab for label in [s.tab[1]]}
    assert tabs <= set(bounds_page.TAB_LABELS) | set(diagnostics_page.TAB_LABELS)


def _app_on_tour(step: int) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page("pages/5_Guided_tour.py")
    at.query_params["tour_step"] = str(step)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == tour_page.STEPS[step - 1].title
    return at


def test_open_on_page_applies_the_distributions_settings_and_switches() -> None:
    at = _app_on_tour(1)
    at.session_state["K"] = 7  # a changed setting the step must reset
    at.button(key="tour_open").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["K"] == 2
    assert at.session_state["dist_show_model"] is True
    assert at.session_state["dist_show_anchor_samples"] is False
    assert at.title[0].value.startswith("Distributions")


def test_open_on_page_opens_the_bound_terms_tab() -> None:
    at = _app_on_tour(8)
    at.button(key="tour_open").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["bounds_C"] == tour_data.TOUR_LOSS_CAP
    assert at.session_state["bounds_tab"] == "How terms move"
    assert at.title[0].value.startswith("Bound terms")


@pytest.mark.parametrize("index", range(N_STEPS))
def test_no_chart_title_repeats_its_step_heading(index: int) -> None:
    """The heading and the chart's title stand one above the other: the title says what
    is drawn, not the heading again (step 3 once read "What the model adds" twice)."""
    step = tour_page.STEPS[index]
    figure = tour.step_figure(step.figure, tour_data.step_inputs(step.figure), lecture=True)
    title = (figure.layout.title.text or "").lower()
    heading = step.title.lower()
    assert heading not in title, (heading, title)
    # Nor half of it: step 11 once read "Where synthetic data help: the map" over
    # "Where synthetic data help: the JS gap ...". Naming a lemma ("Lemma 3.1") is fine.
    shared = _longest_shared_word_run(heading, title)
    assert len(shared) < 4, (heading, title, shared)


def _longest_shared_word_run(a: str, b: str) -> list[str]:
    """The longest run of consecutive words (tags dropped) that both texts contain."""
    first, second = (re.findall(r"[\w=]+", re.sub(r"<[^>]+>", " ", t)) for t in (a, b))
    best: list[str] = []
    for i in range(len(first)):
        for j in range(len(second)):
            k = 0
            while i + k < len(first) and j + k < len(second) and first[i + k] == second[j + k]:
                k += 1
            if k > len(best):
                best = first[i : i + k]
    return best


def test_labels_that_count_the_steps_count_them_right() -> None:
    """The Home link and the page list say how many steps the tour has, in words."""
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
             "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen"]  # fmt: skip
    root = Path(__file__).resolve().parents[2]
    for path in (root / "pages" / "0_Home.py", root / "ggmi_app" / "page_list.py"):
        said = re.findall(r"argument in (\w+) steps", path.read_text(encoding="utf-8"))
        assert said, path
        assert set(said) == {words[N_STEPS]}, (path, said, N_STEPS)
