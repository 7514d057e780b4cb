"""One settings state for the whole app: the store, the URL, widgets and settings files.

Every setting has a *key*, its URL key and its key in the settings store. Settings shared
by all pages (the scenario letters, the divergence, Monte Carlo samples, lecture mode)
use their plain names (``K``, ``metric``, ``lecture``); a page's own display settings
carry the page's prefix (``dist_projection``, ``gap_sweep``). ``Keyed`` maps keys to
``Param``.

**The store** is ``st.session_state[key]``, a key no widget owns, so it lasts across
pages: Streamlit drops a widget's value (and its key) when a run does not draw it, but
keeps everything else in Session State. A setting's widget has a key of its own,
``widget_key(key)`` (``"w_K"``), following Streamlit's documented pattern for widgets in
multipage apps: before a widget is drawn it takes the store's value when it lacks it
(its page was just opened) or holds another one (a preset, a room, a file, the URL
changed the store), and its ``on_change`` copies what the visitor chose back to the
store. A page change therefore needs nothing: the new page's widgets start from the store.

**The URL** holds every setting of the app that differs from its default (all pages',
so moving between pages leaves it unchanged and adds one browser-history entry, not
two). It is written in one direction per event:

* a URL change (a link just opened, the browser's back or forward button, an edited
  address) goes URL -> store, at the start of the run (``restore_state``), before any
  widget is drawn: the URL's values, and the default for every key it lacks;
* a widget change (or a preset, a settings file, a lecture room) goes widget -> store
  in its callback, then store -> URL (``sync_url``), at most once per run.

The URL counts as changed only when it differs from what this session last wrote while
the store still holds what was written (``_url_is_news``): the browser's address lags
behind the server by one message, so an address that disagrees with a store the visitor
just changed is an old one, not news.

Invalid URL values fall back to the default with a notice that
names the key; the bad text then leaves the URL. Notices stay until the visitor changes a
setting. A value the store holds outside a param's current range (the scenarios slider's
maximum follows the work budget) is replaced by the param's default before it is drawn.
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

#: URL/store key -> its parameter.
Keyed = Mapping[str, Param]

#: A setting's widget key is its store key with this prefix (see the module docstring).
WIDGET_PREFIX: Final[str] = "w_"

#: Largest settings file accepted, in bytes (a real one is well under 2 KB).
MAX_SETTINGS_BYTES: Final[int] = 64 * 1024
SETTINGS_FORMAT: Final[str] = "ggmi-explorer-settings"
#: Version 2: flat keys (shared names plus page-prefixed keys).
SETTINGS_VERSION: Final[int] = 2

_WRITTEN: Final[str] = "_ggmi_url_written"
_NOTICES: Final[str] = "_ggmi_url_notices"
_UPLOAD_MSG: Final[str] = "_ggmi_upload_msg"
_DRAWN: Final[str] = "_ggmi_drawn_params"
_PAGE: Final[str] = "_ggmi_page"


#: Stands for "no value" where None could be a value.
_MISSING: Final = object()


def widget_key(key: str) -> str:
    """The key of the widget that shows setting ``key`` (never the store's key)."""
    return WIDGET_PREFIX + key


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
        return False  # nothing new (a server-side page switch may arrive with no URL)
    return _session_texts(known) == written_here


def restore_state(known: Keyed) -> None:
    """Put into the store the value of every key in ``known``, before any widget is drawn.

    A URL that is news (see the module docstring) sets the store: its values, the
    default for a key it lacks, and a named notice for a value it may not hold. Otherwise
    the store keeps its values; a key it lacks gets its default. Call once at the top of
    every run with every key of the app (the frame does), so settings of pages not shown
    in this run keep their place in the URL.
    """
    from_url = _url_is_news(known)
    notices: dict[str, str] = {}
    for key, param in known.items():
        current = st.session_state.get(key, param.default)
        value = _valid_or_default(param, current)
        if from_url:
            value = param.default
            if key in st.query_params:
                try:
                    value = param.parse(st.query_params[key])
                except ValueError as exc:
                    notices[key] = _url_notice(key, param, exc, value)
        if key not in st.session_state or value != current:
            st.session_state[key] = value
    if notices:
        # Several restores in one run (keys outside the frame) add up their notices.
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
    """Write the store's values of ``known`` to the URL: non-default ones, in one message.

    The store -> URL half of a widget change (the URL -> store half of a URL change is
    ``restore_state``). Keys at their default leave the URL; nothing is sent when the URL
    already says it, so a run that only took a new URL writes nothing back unless it
    refused some of its text.
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
    """The URL texts the store's values of ``known`` call for (non-default ones)."""
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


def _draw_widget(container: Any, param: Param, key: str, on_change: Any, args: tuple) -> Any:
    """Draw ``param``'s widget under widget key ``key``; ``on_change(*args)`` on a change."""
    common: dict[str, Any] = {"key": key, "help": param.help or None, "on_change": on_change}
    common["args"] = args
    if isinstance(param, BoolParam):
        return container.toggle(param.label, disabled=param.disabled, **common)
    if isinstance(param, ChoiceParam):
        return container.selectbox(
            param.label,
            options=list(param.options),
            format_func=param.label_of,
            disabled=param.disabled,
            **common,
        )
    if isinstance(param, IntParam | FloatParam):
        numeric: dict[str, Any] = {
            "min_value": param.min,
            "max_value": param.max,
            "step": param.step,
            **common,
        }
        if isinstance(param, FloatParam) and param.format:
            numeric["format"] = param.format
        # A slider needs min < max; a one-value range is shown as a fixed number.
        if param.widget == "number" or param.min == param.max:
            fixed = param.disabled or param.min == param.max
            return container.number_input(param.label, disabled=fixed, **numeric)
        return container.slider(param.label, disabled=param.disabled, **numeric)
    raise TypeError(f"unsupported parameter type {type(param).__name__}")


def _widget_to_store(key: str, param: Param) -> None:
    """Callback: the visitor changed setting ``key``'s widget; copy its value to the store."""
    chosen = st.session_state.get(widget_key(key), param.default)
    st.session_state[key] = _valid_or_default(param, chosen)


def show_page(key: str) -> None:
    """Record that this run shows page ``key`` (the frame calls it before the page runs).

    A widget counts as new to Streamlit on another page; ``_store_to_widget`` seeds it.
    """
    st.session_state[_PAGE] = key


def _store_to_widget(key: str, param: Param, drawn: dict[str, str]) -> Any:
    """Give setting ``key``'s widget the store's value before it is drawn; return that value.

    Only when the widget lacks it or holds another one, or is a new widget to Streamlit:
    re-setting a value the widget already has would send it back to the browser and undo
    key presses made mid-run. Streamlit counts a widget as new on another page (a widget's
    identity includes its page) and when its range, label or help changed; a new widget
    starts from its own default (a slider's minimum) unless its value is set in this run,
    even while its key still holds the old widget's value.
    """
    value = _valid_or_default(param, st.session_state.get(key, param.default))
    if st.session_state.get(key) != value:
        st.session_state[key] = value  # e.g. above a budget-lowered maximum
    wkey = widget_key(key)
    identity = f"{st.session_state.get(_PAGE, '')}|{param!r}"
    if drawn.get(key) != identity or st.session_state.get(wkey, _MISSING) != value:
        st.session_state[wkey] = value
    drawn[key] = identity
    return value


def sidebar_controls(schema: Schema, *, prefix: str = "", container: Any = None) -> dict[str, Any]:
    """Draw one widget per param for the settings ``prefix + name``, write them to the URL.

    Each widget starts from the store and its changes go back to it (see the module
    docstring). Keys that ``restore_state`` did not cover (a page outside the frame)
    are restored here first.

    Returns:
        ``{param.name: value}``, every value valid for its param (the store's values).
    """
    params = keyed(schema, prefix)
    missing = {key: p for key, p in params.items() if key not in st.session_state}
    if missing:
        restore_state(missing)
    target = st.sidebar if container is None else container
    drawn: dict[str, str] = st.session_state.setdefault(_DRAWN, {})
    values: dict[str, Any] = {}
    for key, param in params.items():
        value = _store_to_widget(key, param, drawn)
        _draw_widget(target, param, widget_key(key), _widget_to_store, (key, param))
        values[param.name] = value
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
    """The store's values of ``shown`` (valid; defaults where missing)."""
    return {
        key: _valid_or_default(p, st.session_state.get(key, p.default)) for key, p in shown.items()
    }
