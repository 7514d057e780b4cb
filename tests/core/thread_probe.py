"""A job for worker-pool tests: the thread counts of the process's BLAS/OpenMP pools."""

from __future__ import annotations

from typing import Any


def pool_threads(_config: Any) -> list[int]:
    """Threads of every BLAS and OpenMP pool loaded in this process (the job's config is
    ignored; ``run_in_pool`` passes one)."""
    from threadpoolctl import threadpool_info

    return [int(pool["num_threads"]) for pool in threadpool_info()]
