"""Hostile URLs and settings files against every real page (property-based, AppTest).

For each page a clean run gives the baseline: the URL it writes (only settings off their
defaults), the widget value behind each key and the number of charts. Hypothesis then puts
invalid text under a few of the settings the page reads (the shared ones and its own, from
the registry): garbage, markup, huge and negative numbers, NaN/inf, non-ASCII, over-long
strings, repeated keys whose last copy is bad. The page must show no exception and no
traceback, name each rejected key in a visible notice, fall back to the default value in
the widget and in the rewritten URL, and still draw its charts.

Every hostile value is invalid for every parameter type (no parameter accepts negative
numbers, numbers beyond 10^12, non-ASCII text, or the listed words), so the expected
outcome never depends on the parser under test.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import pytest
from hardening_helpers import assert_no_leak, new_app, page_files, page_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from page_helpers import messages, plain

#: Extra starting URLs: tabs that only draw their controls when open.
VARIANTS: dict[str, dict[str, str]] = {
    "pages/3_Bound_terms.py#sweep": {"bounds_tab": "How terms move"},
    "pages/4_Diagnostics.py#yours": {"diag_tab": "Your data"},
}
#: Keys owned by Streamlit itself (``st.tabs(bind="query-params")``): fuzzed separately.
STREAMLIT_KEYS = frozenset({"bounds_tab", "diag_tab"})

FUZZ = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_WORDS = [
    "abc",
    "<script>alert(1)</script>",
    "<b>bold</b>",
    "' OR 1=1 --",
    "{{7*7}}",
    "${jndi:ldap://x/a}",
    "[link](javascript:alert(1))",
    "**bold** :red[x]",
    "$$\\frac{1}{0}$$",
    "../../etc/passwd",
    "\x00",
    "\u202e2",
    "NaN",
    "nan",
    "-nan",
    "inf",
    "-inf",
    "Infinity",
    "1e309",
    "-1e309",
    "0x10",
    "1_000",
    "1e",
    "--1",
    "٣",
    "３",
    "²",
    "None",
    "null",
    "undefined",
    "[]",
    "{}",
    "maybe",
]
hostile_value = st.one_of(
    st.sampled_from(_WORDS),
    st.integers(10**12, 10**40).map(str),  # huge
    st.integers(-(10**9), -1).map(str),  # negative counts
    st.floats(-1e6, -1e-3).map(repr),  # negative fractions
    st.floats(1e12, 1e300).map(repr),  # huge floats
    st.text(min_size=1, max_size=30).filter(lambda s: any(ord(c) > 127 for c in s)),
    st.integers(65, 4000).map(lambda n: "9" * n),  # longer than any URL value we read
    st.integers(65, 4000).map(lambda n: "x" * n),
)


@dataclass(frozen=True)
class Baseline:
    """What a page shows for a clean URL."""

    page: str
    query: dict[str, str]
    url: dict[str, str]
    widgets: dict[str, Any]
    charts: int


def _widgets(at: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for kind in ("slider", "number_input", "selectbox", "toggle", "checkbox", "radio"):
        for widget in at.get(kind):
            if getattr(widget, "key", None):
                found[widget.key] = widget.value
    return found


@functools.cache
def baseline(variant: str) -> Baseline:
    page = variant.split("#")[0]
    query = VARIANTS.get(variant, {})
    at = new_app(page, dict(query))
    at.run()
    assert_no_leak(at)
    url = {k: v for k, v in at.query_params.items() if k not in STREAMLIT_KEYS}
    return Baseline(page, query, url, _widgets(at), len(at.get("plotly_chart")))


VARIANT_IDS = [*page_files(), *(v for v in VARIANTS if v.split("#")[0] in page_files())]


def _hostile_query(variant: str) -> st.SearchStrategy[dict[str, object]]:
    base = baseline(variant)
    known = page_settings(base.page)
    keys = sorted(known)

    def with_key(key: str) -> st.SearchStrategy[tuple[str, object]]:
        good = base.url.get(key, known[key].to_url(known[key].default))
        one = hostile_value
        # A repeated key: Streamlit reads the last copy, which is the bad one.
        twice = hostile_value.map(lambda bad: [good, bad])
        return st.tuples(st.just(key), st.one_of(one, twice))

    return st.lists(
        st.sampled_from(keys).flatmap(with_key), min_size=1, max_size=4, unique_by=lambda kv: kv[0]
    ).map(dict)


@pytest.mark.parametrize("variant", VARIANT_IDS)
def test_hostile_url_values_fall_back_to_defaults_with_a_notice(variant: str) -> None:
    base = baseline(variant)

    @FUZZ
    @given(_hostile_query(variant))
    def check(fuzzed: dict[str, object]) -> None:
        at = new_app(base.page, {**base.query, **fuzzed})
        at.run()
        assert_no_leak(at)
        notices = " ".join(messages(at, "warning"))
        for key in fuzzed:
            assert f"URL setting '{key}' was ignored" in notices, (key, notices[:300])
            if key in base.widgets:
                assert _widgets(at)[key] == base.widgets[key], key
            assert at.query_params.get(key) == base.url.get(key), key
        assert len(at.get("plotly_chart")) == base.charts
        assert not [e for e in messages(at, "error") if "units of work" in e]

    check()


@pytest.mark.parametrize("variant", [v for v in VARIANT_IDS if "#" in v])
def test_hostile_streamlit_owned_keys_leak_nothing(variant: str) -> None:
    base = baseline(variant)

    @FUZZ
    @given(hostile_value)
    def check(bad: str) -> None:
        tab_key = next(iter(base.query))
        at = new_app(base.page, {**base.query, tab_key: bad})
        at.run()
        assert_no_leak(at)
        assert at.get("plotly_chart")  # the default tab is drawn instead

    check()


# ------------------------------------------------------------ hostile settings files

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
hostile_file = st.one_of(
    st.binary(min_size=1, max_size=3000),
    st.dictionaries(st.text(max_size=20), json_leaf, min_size=1, max_size=6).map(
        lambda d: json.dumps({"format": "ggmi-explorer-settings", "settings": d}).encode()
    ),
    st.sampled_from(
        [
            b'{"settings": {"K": NaN}}',
            b'{"K": Infinity}',
            b'{"K": 1e999}',
            b'{"K": "2"}',
            b'{"K": true}',
            b"[" * 50_000,
            b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
            b"\xff\xfe\x00{",
            b" " * 70_000 + b"{}",
            b'{"format": "other", "settings": {}}',
            b"<html><script>alert(1)</script></html>",
        ]
    ),
)


def _settings_uploader(at: Any) -> Any:
    found = [u for u in at.get("file_uploader") if str(u.key).endswith("_ggmi_settings_upload")]
    assert found, "no settings uploader on the page"
    return found[0]


@pytest.mark.parametrize("page", [p for p in page_files() if p != "app.py"])
def test_hostile_settings_files_give_a_message_and_change_nothing(page: str) -> None:
    base = baseline(page)

    @FUZZ
    @given(hostile_file)
    def check(blob: bytes) -> None:
        at = new_app(page)
        at.run()
        _settings_uploader(at).set_value(("settings.json", blob, "application/json")).run()
        assert_no_leak(at)
        errors = [e for e in messages(at, "error") if e.startswith("Settings not loaded")]
        loaded = [s for s in (plain(m.value) for m in at.success) if s.startswith("Loaded")]
        assert errors or loaded, "an uploaded file must always get a message"
        if errors:
            assert _widgets(at) == base.widgets
            assert "Traceback" not in errors[0]

    check()


# ------------------------------------------------------- hostile embedding uploads

DIAGNOSTICS = "pages/4_Diagnostics.py"
GOOD_ROWS = 40


def _good_csv() -> bytes:
    rows = [f"{i % 7 * 0.5},{(i * 3) % 5 - 2.0},{i / 10}" for i in range(GOOD_ROWS)]
    return ("\n".join(rows) + "\n").encode()


def _npy_with_header(header: str) -> bytes:
    body = header.encode("latin-1", "replace")
    pad = (64 - (10 + len(body) + 1) % 64) % 64
    body += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body + b"\x00" * 64


csv_cell = st.one_of(st.sampled_from(_WORDS), st.floats().map(repr), st.text(max_size=8))
hostile_csv = st.lists(
    st.lists(csv_cell, min_size=1, max_size=6).map(",".join), min_size=1, max_size=40
).map(lambda rows: "\n".join(rows).encode("utf-8", "surrogatepass"))
hostile_npy = st.tuples(
    st.sampled_from(["<f8", "|O", "<U10", "<c16", ">i8", "|V8", "float64", "<f8, <f8"]),
    st.lists(st.integers(-5, 10**15), min_size=0, max_size=4),
    st.booleans(),
).map(
    lambda t: _npy_with_header(
        f"{{'descr': '{t[0]}', 'fortran_order': {t[2]}, 'shape': ({','.join(map(str, t[1]))},), }}"
    )
)
hostile_upload = st.one_of(
    st.tuples(
        st.sampled_from(["a.csv", "a.npy", "a.parquet", "A.CSV", "x"]), st.binary(max_size=4000)
    ),
    st.tuples(st.just("a.csv"), hostile_csv),
    st.tuples(st.just("a.npy"), hostile_npy),
    st.tuples(
        st.text(min_size=1, max_size=300).map(lambda s: s + ".csv"), st.just(_good_csv()[:50])
    ),
)


@pytest.mark.skipif(DIAGNOSTICS not in page_files(), reason="no Diagnostics page yet")
def test_hostile_embedding_uploads_give_a_message_and_leak_nothing() -> None:
    @FUZZ
    @given(hostile_upload)
    def check(upload: tuple[str, bytes]) -> None:
        name, data = upload
        at = new_app(DIAGNOSTICS, {"diag_tab": "Your data"})
        at.run()
        at.file_uploader(key="dg_anchor_file").set_value((name, data, "application/octet-stream"))
        at.file_uploader(key="dg_synthetic_file").set_value(("s.csv", _good_csv(), "text/csv"))
        at.run()
        assert_no_leak(at)
        refusals = [e for e in messages(at, "error") if "anchor file cannot be used" in e]
        # Either the file is refused with a message naming it, or it was (by chance) a
        # usable table and the diagnostics are drawn.
        assert refusals or at.get("plotly_chart"), messages(at, "error")

    check()
