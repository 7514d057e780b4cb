"""Parse and validate embedding files uploaded by visitors (CSV, NPY, Parquet).

An embedding file holds one sample per row and one embedding coordinate per column.
``load_embeddings`` turns the raw bytes into a float array of shape (n, d) or raises
``UploadError`` (a ``ValueError``) with a message meant for the visitor: what is wrong,
where, and the server's limits. Every check runs before the expensive step it guards:
the byte size before parsing, a file's declared shape before its data are read, so a
hostile file cannot make the server allocate more than the limits allow.

pandas (and pyarrow, through which pandas reads Parquet) is used only here, for parsing.
"""

from __future__ import annotations

import csv
import io
import math
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

#: Largest accepted file, bytes (matches ``server.maxUploadSize = 20`` MB).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Most rows (samples) accepted in one file.
MAX_ROWS = 20_000
#: Most columns (embedding dimensions) accepted.
MAX_DIM = 2048
#: Most numbers (rows x columns) accepted in one file: 4 million floats are 32 MB.
MAX_VALUES = 4_000_000
#: Fewest rows accepted: the estimators need a neighbourhood and a null distribution.
MIN_ROWS = 10
#: File types accepted, by extension.
ALLOWED_EXTENSIONS: tuple[str, ...] = (".csv", ".npy", ".parquet")

_CSV_CHUNK_CELLS = 200_000
#: Seconds a CSV or Parquet upload may take to read (in its own process) before it is
#: refused.
PARQUET_TIMEOUT_S = 30.0
#: Exit status of the Parquet worker when it refuses a file with a message on stderr.
_WORKER_REFUSED = 3
#: Environment of the Parquet worker. Its address-space cap counts reserved, not used,
#: memory, and every extra thread reserves a lot: a glibc malloc arena (64 MB), a stack,
#: BLAS buffers. How many arenas a threaded read creates depends on how its threads
#: interleave, i.e. on machine load, so under load the same file could cross the cap.
#: One BLAS thread, one malloc arena and arrow's plain malloc pool keep the reservation
#: small and equal on every run: the cap then measures the file, not the scheduler.
#: (glibc reads ``MALLOC_ARENA_MAX`` at start-up, so it must come from the parent.)
_WORKER_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MALLOC_ARENA_MAX": "1",
    "ARROW_DEFAULT_MEMORY_POOL": "system",
}
_NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats


class UploadError(ValueError):
    """An uploaded file cannot be used; the message says why, for the visitor."""


@dataclass(frozen=True)
class Limits:
    """Server limits applied to one uploaded file."""

    max_bytes: int = MAX_UPLOAD_BYTES
    max_rows: int = MAX_ROWS
    max_dim: int = MAX_DIM
    max_values: int = MAX_VALUES
    min_rows: int = MIN_ROWS

    def describe(self) -> str:
        """The limits in words, for messages."""
        return (
            f"at most {_human_bytes(self.max_bytes)}, {self.max_rows:,} rows, "
            f"{self.max_dim:,} columns and {self.max_values:,} numbers in all; "
            f"at least {self.min_rows} rows"
        )


def load_embeddings(
    data: bytes,
    filename: str,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_rows: int = MAX_ROWS,
    max_dim: int = MAX_DIM,
    max_values: int = MAX_VALUES,
    min_rows: int = MIN_ROWS,
) -> Array:
    """Parse an uploaded embedding file into a float array (n, d), rows = samples.

    CSV files are comma-separated (tab or semicolon when the first line has no comma),
    UTF-8, with or without a header row (a first row with any non-numeric cell is taken as
    the header). NPY files must hold a plain numeric 2-D array (no pickled objects).
    Parquet files must have numeric columns, or one column of equal-length numeric lists.

    Args:
        data: the file's bytes.
        filename: the file's name; its extension picks the parser.
        max_bytes, max_rows, max_dim, max_values, min_rows: server limits.

    Returns:
        A C-contiguous float64 array of shape (n, d) with only finite values.

    Raises:
        UploadError: with a message naming the problem and, where relevant, the limits.
    """
    limits = Limits(max_bytes, max_rows, max_dim, max_values, min_rows)
    name = str(filename or "")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise UploadError(f"{_label(name)}: expected file contents as bytes")
    data = bytes(data)
    extension = _extension(name)
    if extension not in ALLOWED_EXTENSIONS:
        raise UploadError(
            f"{_label(name)}: unsupported file type {extension or '(no extension)'}; "
            f"upload {', '.join(ALLOWED_EXTENSIONS)}"
        )
    if len(data) == 0:
        raise UploadError(f"{_label(name)} is empty")
    if len(data) > limits.max_bytes:
        raise UploadError(
            f"{_label(name)} is {_human_bytes(len(data))}; the server accepts {limits.describe()}"
        )
    parser = {".csv": _parse_csv, ".npy": _parse_npy, ".parquet": _parse_parquet}[extension]
    array = parser(data, name, limits)
    return _validated(array, name, limits)


@dataclass(frozen=True)
class PairCheck:
    """How an anchor set and a synthetic set relate.

    Attributes:
        paired: True when both have the same number of rows, so row i can be paired with
            row i (the caller must still believe the rows correspond).
        n_anchor: rows of the anchor set.
        n_synthetic: rows of the synthetic set.
        dim: the shared number of columns.
    """

    paired: bool
    n_anchor: int
    n_synthetic: int
    dim: int


def check_pair(anchor: Array, synthetic: Array) -> PairCheck:
    """Check that anchor (n, d) and synthetic (m, d) embeddings share the dimension d.

    Raises:
        UploadError: when the numbers of columns differ (embeddings from different models
            or a stray column), naming both.
    """
    a, s = np.asarray(anchor), np.asarray(synthetic)
    if a.ndim != 2 or s.ndim != 2:
        raise UploadError("anchor and synthetic embeddings must both be 2-D (rows = samples)")
    if a.shape[1] != s.shape[1]:
        raise UploadError(
            f"the anchor file has {a.shape[1]} columns but the synthetic file has "
            f"{s.shape[1]}; both must be embeddings of the same dimension (same model)"
        )
    return PairCheck(a.shape[0] == s.shape[0], int(a.shape[0]), int(s.shape[0]), int(a.shape[1]))


def subsample_rows(
    arrays: tuple[Array, ...], max_rows: int, rng: np.random.Generator, paired: bool
) -> tuple[tuple[Array, ...], bool]:
    """Keep at most ``max_rows`` rows of each array, chosen at random without replacement.

    With ``paired`` all arrays have the same number of rows and keep the same row indices,
    so pairs stay together. Kept rows stay in their original order.

    Returns:
        The (possibly) reduced arrays and whether any array was reduced.
    """
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1; got {max_rows}")
    if paired:
        n = arrays[0].shape[0]
        if any(a.shape[0] != n for a in arrays):
            raise ValueError("paired subsampling needs arrays with the same number of rows")
        if n <= max_rows:
            return arrays, False
        keep = np.sort(rng.choice(n, size=max_rows, replace=False))
        return tuple(a[keep] for a in arrays), True
    out = []
    reduced = False
    for a in arrays:
        if a.shape[0] > max_rows:
            keep = np.sort(rng.choice(a.shape[0], size=max_rows, replace=False))
            out.append(a[keep])
            reduced = True
        else:
            out.append(a)
    return tuple(out), reduced


# ---------------------------------------------------------------------------
# Parsers
# ---------------------------------------------------------------------------


def _parse_csv(data: bytes, name: str, limits: Limits) -> Array:
    """Read a CSV upload in a child process with memory, CPU and time limits.

    Parsing a 20 MB file costs seconds of CPU (and the slow, diagnosing path holds
    Python's GIL throughout); in the server process that stalled every other visitor's
    page. The child does the same work as ``read_csv_in_process``, off the server.
    """
    return _read_in_child(data, name, limits, "csv")


def read_csv_in_process(data: bytes, name: str, limits: Limits) -> Array:
    """Parse CSV bytes here (the reader child's half of ``_parse_csv``)."""
    text = _csv_text(data, name)
    sep, first_row, has_header = _csv_layout(text, name, limits)
    fast = _parse_csv_floats(text, sep, has_header, len(first_row), name, limits)
    if fast is not None:
        return fast
    # Something is not a number (or the rows are ragged): parse again as text, slowly,
    # to say which column and which value.
    return _parse_csv_diagnosing(text, sep, first_row, has_header, name, limits)


def _csv_text(data: bytes, name: str) -> str:
    """Decoded text with uniform newlines, starting at its first non-blank line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UploadError(
            f"{_label(name)} is not UTF-8 text (byte {err.start} cannot be decoded); "
            "is it really a CSV file?"
        ) from None
    if "\x00" in text:
        raise UploadError(f"{_label(name)} contains binary data (NUL bytes); expected CSV text")
    # One newline convention, so our first-line logic and pandas count lines alike.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # The first non-blank line, found by C-level string methods: a line-by-line Python
    # loop took 4 s on 19 MB of bare newlines.
    first = len(text) - len(text.lstrip())
    if first == len(text):
        raise UploadError(f"{_label(name)} has no data (only blank lines)")
    return text[text.rfind("\n", 0, first) + 1 :]


def _csv_layout(text: str, name: str, limits: Limits) -> tuple[str, list[str], bool]:
    """Separator, the cells of the first line, and whether that line is a header."""
    first_line = text.split("\n", 1)[0]
    sep = _csv_separator(first_line)
    try:
        first_row = next(csv.reader([first_line], delimiter=sep))
    except (csv.Error, StopIteration) as err:
        raise UploadError(f"{_label(name)}: the first line cannot be read as CSV ({err})") from None
    if len(first_row) > limits.max_dim:
        raise UploadError(
            f"{_label(name)} has {len(first_row):,} columns; the server accepts {limits.describe()}"
        )
    has_header = any(cell.strip() and not _is_number(cell) for cell in first_row)
    return sep, first_row, has_header


def _parse_csv_floats(
    text: str, sep: str, has_header: bool, n_cols: int, name: str, limits: Limits
) -> Array | None:
    """Parse straight to floats (fast); None when a cell is not a number or rows are ragged.

    Reads at most one row beyond the limits, so an oversized file costs no more than that.
    """
    import pandas as pd

    most_rows = min(limits.max_rows, limits.max_values // max(n_cols, 1))
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            # header=None keeps pandas from turning an extra field into an index: a row
            # longer than the first data row is then a tokenizing error, as it should be.
            header=None,
            skiprows=1 if has_header else 0,
            dtype=np.float64,
            skip_blank_lines=True,
            engine="c",
            nrows=most_rows + 1,
        )
    except Exception:  # not numbers, ragged, or no rows: the slow path says which
        return None
    if frame.shape[1] != n_cols:
        return None
    _check_rows_and_values(frame.shape[0], n_cols, name, limits)
    return frame.to_numpy(dtype=float)


def _parse_csv_diagnosing(
    text: str, sep: str, first_row: list[str], has_header: bool, name: str, limits: Limits
) -> Array:
    """Parse as text in bounded chunks, naming non-numeric columns and ragged rows."""
    import pandas as pd

    column_names = (
        [c.strip() or f"column {i + 1}" for i, c in enumerate(first_row)]
        if has_header
        else [f"column {i + 1}" for i in range(len(first_row))]
    )
    blocks: list[Array] = []
    bad_columns: dict[int, str] = {}
    n_rows = 0
    try:
        reader = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            skiprows=1 if has_header else 0,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=True,
            engine="c",
            # Strings cost far more than floats: bound the cells held at once.
            chunksize=max(1, _CSV_CHUNK_CELLS // len(first_row)),
        )
        for chunk in reader:
            if chunk.shape[1] != len(first_row):
                raise UploadError(
                    f"{_label(name)}: rows have {chunk.shape[1]} fields but the first line "
                    f"has {len(first_row)}"
                )
            n_rows += chunk.shape[0]
            _check_rows_and_values(n_rows, len(first_row), name, limits)
            blocks.append(_numeric_block(chunk, bad_columns, pd))
    except UploadError:
        raise
    except pd.errors.EmptyDataError:
        raise UploadError(f"{_label(name)} has a header but no data rows") from None
    except Exception as err:  # pandas raises many types on malformed text
        raise UploadError(f"{_label(name)} could not be parsed as CSV: {_short(err)}") from None
    if bad_columns:
        listed = ", ".join(
            f'"{column_names[j]}" (e.g. "{_short(v, 30)}")' for j, v in sorted(bad_columns.items())
        )
        hint = ""
        if len(first_row) == 1 and any(ch in text[:1000] for ch in ";\t "):
            hint = "; separate values with commas"
        raise UploadError(
            f"{_label(name)} has non-numeric values in column(s) {listed}; every column "
            f"must hold numbers (remove id or text columns){hint}"
        )
    if n_rows == 0:
        raise UploadError(f"{_label(name)} has a header but no data rows")
    return np.vstack(blocks)


def _numeric_block(chunk, bad_columns: dict[int, str], pd) -> Array:
    """Convert a chunk of CSV strings to floats; empty cells become NaN.

    Columns with a non-empty cell that is not a number are recorded in ``bad_columns``
    (column index -> an offending value).
    """
    out = np.empty(chunk.shape, dtype=float)
    for j in range(chunk.shape[1]):
        raw = chunk.iloc[:, j].str.strip()
        values = pd.to_numeric(raw, errors="coerce")
        # Missing fields (NaN) and spelled-out NaNs are not "non-numeric": they are
        # reported later as rows with missing values.
        failed = values.isna() & raw.notna() & (raw != "") & ~raw.str.lower().isin(_NAN_SPELLINGS)
        if failed.any() and j not in bad_columns:
            bad_columns[j] = str(raw[failed].iloc[0])
        out[:, j] = values.to_numpy(dtype=float, na_value=np.nan)
    return out


_NAN_SPELLINGS = ("nan", "na", "n/a", "null", "none", "-nan")


def _csv_separator(first_line: str) -> str:
    if "," in first_line:
        return ","
    if "\t" in first_line:
        return "\t"
    if ";" in first_line:
        return ";"
    return ","


def _parse_npy(data: bytes, name: str, limits: Limits) -> Array:
    import numpy.lib.format as npy_format

    buffer = io.BytesIO(data)
    try:
        version = npy_format.read_magic(buffer)
    except Exception:
        raise UploadError(
            f"{_label(name)} is not an NPY file (save arrays with numpy.save)"
        ) from None
    try:
        if version == (1, 0):
            shape, fortran_order, dtype = npy_format.read_array_header_1_0(buffer)
        elif version == (2, 0):
            shape, fortran_order, dtype = npy_format.read_array_header_2_0(buffer)
        else:
            raise UploadError(
                f"{_label(name)} uses NPY format version {version[0]}.{version[1]}, which "
                "only structured arrays need; save a plain numeric array with numpy.save"
            )
    except UploadError:
        raise
    except Exception as err:
        raise UploadError(f"{_label(name)} has a damaged NPY header: {_short(err)}") from None
    if dtype.hasobject:
        raise UploadError(
            f"{_label(name)} holds Python objects (pickled data), which the server never "
            "loads; save a plain numeric array, e.g. numpy.save(f, X.astype(float))"
        )
    if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None:
        raise UploadError(f"{_label(name)} holds {_dtype_words(dtype)}; it must hold real numbers")
    _check_shape(tuple(shape), name, limits)
    count = math.prod(shape)
    offset = buffer.tell()
    if len(data) - offset < count * dtype.itemsize:
        raise UploadError(
            f"{_label(name)} is truncated: the header announces shape {tuple(shape)} but "
            f"the file holds only {len(data) - offset:,} bytes of data"
        )
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return flat.reshape(shape, order="F" if fortran_order else "C").astype(float)


def _parse_parquet(data: bytes, name: str, limits: Limits) -> Array:
    """Read a Parquet upload in a child process with memory, CPU and time limits.

    pyarrow is native code, and a damaged file can make it abort the whole process (seen
    with pyarrow 26: corrupt level histograms in the column metadata end in
    ``std::terminate``), or decompress into gigabytes. Streamlit serves every visitor from
    one process, so the file is read where a crash or a memory blow-up harms no one else.
    """
    label = _label(name)
    if len(data) < 12 or data[:4] != b"PAR1" or data[-4:] != b"PAR1":
        raise UploadError(f"{label} is not a Parquet file (it lacks the PAR1 markers)")
    return _read_in_child(data, name, limits, "parquet")


#: Reader children one server process runs at once: each may use up to the child's
#: 1 GiB address space, so six at once had used 4 GB. Others wait their turn.
MAX_READERS = 2
#: Seconds an upload waits for a free reader before it is refused.
READER_QUEUE_S = 20.0
_READER_SLOTS = threading.BoundedSemaphore(MAX_READERS)
_OTHER_FORMATS = {"csv": "an NPY or Parquet file", "parquet": "a CSV or NPY file"}


def _read_in_child(data: bytes, name: str, limits: Limits, kind: str) -> Array:
    """Parse ``data`` (``kind``: "csv" or "parquet") in a resource-limited child process.

    At most ``MAX_READERS`` children run at once in this process.
    """
    label = _label(name)
    reader = {"csv": "CSV", "parquet": "Parquet"}[kind]
    instead = _OTHER_FORMATS[kind]
    root = str(Path(__file__).resolve().parents[1])
    env = {
        **os.environ,
        **_WORKER_ENV,
        "GGMI_READER_FORMAT": kind,
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    if not _READER_SLOTS.acquire(timeout=READER_QUEUE_S):
        raise UploadError(
            f"The server is reading other uploads right now; upload {label} again in a moment"
        )
    try:
        done = subprocess.run(
            _worker_command(name, limits),
            input=data,
            capture_output=True,
            timeout=PARQUET_TIMEOUT_S,
            env=env,
            cwd=root,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UploadError(
            f"{label} took more than {PARQUET_TIMEOUT_S:.0f} s to read; the server gave up. "
            f"Upload fewer rows, or {instead}"
        ) from None
    except OSError as err:
        raise UploadError(
            f"The server could not start its {reader} reader ({err}); upload {instead}"
        ) from None
    finally:
        _READER_SLOTS.release()
    if done.returncode == 0:
        try:
            return np.load(io.BytesIO(done.stdout), allow_pickle=False)
        except Exception:  # cannot happen with our worker; never trust it blindly
            raise UploadError(f"{label} could not be read as {reader}") from None
    if done.returncode == _WORKER_REFUSED:
        return _raise_worker_message(done.stderr, label)
    raise UploadError(
        f"{label} could not be read: the {reader} reader failed on it (a damaged file, or "
        f"one that needs more memory than the server allows). Upload {instead} instead"
    )


def _worker_command(name: str, limits: Limits) -> list[str]:
    """The command line of the Parquet worker (a function so tests can swap it)."""
    return [
        sys.executable,
        "-m",
        "ggmi_core._parquet_worker",
        _printable(name)[:200],
        str(limits.max_rows),
        str(limits.max_dim),
        str(limits.max_values),
        str(limits.min_rows),
    ]


def _raise_worker_message(stderr: bytes, label: str) -> Array:
    message = stderr.decode("utf-8", "replace").strip().splitlines()
    text = message[-1] if message else ""
    raise UploadError(_short(text, 400) if text else f"{label} could not be read as Parquet")


def read_parquet_in_process(data: bytes, name: str, limits: Limits) -> Array:
    """Parse Parquet bytes here (the worker's half of ``_parse_parquet``); see there why.

    Column-chunk metadata is never touched: reading it is what aborts on a damaged file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        meta = parquet.metadata
        schema = parquet.schema_arrow
        n_rows = int(meta.num_rows)
        # Compressed pages can expand enormously: bound the decoded size before decoding.
        decoded = sum(int(meta.row_group(g).total_byte_size) for g in range(meta.num_row_groups))
    except Exception as err:
        raise UploadError(f"{_label(name)} is not a readable Parquet file: {_short(err)}") from None
    if decoded > 16 * limits.max_values or n_rows > limits.max_rows:
        raise UploadError(
            f"{_label(name)} holds {n_rows:,} rows ({_human_bytes(decoded)} uncompressed); "
            f"the server accepts {limits.describe()}"
        )
    fields = list(schema)
    if len(fields) > limits.max_dim:
        raise UploadError(
            f"{_label(name)} has {len(fields):,} columns; the server accepts {limits.describe()}"
        )

    def numeric(t: pa.DataType) -> bool:
        return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)

    list_fields = [
        f
        for f in fields
        if (
            pa.types.is_list(f.type)
            or pa.types.is_large_list(f.type)
            or pa.types.is_fixed_size_list(f.type)
        )
        and numeric(f.type.value_type)
    ]
    bad = [f.name for f in fields if not numeric(f.type) and f not in list_fields]
    if bad or (list_fields and len(fields) > 1):
        offenders = bad or [f.name for f in fields if f not in list_fields[:1]]
        raise UploadError(
            f"{_label(name)} has non-numeric column(s) "
            f"{', '.join(repr(str(b)) for b in offenders)}; use numeric columns only, or a "
            "single column of numeric lists"
        )
    try:
        # One thread: a reader's threads only add reserved memory (see _WORKER_ENV).
        table = parquet.read(use_threads=False)
    except Exception as err:
        raise UploadError(f"{_label(name)} could not be read: {_short(err)}") from None
    if list_fields:
        return _stack_list_column(table.column(0), name, limits)
    if not fields:
        raise UploadError(f"{_label(name)} has no columns")
    _check_shape((n_rows, len(fields)), name, limits)
    columns = [
        table.column(i).to_numpy(zero_copy_only=False).astype(float) for i in range(len(fields))
    ]
    return np.column_stack(columns) if columns else np.empty((0, 0))


def _stack_list_column(column, name: str, limits: Limits) -> Array:
    """Stack a Parquet column of equal-length numeric lists into (n, dim) floats."""
    import pyarrow as pa

    lists = column.combine_chunks()
    n = len(lists)
    if lists.null_count:
        raise UploadError(
            f"{_label(name)}: {lists.null_count:,} rows have no embedding (null list)"
        )
    if pa.types.is_fixed_size_list(lists.type):
        dim = int(lists.type.list_size)
    else:
        lengths = np.diff(np.asarray(lists.offsets))
        distinct = np.unique(lengths)
        if distinct.size > 1:
            raise UploadError(
                f"{_label(name)}: the embedding lists have different lengths "
                f"({', '.join(map(str, distinct[:5]))}); all rows need the same dimension"
            )
        dim = int(distinct[0]) if distinct.size else 0
    _check_shape((n, dim), name, limits)
    values = lists.flatten().to_numpy(zero_copy_only=False).astype(float)
    return values.reshape(n, dim)


# ---------------------------------------------------------------------------
# Shared checks
# ---------------------------------------------------------------------------


def _check_rows_and_values(n_rows: int, n_cols: int, name: str, limits: Limits) -> None:
    if n_rows > limits.max_rows or n_rows * n_cols > limits.max_values:
        raise UploadError(
            f"{_label(name)} has at least {n_rows:,} rows of {n_cols:,} columns; the "
            f"server accepts {limits.describe()}. Subsample it before uploading"
        )


def _check_shape(shape: tuple[int, ...], name: str, limits: Limits) -> None:
    if len(shape) == 0:
        raise UploadError(f"{_label(name)} holds a single number; expected a 2-D array")
    if len(shape) == 1:
        raise UploadError(
            f"{_label(name)} is a 1-D array of {shape[0]:,} values; expected 2-D "
            "(rows = samples, columns = dimensions); for one dimension use X.reshape(-1, 1)"
        )
    if len(shape) > 2:
        raise UploadError(
            f"{_label(name)} is a {len(shape)}-D array of shape {shape}; expected 2-D "
            "(rows = samples, columns = dimensions)"
        )
    rows, cols = shape
    if cols == 0:
        raise UploadError(f"{_label(name)} has no columns")
    if rows > limits.max_rows or cols > limits.max_dim or rows * cols > limits.max_values:
        raise UploadError(
            f"{_label(name)} has shape {rows:,} x {cols:,}; the server accepts "
            f"{limits.describe()}. Subsample it before uploading"
        )


def _validated(array: Array, name: str, limits: Limits) -> Array:
    if array.ndim != 2:
        _check_shape(array.shape, name, limits)
    rows, cols = array.shape
    _check_shape((rows, cols), name, limits)
    if rows < limits.min_rows:
        raise UploadError(
            f"{_label(name)} has {rows} row(s); at least {limits.min_rows} samples are needed"
        )
    finite = np.isfinite(array)
    if not finite.all():
        bad_rows = np.flatnonzero(~finite.all(axis=1))
        raise UploadError(
            f"{_label(name)}: {bad_rows.size:,} of {rows:,} rows contain missing, NaN or "
            f"infinite values (first: data row {bad_rows[0] + 1}); remove or fill them"
        )
    return np.ascontiguousarray(array, dtype=float)


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def _extension(name: str) -> str:
    base = name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    return "." + base.rsplit(".", 1)[-1].lower() if "." in base else ""


def _printable(name: str) -> str:
    """``name`` without control characters (so also without NUL bytes), trimmed."""
    return "".join(ch for ch in name if ch.isprintable()).strip()


def _label(name: str) -> str:
    """The file's name for messages, shortened and stripped of control characters."""
    clean = _printable(name)
    return f'"{_short(clean, 60)}"' if clean else "The file"


def _short(value: object, limit: int = 120) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return cell.strip().lower() in _NAN_SPELLINGS
    return True


def _human_bytes(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} bytes"


def _dtype_words(dtype: np.dtype) -> str:
    if dtype.fields is not None:
        return "a structured (record) array"
    return {
        "c": "complex numbers",
        "U": "text",
        "S": "bytes",
        "M": "dates",
        "m": "time spans",
        "V": "raw bytes",
    }.get(dtype.kind, f"values of type {dtype}")
