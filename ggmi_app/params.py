"""Declarative schema of the settings a page keeps in its URL and sidebar.

Each parameter knows its default, its allowed range, how to parse the text a visitor
(or an attacker) put in the URL, and how to write a value back to the URL. Parsing is
strict: anything that is not a plain ASCII number in range, an exact option name or a
recognised boolean raises ``ValueError`` with a message naming the parameter and the
allowed values, so ``ggmi_app.state`` can fall back to the default with a notice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

#: Longest raw URL value we even try to parse; longer input is refused outright.
MAX_RAW_LENGTH: Final[int] = 64

_INT_RE: Final = re.compile(r"[+-]?[0-9]{1,18}")
_FLOAT_RE: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


def _show(raw: str) -> str:
    """A short, printable rendering of untrusted text for error messages."""
    cleaned = "".join(ch if ch.isprintable() and ch.isascii() else "?" for ch in raw)
    if len(cleaned) > 24:
        cleaned = cleaned[:21] + "..."
    return repr(cleaned)


def _check_raw(name: str, raw: object) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"{name}: expected text, got {type(raw).__name__}")
    if len(raw) > MAX_RAW_LENGTH:
        raise ValueError(f"{name}: value is too long ({len(raw)} characters)")
    return raw.strip()


@dataclass(frozen=True)
class Param:
    """Common fields. Use the subclasses; ``name`` is the URL key and widget key."""

    name: str
    label: str
    default: Any
    help: str = field(default="", kw_only=True)
    #: Drawn greyed out: its value is kept (URL, settings) but the visitor cannot move it.
    disabled: bool = field(default=False, kw_only=True)

    def __post_init__(self) -> None:
        if not _NAME_RE.fullmatch(self.name):
            raise ValueError(f"parameter name {self.name!r} must be a short identifier")
        # The default must itself be valid: a broken schema should fail at import.
        self.validate(self.default)

    def parse(self, raw: str) -> Any:
        """Parse URL text into a valid value; raise ``ValueError`` otherwise."""
        raise NotImplementedError

    def validate(self, value: Any) -> Any:
        """Check a typed value (e.g. from uploaded JSON); return it normalised."""
        raise NotImplementedError

    def to_url(self, value: Any) -> str:
        """Text for the URL such that ``parse(to_url(v)) == v``."""
        return str(self.validate(value))

    def allowed(self) -> str:
        """A short description of the allowed values, for messages."""
        raise NotImplementedError


@dataclass(frozen=True)
class IntParam(Param):
    """An integer in ``[min, max]`` on the grid ``min + k * step``."""

    default: int
    min: int
    max: int
    step: int = 1
    widget: Literal["slider", "number"] = field(default="slider", kw_only=True)

    def __post_init__(self) -> None:
        if not (self.min <= self.max) or self.step < 1:
            raise ValueError(f"{self.name}: need min <= max and step >= 1")
        super().__post_init__()

    def parse(self, raw: str) -> int:
        text = _check_raw(self.name, raw)
        if not _INT_RE.fullmatch(text):
            raise ValueError(f"{self.name}: {_show(raw)} is not a whole number; {self.allowed()}")
        return self.validate(int(text))

    def validate(self, value: Any) -> int:
        # bool is a subclass of int, but True is not a component count.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{self.name}: expected a whole number; {self.allowed()}")
        if isinstance(value, float):
            if not math.isfinite(value) or not value.is_integer():
                raise ValueError(f"{self.name}: expected a whole number; {self.allowed()}")
            value = int(value)
        if not (self.min <= value <= self.max):
            raise ValueError(f"{self.name}: {value} is out of range; {self.allowed()}")
        if (value - self.min) % self.step:
            raise ValueError(f"{self.name}: {value} is not on the grid; {self.allowed()}")
        return value

    def allowed(self) -> str:
        grid = f" in steps of {self.step}" if self.step != 1 else ""
        return f"allowed: whole numbers {self.min} to {self.max}{grid}"


@dataclass(frozen=True)
class FloatParam(Param):
    """A finite float in ``[min, max]``; ``step`` is the slider's resolution."""

    default: float
    min: float
    max: float
    step: float = 0.01
    widget: Literal["slider", "number"] = field(default="slider", kw_only=True)
    format: str | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        bounds = (self.min, self.max, self.step)
        if not all(math.isfinite(b) for b in bounds) or self.min > self.max or self.step <= 0:
            raise ValueError(f"{self.name}: need finite min <= max and step > 0")
        super().__post_init__()

    def parse(self, raw: str) -> float:
        text = _check_raw(self.name, raw)
        if not _FLOAT_RE.fullmatch(text):
            raise ValueError(f"{self.name}: {_show(raw)} is not a number; {self.allowed()}")
        return self.validate(float(text))

    def validate(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{self.name}: expected a number; {self.allowed()}")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{self.name}: must be a finite number; {self.allowed()}")
        if not (self.min <= value <= self.max):
            raise ValueError(f"{self.name}: {value:g} is out of range; {self.allowed()}")
        return value

    def to_url(self, value: Any) -> str:
        # repr is the shortest text that reads back as the same float.
        return repr(self.validate(value))

    def allowed(self) -> str:
        return f"allowed: numbers {self.min:g} to {self.max:g}"


@dataclass(frozen=True)
class ChoiceParam(Param):
    """One of a fixed tuple of option strings (shown with ``labels`` if given)."""

    default: str
    options: tuple[str, ...] = ()
    labels: Mapping[str, str] | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", tuple(self.options))
        if not self.options or len(set(self.options)) != len(self.options):
            raise ValueError(f"{self.name}: options must be non-empty and distinct")
        super().__post_init__()

    def parse(self, raw: str) -> str:
        return self.validate(_check_raw(self.name, raw))

    def validate(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.options:
            shown = _show(value) if isinstance(value, str) else type(value).__name__
            raise ValueError(f"{self.name}: {shown} is not an option; {self.allowed()}")
        return value

    def label_of(self, option: str) -> str:
        """Display text for ``option``."""
        return (self.labels or {}).get(option, option)

    def allowed(self) -> str:
        return "allowed: " + ", ".join(self.options)


@dataclass(frozen=True)
class BoolParam(Param):
    """On/off; the URL holds ``1`` or ``0`` (``true``/``false`` etc. also parse)."""

    default: bool

    def parse(self, raw: str) -> bool:
        text = _check_raw(self.name, raw).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"{self.name}: {_show(raw)} is not on/off; {self.allowed()}")

    def validate(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"{self.name}: expected true or false; {self.allowed()}")
        return value

    def to_url(self, value: Any) -> str:
        return "1" if self.validate(value) else "0"

    def allowed(self) -> str:
        return "allowed: 1 or 0"


Schema = Sequence[Param]


def check_schema(schema: Schema) -> dict[str, Param]:
    """Return ``{name: param}``; raise ``ValueError`` on duplicate names."""
    by_name: dict[str, Param] = {}
    for param in schema:
        if param.name in by_name:
            raise ValueError(f"duplicate parameter name {param.name!r} in schema")
        by_name[param.name] = param
    return by_name


def defaults(schema: Schema) -> dict[str, Any]:
    """The default settings of ``schema`` as ``{name: value}``."""
    return {p.name: p.default for p in schema}


def describe_keys(keys: Sequence[str], most: int = 5) -> str:
    """Untrusted keys for a message: at most ``most`` shown, printable, quoted."""
    shown = ", ".join(_show(str(k)) for k in keys[:most])
    more = f" and {len(keys) - most} more" if len(keys) > most else ""
    return shown + more
