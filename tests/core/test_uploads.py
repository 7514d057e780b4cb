"""Parsing and validation of uploaded embedding files, including hostile bytes."""

import io
import sys
import threading
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ggmi_core import uploads
from ggmi_core.uploads import (
    MAX_UPLOAD_BYTES,
    UploadError,
    check_pair,
    load_embeddings,
    subsample_rows,
)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _csv(X, header=None, fmt="%.17g"):
    buf = io.StringIO()
    if header is not None:
        buf.write(",".join(header) + "\n")
    np.savetxt(buf, X, delimiter=",", fmt=fmt)
    return buf.getvalue().encode()


def _npy(X, **kw):
    buf = io.BytesIO()
    np.save(buf, X, **kw)
    return buf.getvalue()


def _parquet(df):
    buf = io.BytesIO()
    df.to_parquet(buf)
    return buf.getvalue()


def _csv_here():
    """Parse CSV in this process (the reader child's own half): the fuzz tests check the
    parser's logic, and a child per example would take minutes; the unit tests above and
    below go through the child."""
    return mock.patch.object(uploads, "_parse_csv", uploads.read_csv_in_process)


def _message(data, name, **kw):
    with pytest.raises(UploadError) as info:
        load_embeddings(data, name, **kw)
    return str(info.value)


X = np.random.default_rng(0).normal(size=(25, 4))

# --------------------------------------------------------------------------- good files


def test_csv_without_and_with_header_round_trips():
    np.testing.assert_array_equal(load_embeddings(_csv(X), "a.csv"), X)
    np.testing.assert_array_equal(load_embeddings(_csv(X, ["e0", "e1", "e2", "e3"]), "a.CSV"), X)


def test_csv_with_bom_crlf_blank_lines_and_tabs():
    text = "\ufeffx\ty\r\n\r\n" + "\r\n".join(f"{i}\t{2 * i}" for i in range(12)) + "\r\n"
    got = load_embeddings(text.encode("utf-8"), "tabs.csv")
    np.testing.assert_array_equal(got, np.column_stack([np.arange(12), 2 * np.arange(12)]))


def test_npy_in_c_and_fortran_order_and_integer_dtypes():
    np.testing.assert_array_equal(load_embeddings(_npy(X), "a.npy"), X)
    np.testing.assert_array_equal(load_embeddings(_npy(np.asfortranarray(X)), "f.npy"), X)
    ints = np.arange(30, dtype=np.int16).reshape(15, 2)
    got = load_embeddings(_npy(ints), "i.npy")
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, ints)


def test_parquet_numeric_columns_and_list_column():
    df = pd.DataFrame(X, columns=[f"e{i}" for i in range(4)])
    np.testing.assert_array_equal(load_embeddings(_parquet(df), "a.parquet"), X)
    lists = pd.DataFrame({"embedding": list(X)})
    np.testing.assert_array_equal(load_embeddings(_parquet(lists), "l.parquet"), X)
    fixed = pa.table({"emb": pa.FixedSizeListArray.from_arrays(pa.array(X.ravel()), 4)})
    buf = io.BytesIO()
    pq.write_table(fixed, buf)
    np.testing.assert_array_equal(load_embeddings(buf.getvalue(), "fixed.parquet"), X)


@FUZZ
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(10, 40), st.integers(1, 6)),
        elements=st.floats(-1e6, 1e6, allow_nan=False, width=64),
    ),
    st.sampled_from(["csv", "csv_header", "npy", "parquet"]),
)
def test_any_finite_array_round_trips_in_every_format(arr, fmt):
    if fmt == "parquet":
        # In-process half of the Parquet reader: spawning the worker per example would
        # take minutes; test_parquet_numeric_columns_and_list_column covers the worker.
        df = pd.DataFrame(arr, columns=[str(j) for j in range(arr.shape[1])])
        got = uploads.read_parquet_in_process(_parquet(df), "x.parquet", uploads.Limits())
        np.testing.assert_array_equal(got, arr)
        return
    if fmt == "csv":
        data, name = _csv(arr), "x.csv"
    elif fmt == "csv_header":
        data, name = _csv(arr, [f"dim {j}" for j in range(arr.shape[1])]), "x.csv"
    else:
        data, name = _npy(arr), "x.npy"
    with _csv_here():
        np.testing.assert_array_equal(load_embeddings(data, name), arr)


# --------------------------------------------------------------------------- bad files


def test_empty_and_wrong_extension():
    assert "empty" in _message(b"", "a.csv")
    msg = _message(b"1,2\n", "notes.txt")
    assert ".txt" in msg and ".csv" in msg and ".npy" in msg and ".parquet" in msg
    assert "no extension" in _message(b"1,2\n", "README")


def test_non_numeric_columns_are_named():
    rows = "\n".join(f"id{i},{i},{i}.5,cat" for i in range(12))
    msg = _message(("name,a,b,label\n" + rows).encode(), "mixed.csv")
    assert '"name"' in msg and '"label"' in msg and '"a"' not in msg
    msg = _message(("1,2\n" * 11 + "3,oops\n").encode(), "late.csv")
    assert '"column 2"' in msg and "oops" in msg


def test_semicolons_in_a_comma_file_get_a_separator_hint():
    msg = _message(("a b\n" + "1 2\n" * 12).encode(), "spaces.csv")
    assert "commas" in msg


def test_nan_and_inf_rows_are_counted():
    Y = X.copy()
    Y[2, 1] = np.nan
    Y[7, 0] = np.inf
    Y[7, 3] = -np.inf
    msg = _message(_npy(Y), "y.npy")
    assert "2 of 25 rows" in msg and "row 3" in msg
    csv_text = "a,b\n" + "1,2\n" * 10 + "3,\n" + "nan,1\n"
    assert "2 of 12 rows" in _message(csv_text.encode(), "holes.csv")


def test_ragged_csv_is_refused():
    text = "1,2,3\n" * 10 + "1,2,3,4\n"
    assert "could not be parsed" in _message(text.encode(), "ragged.csv")


@pytest.mark.parametrize(
    "array,needle",
    [
        (np.arange(20.0), "1-D array of 20 values"),
        (np.zeros((12, 3, 2)), "3-D array"),
        (np.float64(3.0), "single number"),
        (np.zeros((12, 2), dtype=complex), "complex"),
        (np.array(["a"] * 24).reshape(12, 2), "text"),
        (np.zeros(12, dtype=[("x", float), ("y", float)]), "structured"),
    ],
)
def test_bad_npy_shapes_and_dtypes(array, needle):
    assert needle in _message(_npy(array), "bad.npy")


def _tripwire():
    raise AssertionError("the server unpickled an uploaded object")


class _Evil:
    """Unpickling this object calls ``_tripwire``."""

    def __reduce__(self):
        return (_tripwire, ())


def test_pickled_object_arrays_are_never_loaded():
    data = _npy(np.array([_Evil()] * 12, dtype=object).reshape(6, 2), allow_pickle=True)
    assert "pickled" in _message(data, "evil.npy")


def test_npy_header_announcing_a_huge_array_is_refused_before_allocation():
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 1000), }"
    header = header.ljust(118) + "\n"
    data = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + b"\0" * 64
    assert "server accepts" in _message(data, "huge.npy")
    ok_shape = header.replace("1000000000000, 1000", "100, 4".ljust(19))
    data = b"\x93NUMPY\x01\x00" + len(ok_shape).to_bytes(2, "little") + ok_shape.encode()
    assert "truncated" in _message(data + b"\0" * 64, "short.npy")


def test_too_few_rows():
    assert "at least 10" in _message(_npy(X[:5]), "five.npy")


def test_limits_are_stated_when_exceeded():
    msg = _message(_npy(X), "x.npy", max_rows=20)
    assert "20 rows" in msg and "25" in msg
    msg = _message(_npy(X), "x.npy", max_dim=3)
    assert "3 columns" in msg
    msg = _message(_csv(X), "x.csv", max_values=50)
    assert "50 numbers" in msg
    msg = _message(b"1" * (MAX_UPLOAD_BYTES + 1), "big.csv")
    assert "20.0 MB" in msg
    wide = ",".join(["1"] * 3000) + "\n"
    assert "3,000 columns" in _message((wide * 12).encode(), "wide.csv")


def test_parquet_that_decompresses_beyond_the_limits_is_refused_unread():
    # A million equal rows compress to a few KB; the row count in the footer betrays them.
    table = pa.table({"a": np.zeros(1_000_000), "b": np.ones(1_000_000)})
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    assert len(buf.getvalue()) < 100_000
    assert "1,000,000 rows" in _message(buf.getvalue(), "bomb.parquet")


def test_parquet_non_numeric_and_ragged_lists():
    df = pd.DataFrame({"text": ["hi"] * 12, "x": np.arange(12.0)})
    assert "'text'" in _message(_parquet(df), "t.parquet")
    ragged = pd.DataFrame({"emb": [np.zeros(3)] * 11 + [np.zeros(4)]})
    assert "different lengths" in _message(_parquet(ragged), "r.parquet")
    assert "not a readable Parquet" in _message(b"PAR1 not really PAR1", "g.parquet")


def test_control_characters_in_file_names_are_not_echoed():
    msg = _message(b"", "a\x1b[31m\nb.csv")
    assert "\x1b" not in msg and "\n" not in msg


# --------------------------------------------------------------------------- fuzzing


@FUZZ
@given(st.binary(max_size=2000), st.sampled_from(["f.csv", "f.npy", "f.parquet", "f", "f.CSV"]))
def test_arbitrary_bytes_raise_only_upload_error(data, name):
    try:
        with _csv_here():
            out = load_embeddings(data, name)
    except UploadError:
        return
    assert out.ndim == 2 and out.shape[0] >= 10 and np.isfinite(out).all()


_cell = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=6),
    st.sampled_from(["", " ", '"', "nan", "1e999", "-", "1,2", "\\"]),
)


@FUZZ
@given(st.lists(st.lists(_cell, min_size=1, max_size=5), min_size=1, max_size=30))
def test_csv_like_text_raises_only_upload_error(rows):
    data = "\n".join(",".join(r) for r in rows).encode("utf-8", "surrogatepass")
    try:
        with _csv_here():
            out = load_embeddings(data, "fuzz.csv")
    except UploadError:
        return
    assert out.ndim == 2 and np.isfinite(out).all()


@FUZZ
@given(st.integers(0, 200), st.integers(0, 255))
def test_corrupted_npy_raises_only_upload_error(position, value):
    data = bytearray(_npy(X))
    data[position % len(data)] = value
    try:
        out = load_embeddings(bytes(data), "corrupt.npy")
    except UploadError:
        return
    assert out.shape[1] >= 1 and np.isfinite(out).all()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.integers(0, 255))
def test_corrupted_parquet_raises_only_upload_error(position, value):
    # Few examples: each Parquet file is read in a child process (about 0.5 s). The
    # corrupt-file regression below pins the case that once aborted the process.
    data = bytearray(_parquet(pd.DataFrame(X, columns=list("abcd"))))
    data[position % len(data)] = value
    try:
        out = load_embeddings(bytes(data), "corrupt.parquet")
    except UploadError:
        return
    assert np.isfinite(out).all()


# --------------------------------------------------------------------------- pairs


def test_check_pair_reports_dimensions_and_pairing():
    info = check_pair(X, X[:10])
    assert (info.paired, info.n_anchor, info.n_synthetic, info.dim) == (False, 25, 10, 4)
    assert check_pair(X, X + 1).paired
    with pytest.raises(UploadError) as info:
        check_pair(X, X[:, :3])
    msg = str(info.value)
    assert "4 columns" in msg and "3" in msg


def test_subsample_rows_keeps_pairs_together_and_is_seeded():
    A = np.arange(100.0)[:, None]
    B = A + 1000
    (a, b), reduced = subsample_rows((A, B), 30, np.random.default_rng(1), paired=True)
    assert reduced and a.shape == (30, 1)
    np.testing.assert_array_equal(b - a, 1000)
    assert np.all(np.diff(a[:, 0]) > 0)  # original order kept
    (a2, _), _ = subsample_rows((A, B), 30, np.random.default_rng(1), paired=True)
    np.testing.assert_array_equal(a, a2)
    (a3, b3), reduced = subsample_rows((A, B[:20]), 30, np.random.default_rng(1), paired=False)
    assert reduced and a3.shape == (30, 1) and b3.shape == (20, 1)
    (same,), reduced = subsample_rows((A,), 100, np.random.default_rng(1), paired=False)
    assert not reduced and same is A


# --------------------------------------------------------------------------- Parquet isolation

DATA = Path(__file__).parent / "data"


def test_parquet_that_aborted_pyarrow_is_refused_and_we_survive():
    # Found by fuzzing: with pyarrow 26 reading this file's column-chunk metadata ends in
    # std::terminate ("Repetition level histogram size mismatch"), killing the process.
    data = (DATA / "parquet_abort.parquet").read_bytes()
    msg = _message(data, "damaged.parquet")
    assert "damaged.parquet" in msg and "could not be read" in msg


def test_the_largest_accepted_parquet_file_reads_under_the_worker_caps():
    # MAX_ROWS x (MAX_VALUES / MAX_ROWS) numbers, compressible so the file stays under the
    # byte limit while the decoded table is as large as the limits allow.
    cols = uploads.MAX_VALUES // uploads.MAX_ROWS
    big = np.random.default_rng(1).integers(0, 1000, size=(uploads.MAX_ROWS, cols)) / 8
    data = _parquet(pd.DataFrame(big, columns=[f"e{j}" for j in range(cols)]))
    assert len(data) < MAX_UPLOAD_BYTES
    np.testing.assert_array_equal(load_embeddings(data, "big.parquet"), big)


def test_a_dying_parquet_reader_becomes_a_message(monkeypatch):
    monkeypatch.setattr(
        uploads,
        "_worker_command",
        lambda name, limits: [sys.executable, "-c", "import os; os.abort()"],
    )
    good = _parquet(pd.DataFrame(X, columns=list("abcd")))
    assert "the Parquet reader failed on it" in _message(good, "x.parquet")


def test_a_hanging_parquet_reader_is_stopped(monkeypatch):
    monkeypatch.setattr(
        uploads,
        "_worker_command",
        lambda name, limits: [sys.executable, "-c", "import time; time.sleep(60)"],
    )
    monkeypatch.setattr(uploads, "PARQUET_TIMEOUT_S", 0.5)
    good = _parquet(pd.DataFrame(X, columns=list("abcd")))
    assert "took more than" in _message(good, "x.parquet")


def test_parquet_worker_runs_under_memory_and_cpu_caps():
    import subprocess

    code = (
        "import resource, sys; from ggmi_core import _parquet_worker as w; "
        "w._cap(resource.RLIMIT_AS, w.MEMORY_LIMIT_BYTES); "
        "import numpy as np\n"
        "try:\n    np.ones(400_000_000)\nexcept MemoryError:\n    sys.exit(7)"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, check=False)
    assert done.returncode == 7  # 3.2 GB refused under the 1 GB cap


def test_bytes_without_parquet_markers_are_refused_without_a_reader():
    assert "PAR1" in _message(b"not parquet at all", "x.parquet")


def test_a_csv_of_bare_newlines_is_refused_with_a_message():
    """Replay (issue 24): 19 MiB of newlines cost 4.3 s of Python in the server; the
    scan for the first line is now done by string methods, in the reader child."""
    assert "only blank lines" in _message(b"\n" * (19 * 1024 * 1024), "blank.csv")
    text = "\n \n\t\n1,2\n" + "3,4\n" * 12
    assert load_embeddings(text.encode(), "x.csv").shape == (13, 2)


def test_csv_is_read_in_the_resource_limited_child(monkeypatch):
    monkeypatch.setattr(
        uploads,
        "_worker_command",
        lambda name, limits: [sys.executable, "-c", "import os; os.abort()"],
    )
    assert "the CSV reader failed on it" in _message(_csv(X), "x.csv")


def test_at_most_max_readers_children_run_at_once(monkeypatch, tmp_path):
    """Replay (issue 24): six Parquet uploads at once started six readers (4 GB)."""
    script = (
        "import os, sys, time; d = sys.argv[1]; "
        "open(os.path.join(d, f'{os.getpid()}.start'), 'w').write(repr(time.time())); "
        "time.sleep(0.4); "
        "open(os.path.join(d, f'{os.getpid()}.end'), 'w').write(repr(time.time())); "
        "sys.exit(3)"
    )
    monkeypatch.setattr(
        uploads,
        "_worker_command",
        lambda name, limits: [sys.executable, "-c", script, str(tmp_path)],
    )
    good = _parquet(pd.DataFrame(X, columns=list("abcd")))
    errors = []

    def upload():
        try:
            load_embeddings(good, "x.parquet")
        except UploadError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=upload) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(errors) == 6
    spans = [
        (float(p.read_text()), float(p.with_suffix(".end").read_text()))
        for p in tmp_path.glob("*.start")
    ]
    assert len(spans) == 6
    most = max(sum(1 for a, b in spans if a <= t < b) for t, _ in spans)
    assert most <= uploads.MAX_READERS
