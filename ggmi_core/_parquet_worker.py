"""Child process that reads one uploaded CSV or Parquet file (``uploads._read_in_child``).

Usage (by ``ggmi_core.uploads`` only)::

    GGMI_READER_FORMAT=csv|parquet \
        python -m ggmi_core._parquet_worker LABEL MAX_ROWS MAX_DIM MAX_VALUES MIN_ROWS < file

(The module keeps its first name; without ``GGMI_READER_FORMAT`` it reads Parquet.)

It caps its own address space and CPU time before importing pyarrow, then writes the
parsed (n, d) float array to stdout as NPY (exit 0), or a visitor-facing message to
stderr (exit 3). Any other exit, including an abort inside pyarrow, means the file
broke the reader; the parent turns that into a message.
"""

from __future__ import annotations

import io
import os
import resource
import sys

#: Address-space cap of the worker, bytes (pyarrow and numpy import fine under it).
MEMORY_LIMIT_BYTES = 1 << 30
#: CPU seconds the worker may use.
CPU_LIMIT_S = 20
REFUSED = 3


def _cap(kind: int, value: int) -> None:
    _soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, hard))


def main(argv: list[str]) -> int:
    label = argv[1]
    max_rows, max_dim, max_values, min_rows = (int(a) for a in argv[2:6])
    _cap(resource.RLIMIT_AS, MEMORY_LIMIT_BYTES)
    _cap(resource.RLIMIT_CPU, CPU_LIMIT_S)
    data = sys.stdin.buffer.read()

    import numpy as np

    from ggmi_core.uploads import (
        Limits,
        UploadError,
        read_csv_in_process,
        read_parquet_in_process,
    )

    read = read_csv_in_process if os.environ.get("GGMI_READER_FORMAT") == "csv" else None
    limits = Limits(len(data) + 1, max_rows, max_dim, max_values, min_rows)
    try:
        array = (read or read_parquet_in_process)(data, label, limits)
    except UploadError as exc:
        sys.stderr.write(" ".join(str(exc).split()) + "\n")
        return REFUSED
    out = io.BytesIO()
    np.save(out, np.ascontiguousarray(array, dtype=float), allow_pickle=False)
    sys.stdout.buffer.write(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
