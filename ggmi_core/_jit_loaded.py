"""Importing this module loads every compiled kernel of ``ggmi_core._jit`` into memory
(from numba's disk cache; compiling only if the cache is missing or stale).

It is in the app's fork-server preload list (``ggmi_app.compute.PRELOAD``): the fork
server loads the kernels once and every worker forked from it starts with them, instead
of each worker loading them on its first job.
"""

from ggmi_core._jit import compile_all

LOAD_SECONDS = compile_all()
