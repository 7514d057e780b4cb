"""Hostile URL text and JSON values: parsing either yields a valid value or a ValueError."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from ggmi_app.params import BoolParam, ChoiceParam, FloatParam, IntParam
from ggmi_app.state import check_settings, keyed

K = IntParam("K", "K", 3, 1, 12)
NOISE = FloatParam("noise", "noise", 0.5, 0.0, 2.0)
METRIC = ChoiceParam("metric", "metric", "js", ("js", "kl", "tv", "hist_kl"))
FLAG = BoolParam("flag", "flag", False)
SCHEMA = [K, NOISE, METRIC, FLAG]

hostile_text = st.one_of(
    st.text(max_size=200),
    st.from_regex(r"[+-]?[0-9]{0,40}(\.[0-9]{0,20})?([eE][+-]?[0-9]{0,5})?", fullmatch=True),
    st.sampled_from(["nan", "NaN", "inf", "-inf", "1e309", "0x10", "1_000", "٣", "３", " 3 "]),
)


def _outcome(param, raw: str):  # type: ignore[no-untyped-def]
    try:
        return param.parse(raw)
    except ValueError:
        return None


@settings(max_examples=300, deadline=None)
@given(hostile_text)
def test_int_parse_is_valid_or_value_error(raw: str) -> None:
    value = _outcome(K, raw)
    if value is not None:
        assert type(value) is int and K.min <= value <= K.max
        assert K.parse(K.to_url(value)) == value


@settings(max_examples=300, deadline=None)
@given(hostile_text)
def test_float_parse_is_valid_or_value_error(raw: str) -> None:
    value = _outcome(NOISE, raw)
    if value is not None:
        assert type(value) is float and math.isfinite(value)
        assert NOISE.min <= value <= NOISE.max
        assert NOISE.parse(NOISE.to_url(value)) == value


@settings(max_examples=200, deadline=None)
@given(hostile_text)
def test_choice_and_bool_parse_are_valid_or_value_error(raw: str) -> None:
    choice = _outcome(METRIC, raw)
    assert choice is None or choice in METRIC.options
    flag = _outcome(FLAG, raw)
    assert flag is None or isinstance(flag, bool)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["K", "noise", "metric", "flag", "bogus"]), json_values))
def test_check_settings_never_raises_and_keeps_only_valid(values: dict) -> None:
    by_name = keyed(SCHEMA)
    valid, errors, ignored = check_settings(by_name, values)
    for name, value in valid.items():
        assert by_name[name].validate(value) == value
    assert len(valid) + len(errors) == len([k for k in values if k in by_name])
    assert ignored == (["bogus"] if "bogus" in values else [])
