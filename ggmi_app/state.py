"""One settings state for the whole app: URL, widgets and settings files.

Every setting has a *key*: the URL key and the widget key at once. Settings shared by all
pages (the scenario letters, the divergence, Monte Carlo samples, lecture mode) use their
plain names (``K``, ``metric``, ``lecture``); a page's own display settings carry the
page's prefix (``dist_projection``, ``gap_sweep``). ``Keyed`` maps keys to ``Param``.

The URL holds every setting of the app that differs from its default (all pages', so that
moving between pages leaves it unchanged and adds one browser-history entry, not two),
written at most once per run. Where a value comes from, at the start of every run
(``restore_state``), before any widget is drawn:

1. if the URL differs from what this session last wrote (a link just opened, the
   browser's back or forward button, an edited address), the URL: its values, and the
   default for every key it lacks;
2. else, when the page changed, the URL if it holds any setting (a page link carries
   what the session wrote, a server-side switch the session's values), or else what the
   session last wrote to the URL: Streamlit itself drops a value with the widget that
   last set it, or reverts it to one set earlier through the Session State API;
3. else the session's value;
4. else the default.

When the page changes, every value is put into ``st.session_state`` through the Session
State API. That is what keeps it across pages: Streamlit forgets the value of a widget
that a run does not draw, and gives a widget that appears on a new page its own default
(a slider's minimum), unless the key was set through that API. Within a page, widget
values are left to the widgets (re-setting them would undo key presses made mid-run).

Invalid URL values fall back (to the session's value or the default) with a notice that
names the key; notices stay until the visitor changes a setting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import streamlit as st
from streamlit.errors import StreamlitAPIException

from ggmi_app.messages import escape_markdown, show_notices
from ggmi_app.params import (
    BoolParam,
    ChoiceParam,
    FloatParam,
    IntParam,
    Param,
    Schema,
    check_schema,
    describe_keys,
)

#: URL/widget key -> its parameter.
Keyed = Mapping[str, Param]

#: Largest settings file accepted, in bytes (a real one is well under 2 KB).
MAX_SETTINGS_BYTES: Final[int] = 64 * 1024
SETTINGS_FORMAT: Final[str] = "ggmi-explorer-settings"
#: Version 2: flat keys (shared names plus page-prefixed keys).
SETTINGS_VERSION: Final[int] = 2

_WRITTEN: Final[str] = "_ggmi_url_written"
_NOTICES: Final[str] = "_ggmi_url_notices"
_UPLOAD_MSG: Final[str] = "_ggmi_upload_msg"
_PAGE: Final[str] = "_ggmi_page"
_DRAWN: Final[str] = "_ggmi_drawn_params"


def keyed(schema: Schema, prefix: str = "") -> dict[str, Param]:
    """``{prefix + param.name: param}``; raises ``ValueError`` on duplicate names."""
    return {prefix + name: param for name, param in check_schema(schema).items()}


# ------------------------------------------------------------------ restoring state


def _valid_or_default(param: Param, value: Any) -> Any:
    """``value`` if ``param`` still accepts it, else the default.

    A remembered value can fall outside a range that changed since it was stored (the
    scenarios slider's maximum follows the work budget); Streamlit would raise on it.
    """
    try:
        return param.validate(value)
    except ValueError:
        return param.default


def _url_notice(key: str, param: Param, exc: ValueError, used: Any) -> str:
    return f"URL setting '{key}' was ignored ({exc}); using {param.to_url(used)}."


def _last_written(param: Param, text: str | None) -> Any:
    """The value this session last wrote to the URL as ``text`` (None: the default)."""
    if text is None:
        return param.default
    try:
        return param.parse(text)
    except ValueError:
        return param.default


def _url_texts(known: Keyed) -> dict[str, str]:
    """The URL's text of every key in ``known`` that it holds."""
    return {key: st.query_params[key] for key in known if key in st.query_params}


def _session_texts(known: Keyed) -> dict[str, str]:
    """The URL text of every session value of ``known`` that differs from its default."""
    texts = {}
    for key, param in known.items():
        value = _valid_or_default(param, st.session_state.get(key, param.default))
        if value != param.default:
            texts[key] = param.to_url(value)
    return texts


def _url_is_news(known: Keyed) -> bool:
    """Whether the URL says something this session did not write itself.

    The browser's address can lag behind what the server wrote: a slider moved twice
    quickly sends its second rerun with the address of before the first. So the URL
    counts as news only when the session's settings are still those last written (the
    visitor changed nothing) and the URL differs from them: a link just opened, the back
    or forward button, an edited address.
    """
    written = st.session_state.get(_WRITTEN)
    if written is None:
        return True  # a new session: the link it was opened with
    url = _url_texts(known)
    written_here = {key: text for key, text in written.items() if key in known}
    if not url or url == written_here:
        return False  # nothing new (a page switch with an empty URL: ``restore_state``)
    return _session_texts(known) == written_here


def restore_state(known: Keyed, page: str | None = None) -> None:
    """Give every key in ``known`` its value before any widget is drawn (see module doc).

    Call once at the top of every run with every key of the app, so that settings of
    pages not shown in this run are kept too, and with the page's key: when the page
    changed, every value is re-set through the Session State API (which keeps a value a
    widget owned on the previous page). Within a page, a value the visitor is moving is
    left alone: re-setting it would send it back to the browser and undo key presses
    made while the run was going.
    """
    page_changed = page is not None and st.session_state.get(_PAGE) != page
    # On a page change the session's values cannot be trusted: Streamlit drops a value
    # with the widget that last set it, or falls back to one set earlier through the
    # Session State API. The address can: a page link carries the URL this session
    # wrote, a server-side switch the session's values. A switch that arrives with no
    # settings in the address takes what the session last wrote.
    from_url = _url_is_news(known) or (page_changed and bool(_url_texts(known)))
    written: dict[str, str] = st.session_state.get(_WRITTEN) or {}
    if page is not None:
        st.session_state[_PAGE] = page
    notices: dict[str, str] = {}
    for key, param in known.items():
        current = st.session_state.get(key, param.default)
        value = _valid_or_default(param, current)
        if page_changed and not from_url:
            value = _valid_or_default(param, _last_written(param, written.get(key)))
        if from_url:
            value = param.default
            if key in st.query_params:
                try:
                    value = param.parse(st.query_params[key])
                except ValueError as exc:
                    notices[key] = _url_notice(key, param, exc, value)
        if from_url or page_changed or key not in st.session_state or value != current:
            st.session_state[key] = value
    if notices:
        # Several restores in one run (keys outside the registry) add up their notices.
        snapshot, earlier = st.session_state.get(_NOTICES, ({}, {}))
        snapshot = snapshot | {key: st.session_state[key] for key in known}
        st.session_state[_NOTICES] = (snapshot, earlier | notices)


def show_url_notices() -> None:
    """Show the notices about refused URL values until the visitor changes a setting."""
    stored = st.session_state.get(_NOTICES)
    if not stored:
        return
    snapshot, notices = stored
    if any(st.session_state.get(key) != value for key, value in snapshot.items()):
        del st.session_state[_NOTICES]
        return
    show_notices(list(notices.values()))


def sync_url(known: Keyed) -> None:
    """Put the session's values of ``known`` into the URL: non-default ones, in one message.

    Keys at their default leave the URL; nothing is sent when the URL already says it.
    Each message from the server adds a browser-history entry unless its text equals the
    address bar's, so keys keep the order the URL last had: a page switch (which arrives
    with the old address and an empty server-side URL) then writes the same text back and
    adds no second entry.
    """
    desired = _session_texts(known)
    last: dict[str, str] = st.session_state.get(_WRITTEN) or {}
    current = _url_texts(known)
    if current != desired:
        if current and set(current) <= set(desired):
            st.query_params.update({k: v for k, v in desired.items() if current.get(k) != v})
        else:
            _rewrite_url(known, desired, order=list(current) or list(last))
    # Remember the URL's text of every key synced so far, in the URL's order.
    synced = set(last) | set(known)
    st.session_state[_WRITTEN] = {k: v for k, v in st.query_params.to_dict().items() if k in synced}


def session_url(known: Keyed) -> dict[str, str]:
    """The URL texts the session's values of ``known`` call for (non-default ones)."""
    return _session_texts(known)


def written_settings() -> dict[str, str]:
    """The URL texts of the settings this session last wrote (non-default ones only)."""
    return dict(st.session_state.get(_WRITTEN) or {})


def url_settings() -> dict[str, str]:
    """The URL's settings as written this run (for links that carry them to a page)."""
    return st.query_params.to_dict()


def _rewrite_url(known: Keyed, desired: dict[str, str], order: list[str]) -> None:
    """Replace the URL's ``known`` keys by ``desired`` in one message, keeping ``order``."""
    ordered = {k: desired[k] for k in order if k in desired} | desired
    others = {k: v for k, v in st.query_params.to_dict().items() if k not in known}
    try:
        st.query_params.from_dict(others | ordered)
    except StreamlitAPIException:  # a key bound to a widget (tabs) may not be rewritten
        for key in set(_url_texts(known)) - set(desired):
            del st.query_params[key]
        st.query_params.update(ordered)


# ------------------------------------------------------------------------ widgets


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


def sidebar_controls(schema: Schema, *, prefix: str = "", container: Any = None) -> dict[str, Any]:
    """Draw one widget per param (key ``prefix + name``), write them to the URL.

    Keys that ``restore_state`` did not cover (a page outside the registry) are restored
    here first.

    Returns:
        ``{param.name: value}``, every value valid for its param.
    """
    params = keyed(schema, prefix)
    missing = {key: p for key, p in params.items() if key not in st.session_state}
    if missing:
        restore_state(missing)
    target = st.sidebar if container is None else container
    drawn: dict[str, str] = st.session_state.setdefault(_DRAWN, {})
    values: dict[str, Any] = {}
    for key, param in params.items():
        # A value outside a (budget-lowered) range would make Streamlit raise.
        valid = _valid_or_default(param, st.session_state[key])
        # A widget whose range, label or help changed is a new widget to Streamlit, which
        # would give it its own default (a slider's minimum) unless the value comes
        # through the Session State API in this run.
        if valid != st.session_state[key] or drawn.get(key) != repr(param):
            st.session_state[key] = valid
        drawn[key] = repr(param)
        values[param.name] = _valid_or_default(param, _draw_widget(target, param, key))
    # Usually a no-op: the run began by writing the URL. A value lowered by the budget or
    # a range offered for a new sweep changes here.
    sync_url(params)
    return values


# ------------------------------------------------------------ presets and files


def check_settings(known: Keyed, values: Mapping[str, Any]) -> tuple[dict, list[str], list[str]]:
    """Split ``values`` (key -> typed value) by ``known``.

    Returns ``(valid, errors, ignored)``: the valid values of known keys, one message per
    bad value of a known key, and the keys ``known`` does not have.
    """
    valid: dict[str, Any] = {}
    errors: list[str] = []
    ignored = [str(key) for key in values if key not in known]
    for key, value in values.items():
        if key in known:
            try:
                valid[key] = known[key].validate(value)
            except ValueError as exc:
                errors.append(str(exc).replace(known[key].name, key, 1))
    return valid, errors, ignored


def apply_preset(values: Mapping[str, Any], known: Keyed) -> None:
    """Set the session's ``values`` (keys of ``known``); the run writes them to the URL.

    Call it from a widget callback (``on_click``/``on_change``) or before the widgets
    are drawn in a run: Streamlit forbids changing a drawn widget's state.

    Raises:
        ValueError: an unknown key or a bad value (nothing is applied then).
    """
    clean, errors, ignored = check_settings(known, values)
    if ignored:
        errors.insert(0, f"unknown setting(s): {describe_keys(ignored)}")
    if errors:
        raise ValueError("; ".join(errors))
    for key, value in clean.items():
        st.session_state[key] = value
    st.session_state.pop(_NOTICES, None)


def preset_buttons(
    presets: Mapping[str, Mapping[str, Any]], known: Keyed, *, container: Any = None
) -> None:
    """One button per preset (label -> ``{key: value}``) that applies it on click.

    The preset is applied in the click callback, i.e. before the next run draws the
    widgets, so these may be drawn anywhere.
    """
    for label, preset in presets.items():
        # Validate at draw time: a broken preset is a programming error.
        _, errors, ignored = check_settings(known, preset)
        if errors or ignored:
            raise ValueError(f"preset {label!r}: " + "; ".join([*errors, *ignored]))
    target = st.sidebar if container is None else container
    for label, preset in presets.items():
        target.button(
            label,
            key=f"_ggmi_preset::{label}",
            on_click=apply_preset,
            args=(dict(preset), known),
            width="stretch",
        )


def settings_to_json(shown: Keyed, values: Mapping[str, Any], page: str = "") -> bytes:
    """Serialise ``values`` (key -> value) to the settings-file format (UTF-8 JSON)."""
    clean, errors, ignored = check_settings(shown, values)
    if errors or ignored:
        raise ValueError("; ".join([*errors, *ignored]))
    doc = {
        "format": SETTINGS_FORMAT,
        "version": SETTINGS_VERSION,
        "page": page,
        "settings": clean,
    }
    return json.dumps(doc, indent=2).encode("utf-8")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a settings file")


def _decode_settings(data: bytes) -> dict[str, Any]:
    """The settings object of a file; ``ValueError`` fit to show a visitor otherwise."""
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
    return doc


def parse_settings_json(data: bytes, used: Keyed) -> tuple[dict[str, Any], list[str]]:
    """Parse a settings file saved on any page; return ``(values, ignored_keys)``.

    Accepts the format written by ``settings_to_json`` or a bare JSON object of
    settings. Keys this page does not use (``used``) are returned as ignored, not
    refused: a file saved on another page loads here too. Keys missing from the file
    keep their current values.

    Raises:
        ValueError: with a message fit to show a visitor (too big, not UTF-8, not JSON,
            wrong shape, bad values of keys this page uses; nothing is applied then).
    """
    values, errors, ignored = check_settings(used, _decode_settings(data))
    if errors:
        raise ValueError("; ".join(errors))
    return values, ignored


def _on_settings_upload(used: Keyed, uploader_key: str) -> None:
    """Callback: validate the uploaded file and apply it before widgets are drawn."""
    uploaded = st.session_state.get(uploader_key)
    if uploaded is None:
        st.session_state.pop(_UPLOAD_MSG, None)
        return
    try:
        size = getattr(uploaded, "size", 0) or 0
        if size > MAX_SETTINGS_BYTES:
            raise ValueError(
                f"the file is too large ({size:,} bytes; a settings file is at most "
                f"{MAX_SETTINGS_BYTES:,} bytes)"
            )
        values, ignored = parse_settings_json(uploaded.getvalue(), used)
        apply_preset(values, used)
    except ValueError as exc:
        st.session_state[_UPLOAD_MSG] = ("error", f"Settings not loaded: {exc}.")
    else:
        text = f"Loaded {len(values)} setting(s)."
        if ignored:
            text += f" Ignored what this page does not use: {describe_keys(ignored)}."
        st.session_state[_UPLOAD_MSG] = ("success", text)


def settings_io(shown: Keyed, *, page: str = "settings", container: Any = None) -> None:
    """Draw a settings JSON download button and an upload box (in an expander).

    The download holds the current values of ``shown`` (the shared settings and this
    page's own). An uploaded file is validated as a whole; if anything is wrong nothing
    is applied and a message says what (never a traceback).
    """
    target = st.sidebar if container is None else container
    uploader_key = "_ggmi_settings_upload"
    current = current_values(shown)
    with target.expander("Save or load settings", icon=":material/save:"):
        st.download_button(
            "Download settings (JSON)",
            data=settings_to_json(shown, current, page),
            file_name=f"ggmi-{page}-settings.json",
            mime="application/json",
            key="_ggmi_settings_download",
            on_click="ignore",
        )
        st.file_uploader(
            "Load settings (JSON)",
            type=["json"],
            key=uploader_key,
            on_change=_on_settings_upload,
            args=(shown, uploader_key),
            help="A file saved with the button above, on any page of this app.",
        )
        message = st.session_state.get(_UPLOAD_MSG)
        if message:
            kind, text = message
            (st.error if kind == "error" else st.success)(escape_markdown(text))


def current_values(shown: Keyed) -> dict[str, Any]:
    """The session's values of ``shown`` (valid; defaults where missing)."""
    return {
        key: _valid_or_default(p, st.session_state.get(key, p.default)) for key, p in shown.items()
    }
