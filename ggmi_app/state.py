"""Settings that live in the URL, the sidebar widgets and a JSON settings file.

The URL is the shareable source of truth: every control's value is written to
``st.query_params`` on each run, and a new session seeds its widgets from the URL, so
reopening a copied link restores the same figure. Invalid URL values fall back to the
default with a visible notice that names the parameter.

Widget keys equal ``prefix + param.name`` (so AppTest finds ``at.slider(key="K")``).
Widget state written by ``apply_preset`` or a settings upload must happen before the
widgets are drawn in a run; both therefore run as widget callbacks.

Streamlit drops a widget's state when a run does not draw it (e.g. on another page).
A shadow copy under a private key brings the last value back when the page reappears.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import streamlit as st

from ggmi_app.layout import show_notices
from ggmi_app.params import (
    BoolParam,
    ChoiceParam,
    FloatParam,
    IntParam,
    Param,
    Schema,
    check_schema,
    validate_settings,
)

#: Largest settings file accepted, in bytes (a real one is well under 2 KB).
MAX_SETTINGS_BYTES: Final[int] = 64 * 1024
SETTINGS_FORMAT: Final[str] = "ggmi-explorer-settings"
SETTINGS_VERSION: Final[int] = 1

_SHADOW = "_ggmi_saved::"
_NOTICES = "_ggmi_notices::"
_UPLOAD_MSG = "_ggmi_upload_msg::"


def read_settings(schema: Schema, prefix: str = "") -> tuple[dict[str, Any], list[str]]:
    """Read ``schema``'s settings from ``st.query_params``.

    Returns ``(settings, notices)``: ``settings`` maps every param name to a valid
    value (the URL's when valid, else the default); ``notices`` has one message per
    URL value that was rejected, naming the parameter and what is allowed.
    """
    check_schema(schema)
    settings: dict[str, Any] = {}
    notices: list[str] = []
    for param in schema:
        key = prefix + param.name
        settings[param.name] = param.default
        if key not in st.query_params:
            continue
        try:
            settings[param.name] = param.parse(st.query_params[key])
        except ValueError as exc:
            notices.append(_url_notice(key, param, exc))
    return settings, notices


def _url_notice(key: str, param: Param, exc: ValueError) -> str:
    return (
        f"URL setting '{key}' was ignored ({exc}); using the default {param.to_url(param.default)}."
    )


def write_settings(schema: Schema, values: Mapping[str, Any], prefix: str = "") -> None:
    """Write ``values`` to ``st.query_params`` (only keys whose text changed)."""
    for param in schema:
        if param.name not in values:
            continue
        key = prefix + param.name
        text = param.to_url(values[param.name])
        if st.query_params.get(key) != text:
            st.query_params[key] = text


def _seed_widget_state(schema: Schema, prefix: str) -> None:
    """Give every widget without state a value: the URL's, else the shadow, else default.

    URL notices are remembered with the values they were seeded with, so they stay
    visible until the visitor changes a setting.
    """
    missing = [p for p in schema if prefix + p.name not in st.session_state]
    if not missing:
        return
    notices: list[str] = []
    for param in missing:
        key = prefix + param.name
        value = _valid_or_default(param, st.session_state.get(_SHADOW + key, param.default))
        if key in st.query_params:
            try:
                value = param.parse(st.query_params[key])
            except ValueError as exc:
                notices.append(_url_notice(key, param, exc))
                value = param.default
        st.session_state[key] = value
    if notices:
        seeded = {p.name: st.session_state[prefix + p.name] for p in schema}
        st.session_state[_notices_key(schema, prefix)] = (seeded, notices)


def _valid_or_default(param: Param, value: Any) -> Any:
    """``value`` if ``param`` still accepts it, else the default.

    A remembered value can fall outside a range that changed since it was stored (the
    scenarios slider's maximum follows the work budget); Streamlit would raise on it.
    """
    try:
        return param.validate(value)
    except ValueError:
        return param.default


def _notices_key(schema: Schema, prefix: str) -> str:
    # One entry per schema: a page may call sidebar_controls several times.
    return _NOTICES + prefix + "::" + "|".join(p.name for p in schema)


def _clear_notices(prefix: str) -> None:
    stale = [k for k in st.session_state if str(k).startswith(_NOTICES + prefix + "::")]
    for key in stale:
        del st.session_state[key]


def _draw_widget(container: Any, param: Param, key: str) -> Any:
    help_text = param.help or None
    if isinstance(param, BoolParam):
        return container.toggle(param.label, key=key, help=help_text, disabled=param.disabled)
    if isinstance(param, ChoiceParam):
        return container.selectbox(
            param.label,
            options=list(param.options),
            format_func=param.label_of,
            key=key,
            help=help_text,
            disabled=param.disabled,
        )
    if isinstance(param, IntParam | FloatParam):
        numeric: dict[str, Any] = {
            "min_value": param.min,
            "max_value": param.max,
            "step": param.step,
            "key": key,
            "help": help_text,
        }
        if isinstance(param, FloatParam) and param.format:
            numeric["format"] = param.format
        # A slider needs min < max; a one-value range is shown as a fixed number.
        if param.widget == "number" or param.min == param.max:
            fixed = param.disabled or param.min == param.max
            return container.number_input(param.label, disabled=fixed, **numeric)
        return container.slider(param.label, disabled=param.disabled, **numeric)
    raise TypeError(f"unsupported parameter type {type(param).__name__}")


def sidebar_controls(
    schema: Schema,
    *,
    prefix: str = "",
    container: Any = None,
    show_url_notices: bool = True,
) -> dict[str, Any]:
    """Draw one widget per param, keep them in sync with the URL, return the values.

    Args:
        schema: the page's parameters (drawn in this order).
        prefix: prepended to every URL key and widget key (for two schemas on a page
            whose names would clash).
        container: where to draw (default ``st.sidebar``).
        show_url_notices: show a warning per rejected URL value in the main area.

    Returns:
        ``{param.name: value}``, every value valid for its param.
    """
    check_schema(schema)
    _seed_widget_state(schema, prefix)
    target = st.sidebar if container is None else container
    values: dict[str, Any] = {}
    for param in schema:
        key = prefix + param.name
        value = _draw_widget(target, param, key)
        try:
            values[param.name] = param.validate(value)
        except ValueError:
            # Cannot come from the widget itself; guards against stale state.
            values[param.name] = param.default
        st.session_state[_SHADOW + key] = values[param.name]
    write_settings(schema, values, prefix)
    _show_url_notices(_notices_key(schema, prefix), values, show_url_notices)
    return values


def _show_url_notices(key: str, values: Mapping[str, Any], show: bool) -> None:
    stored = st.session_state.get(key)
    if not stored:
        return
    seeded, notices = stored
    if any(values.get(name) != value for name, value in seeded.items()):
        # The visitor has moved on; the old complaint about the URL is stale.
        del st.session_state[key]
        return
    if show:
        show_notices(notices)


def apply_preset(values: Mapping[str, Any], schema: Schema | None = None, prefix: str = "") -> None:
    """Set widget state and URL to ``values`` (validated against ``schema`` if given).

    Call it from a widget callback (``on_click``/``on_change``) or before the widgets
    are drawn in a run: Streamlit forbids changing a drawn widget's state.

    Raises:
        ValueError: an unknown key or a bad value (nothing is applied then).
    """
    clean = dict(values)
    if schema is not None:
        clean, errors = validate_settings(schema, values)
        if errors:
            raise ValueError("; ".join(errors))
    for name, value in clean.items():
        key = prefix + name
        st.session_state[key] = value
        st.session_state[_SHADOW + key] = value
    if schema is not None:
        write_settings(schema, clean, prefix)
    _clear_notices(prefix)


def preset_buttons(
    presets: Mapping[str, Mapping[str, Any]],
    schema: Schema,
    *,
    prefix: str = "",
    container: Any = None,
) -> None:
    """One button per preset (label -> settings) that applies it on click.

    Draw these before ``sidebar_controls`` or anywhere: the preset is applied in the
    click callback, i.e. before the next run draws the widgets.
    """
    for label, preset in presets.items():
        # Validate at draw time: a broken preset is a programming error.
        _, errors = validate_settings(schema, preset)
        if errors:
            raise ValueError(f"preset {label!r}: " + "; ".join(errors))
    target = st.sidebar if container is None else container
    for label, preset in presets.items():
        target.button(
            label,
            key=f"{prefix}_ggmi_preset::{label}",
            on_click=apply_preset,
            args=(dict(preset), schema, prefix),
            width="stretch",
        )


def settings_to_json(schema: Schema, values: Mapping[str, Any], page: str = "") -> bytes:
    """Serialise ``values`` to the settings-file format (UTF-8 JSON bytes)."""
    clean, errors = validate_settings(schema, values)
    if errors:
        raise ValueError("; ".join(errors))
    doc = {
        "format": SETTINGS_FORMAT,
        "version": SETTINGS_VERSION,
        "page": page,
        "settings": clean,
    }
    return json.dumps(doc, indent=2, sort_keys=False).encode("utf-8")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a settings file")


def parse_settings_json(data: bytes, schema: Schema) -> dict[str, Any]:
    """Parse and validate a settings file; return ``{name: value}``.

    Accepts the format written by ``settings_to_json`` or a bare JSON object of
    settings. Keys missing from the file keep their current values.

    Raises:
        ValueError: with a message fit to show a visitor (too big, not UTF-8, not
            JSON, wrong shape, unknown keys, bad values).
    """
    if len(data) > MAX_SETTINGS_BYTES:
        raise ValueError(
            f"the file is too large ({len(data):,} bytes; a settings file is at most "
            f"{MAX_SETTINGS_BYTES:,} bytes)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the file is not UTF-8 text") from None
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"the file is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise ValueError("the file is nested too deeply to be a settings file") from None
    if isinstance(doc, dict) and "settings" in doc:
        if doc.get("format", SETTINGS_FORMAT) != SETTINGS_FORMAT:
            raise ValueError("the file is not a GGMI Explorer settings file")
        doc = doc["settings"]
    if not isinstance(doc, dict):
        raise ValueError("the file must hold a JSON object of settings")
    values, errors = validate_settings(schema, doc)
    if errors:
        raise ValueError("; ".join(errors))
    return values


def _on_settings_upload(schema: Schema, prefix: str, uploader_key: str) -> None:
    """Callback: validate the uploaded file and apply it before widgets are drawn."""
    uploaded = st.session_state.get(uploader_key)
    if uploaded is None:
        st.session_state.pop(_UPLOAD_MSG + prefix, None)
        return
    try:
        size = getattr(uploaded, "size", 0) or 0
        if size > MAX_SETTINGS_BYTES:
            raise ValueError(
                f"the file is too large ({size:,} bytes; a settings file is at most "
                f"{MAX_SETTINGS_BYTES:,} bytes)"
            )
        values = parse_settings_json(uploaded.getvalue(), schema)
        apply_preset(values, schema, prefix)
    except ValueError as exc:
        st.session_state[_UPLOAD_MSG + prefix] = ("error", f"Settings not loaded: {exc}.")
    else:
        n = len(values)
        st.session_state[_UPLOAD_MSG + prefix] = ("success", f"Loaded {n} setting(s).")


def settings_io(
    schema: Schema,
    values: Mapping[str, Any],
    *,
    prefix: str = "",
    page: str = "settings",
    container: Any = None,
) -> None:
    """Draw a settings JSON download button and an upload box (in an expander).

    An uploaded file is validated as a whole; if anything is wrong nothing is
    applied and a message says what (never a traceback).
    """
    from ggmi_app.layout import escape_markdown

    target = st.sidebar if container is None else container
    uploader_key = f"{prefix}_ggmi_settings_upload"
    with target.expander("Save or load settings"):
        st.download_button(
            "Download settings (JSON)",
            data=settings_to_json(schema, values, page),
            file_name=f"ggmi-{page}-settings.json",
            mime="application/json",
            key=f"{prefix}_ggmi_settings_download",
            on_click="ignore",
        )
        st.file_uploader(
            "Load settings (JSON)",
            type=["json"],
            key=uploader_key,
            on_change=_on_settings_upload,
            args=(schema, prefix, uploader_key),
            help="A file saved with the button above.",
        )
        message = st.session_state.get(_UPLOAD_MSG + prefix)
        if message:
            kind, text = message
            (st.error if kind == "error" else st.success)(escape_markdown(text))
