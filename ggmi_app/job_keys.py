"""Jobs and their cache keys: what a result is stored under, here and across replicas.

A ``Job`` is one call of a module-level ``ggmi_core`` function with picklable arguments
(``ggmi_app.compute`` runs it in a worker process). Its key hashes the function's name,
a canonical text of its arguments (``canonical``: equal values, equal text, in every
process) and a fingerprint of the numerics' source (``code_fingerprint``), so replicas
running other code never share results. Keys change only when ``KEY_VERSION`` is bumped.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np


@dataclass(frozen=True)
class Job:
    """One call ``func(*args, **dict(kwargs))`` to run in a worker process.

    ``func`` must be a module-level function; the arguments must be picklable. Equal jobs
    (same function, equal arguments in the same order) share a cache entry.
    """

    func: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Job:
        """The job ``func(*args, **kwargs)``."""
        return cls(func, args, tuple(kwargs.items()))

    def key(self) -> str:
        """Cache key: a hash of the function's name, its canonical arguments and the code.

        Keys of jobs whose arguments have a canonical form (numbers, strings, tuples,
        lists, dicts, dataclasses, numpy arrays) are stable across processes and start
        with ``KEY_VERSION``; they may be shared between replicas. Other jobs get a
        process-local key (``local:`` + a hash of their pickle) and stay in this process.
        """
        name = f"{self.func.__module__}.{self.func.__qualname__}"
        try:
            text = canonical((self.args, dict(self.kwargs)))
        except TypeError:
            data = pickle.dumps((name, self.args, self.kwargs), protocol=pickle.HIGHEST_PROTOCOL)
            return "local:" + hashlib.sha256(data).hexdigest()
        digest = hashlib.sha256(f"{code_fingerprint()}\n{name}\n{text}".encode())
        return f"{KEY_VERSION}:{digest.hexdigest()}"

    def __call__(self) -> Any:
        return self.func(*self.args, **dict(self.kwargs))


#: Version of the key scheme (the canonical form below); bump it when that changes.
KEY_VERSION: Final[str] = "job1"


def canonical(value: Any) -> str:
    """A text that identifies ``value`` across processes (equal values, equal text).

    Types are part of the text (``1`` and ``1.0`` differ, as they may change a result);
    floats are written exactly (``float.hex``); dict keys are sorted; arrays contribute
    their dtype, shape and a SHA-256 of their bytes. Raises ``TypeError`` for any other
    type, whose instances have no such form.
    """
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return f"i{int(value)}"
    if isinstance(value, float):
        return f"f{float(value).hex()}"
    if isinstance(value, str):
        return "s" + repr(str(value))
    if isinstance(value, bytes):
        return "b" + value.hex()
    if isinstance(value, tuple | list):
        inner = ",".join(canonical(v) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, dict):
        items = sorted((canonical(k), canonical(v)) for k, v in value.items())
        return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError("arrays of Python objects have no canonical form")
        data = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
        return f"a{value.dtype.str}{value.shape}{data}"
    if isinstance(value, np.generic):
        return f"n{value.dtype.str}:" + canonical(value.item())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        fields = ",".join(
            f"{f.name}={canonical(getattr(value, f.name))}" for f in dataclasses.fields(value)
        )
        return f"D{cls.__module__}.{cls.__qualname__}({fields})"
    raise TypeError(f"no canonical form for {type(value).__name__}")


@functools.cache
def code_fingerprint() -> str:
    """A hash of the numerics' source (``ggmi_core/*.py``), part of every shared key.

    Replicas of different versions then never serve each other results computed by other
    code, for example during a rolling update.
    """
    import ggmi_core

    digest = hashlib.sha256()
    for path in sorted(Path(ggmi_core.__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]
