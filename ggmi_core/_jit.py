"""Compiled (numba) kernels of the simulation core, and where their compiled code is kept.

The numpy formulation (``tests/core/numpy_reference.py``, kept as the test oracle) makes
one pass over memory per operation: build the quadratic point features, one matrix
product, clamp, exp, sum, log, and again for the M-step. These kernels do the same
arithmetic per scenario and per block of points while the block is in cache:

* ``mixtures_logsumexp``: log-densities of several mixtures at shared points;
* ``em_fit``: the whole EM loop of one data set (E-step, M-step, convergence test) for
  each of R data sets, from given initial labels;
* ``standardise``: each data set centred and scaled before EM, with Lloyd's tolerance;
* ``kmeans_plusplus`` and ``lloyd``: the k-means initialisation of EM (``point_sq_norms``:
  the points' squared norms it starts from);
* ``draw_grouped_points``: Monte Carlo points mean + L z, grouped by component, and
  ``draw_component_points``: one point from a given component per entry (the scenario
  data), both drawing their standard normals z from a numpy Generator;
* ``cluster_moments``: the anchor clusters' sample means and covariances;
* ``natural_parameters_2x2``: the log-densities' parameter algebra at d = 2;
* ``js_summands`` and ``js_gap_moments``: the Jensen-Shannon summands, and the JS gap's
  per-scenario means and standard deviations in one pass;
* ``histogram_kl_pairs``: the published histogram KL of many pairs of sample sets.

Products that the numpy code makes with BLAS (log-densities, the E-step, k-means
distances) are written as fused multiply-add chains in the order OpenBLAS's kernels
use (measured: one accumulator per output, inner dimension in order; the
matrix-vector kernel last coordinate first), on feature-major blocks so the loops over
points vectorise; they agree with numpy's products bit for bit at d = 2 (Figure 4).
At d = 1, 2 the E-step, the log-densities and k-means keep each such product in a
register and use it in the same pass over the points (``_exp_rows``: product, exp and
column sum; no stored rows), the chain written with an explicit ``_fma``.

The formulas are those of the numpy code, term by term (the same quadratic-feature form,
the same floors and fall-backs, numpy's pairwise summation where numpy sums a
contiguous axis), so results agree to round-off; see ``tests/core/test_jit_oracle.py``.
Random draws: the sampling kernels take the caller's ``numpy.random.Generator`` and
draw their standard normals inside the loop (numba implements the Generator methods with
numpy's own algorithms on the same bit generator, so values and the generator's state
afterwards equal numpy's, and the draw costs ~3 ns instead of numpy's ~10 ns per
element); the other draws (multinomial counts, k-means++ candidates, ...) are made by
the callers with numpy, in the numpy code's order, and passed in. numpy holds the bit
generator's lock while it draws and numba does not, so the callers hold it
(``rng.bit_generator.lock``) around these kernels.

``exp`` is the one function here not taken from the C library: numpy's exp uses SIMD
(AVX-512) code, the C library's scalar exp is several times slower per element, and
exp is a large part of the work (millions per slider setting). ``_exp_clamped`` is the
textbook method (Cody-Waite reduction by ln 2, a degree-13 Taylor polynomial, the power of two built
from its bits), written so LLVM vectorises the loops that call it; it stays within 1 unit
in the last place of numpy's exp over the whole range used (tested).

Compiled code is cached on disk (numba's ``cache=True``) in ``NUMBA_CACHE_DIR``, which
``configure_cache_dir`` picks before numba is imported: the variable if set (the Docker
image sets it to a directory filled at build time), else the user's cache directory; a
directory that cannot be written (a read-only container) is copied to a temporary one,
because numba only uses cache directories it can write to. ``compile_all`` compiles (or
loads) every kernel; ``python -m ggmi_core.jit`` and the server launcher call it.

Vector width: LLVM vectorises for 256-bit registers on AVX-512 processors unless told
otherwise; ``configure_cpu_features`` (before numba is imported, like the cache
directory) passes the host's features with that preference off, so the exp-bound loops
use 512-bit registers (same results bit for bit, ~1.3x faster there). A deployer's
``NUMBA_CPU_FEATURES`` or ``NUMBA_CPU_NAME`` wins.

Threads: none. Parallelism comes from the worker processes of ``ggmi_core.workers``.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

_ENV = "NUMBA_CACHE_DIR"


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError:
        return False
    return True


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME (else ~/.cache) / ggmi-explorer / numba."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    try:
        root = Path(xdg) if xdg else Path.home() / ".cache"
    except (RuntimeError, KeyError):  # no home directory (some containers)
        root = Path(tempfile.gettempdir())
    return root / "ggmi-explorer" / "numba"


def configure_cache_dir() -> Path | None:
    """Choose a writable numba cache directory and set ``NUMBA_CACHE_DIR`` to it.

    Returns the directory, or None when nothing writable exists (kernels are then
    compiled in memory by every process).
    """
    configured = os.environ.get(_ENV)
    wanted = Path(configured) if configured else default_cache_dir()
    if _writable(wanted):
        chosen = wanted
    else:
        uid = getattr(os, "getuid", lambda: 0)()
        chosen = Path(tempfile.gettempdir()) / f"ggmi-numba-{uid}"
        if not _writable(chosen):
            return None
        if wanted.is_dir():  # a cache built into a read-only image: use a writable copy
            shutil.copytree(wanted, chosen, dirs_exist_ok=True)
    os.environ[_ENV] = str(chosen)
    return chosen


CACHE_DIR = configure_cache_dir()

_FEATURES_ENV = "NUMBA_CPU_FEATURES"


def wide_vector_features() -> str | None:
    """The host CPU's features for LLVM with its "prefer 256-bit vectors" tuning off, or
    None when the host's features cannot be read.

    LLVM tunes AVX-512 processors to vectorise loops with 256-bit registers only. The
    exp-bound loops here (E-step, log-densities, JS summands) run ~1.3x faster with
    512-bit ones on the machine measured (bench/CORE_BENCHMARK.md, third pass), and the
    results are the same bit for bit: the loops are elementwise, and no flag here lets
    LLVM reorder a sum. Without AVX-512 the setting changes nothing.
    """
    try:
        import llvmlite.binding as llvm

        features = llvm.get_host_cpu_features().flatten()
    except Exception:  # any failure: keep numba's own choice
        return None
    return f"{features},-prefer-256-bit" if features else None


def configure_cpu_features() -> str | None:
    """Set ``NUMBA_CPU_FEATURES`` to ``wide_vector_features()`` unless the deployer set it
    or ``NUMBA_CPU_NAME`` (a portable cache: then numba's choice stands); returns the
    features numba will use when it is imported next (None: its default)."""
    if os.environ.get(_FEATURES_ENV) or os.environ.get("NUMBA_CPU_NAME"):
        return os.environ.get(_FEATURES_ENV)
    features = wide_vector_features()
    if features is not None:
        os.environ[_FEATURES_ENV] = features  # worker processes inherit it
    return features


CPU_FEATURES = configure_cpu_features()

import numba  # noqa: E402  (after NUMBA_CACHE_DIR and NUMBA_CPU_FEATURES are set)
from llvmlite import ir  # noqa: E402
from numba.core import cgutils, types  # noqa: E402
from numba.extending import intrinsic  # noqa: E402

if CACHE_DIR is not None:
    numba.config.CACHE_DIR = str(CACHE_DIR)  # in case numba was imported before
if CPU_FEATURES is not None and numba.config.CPU_FEATURES is None:
    # numba was imported before: still in time unless something was compiled already.
    numba.config.CPU_FEATURES = CPU_FEATURES

# error_model="numpy": division by zero gives inf/nan as in numpy, and no checks in loops.
_jit = numba.njit(cache=CACHE_DIR is not None, nogil=True, error_model="numpy")
_inline = numba.njit(inline="always", error_model="numpy")
# Fused multiply-add allowed: the exp polynomial's Horner steps become one rounding each
# (more accurate, and 3x faster). Flags stay on this function's own instructions, so
# callers keep plain IEEE arithmetic; LLVM still inlines and vectorises it into loops.
_jit_fma = numba.njit(
    cache=CACHE_DIR is not None, nogil=True, error_model="numpy", fastmath={"contract"}
)

LOG_2PI = math.log(2.0 * math.pi)
LOG2 = math.log(2.0)
EXP_FLOOR = -700.0
SAFE_LOW, SAFE_HIGH = 1e-250, 1e250
TINY_COUNT = 10 * np.finfo(float).eps

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that n * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10


@intrinsic
def _float_from_bits(typingctx, bits):
    """The float64 whose IEEE-754 bit pattern is the int64 ``bits`` (vectorises)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@intrinsic
def _bits_from_float(typingctx, x):
    """The IEEE-754 bit pattern of the float64 ``x`` as an int64 (vectorises)."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c with one rounding (LLVM's fma; vectorises). Used where the order of a
    product's fused multiply-adds must be exactly the BLAS kernels' order."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        double = ir.DoubleType()
        fnty = ir.FunctionType(double, [double, double, double])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.fma.f64")
        return builder.call(fn, args)

    return sig, codegen


# fdlibm's log: x = 2**k (1 + f) with 1 + f in [sqrt(2)/2, sqrt(2)), then
# log(1 + f) = 2 atanh(s) with s = f / (2 + f), as a polynomial in s**2.
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_MANTISSA = 0x000FFFFFFFFFFFFF


@_jit_fma
def _log_normal(x: float) -> float:
    """log(x) within 1 ulp for positive normal finite x (other x: a meaningless number,
    callers test the range first). Branch-free so loops calling it vectorise."""
    bits = _bits_from_float(x)
    k = (bits >> 52) - 1023
    ix = bits & _MANTISSA
    i = (ix + 0x95F6400000000) & 0x10000000000000  # mantissa above sqrt(2): next octave
    m = _float_from_bits(ix | (i ^ 0x3FF0000000000000))
    k += i >> 52
    f = m - 1.0
    s = f / (2.0 + f)
    dk = float(k)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    r = t2 + t1
    hfsq = 0.5 * f * f
    return dk * _LN2_HI - ((hfsq - (s * (hfsq + r) + dk * _LN2_LO)) - f)


@_jit
def log_normal(x: np.ndarray) -> np.ndarray:
    """``_log_normal`` elementwise over a 1-D array (for the tests)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = _log_normal(x[i])
    return out


@_jit_fma
def _exp_clamped(x: float) -> float:
    """exp(max(x, -700)) within 1 ulp for x <= 709; nan stays nan.

    Written without branches (selects only) so loops calling it vectorise.
    """
    xc = x if x > EXP_FLOOR else EXP_FLOOR
    xc = xc if xc < 709.0 else 709.0
    nf = math.floor(xc * _LOG2E + 0.5)  # |nf| <= 1023: 2**nf is a normal number
    r = (xc - nf * _LN2_HI) - nf * _LN2_LO  # |r| <= ln(2) / 2
    p = 1.0 / 6227020800.0  # Taylor series to r**13 / 13!: truncation < 5e-18 relative
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    v = p * _float_from_bits((int(nf) + 1023) << 52)
    return v if x == x else x


@_jit
def exp_clamped(x: np.ndarray) -> np.ndarray:
    """``_exp_clamped`` elementwise over a 1-D array (for the tests)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = _exp_clamped(x[i])
    return out


@_inline
def _leaf_sum(a: np.ndarray, start: int, n: int) -> float:
    """numpy's pairwise summation for n <= 128 (8 interleaved partial sums)."""
    if n < 8:
        res = 0.0
        for i in range(start, start + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = 8
    stop = n - n % 8
    while i < stop:
        s = start + i
        r0 += a[s]
        r1 += a[s + 1]
        r2 += a[s + 2]
        r3 += a[s + 3]
        r4 += a[s + 4]
        r5 += a[s + 5]
        r6 += a[s + 6]
        r7 += a[s + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[start + i]
        i += 1
    return res


@_jit
def _pairwise_sum(a: np.ndarray, start: int, n: int) -> float:
    """numpy's pairwise summation of a[start:start+n] (same order, same result).

    numpy recurses (halves rounded to multiples of 8 down to blocks of <= 128); this is
    the same tree walked with an explicit stack, since numba's disk cache cannot hold
    recursive functions.
    """
    if n <= 128:
        return _leaf_sum(a, start, n)
    starts = np.empty(64, dtype=np.int64)
    sizes = np.empty(64, dtype=np.int64)
    stages = np.empty(64, dtype=np.int64)
    values = np.empty(64)
    top, n_values = 1, 0
    starts[0], sizes[0], stages[0] = start, n, 0
    while top > 0:
        s, m = starts[top - 1], sizes[top - 1]
        if m <= 128:
            values[n_values] = _leaf_sum(a, s, m)
            n_values += 1
            top -= 1
            continue
        half = m // 2
        half -= half % 8
        stage = stages[top - 1]
        stages[top - 1] = stage + 1
        if stage == 0:
            starts[top], sizes[top], stages[top] = s, half, 0
            top += 1
        elif stage == 1:
            starts[top], sizes[top], stages[top] = s + half, m - half, 0
            top += 1
        else:
            values[n_values - 2] = values[n_values - 2] + values[n_values - 1]
            n_values -= 1
            top -= 1
    return values[0]


@_jit
def numpy_sum(a: np.ndarray) -> float:
    """Sum of a 1-D contiguous array in numpy's order (``a.sum()`` bit for bit)."""
    return _pairwise_sum(a, 0, a.size)


# ---------------------------------------------------------------- features and log-sum-exp


@_inline
def _features(X: np.ndarray, shift: np.ndarray, F: np.ndarray) -> None:
    """Quadratic features of the rows of X (b, d) minus shift, into F (b, p).

    Order: x_i x_j (i <= j, row-major), then x_i, then 1 (as ``natural_parameters``).
    """
    b, d = X.shape
    p = F.shape[1]
    x = np.empty(d)
    for i in range(b):
        for a in range(d):
            x[a] = X[i, a] - shift[a]
        col = 0
        for a in range(d):
            for c in range(a, d):
                F[i, col] = x[a] * x[c]
                col += 1
        for a in range(d):
            F[i, col + a] = x[a]
        F[i, p - 1] = 1.0


@_inline
def _exp_rows(
    theta: np.ndarray,
    Ft: np.ndarray,
    b: int,
    first: int,
    stop: int,
    lc: np.ndarray,
    E: np.ndarray,
    keep: bool,
    total: np.ndarray,
) -> bool:
    """total[i] = sum_j exp(max(theta[j] . Ft[:, i], -700)) over components first..stop-1
    (in that order) for the first b points; E[j, i] the terms when ``keep``.

    For d = 1, 2 (p = 3, 6) each component's product, its exp and the sum are one pass
    over the points, the product held in a register (an in-order fused multiply-add
    chain, exactly ``_row_products``), so lc (k, >= b) is not written; returns True then
    (``_log_totals`` fills lc's columns it needs). For larger p the products go through
    lc first (returns False).
    """
    p = Ft.shape[0]
    for i in range(b):
        total[i] = 0.0
    if p == 6:
        f0, f1, f2, f3, f4, f5 = Ft[0], Ft[1], Ft[2], Ft[3], Ft[4], Ft[5]
        for j in range(first, stop):
            th = theta[j]
            t0, t1, t2, t3, t4, t5 = th[0], th[1], th[2], th[3], th[4], th[5]
            e_row = E[j]
            for i in range(b):
                v = t0 * f0[i]
                v = _fma(t1, f1[i], v)
                v = _fma(t2, f2[i], v)
                v = _fma(t3, f3[i], v)
                v = _fma(t4, f4[i], v)
                e = _exp_clamped(_fma(t5, f5[i], v))
                if keep:
                    e_row[i] = e
                total[i] += e
        return True
    if p == 3:
        f0, f1, f2 = Ft[0], Ft[1], Ft[2]
        for j in range(first, stop):
            th = theta[j]
            t0, t1, t2 = th[0], th[1], th[2]
            e_row = E[j]
            for i in range(b):
                v = _fma(t1, f1[i], t0 * f0[i])
                e = _exp_clamped(_fma(t2, f2[i], v))
                if keep:
                    e_row[i] = e
                total[i] += e
        return True
    for j in range(first, stop):
        _row_products(theta[j], Ft, b, lc[j])
        row = lc[j]
        e_row = E[j]
        for i in range(b):
            e = _exp_clamped(row[i])
            if keep:
                e_row[i] = e
            total[i] += e
    return False


@_inline
def _fill_column(
    theta: np.ndarray, Ft: np.ndarray, first: int, stop: int, i: int, lc: np.ndarray
) -> None:
    """lc[j, i] = theta[j] . Ft[:, i] for components first..stop-1 (``_row_products``'
    chain for one point)."""
    p = Ft.shape[0]
    for j in range(first, stop):
        v = theta[j, 0] * Ft[0, i]
        for c in range(1, p):
            v = _fma(theta[j, c], Ft[c, i], v)
        lc[j, i] = v


@_inline
def _shifted_column(lc: np.ndarray, first: int, stop: int, i: int) -> tuple[float, float]:
    """Max-shifted sum of exp over components first..stop-1 of column i: (sum, shift)."""
    top = -np.inf
    for j in range(first, stop):
        if lc[j, i] > top or math.isnan(lc[j, i]):
            top = lc[j, i]
    if not math.isfinite(top):
        top = 0.0
    sub = 0.0
    for j in range(first, stop):
        sub += math.exp(lc[j, i] - top)
    return sub, top


@_inline
def _log(x: float) -> float:
    if x > 0.0:
        return math.log(x)
    if x == 0.0:
        return -np.inf
    return np.nan


@_inline
def _safe(t: float) -> bool:
    return (t > SAFE_LOW) & (t < SAFE_HIGH)


@_inline
def _log_totals(
    theta: np.ndarray,
    Ft: np.ndarray,
    lc: np.ndarray,
    fused: bool,
    first: int,
    stop: int,
    total: np.ndarray,
    out: np.ndarray,
) -> int:
    """out[i] = log(total[i]) (out may be total) for the b = len(total) points; columns
    whose total is outside the safe range are recomputed max-shifted from lc (b columns;
    filled from theta and Ft first when ``fused``, i.e. ``_exp_rows`` did not write it).
    Returns how many were.

    When out is total (the log-density kernel) the second loop tests the logs, so in a
    block with any unsafe column every column with total <= 1 is recomputed as well:
    both ways are exact to round-off, and this keeps the numbers of earlier versions.
    """
    b = total.size
    n_bad = 0
    for i in range(b):  # vectorised: no branches
        t = total[i]
        n_bad += not _safe(t)
        out[i] = _log_normal(t)
    if n_bad:
        for i in range(b):
            if not _safe(total[i]):
                if fused:
                    _fill_column(theta, Ft, first, stop, i, lc)
                sub, top = _shifted_column(lc, first, stop, i)
                out[i] = _log(sub) + top
    return n_bad


@_inline
def _features_t(X: np.ndarray, shift: np.ndarray, Ft: np.ndarray) -> None:
    """Quadratic features of the rows of X (b, d) minus shift, transposed into Ft (p, >= b)
    (feature-major, so the loops over points vectorise); same order and values as
    ``_features``."""
    b, d = X.shape
    p = Ft.shape[0]
    lin = p - 1 - d  # the linear features x_a sit at rows lin..lin+d-1
    for a in range(d):
        row = Ft[lin + a]
        sa = shift[a]
        for i in range(b):
            row[i] = X[i, a] - sa
    col = 0
    for a in range(d):
        xa = Ft[lin + a]
        for c in range(a, d):
            xc = Ft[lin + c]
            row = Ft[col]
            for i in range(b):
                row[i] = xa[i] * xc[i]
            col += 1
    last = Ft[p - 1]
    for i in range(b):
        last[i] = 1.0


@_jit_fma
def _row_products(th: np.ndarray, Ft: np.ndarray, b: int, out: np.ndarray) -> None:
    """out[i] = th . Ft[:, i] for the first b columns of Ft (p, >= b).

    Accumulated first feature first, each further term with a fused multiply-add: the
    order and rounding of the BLAS matrix product the numpy code makes (OpenBLAS's
    kernels keep one accumulator per output and walk the inner dimension in order), so
    the products agree bit for bit, without a BLAS call and a new array per block.
    """
    p = th.shape[0]
    t0 = th[0]
    f0 = Ft[0]
    for i in range(b):
        out[i] = t0 * f0[i]
    for c in range(1, p):
        tc = th[c]
        fc = Ft[c]
        for i in range(b):
            out[i] += tc * fc[i]


@_jit
def mixtures_logsumexp(
    theta: np.ndarray, X: np.ndarray, shift: np.ndarray, bounds: np.ndarray, block: int
) -> np.ndarray:
    """Log-densities (m, R, n) of m mixtures at points X (R, n, d), in nats.

    Args:
        theta: (R, k, p) natural parameters of all components, mixture s holding
            components bounds[s]..bounds[s+1]-1 (see ``_kernels.natural_parameters``).
        X: (R, n, d) points; shift: (R, d) subtracted from the points first (the
            components' parameters are given in shifted coordinates).
        bounds: (m + 1,) component offsets; block: points per block (bounds memory).
    """
    r_count, n = X.shape[0], X.shape[1]
    k, p = theta.shape[1], theta.shape[2]
    m = bounds.size - 1
    out = np.empty((m, r_count, n))
    block = max(1, min(block, n))
    Ft = np.empty((p, block))
    lc = np.empty((k, block))
    for r in range(r_count):
        th = theta[r]
        for start in range(0, n, block):
            b = min(block, n - start)
            _features_t(X[r, start : start + b], shift[r], Ft)
            for s in range(m):
                first, stop = bounds[s], bounds[s + 1]
                total = out[s, r, start : start + b]
                fused = _exp_rows(th, Ft, b, first, stop, lc, lc, False, total)
                _log_totals(th, Ft, lc, fused, first, stop, total, total)
    return out


# ---------------------------------------------------------------- Jensen-Shannon summands


@_inline
def _js_summand(log_own: float, log_other: float) -> float:
    """log(2p / (p + q)) = log 2 - log(1 + exp(x)), x = log q - log p, in nats.

    log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), the numpy code's form; log1p(e) for
    e in (0, 1] is log(u) + (e - (u - 1)) / u with u = 1 + e rounded (the correction
    restores the part of e that the rounding dropped), so everything here is a
    vectorising exp and log. exp's -700 floor only changes terms far below log 2's last
    bit; infinities and NaN come out as numpy's (tested).
    """
    x = log_other - log_own
    e = _exp_clamped(-abs(x))
    u = 1.0 + e
    log1p = _log_normal(u) + (e - (u - 1.0)) / u
    top = x if x > 0.0 else 0.0
    return LOG2 - (log1p + top)


@_jit
def js_summands(log_own: np.ndarray, log_other: np.ndarray) -> np.ndarray:
    """``_js_summand`` elementwise over two (R, n) arrays of log-densities at draws of
    the own mixture; (R, n) nats."""
    r_count, n = log_own.shape
    out = np.empty((r_count, n))
    for r in range(r_count):
        own, other, dst = log_own[r], log_other[r], out[r]
        for i in range(n):
            dst[i] = _js_summand(own[i], other[i])
    return out


@_inline
def _mean_std(a: np.ndarray, sq: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation (ddof=1) of a (n >= 2,) as numpy's ``mean`` and
    ``std(ddof=1)`` compute them (pairwise sums, the same operations), bit for bit."""
    n = a.size
    mean = _pairwise_sum(a, 0, n) / n
    for i in range(n):
        dev = a[i] - mean
        sq[i] = dev * dev
    return mean, math.sqrt(_pairwise_sum(sq, 0, n) / (n - 1))


@_jit
def js_gap_moments(
    lg_y: np.ndarray,
    la_y: np.ndarray,
    ls_y: np.ndarray,
    la_xa: np.ndarray,
    lg_xa: np.ndarray,
    ls_xs: np.ndarray,
    lg_xs: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Means and standard deviations (ddof=1), (R, 5) each, of the JS gap's summands.

    Args:
        lg_y, la_y, ls_y: (R, n_y) log-densities of G, the anchor fit and the synthetic
            fit at draws Y of G.
        la_xa, lg_xa: (R, n_x) of the anchor fit and G at draws of the anchor fit;
        ls_xs, lg_xs: (R, n_x) of the synthetic fit and G at draws of the synthetic fit.

    Columns: f_x (anchor), f_y (anchor), f_x (synthetic), f_y (synthetic), and
    f_y (anchor) - f_y (synthetic), where f_x = log(2 pi / (pi + G)) at draws of the fit
    pi and f_y = log(2 G / (pi + G)) at draws of G. Every row in one pass while it is in
    cache, instead of a numpy pass per operation.
    """
    r_count, n_y = lg_y.shape
    n_x = la_xa.shape[1]
    means = np.empty((r_count, 5))
    stds = np.empty((r_count, 5))
    fx = np.empty(n_x)
    fy_a = np.empty(n_y)
    fy_s = np.empty(n_y)
    sq = np.empty(max(n_x, n_y))
    for r in range(r_count):
        for i in range(n_x):
            fx[i] = _js_summand(la_xa[r, i], lg_xa[r, i])
        means[r, 0], stds[r, 0] = _mean_std(fx, sq[:n_x])
        for i in range(n_x):
            fx[i] = _js_summand(ls_xs[r, i], lg_xs[r, i])
        means[r, 2], stds[r, 2] = _mean_std(fx, sq[:n_x])
        for i in range(n_y):
            fy_a[i] = _js_summand(lg_y[r, i], la_y[r, i])
            fy_s[i] = _js_summand(lg_y[r, i], ls_y[r, i])
        means[r, 1], stds[r, 1] = _mean_std(fy_a, sq[:n_y])
        means[r, 3], stds[r, 3] = _mean_std(fy_s, sq[:n_y])
        for i in range(n_y):
            fy_a[i] = fy_a[i] - fy_s[i]
        means[r, 4], stds[r, 4] = _mean_std(fy_a, sq[:n_y])
    return means, stds


# ---------------------------------------------------------------- EM


@_inline
def _precision_logdet(cov: np.ndarray, floor: float, P: np.ndarray) -> float:
    """Precision of cov (d, d) into P with eigenvalues floored at ``floor``; log det."""
    d = cov.shape[0]
    if d == 1:
        var = max(cov[0, 0], floor)
        P[0, 0] = 1.0 / var
        return math.log(var)
    if d == 2:
        a = cov[0, 0]
        c = cov[1, 1]
        b = 0.5 * (cov[0, 1] + cov[1, 0])
        half_trace = 0.5 * (a + c)
        radius = math.hypot(0.5 * (a - c), b)
        lam_max = half_trace + radius
        det = a * c - b * b
        lam_min = det / lam_max if lam_max > 0 else half_trace - radius
        shift = floor - lam_min
        if shift > 0:
            a = a + shift
            c = c + shift
            det = a * c - b * b
        P[0, 0] = c / det
        P[1, 1] = a / det
        P[0, 1] = -b / det
        P[1, 0] = -b / det
        return math.log(det)
    sym = 0.5 * (cov + cov.T)
    eigval, eigvec = np.linalg.eigh(sym)
    logdet = 0.0
    for a in range(d):
        if eigval[a] < floor:
            eigval[a] = floor
        logdet += math.log(eigval[a])
    for a in range(d):
        for c in range(d):
            acc = 0.0
            for e in range(d):
                acc += eigvec[a, e] / eigval[e] * eigvec[c, e]
            P[a, c] = acc
    return logdet


@_inline
def _natural_parameters(
    weights: np.ndarray,
    means: np.ndarray,
    covs: np.ndarray,
    floor: float,
    theta: np.ndarray,
    P: np.ndarray,
    p_mu: np.ndarray,
) -> None:
    """theta (k, p) with theta . f(x) = log w + log N(x; mean, cov) (floored covariances);
    P (d, d) and p_mu (d,) are work space (no allocation per EM iteration)."""
    k, d = means.shape
    for j in range(k):
        logdet = _precision_logdet(covs[j], floor, P)
        col = 0
        for a in range(d):
            theta[j, col] = -0.5 * P[a, a]
            col += 1
            for c in range(a + 1, d):
                theta[j, col] = -P[a, c]
                col += 1
        quad = 0.0
        for a in range(d):
            acc = 0.0
            for c in range(d):
                acc += P[a, c] * means[j, c]
            p_mu[a] = acc
            theta[j, col + a] = acc
        for a in range(d):
            quad += p_mu[a] * means[j, a]
        log_w = math.log(weights[j]) if weights[j] > 0 else -np.inf
        theta[j, col + d] = log_w - 0.5 * (d * LOG_2PI + logdet + quad)


@_inline
def _m_step(
    stats: np.ndarray,
    reg: float,
    weights: np.ndarray,
    means: np.ndarray,
    covs: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Weights (k,), means (k, d), covariances (k, d, d) from sufficient statistics (k, p);
    counts (k,) is work space."""
    k, d = means.shape
    p = stats.shape[1]
    for j in range(k):
        counts[j] = stats[j, p - 1] + TINY_COUNT
    norm = _pairwise_sum(counts, 0, k)
    for j in range(k):
        weights[j] = counts[j] / norm
        for a in range(d):
            means[j, a] = stats[j, p - 1 - d + a] / counts[j]
        col = 0
        for a in range(d):
            for c in range(a, d):
                v = stats[j, col] / counts[j] - means[j, a] * means[j, c]
                if c == a:
                    v += reg
                covs[j, a, c] = v
                covs[j, c, a] = v
                col += 1


@_inline
def _e_step(
    theta: np.ndarray,
    Ft: np.ndarray,
    lc: np.ndarray,
    E: np.ndarray,
    total: np.ndarray,
    log_norm: np.ndarray,
) -> None:
    """Unnormalised responsibilities into E (k, n) from the transposed features Ft
    (p, n), their sums and logs; lc (k, n) is work space for the component
    log-densities."""
    k, n = lc.shape
    fused = _exp_rows(theta, Ft, n, 0, k, lc, E, True, total)
    if _log_totals(theta, Ft, lc, fused, 0, k, total, log_norm):
        for i in range(n):
            if not _safe(total[i]):  # far outliers: rescale so that E / total stays right
                sub, top = _shifted_column(lc, 0, k, i)
                for j in range(k):
                    E[j, i] = math.exp(lc[j, i] - top)
                total[i] = sub


@_inline
def _scale_rows(F: np.ndarray, inv: np.ndarray, G: np.ndarray) -> None:
    """G[i] = F[i] * inv[i] for the rows of F (n, p); straight-line rows for p = 3, 6
    (so the loop over points vectorises)."""
    n, p = F.shape
    if p == 6:
        for i in range(n):
            s = inv[i]
            G[i, 0] = F[i, 0] * s
            G[i, 1] = F[i, 1] * s
            G[i, 2] = F[i, 2] * s
            G[i, 3] = F[i, 3] * s
            G[i, 4] = F[i, 4] * s
            G[i, 5] = F[i, 5] * s
    elif p == 3:
        for i in range(n):
            s = inv[i]
            G[i, 0] = F[i, 0] * s
            G[i, 1] = F[i, 1] * s
            G[i, 2] = F[i, 2] * s
    else:
        for i in range(n):
            for c in range(p):
                G[i, c] = F[i, c] * inv[i]


@_jit
def em_fit(
    Z: np.ndarray,
    labels: np.ndarray,
    k: int,
    reg: np.ndarray,
    floor: np.ndarray,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """EM for a k-component full-covariance mixture on each standardised data set.

    Args:
        Z: (R, n, d) standardised points; labels: (R, n) initial clusters in 0..k-1.
        reg: (R,) added to covariance diagonals; floor: (R,) eigenvalue floor.
        tol: convergence threshold on the mean log-likelihood per point (nats).
        max_iter: most EM iterations.

    Returns:
        weights (R, k), means (R, k, d), covariances (R, k, d, d), converged (R,),
        n_iter (R,), mean log-likelihood per point of the final mixture (R,), all in
        standardised coordinates.
    """
    r_count, n, d = Z.shape
    p = d * (d + 1) // 2 + d + 1
    weights = np.empty((r_count, k))
    means = np.empty((r_count, k, d))
    covs = np.empty((r_count, k, d, d))
    converged = np.zeros(r_count, dtype=np.bool_)
    n_iter = np.full(r_count, max_iter, dtype=np.int64)
    mean_ll = np.empty(r_count)
    F = np.empty((n, p))
    Ft = np.empty((p, n))
    G = np.empty((n, p))
    E = np.empty((k, n))
    lc = np.empty((k, n))
    stats = np.empty((k, p))
    total = np.empty(n)
    log_norm = np.empty(n)
    theta = np.empty((k, p))
    inv = np.empty(n)
    counts = np.empty(k)
    P = np.empty((d, d))
    p_mu = np.empty(d)
    zero = np.zeros(d)
    for r in range(r_count):
        _features(Z[r], zero, F)
        _features_t(Z[r], zero, Ft)
        stats[:] = 0.0
        for i in range(n):  # element by element: no temporary array per point
            j = labels[r, i]
            for c in range(p):
                stats[j, c] += F[i, c]
        w, mu, cov = weights[r], means[r], covs[r]
        _m_step(stats, reg[r], w, mu, cov, counts)
        previous = -np.inf
        for iteration in range(1, max_iter + 1):
            _natural_parameters(w, mu, cov, floor[r], theta, P, p_mu)
            _e_step(theta, Ft, lc, E, total, log_norm)
            ll = _pairwise_sum(log_norm, 0, n) / n
            for i in range(n):  # vectorised: the divisions apart from the scaling
                inv[i] = 1.0 / total[i]
            _scale_rows(F, inv, G)
            # The M-step's sums stay one BLAS product, into the same array each time:
            # for d = 2 it equals in-order fused multiply-add chains (numpy's order) bit
            # for bit, and it is faster than any such chain written here at k >= 6.
            np.dot(E, G, stats)
            _m_step(stats, reg[r], w, mu, cov, counts)
            met = abs(ll - previous) < tol
            previous = ll
            if met or iteration == max_iter:
                n_iter[r] = iteration
                converged[r] = met
                break
        _natural_parameters(w, mu, cov, floor[r], theta, P, p_mu)
        _e_step(theta, Ft, lc, E, total, log_norm)
        mean_ll[r] = _pairwise_sum(log_norm, 0, n) / n
    return weights, means, covs, converged, n_iter, mean_ll


# ---------------------------------------------------------------- standardisation


@_inline
def _point_sum(values: np.ndarray, pairwise: bool) -> float:
    """Sum of (n,) values in numpy's order for an (n, d) array's axis 0: pairwise when
    that axis is contiguous (d = 1), else in point order."""
    n = values.size
    if pairwise:
        return _pairwise_sum(values, 0, n)
    acc = values[0]
    for i in range(1, n):
        acc += values[i]
    return acc


@_jit
def standardise(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each data set of X (R, n, d) centred and scaled to unit spread, as the numpy code:
    shift = X.mean(axis=1), scale = sqrt(((X - shift) ** 2).mean(axis=(1, 2))) (1 where
    that is 0), Z = (X - shift) / scale; and Lloyd's tolerance per data set,
    var_spread = Z.var(axis=1).mean(axis=1).

    numpy's sums over the point axis run in point order when d > 1 and pairwise when
    d = 1 (then that axis is contiguous); its sum over the contiguous (n, d) block is the
    pairwise sum. The same operations here give the same bits (tested), in one call
    instead of nine numpy passes.

    Returns Z (R, n, d), shift (R, d), scale (R,), var_spread (R,).
    """
    r_count, n, d = X.shape
    Z = np.empty((r_count, n, d))
    shift = np.empty((r_count, d))
    scale = np.empty(r_count)
    var_spread = np.empty(r_count)
    sq = np.empty(n * d)
    mean = np.empty(d)
    var = np.empty(d)
    for r in range(r_count):
        Xr = X[r]
        for a in range(d):
            shift[r, a] = _point_sum(Xr[:, a], d == 1) / n
        for i in range(n):
            for a in range(d):
                dev = Xr[i, a] - shift[r, a]
                sq[i * d + a] = dev * dev
        spread = math.sqrt(_pairwise_sum(sq, 0, n * d) / (n * d))
        scale[r] = spread if spread > 0 else 1.0
        Zr = Z[r]
        for i in range(n):
            for a in range(d):
                Zr[i, a] = (Xr[i, a] - shift[r, a]) / scale[r]
        for a in range(d):
            mean[a] = _point_sum(Zr[:, a], d == 1) / n
        for a in range(d):
            for i in range(n):
                dev = Zr[i, a] - mean[a]
                sq[i] = dev * dev
            var[a] = _point_sum(sq[:n], d == 1) / n
        var_spread[r] = _pairwise_sum(var, 0, d) / d
    return Z, shift, scale, var_spread


# ---------------------------------------------------------------- k-means


@_jit_fma
def _sq_distances(
    point: np.ndarray,
    p2: float,
    Zt: np.ndarray,
    sq_norms: np.ndarray,
    out: np.ndarray,
    reverse: bool = False,
) -> None:
    """max(|z_i|^2 - 2 point . z_i + |point|^2, 0) for every column z_i of Zt (d, n).

    The products point . z_i accumulate with fused multiply-adds in coordinate order,
    as the BLAS matrix product of the numpy code does; ``reverse`` takes the last
    coordinate first, as OpenBLAS's matrix-vector kernel does when the numpy code
    measures from one centre (the first; measured for d = 2, where the Figure-4 fits
    live: at d >= 3 that kernel uses partial sums no loop here reproduces). The squared
    norms p2 = |point|^2 and sq_norms are numpy's (``point_sq_norms``), so near-ties
    between candidate centres resolve as there (Figure 4's L=11 has an exact one).
    Loops run over the points (feature-major Zt), so they vectorise.
    """
    d, n = Zt.shape
    if d == 2:  # one pass: the product stays in a register (the same chain)
        first = 1 if reverse else 0
        p_first, p_second = point[first], point[1 - first]
        z_first, z_second = Zt[first], Zt[1 - first]
        for i in range(n):
            v = _fma(p_second, z_second[i], p_first * z_first[i]) * -2.0 + p2 + sq_norms[i]
            out[i] = v if v > 0.0 else 0.0
        return
    for step in range(d):
        a = d - 1 - step if reverse else step
        pa = point[a]
        za = Zt[a]
        if step == 0:
            for i in range(n):
                out[i] = pa * za[i]
        else:
            for i in range(n):
                out[i] += pa * za[i]
    for i in range(n):
        v = out[i] * -2.0 + p2 + sq_norms[i]
        out[i] = v if v > 0.0 else 0.0


@_inline
def _transpose_into(Z: np.ndarray, Zt: np.ndarray) -> None:
    """Zt (d, n) = Z (n, d) transposed."""
    n, d = Z.shape
    for a in range(d):
        for i in range(n):
            Zt[a, i] = Z[i, a]


@_jit
def point_sq_norms(Z: np.ndarray) -> np.ndarray:
    """Squared norms (R, n) of the points Z (R, n, d): ``(Z**2).sum(axis=2)`` bit for
    bit (numpy sums the contiguous last axis pairwise, which below 8 terms is the plain
    sum in order; its start from 0.0 changes nothing, a square is never -0.0)."""
    rounds, n, d = Z.shape
    out = np.empty((rounds, n))
    squares = np.empty(d)
    for r in range(rounds):
        for i in range(n):
            if d == 2:
                out[r, i] = Z[r, i, 0] * Z[r, i, 0] + Z[r, i, 1] * Z[r, i, 1]
            else:
                for j in range(d):
                    squares[j] = Z[r, i, j] * Z[r, i, j]
                out[r, i] = _pairwise_sum(squares, 0, d)
    return out


@_jit
def kmeans_plusplus(
    Z: np.ndarray, sq_norms: np.ndarray, k: int, first: np.ndarray, uniforms: np.ndarray
) -> np.ndarray:
    """Greedy k-means++ centres (R, k, d), as scikit-learn's seeding.

    Args:
        Z: (R, n, d) points; sq_norms: (R, n) their squared norms.
        first: (R,) index of each data set's first centre.
        uniforms: (k - 1, R, t) uniform draws on [0, 1), t candidates per step, in the
            order the numpy code draws them (step by step, all data sets each step).
    """
    r_count, n, d = Z.shape
    n_trials = uniforms.shape[2]
    centers = np.empty((r_count, k, d))
    closest = np.empty(n)
    cumulative = np.empty(n)
    dist = np.empty((n_trials, n))
    potential = np.empty(n_trials)
    candidates = np.empty(n_trials, dtype=np.int64)
    Zt = np.empty((d, n))
    for r in range(r_count):
        Zr = Z[r]
        centers[r, 0] = Zr[first[r]]
        _transpose_into(Zr, Zt)
        _sq_distances(centers[r, 0], sq_norms[r, first[r]], Zt, sq_norms[r], closest, True)
        for c in range(1, k):
            acc = 0.0
            for i in range(n):
                acc += closest[i]
                cumulative[i] = acc
            offset = float(r)
            for t in range(n_trials):
                target = uniforms[c - 1, r, t] + offset
                lo, hi = 0, n  # first index whose (normalised cumsum + offset) > target
                while lo < hi:
                    mid = (lo + hi) // 2
                    u = cumulative[mid] / acc if acc > 0 else 1.0
                    if u + offset <= target:
                        lo = mid + 1
                    else:
                        hi = mid
                candidates[t] = min(lo, n - 1)
            best = 0
            for t in range(n_trials):
                row = dist[t]
                cand = candidates[t]
                _sq_distances(Zr[cand], sq_norms[r, cand], Zt, sq_norms[r], row, False)
                for i in range(n):
                    if closest[i] < row[i]:
                        row[i] = closest[i]
                potential[t] = _pairwise_sum(row, 0, n)
                if potential[t] < potential[best]:
                    best = t
            centers[r, c] = Zr[candidates[best]]
            closest[:] = dist[best]
    return centers


@_jit
def _row_sq_norms(C: np.ndarray) -> np.ndarray:
    """Squared norms of the rows of C (k, d), plain products as numpy's (C**2).sum(1)."""
    k, d = C.shape
    out = np.empty(k)
    for j in range(k):
        acc = 0.0
        for a in range(d):
            acc += C[j, a] * C[j, a]
        out[j] = acc
    return out


@_jit_fma
def _nearest(
    C: np.ndarray, Zt: np.ndarray, labels: np.ndarray, row: np.ndarray, best: np.ndarray
) -> None:
    """Index of the nearest centre for each point (first one on ties, as ``argmin``):
    argmin_j |c_j|^2 - 2 c_j . x, the products accumulated with fused multiply-adds in
    coordinate order as numpy's BLAS product does. Points are the columns of Zt (d, n);
    row and best are (n,) work arrays. One pass over the points per centre, so the
    loops vectorise."""
    k, d = C.shape
    n = Zt.shape[1]
    c2 = _row_sq_norms(C)
    if d == 2:  # one pass per centre: the product stays in a register (same chain)
        z0, z1 = Zt[0], Zt[1]
        for j in range(k):
            coef0, coef1, cj = -2.0 * C[j, 0], -2.0 * C[j, 1], c2[j]
            if j == 0:
                for i in range(n):
                    best[i] = _fma(coef1, z1[i], coef0 * z0[i]) + cj
                    labels[i] = 0
            else:
                for i in range(n):
                    v = _fma(coef1, z1[i], coef0 * z0[i]) + cj
                    closer = v < best[i]
                    best[i] = v if closer else best[i]
                    labels[i] = j if closer else labels[i]
        return
    for j in range(k):
        coef = -2.0 * C[j, 0]
        z0 = Zt[0]
        for i in range(n):
            row[i] = coef * z0[i]
        for a in range(1, d):
            coef = -2.0 * C[j, a]
            za = Zt[a]
            for i in range(n):
                row[i] += coef * za[i]
        cj = c2[j]
        if j == 0:
            for i in range(n):
                best[i] = row[i] + cj
                labels[i] = 0
        else:
            for i in range(n):
                v = row[i] + cj
                closer = v < best[i]
                best[i] = v if closer else best[i]
                labels[i] = j if closer else labels[i]


@_jit
def lloyd(Z: np.ndarray, centers: np.ndarray, tol: np.ndarray, max_iter: int) -> np.ndarray:
    """Lloyd iterations from ``centers`` (R, k, d); labels (R, n).

    Stops when labels no longer change or the centres move (squared) at most ``tol``
    (R,); empty clusters are re-seeded at the point farthest from its centre; labels of
    a data set stopped on the tolerance are refreshed against the final centres unless
    that would leave a cluster empty (as scikit-learn and the numpy code do).
    """
    r_count, n, d = Z.shape
    k = centers.shape[1]
    out = np.empty((r_count, n), dtype=np.int64)
    C = np.empty((k, d))
    new_C = np.empty((k, d))
    sums = np.empty((k, d))
    counts = np.empty(k)
    L = np.empty(n, dtype=np.int64)
    new_L = np.empty(n, dtype=np.int64)
    Zt = np.empty((d, n))
    row = np.empty(n)
    best = np.empty(n)
    for r in range(r_count):
        Zr = Z[r]
        _transpose_into(Zr, Zt)
        C[:] = centers[r]
        L[:] = -1
        strict = False
        for _ in range(max_iter):
            _nearest(C, Zt, new_L, row, best)
            sums[:] = 0.0
            counts[:] = 0.0
            for i in range(n):
                j = new_L[i]
                counts[j] += 1.0
                for a in range(d):
                    sums[j, a] += Zr[i, a]
            for j in range(k):
                for a in range(d):
                    new_C[j, a] = sums[j, a] / counts[j] if counts[j] > 0 else C[j, a]
            for j in range(k):
                if counts[j] == 0:
                    far, far_gap = 0, -1.0
                    for i in range(n):
                        gap = 0.0
                        for a in range(d):
                            diff = Zr[i, a] - new_C[new_L[i], a]
                            gap += diff * diff
                        if gap > far_gap:
                            far, far_gap = i, gap
                    new_C[j] = Zr[far]
                    new_L[far] = j
            shift = 0.0
            for j in range(k):
                for a in range(d):
                    diff = new_C[j, a] - C[j, a]
                    shift += diff * diff
            same = True
            for i in range(n):
                if new_L[i] != L[i]:
                    same = False
                    break
            C[:] = new_C
            L[:] = new_L
            strict = same
            if same or shift <= tol[r]:
                break
        if not strict:
            _nearest(C, Zt, new_L, row, best)
            seen = np.zeros(k, dtype=np.bool_)
            for i in range(n):
                seen[new_L[i]] = True
            if seen.all():
                L[:] = new_L
        out[r] = L
    return out


# ---------------------------------------------------------------- sampling


@_jit
def draw_grouped_points(
    rng: np.random.Generator, means: np.ndarray, factors: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Points (N, d): counts[c] consecutive draws mean_c + L_c z for each component c,
    with the standard normal z drawn here, d per point, in the order of numpy's
    ``rng.standard_normal((N, d))`` (numba's generator methods are numpy's own
    algorithms on the same bit generator: the same values, the same state after).

    Args:
        rng: the generator to draw from (the caller holds its lock).
        means: (C, d); factors: (C, d, d) lower Cholesky factors; counts: (C,) draws per
            component, summing to N.
    """
    d = means.shape[1]
    points = np.empty((counts.sum(), d))
    q = 0
    if d <= 2:  # straight-line code per point (the loops below run 1-3 times each)
        for c in range(counts.size):
            m0, l00 = means[c, 0], factors[c, 0, 0]
            if d == 1:
                for i in range(q, q + counts[c]):
                    points[i, 0] = m0 + l00 * rng.standard_normal()
            else:
                m1, l10, l11 = means[c, 1], factors[c, 1, 0], factors[c, 1, 1]
                for i in range(q, q + counts[c]):
                    z0 = rng.standard_normal()
                    z1 = rng.standard_normal()
                    points[i, 0] = m0 + l00 * z0
                    points[i, 1] = (m1 + l10 * z0) + l11 * z1
            q += counts[c]
        return points
    z = np.empty(d)
    for c in range(counts.size):
        L = factors[c]
        for _ in range(counts[c]):
            for j in range(d):
                z[j] = rng.standard_normal()
            for i in range(d):
                acc = means[c, i]
                for j in range(i + 1):
                    acc += L[i, j] * z[j]
                points[q, i] = acc
            q += 1
    return points


@_inline
def _einsum_dot(a: np.ndarray, b: np.ndarray) -> float:
    """sum_j a[j] b[j] rounded as numpy's ``einsum`` sums one output of a contraction
    over a contiguous axis (``sum_of_products_contig_contig_outstride0_two``, built for
    x86-64's baseline SIMD: two lanes, products rounded then added, no fused
    multiply-add). Lane l takes j = l, l + 2, ...; per block of eight its four products
    are added last-first onto the lane; past the blocks one product per lane and step;
    then lane 0 + lane 1, added to the zeroed output. Measured bit for bit against
    ``np.einsum`` (``tests/core/test_jit_oracle.py``)."""
    d = a.size
    v0 = 0.0
    v1 = 0.0
    j = 0
    while d - j >= 8:
        v0 = a[j] * b[j] + (a[j + 2] * b[j + 2] + (a[j + 4] * b[j + 4] + (a[j + 6] * b[j + 6] + v0)))  # noqa: E501
        v1 = a[j + 1] * b[j + 1] + (a[j + 3] * b[j + 3] + (a[j + 5] * b[j + 5] + (a[j + 7] * b[j + 7] + v1)))  # noqa: E501
        j += 8
    while j < d:
        v0 = a[j] * b[j] + v0
        if j + 1 < d:
            v1 = a[j + 1] * b[j + 1] + v1
        j += 2
    return 0.0 + (v0 + v1)


@_jit
def draw_component_points(
    rng: np.random.Generator, means: np.ndarray, factors: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """Points (R, n, d): one draw mean + L z from component ``labels[r, i]`` of scenario
    r for every entry, z drawn here in the order of numpy's
    ``rng.standard_normal((R, n, d))``; ``L z`` is summed as numpy's
    ``einsum("rnij,rnj->rni")`` sums it (``_einsum_dot``), so the points equal
    ``means[rows, labels] + np.einsum(..., factors[rows, labels], z)`` bit for bit.

    Args:
        rng: the generator to draw from (the caller holds its lock).
        means: (R, k, d); factors: (R, k, d, d) lower Cholesky factors (upper triangle
            zero: it enters the sum as numpy's does); labels: (R, n) in 0..k-1.
    """
    rounds, n = labels.shape
    d = means.shape[2]
    points = np.empty((rounds, n, d))
    if d == 2:  # _einsum_dot in straight-line code: one product per lane, then the lanes
        for r in range(rounds):
            for i in range(n):
                z0 = rng.standard_normal()
                z1 = rng.standard_normal()
                c = labels[r, i]
                for a in range(2):
                    lane0 = factors[r, c, a, 0] * z0 + 0.0
                    lane1 = factors[r, c, a, 1] * z1 + 0.0
                    points[r, i, a] = means[r, c, a] + (0.0 + (lane0 + lane1))
        return points
    z = np.empty(d)
    for r in range(rounds):
        for i in range(n):
            for j in range(d):
                z[j] = rng.standard_normal()
            c = labels[r, i]
            for a in range(d):
                points[r, i, a] = means[r, c, a] + _einsum_dot(factors[r, c, a], z)
    return points


@_jit
def cluster_moments(
    X: np.ndarray, k: int, size: int, jitter: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sample means (R, k, d) and covariances (ddof=1) + jitter I (R, k, d, d) of the k
    consecutive clusters of ``size`` points in each data set of X (R, k * size, d).

    The numpy code's arithmetic in its order: ``mean`` over the point axis adds pairwise
    when that axis is contiguous (d = 1) and point by point otherwise; the
    ``einsum("rkni,rknj->rkij")`` of the centred points sums two lanes (``_einsum_dot``)
    at d = 1 and point by point from 0.0 otherwise; then ``/ (size - 1)`` and the jitter
    added to the diagonal (``+ 0.0`` off it). Measured bit for bit against numpy
    (``tests/core/test_jit_oracle.py``).
    """
    rounds, _, d = X.shape
    means = np.empty((rounds, k, d))
    covs = np.empty((rounds, k, d, d))
    centred = np.empty((size, d))
    for r in range(rounds):
        for c in range(k):
            first = c * size
            for i in range(d):
                if d == 1:
                    total = _pairwise_sum(X[r, :, 0], first, size)
                else:
                    total = X[r, first, i]
                    for q in range(first + 1, first + size):
                        total += X[r, q, i]
                mean = total / size
                means[r, c, i] = mean
                for q in range(size):
                    centred[q, i] = X[r, first + q, i] - mean
            for i in range(d):
                for j in range(d):
                    if d == 1:
                        acc = _einsum_dot(centred[:, 0], centred[:, 0])
                    else:
                        acc = 0.0
                        for q in range(size):
                            acc += centred[q, i] * centred[q, j]
                    covs[r, c, i, j] = acc / (size - 1) + (jitter if i == j else 0.0)
    return means, covs



@_inline
def _least_eigenvalue_2x2(a: float, b: float, c: float) -> float:
    """Smaller eigenvalue of the symmetric [[a, b], [b, c]], as ``_precision_2x2`` computes
    it: det / largest when the largest is positive (no cancellation), else the difference."""
    half_trace = 0.5 * (a + c)
    radius = math.hypot(0.5 * (a - c), b)
    lam_max = half_trace + radius
    if lam_max > 0:
        return (a * c - b * b) / lam_max
    return half_trace - radius

@_jit
def natural_parameters_2x2(
    means: np.ndarray, covs: np.ndarray, shift: np.ndarray, bounds: np.ndarray, floor: float
) -> tuple[np.ndarray, np.ndarray]:
    """The d = 2 parameter algebra of ``_kernels.mixtures_logpdf`` for several mixtures
    at once, as ``_kernels._precision_2x2`` and ``natural_parameters`` compute it.

    Returns theta (R, k, 6) with its last column holding only the quadratic term
    mu' P mu, and the (floor-repaired) determinants (R, k): the caller finishes the last
    column with numpy's ``log`` (numpy's SIMD log, which the C library's may differ from
    in the last bit). Per mixture (components ``bounds[m]:bounds[m + 1]``), as numpy:
    the eigenvalue shift is added to the diagonal only if some component needs it; the
    products P mu and mu' (P mu) are summed as numpy's einsum sums two terms
    (``_einsum_dot``: each product + 0.0, the two added, then 0.0 + that).

    Args:
        means: (R, k, 2); covs: (R, k, 2, 2); shift: (R, 2) subtracted from the means;
        bounds: (m + 1,) component offsets of the m mixtures; floor: smallest eigenvalue.
    """
    rounds, k = means.shape[0], means.shape[1]
    theta = np.empty((rounds, k, 6))
    det = np.empty((rounds, k))
    for m in range(bounds.size - 1):
        lo, hi = bounds[m], bounds[m + 1]
        repair = False
        for r in range(rounds):
            for c in range(lo, hi):
                a, cc = covs[r, c, 0, 0], covs[r, c, 1, 1]
                b = 0.5 * (covs[r, c, 0, 1] + covs[r, c, 1, 0])
                if floor - _least_eigenvalue_2x2(a, b, cc) > 0.0:
                    repair = True
        for r in range(rounds):
            for c in range(lo, hi):
                a, cc = covs[r, c, 0, 0], covs[r, c, 1, 1]
                b = 0.5 * (covs[r, c, 0, 1] + covs[r, c, 1, 0])
                if repair:  # the same numbers as above, then numpy's maximum(., 0)
                    s = floor - _least_eigenvalue_2x2(a, b, cc)
                    s = s if (s >= 0.0 or s != s) else 0.0
                    a = a + s
                    cc = cc + s
                dt = a * cc - b * b
                det[r, c] = dt
                p00, p11, p01 = cc / dt, a / dt, -b / dt
                m0 = means[r, c, 0] - shift[r, 0]
                m1 = means[r, c, 1] - shift[r, 1]
                pm0 = 0.0 + ((p00 * m0 + 0.0) + (p01 * m1 + 0.0))
                pm1 = 0.0 + ((p01 * m0 + 0.0) + (p11 * m1 + 0.0))
                theta[r, c, 0] = -0.5 * p00
                theta[r, c, 1] = -p01
                theta[r, c, 2] = -0.5 * p11
                theta[r, c, 3] = pm0
                theta[r, c, 4] = pm1
                theta[r, c, 5] = 0.0 + ((pm0 * m0 + 0.0) + (pm1 * m1 + 0.0))
    return theta, det


# ---------------------------------------------------------------- published histogram KL


@_inline
def _histogram(X: np.ndarray, bins: int, counts: np.ndarray) -> float:
    """Cell counts of X (n, d) on its own per-axis range into counts (bins**d,) as
    ``numpy.histogramdd(X, bins)`` (a degenerate axis widened by 0.5 each side; the last
    bin closed on the right); returns the cell volume."""
    n, d = X.shape
    lo = np.empty(d)
    width = np.empty(d)
    volume = 1.0
    for a in range(d):
        low, high = X[0, a], X[0, a]
        for i in range(1, n):
            v = X[i, a]
            low = min(low, v)
            high = max(high, v)
        if low == high:
            low -= 0.5
            high += 0.5
        lo[a] = low
        width[a] = (high - low) / bins
        volume *= width[a]
    counts[:] = 0
    top = float(bins - 1)
    for i in range(n):
        cell = 0.0
        for a in range(d):
            f = math.floor((X[i, a] - lo[a]) / width[a])
            f = min(max(f, 0.0), top)
            cell = cell * bins + f
        counts[int(cell)] += 1
    return volume


@_jit
def histogram_kl_pairs(
    Xp: np.ndarray, Xq: np.ndarray, bins: int, log_count: np.ndarray, log_clip: float
) -> np.ndarray:
    """The published histogram KL of B pairs of sample sets Xp (B, n, d), Xq (B, m, d).

    Per pair: densities max(count / (n * volume), clip) on each set's own grid,
    renormalised; KL = sum P log(P / Q) over cell indices. ``log_count`` holds log(c)
    for c = 0..max(n, m) (log 0 = -inf), ``log_clip`` = log(clip). Nats, (B,).
    """
    b_count, n, d = Xp.shape
    m = Xq.shape[1]
    cells = bins**d
    clip = math.exp(log_clip)
    counts_p = np.empty(cells, dtype=np.int64)
    counts_q = np.empty(cells, dtype=np.int64)
    dens_p = np.empty(cells)
    dens_q = np.empty(cells)
    out = np.empty(b_count)
    for b in range(b_count):
        scale_p = 1.0 / (n * _histogram(Xp[b], bins, counts_p))
        scale_q = 1.0 / (m * _histogram(Xq[b], bins, counts_q))
        log_scale_p = math.log(scale_p)
        log_scale_q = math.log(scale_q)
        for i in range(cells):
            dens_p[i] = max(counts_p[i] * scale_p, clip)
            dens_q[i] = max(counts_q[i] * scale_q, clip)
        cross = 0.0
        for i in range(cells):
            log_p = max(log_count[counts_p[i]] + log_scale_p, log_clip)
            log_q = max(log_count[counts_q[i]] + log_scale_q, log_clip)
            cross += dens_p[i] * (log_p - log_q)
        z_p = _pairwise_sum(dens_p, 0, cells)
        z_q = _pairwise_sum(dens_q, 0, cells)
        out[b] = cross / z_p - math.log(z_p) + math.log(z_q)
    return out


# ---------------------------------------------------------------- compile at start


def compile_all() -> float:
    """Compile (or load from the disk cache) every kernel for every type it is used
    with, by calling each on a tiny input; returns the seconds it took."""
    import time

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    exp_clamped(np.linspace(-800.0, 10.0, 5))
    log_normal(np.linspace(1.0, 10.0, 5))
    numpy_sum(np.arange(3.0))
    logs = np.log(rng.random((2, 6)))
    js_summands(logs, logs[::-1].copy())
    js_gap_moments(logs, logs, logs, logs, logs, logs, logs)
    for d in (1, 2, 3):
        X = rng.random((2, 6, d))
        p = d * (d + 1) // 2 + d + 1
        theta = -rng.random((2, 3, p))
        mixtures_logsumexp(theta, X, X.mean(axis=1), np.array([0, 1, 3]), 4)
        labels = np.tile(np.arange(2), (2, 3)).astype(np.int64)
        em_fit(X, labels, 2, np.full(2, 1e-3), np.full(2, 1e-10), 1e-3, 3)
        standardise(X)
        sq = (X**2).sum(axis=2)
        centers = kmeans_plusplus(X, sq, 2, np.zeros(2, dtype=np.int64), rng.random((1, 2, 2)))
        lloyd(X, centers, np.full(2, 1e-4), 5)
        table = np.concatenate([[-np.inf], np.log(np.arange(1.0, 13.0))])
        histogram_kl_pairs(X, X, 3, table, math.log(1e-10))
        eyes = np.broadcast_to(np.eye(d), (2, 6, d, d)).copy()
        draw_grouped_points(rng, X[0], eyes[0], np.full(6, 2, dtype=np.int64))
        draw_component_points(rng, X, eyes, np.zeros((2, 3), dtype=np.int64))
        cluster_moments(X, 2, 3, 1e-6)
        point_sq_norms(X)
        if d == 2:
            natural_parameters_2x2(X, eyes, X[:, 0].copy(), np.array([0, 2, 6]), 0.0)
    return time.perf_counter() - start
