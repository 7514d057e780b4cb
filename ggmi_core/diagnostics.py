"""Appendix G diagnostics: dependence (HSIC) and entropy of synthetic data, from samples.

The paper measures real synthetic text with two statistics (Appendix G.3):

* HSIC between each synthetic sample and the anchor sample behind its prompt: low HSIC
  means the synthetic data depend little on the anchor data, the paper's reading of a large
  information gain Delta_I.
* Semantic entropy: the entropy of the distribution over meaning clusters. The GMM analogue
  here is the entropy of the cluster assignment (``cluster_entropy``); a
  Kozachenko-Leonenko k-nearest-neighbour estimate (``knn_entropy``) gives the differential
  entropy, which the simulation can check against the exact value.

Everything is in nats. Points are arrays of shape (n, d) (rows are samples); a 1-D array
of length n is read as n points in one dimension. Randomness only through an explicit
``numpy.random.Generator``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree
from scipy.special import digamma, gammaln
from sklearn.neighbors import NearestNeighbors

from ggmi_core.estimate import Estimate
from ggmi_core.pca import principal_axes

if TYPE_CHECKING:  # pragma: no cover - import only for type hints
    import pandas as pd

    from ggmi_core.config import ScenarioConfig
    from ggmi_core.gmm import GMM

Array = NDArray[np.float64]

#: Above this dimension a k-d tree degenerates into a slow brute-force search, so
#: neighbours come from a brute-force (BLAS) search instead.
KD_TREE_MAX_DIM = 16


# ---------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------


def as_points(X: ArrayLike, name: str = "X") -> Array:
    """Return ``X`` as a finite float array of shape (n, d); a 1-D input becomes (n, 1).

    Raises:
        ValueError: naming ``name`` when the array is not 1-D/2-D, is empty or not finite.
    """
    arr = np.asarray(X, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d) (rows are samples); got {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty; got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _paired(X: ArrayLike, Y: ArrayLike) -> tuple[Array, Array]:
    x, y = as_points(X, "X"), as_points(Y, "Y")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"X and Y must be paired (same number of rows); got {x.shape[0]} and {y.shape[0]}"
        )
    if x.shape[0] < 4:
        raise ValueError(f"HSIC needs at least 4 pairs; got {x.shape[0]}")
    return x, y


# ---------------------------------------------------------------------------
# HSIC
# ---------------------------------------------------------------------------


def squared_distances(X: Array) -> Array:
    """Pairwise squared Euclidean distances of the rows of X (n, d), as an (n, n) array.

    Uses the Gram-matrix identity |a-b|^2 = |a|^2 + |b|^2 - 2 a.b so the work is one BLAS
    product even in high dimension; round-off negatives are clipped to 0.
    """
    norms = np.einsum("ij,ij->i", X, X)
    sq = X @ X.T
    sq *= -2.0
    sq += norms[:, None]
    sq += norms[None, :]
    np.maximum(sq, 0.0, out=sq)
    np.fill_diagonal(sq, 0.0)
    return sq


def median_bandwidth(sq_dists: Array) -> float:
    """Median heuristic: the median distance between distinct points (same units as X).

    Args:
        sq_dists: (n, n) squared distances.

    Returns:
        The median of the positive pairwise distances, or 1.0 when all points coincide
        (any bandwidth gives a constant kernel then, so HSIC is 0 regardless).
    """
    upper = sq_dists[np.triu_indices_from(sq_dists, k=1)]
    positive = upper[upper > 0]
    if positive.size == 0:
        return 1.0
    return float(np.sqrt(np.median(positive)))


def gaussian_kernel(X: Array) -> tuple[Array, float]:
    """Gaussian kernel matrix exp(-|a-b|^2 / (2 sigma^2)) with the median-heuristic sigma.

    Returns:
        The (n, n) kernel matrix and the bandwidth sigma.
    """
    sq = squared_distances(X)
    sigma = median_bandwidth(sq)
    sq *= -0.5 / sigma**2
    return np.exp(sq, out=sq), sigma


def double_centre(K: Array) -> Array:
    """H K H with H = I - 11^T/n, computed from row/column means (no n x n product)."""
    row = K.mean(axis=1)
    col = K.mean(axis=0)
    return K - row[:, None] - col[None, :] + row.mean()


def _trace_product(A: Array, B: Array) -> float:
    """tr(A B) for symmetric A, B: the sum of their elementwise product.

    einsum, not a BLAS dot: on a busy shared machine OpenBLAS's threads made the dot
    3-20x slower than einsum's single-threaded loop (measured at n = 200..2000).
    """
    return float(np.einsum("ij,ij->", A, B))


def hsic(X: ArrayLike, Y: ArrayLike) -> float:
    """Biased HSIC estimate tr(K H L H) / (n-1)^2 (Gretton et al., 2005).

    K and L are Gaussian kernel matrices of X and Y with median-heuristic bandwidths.
    Because H is idempotent, tr(K H L H) = sum_ij (H K H)_ij L_ij, so only K is centred.
    Memory is O(n^2): fine up to a few thousand points.

    Args:
        X: (n, dx) samples (or (n,)).
        Y: (n, dy) samples paired row by row with X.

    Returns:
        The statistic (dimensionless, >= 0 up to round-off; 0 means no detected dependence).
    """
    x, y = _paired(X, Y)
    kx, _ = gaussian_kernel(x)
    ly, _ = gaussian_kernel(y)
    return _trace_product(double_centre(kx), ly) / (x.shape[0] - 1) ** 2


@dataclass(frozen=True)
class HSICResult:
    """Outcome of a permutation test of independence with HSIC.

    Attributes:
        statistic: HSIC of the observed pairing.
        p_value: (1 + #{null >= statistic}) / (1 + n_permutations).
        null_mean: mean HSIC over the permuted pairings.
        null_std: standard deviation of HSIC over the permuted pairings.
        n_permutations: number of random permutations of Y drawn.
        bandwidth_x: median-heuristic bandwidth of X's kernel.
        bandwidth_y: median-heuristic bandwidth of Y's kernel.
        null: HSIC of each permuted pairing (for a histogram of the null distribution).
    """

    statistic: float
    p_value: float
    null_mean: float
    null_std: float
    n_permutations: int
    bandwidth_x: float
    bandwidth_y: float
    null: tuple[float, ...] = ()


def hsic_test(
    X: ArrayLike, Y: ArrayLike, n_permutations: int, rng: np.random.Generator
) -> HSICResult:
    """Permutation test of independence between paired samples X and Y with HSIC.

    The null distribution permutes Y's rows, which breaks the pairing but keeps both
    marginals. The kernel matrices are computed once: permuting Y permutes L's rows and
    columns, and the centred K is reused as is. Each permutation costs O(n^2).

    Args:
        X: (n, dx) samples.
        Y: (n, dy) samples paired row by row with X.
        n_permutations: number of permutations (>= 1); the smallest reachable p-value is
            1 / (n_permutations + 1).
        rng: source of the permutations.
    """
    if isinstance(n_permutations, bool) or int(n_permutations) != n_permutations:
        raise ValueError(f"n_permutations must be a positive integer; got {n_permutations!r}")
    n_permutations = int(n_permutations)
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be a positive integer; got {n_permutations}")
    x, y = _paired(X, Y)
    n = x.shape[0]
    kx, sigma_x = gaussian_kernel(x)
    ly, sigma_y = gaussian_kernel(y)
    kc = double_centre(kx)
    del kx
    scale = 1.0 / (n - 1) ** 2
    statistic = _trace_product(kc, ly) * scale
    null = np.empty(n_permutations)
    for b in range(n_permutations):
        perm = rng.permutation(n)
        # Two take() calls beat one fancy index with np.ix_ (about 1.5x at n=2000).
        null[b] = _trace_product(kc, ly.take(perm, axis=0).take(perm, axis=1)) * scale
    # A relative tolerance counts round-off ties (e.g. the identity permutation) as ties,
    # which keeps the test conservative.
    exceed = int(np.count_nonzero(null >= statistic - 1e-12 * abs(statistic)))
    return HSICResult(
        statistic=float(statistic),
        p_value=(1 + exceed) / (1 + n_permutations),
        null_mean=float(null.mean()),
        null_std=float(null.std(ddof=1)) if n_permutations > 1 else 0.0,
        n_permutations=n_permutations,
        bandwidth_x=sigma_x,
        bandwidth_y=sigma_y,
        null=tuple(float(v) for v in null),
    )


def pair_with_anchor(scenario_batch: Any, r: int, rng: np.random.Generator) -> tuple[Array, Array]:
    """Pair each synthetic sample of scenario r with an anchor sample of the prompt's component.

    The prompt of synthetic sample i named anchor component ``synth_prompt[r, i]``; its
    partner is drawn from the anchor samples of that component. Within a component the
    anchor samples are used in a random order without replacement, starting again once all
    are used, so repeats only happen when a component has more synthetic than anchor
    samples. With adherence 0 the synthetic sample ignores its prompt and the pairs are
    independent; adherence > 0 makes them dependent.

    Args:
        scenario_batch: a ``ggmi_core.scenario.ScenarioBatch`` (uses ``anchor_X`` (R, m, d),
            ``anchor_labels`` (R, m), ``synth_X`` (R, n, d), ``synth_prompt`` (R, n)).
        r: scenario index.
        rng: source of the within-component order.

    Returns:
        ``(anchor_partner (n, d), synthetic (n, d))``, row i of one paired with row i of the
        other.
    """
    anchor_X = np.asarray(scenario_batch.anchor_X[r], dtype=float)
    anchor_labels = np.asarray(scenario_batch.anchor_labels[r])
    synth_X = np.asarray(scenario_batch.synth_X[r], dtype=float)
    prompts = np.asarray(scenario_batch.synth_prompt[r])
    partner = np.empty(len(prompts), dtype=np.int64)
    for k in np.unique(prompts):
        members = np.flatnonzero(anchor_labels == k)
        if members.size == 0:
            raise ValueError(f"prompt names anchor component {k}, which has no anchor samples")
        wanted = np.flatnonzero(prompts == k)
        rounds = -(-wanted.size // members.size)  # ceiling division
        order = np.concatenate([rng.permutation(members) for _ in range(rounds)])
        partner[wanted] = order[: wanted.size]
    return anchor_X[partner], synth_X


# ---------------------------------------------------------------------------
# Nearest-neighbour distances and estimators
# ---------------------------------------------------------------------------


def _unique_rows(X: Array) -> Array:
    """X without repeated rows (order not kept)."""
    return np.unique(X, axis=0)


def count_duplicate_rows(X: ArrayLike) -> int:
    """Number of rows of X (n, d) that repeat an earlier row exactly."""
    x = as_points(X)
    return int(x.shape[0] - _unique_rows(x).shape[0])


def _nearest_distances(queries: Array, reference: Array, kk: int, skip_self: bool) -> Array:
    """Distances from each query row to its kk nearest reference rows, sorted, (n_queries, kk).

    With ``skip_self`` the queries are the reference set itself (no duplicate rows) and a
    point is not its own neighbour.
    """
    if reference.shape[1] <= KD_TREE_MAX_DIM:
        # scipy's cKDTree: exact, and about 3x faster than scikit-learn's KDTree here.
        dist, _ = cKDTree(reference).query(queries, k=kk + 1 if skip_self else kk)
        dist = np.asarray(dist).reshape(queries.shape[0], -1)
        return dist[:, 1:] if skip_self else dist
    # High dimension: scikit-learn's chunked brute-force search picks the neighbours.
    search = NearestNeighbors(n_neighbors=kk, algorithm="brute").fit(reference)
    idx = search.kneighbors(None if skip_self else queries, return_distance=False)
    # Its distances come from the Gram identity, which loses precision for close points,
    # and the estimators take their logarithm: recompute the chosen ones directly.
    exact = np.empty((queries.shape[0], kk))
    for j in range(kk):  # one neighbour rank at a time keeps memory at n x d
        diff = queries - reference[idx[:, j]]
        exact[:, j] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return np.sort(exact, axis=1)


def _kth_distances(queries: Array, reference: Array, k: int, skip_self: bool) -> Array:
    """Distance from each query row to its k-th nearest reference row, (n_queries,)."""
    return _nearest_distances(queries, reference, k, skip_self)[:, k - 1]


def log_unit_ball_volume(d: int) -> float:
    """log of the volume of the unit Euclidean ball in d dimensions."""
    return float(0.5 * d * np.log(np.pi) - gammaln(0.5 * d + 1.0))


def knn_entropy(X: ArrayLike, k: int = 3) -> Estimate:
    """Kozachenko-Leonenko differential entropy estimate in nats (Kraskov et al. form).

    H ~ psi(n) - psi(k) + log V_d + (d/n) sum_i log eps_i, with eps_i the Euclidean distance
    from point i to its k-th nearest neighbour and V_d the unit-ball volume.

    Repeated rows are dropped first: a continuous density never repeats a point, and a
    zero distance would send the estimate to minus infinity. ``count_duplicate_rows`` tells
    how many were dropped. In high dimension (hundreds of coordinates) the estimate is
    strongly biased; compare like with like.

    Args:
        X: (n, d) samples.
        k: neighbour order (>= 1); larger k lowers variance and raises bias.

    Returns:
        ``Estimate(value, stderr)``; the stderr is the spread of the per-point terms over
        sqrt(n), a rough guide (the terms are weakly dependent).
    """
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer; got {k!r}")
    k = int(k)
    x = _unique_rows(as_points(X))
    n, d = x.shape
    if n <= k:
        raise ValueError(f"knn_entropy needs more than k={k} distinct points; got {n}")
    eps = _kth_distances(x, x, k, skip_self=True)
    terms = d * np.log(eps) + (digamma(n) - digamma(k) + log_unit_ball_volume(d))
    return Estimate(float(terms.mean()), float(terms.std(ddof=1) / np.sqrt(n)))


def knn_kl_divergence(P: ArrayLike, Q: ArrayLike, k: int = 3) -> float:
    """k-nearest-neighbour estimate of KL(P || Q) in nats (Wang, Kulkarni & Verdu, 2009).

    KL ~ (d/n) sum_i log(nu_i / rho_i) + log(m / (n - 1)), with rho_i the distance from
    P's point i to its k-th neighbour among P's other points and nu_i the distance to its
    k-th neighbour among Q's m points. Repeated rows within each set are dropped (see
    ``knn_entropy``); a P point that also occurs in Q uses its k-th neighbour at positive
    distance. Sampling error can make the estimate slightly negative.

    Args:
        P: (n, d) samples of P.
        Q: (m, d) samples of Q (same d).
        k: neighbour order (>= 1).
    """
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer; got {k!r}")
    k = int(k)
    p, q = _unique_rows(as_points(P, "P")), _unique_rows(as_points(Q, "Q"))
    if p.shape[1] != q.shape[1]:
        raise ValueError(f"P and Q must have the same dimension; got {p.shape[1]} and {q.shape[1]}")
    n, d = p.shape
    m = q.shape[0]
    if n <= k or m <= k:
        raise ValueError(f"knn_kl_divergence needs more than k={k} distinct points in each set")
    rho = _kth_distances(p, p, k, skip_self=True)
    # Q has no repeated rows, so a P point matches at most one Q point exactly; taking the
    # (k+1)-th neighbour then keeps nu_i positive.
    near = _nearest_distances(p, q, min(k + 1, m), skip_self=False)
    nu = near[:, k - 1]
    if near.shape[1] > k:
        nu = np.where(near[:, 0] == 0.0, near[:, k], nu)
    return float(d * np.mean(np.log(nu / rho)) + np.log(m / (n - 1)))


def count_shared_rows(A: ArrayLike, B: ArrayLike) -> int:
    """Number of distinct rows of B (n, d) that also occur exactly in A (m, d).

    For synthetic data against anchor data this counts verbatim copies.
    """
    a, b = _unique_rows(as_points(A, "A")), _unique_rows(as_points(B, "B"))
    if a.shape[1] != b.shape[1]:
        return 0
    return int(np.count_nonzero(_kth_distances(b, a, 1, skip_self=False) == 0.0))


# ---------------------------------------------------------------------------
# Cluster (semantic-entropy analogue)
# ---------------------------------------------------------------------------


def cluster_entropy(assignments: ArrayLike, n_clusters: int | None = None) -> float:
    """Entropy in nats of the distribution of samples over clusters (plug-in estimate).

    This is the GMM analogue of semantic entropy: each sample falls in a "meaning cluster"
    and the entropy is taken over the cluster frequencies.

    Args:
        assignments: either hard labels (n,) of non-negative integers, or soft assignments
            (n, k) whose rows are probability vectors (the cluster distribution is then the
            mean row).
        n_clusters: number of clusters for hard labels (only checks the labels' range; empty
            clusters add nothing to the entropy).

    Returns:
        Entropy in nats, between 0 and log(number of clusters).
    """
    a = np.asarray(assignments)
    if a.size == 0:
        raise ValueError("cluster_entropy needs at least one assignment")
    if a.ndim == 1:
        if not np.issubdtype(a.dtype, np.integer):
            if not (np.isfinite(a).all() and np.all(a == np.round(a))):
                raise ValueError("hard cluster labels must be integers")
            a = a.astype(np.int64)
        if a.min() < 0 or (n_clusters is not None and a.max() >= n_clusters):
            raise ValueError(
                f"cluster labels must lie in 0..{'k-1' if n_clusters is None else n_clusters - 1}"
            )
        probs = np.bincount(a) / a.size
    elif a.ndim == 2:
        a = a.astype(float)
        if (
            not np.isfinite(a).all()
            or (a < -1e-12).any()
            or not np.allclose(a.sum(axis=1), 1.0, atol=1e-6)
        ):
            raise ValueError("soft assignments must be (n, k) rows of probabilities summing to 1")
        probs = np.clip(a, 0.0, None).mean(axis=0)
        probs /= probs.sum()
    else:
        raise ValueError(
            f"assignments must be labels (n,) or probabilities (n, k); got shape {a.shape}"
        )
    nz = probs[probs > 0]
    return float(-(nz * np.log(nz)).sum())


def assign_to_components(mixture: GMM, X: ArrayLike) -> NDArray[np.int64]:
    """Label each point of X (n, d) with the mixture component of largest posterior, (n,)."""
    x = as_points(X)
    comp = mixture.as_batch().component_logpdf(x[None])[0]  # (k, n)
    return np.argmax(comp, axis=0).astype(np.int64)


# ---------------------------------------------------------------------------
# Projection for plots
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    """A 2-D principal-component projection of pooled data sets.

    Attributes:
        coords: list of (n_i, 2) coordinates, one per input set, in the input order.
        explained: (2,) fraction of the pooled variance along each axis (0 if constant).
        components: (2, d) unit directions (rows); a single-column input pads with zeros.
        mean: (d,) pooled mean subtracted before projecting.
    """

    coords: list[Array]
    explained: Array
    components: Array
    mean: Array


def pca_2d(sets: Sequence[ArrayLike]) -> Projection:
    """Project several (n_i, d) sets onto the first two principal axes of their union.

    Axes and signs as ``ggmi_core.pca.principal_axes`` (largest loading positive, so the
    picture is reproducible).
    """
    arrays = [as_points(s, f"set {i}") for i, s in enumerate(sets)]
    if not arrays:
        raise ValueError("pca_2d needs at least one set")
    dims = {a.shape[1] for a in arrays}
    if len(dims) != 1:
        raise ValueError(f"all sets must have the same dimension; got {sorted(dims)}")
    found = principal_axes(np.vstack(arrays), 2)
    coords = [(a - found.mean) @ found.axes.T for a in arrays]
    return Projection(
        coords=coords, explained=found.explained, components=found.axes, mean=found.mean
    )


# ---------------------------------------------------------------------------
# Simulation sweep
# ---------------------------------------------------------------------------

#: Parameters the diagnostics sweep accepts.
DIAGNOSTIC_SWEEP_PARAMS: tuple[str, ...] = ("n_anchor_per_component", "adherence")

#: Columns of ``diagnostics_sweep`` (one row per scenario and swept value).
SCENARIO_COLUMNS: tuple[str, ...] = (
    "value",
    "scenario",
    "hsic",
    "hsic_p_value",
    "synthetic_knn_entropy",
    "synthetic_exact_entropy",
    "synthetic_cluster_entropy",
    "anchor_knn_entropy",
    "anchor_exact_entropy",
    "anchor_cluster_entropy",
)


@dataclass(frozen=True)
class ScenarioDiagnostics:
    """Diagnostics of one simulated scenario (entropies in nats)."""

    hsic: float
    hsic_p_value: float
    synthetic_knn_entropy: float
    synthetic_exact_entropy: float
    synthetic_cluster_entropy: float
    anchor_knn_entropy: float
    anchor_exact_entropy: float
    anchor_cluster_entropy: float


def _mc_entropy(mixture: GMM, n_samples: int, rng: np.random.Generator) -> float:
    """Differential entropy -E[log p(X)] of a mixture in nats by Monte Carlo with exact log p."""
    return float(-np.mean(mixture.logpdf(mixture.sample(n_samples, rng))))


#: Fewest distinct points for which the sweep reports a kNN entropy: below this the
#: estimate is dominated by its small-sample bias (6 anchor points at K=2, N_k=3 gave
#: several nats too much) and would mislead more than inform.
MIN_POINTS_FOR_KNN = 20


def _knn_entropy_or_nan(X: Array, k: int) -> float:
    """kNN entropy, or NaN when there are too few distinct points (e.g. K=2, N_k=3)."""
    if _unique_rows(X).shape[0] < max(MIN_POINTS_FOR_KNN, k + 1):
        return float("nan")
    return float(knn_entropy(X, k).value)


def scenario_diagnostics(
    scenario_batch: Any,
    r: int,
    rng: np.random.Generator,
    n_permutations: int = 100,
    k: int = 3,
    n_mc: int = 2000,
) -> ScenarioDiagnostics:
    """HSIC test and entropies of scenario r of a ``ScenarioBatch``.

    HSIC pairs each synthetic sample with an anchor sample of its prompt's component. Cluster
    entropies assign points to the target G's components by largest posterior. Exact
    entropies are Monte Carlo with exact log-densities of D_gen (synthetic) and of the
    anchor-sampling mixture (anchor), with ``n_mc`` samples.
    """
    anchor_partner, synth = pair_with_anchor(scenario_batch, r, rng)
    test = hsic_test(anchor_partner, synth, n_permutations, rng)
    target = scenario_batch.target[r]
    anchor = np.asarray(scenario_batch.anchor_X[r], dtype=float)
    return ScenarioDiagnostics(
        hsic=test.statistic,
        hsic_p_value=test.p_value,
        synthetic_knn_entropy=_knn_entropy_or_nan(synth, k),
        synthetic_exact_entropy=_mc_entropy(scenario_batch.gen[r], n_mc, rng),
        synthetic_cluster_entropy=cluster_entropy(assign_to_components(target, synth)),
        anchor_knn_entropy=_knn_entropy_or_nan(anchor, k),
        anchor_exact_entropy=_mc_entropy(scenario_batch.anchor_source[r], n_mc, rng),
        anchor_cluster_entropy=cluster_entropy(assign_to_components(target, anchor)),
    )


#: Largest permutation work (scenarios x (permutations + 1) x n^2 kernel entries) one
#: request may ask for at the default work budget. The permutation loop dominates and
#: touches about one entry per 6 ns on the 2-core server, so this is roughly 10 seconds.
#: ``GGMI_WORK_BUDGET`` scales it like every other page's budget (see ``work_limit``).
DIAGNOSTICS_WORK_LIMIT = 1.6e9


def work_limit() -> float:
    """The diagnostics work limit under the configured budget (``ggmi_core.budget``)."""
    from ggmi_core.budget import DEFAULT_WORK_BUDGET, work_budget

    return DIAGNOSTICS_WORK_LIMIT * work_budget() / DEFAULT_WORK_BUDGET


def diagnostics_sweep_cost(
    config: ScenarioConfig, param: str, values: Sequence[float], rounds: int, n_permutations: int
) -> float:
    """Kernel entries the HSIC permutation tests of a sweep touch (the dominant work).

    ``param`` is N_k or adherence, neither of which changes n, so every value costs the same.
    """
    if param not in DIAGNOSTIC_SWEEP_PARAMS:
        raise ValueError(
            f"param must be one of {', '.join(DIAGNOSTIC_SWEEP_PARAMS)}; got {param!r}"
        )
    return len(values) * rounds * (n_permutations + 1) * float(config.n_synthetic) ** 2


def analysis_cost(
    n_anchor: int, n_synthetic: int, dim: int, paired: bool, n_permutations: int
) -> float:
    """Work of ``analyse_embeddings`` in the units of ``diagnostics_sweep_cost``.

    The HSIC permutations touch (permutations + 1) n^2 kernel entries; the neighbour
    searches and the projection do a few passes of (n + m)^2 d multiply-adds, which run
    about eight to a kernel entry's time.
    """
    hsic_work = (n_permutations + 1) * float(n_anchor) ** 2 if paired else 0.0
    return hsic_work + float(n_anchor + n_synthetic) ** 2 * dim / 8


def check_diagnostics_cost(work: float, limit: float | None = None) -> None:
    """Raise ``BudgetExceeded`` (a ``ValueError``) with advice when ``work`` is over ``limit``.

    ``limit`` defaults to ``work_limit()``, which follows ``GGMI_WORK_BUDGET``.
    """
    from ggmi_core.budget import BudgetExceeded

    limit = work_limit() if limit is None else limit
    if work > limit:
        raise BudgetExceeded(
            f"This request needs about {work / limit:.1f} times the work this server allows "
            "for one request. Reduce the scenarios per value, the permutations, the number "
            "of synthetic samples n or the number of swept values."
        )


def diagnostics_sweep(
    config: ScenarioConfig,
    param: str,
    values: Sequence[float],
    rounds: int = 20,
    n_permutations: int = 100,
    k: int = 3,
    n_mc: int = 2000,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """HSIC, kNN, exact and cluster entropies against N_k or adherence, per scenario.

    For each value the configuration is changed and ``rounds`` scenarios are generated from
    ``config.seed`` (the same seed for every value, so the curves share their randomness).

    Args:
        config: base scenario settings.
        param: ``"n_anchor_per_component"`` (N_k, the in-context-examples analogue) or
            ``"adherence"``.
        values: the values to try.
        rounds: scenarios per value.
        n_permutations: permutations of each HSIC test.
        k: neighbour order of the kNN estimates.
        n_mc: Monte Carlo samples of each exact entropy.
        progress: called as ``progress(done, total)`` after each scenario; may raise to stop.

    Returns:
        A DataFrame with ``SCENARIO_COLUMNS`` (entropies in nats), one row per scenario and
        value; ``summarise_sweep`` reduces it to one row per value.
    """
    import pandas as pd

    from ggmi_core.scenario import generate_scenarios

    if param not in DIAGNOSTIC_SWEEP_PARAMS:
        raise ValueError(
            f"param must be one of {', '.join(DIAGNOSTIC_SWEEP_PARAMS)}; got {param!r}"
        )
    if isinstance(rounds, bool) or int(rounds) != rounds or rounds < 1:
        raise ValueError(f"rounds must be a positive integer; got {rounds!r}")
    values = list(values)
    if not values:
        raise ValueError("values must not be empty")
    configs = [config.replace(**{param: v}) for v in values]  # validates every value first
    rows: list[dict[str, float]] = []
    total = len(values) * int(rounds)
    done = 0
    for value, cfg in zip(values, configs, strict=True):
        seeds = np.random.SeedSequence([cfg.seed, 5]).spawn(2)
        batch = generate_scenarios(cfg, int(rounds), np.random.default_rng(seeds[0]))
        rng = np.random.default_rng(seeds[1])
        for r in range(int(rounds)):
            diag = scenario_diagnostics(batch, r, rng, n_permutations, k, n_mc)
            rows.append({"value": float(value), "scenario": r, **diag.__dict__})
            done += 1
            if progress is not None:
                progress(done, total)
    return pd.DataFrame(rows, columns=list(SCENARIO_COLUMNS))


def summarise_sweep(per_scenario: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """One row per swept value: mean, standard deviation and standard error of each column.

    Also ``hsic_reject_rate``: the fraction of scenarios whose HSIC test has p <= ``alpha``
    (a permutation test rejects at level alpha when p <= alpha; with 19 permutations the
    smallest p-value is exactly 0.05).
    """
    metrics = [c for c in SCENARIO_COLUMNS if c not in ("value", "scenario")]
    grouped = per_scenario.groupby("value", sort=True)
    out = grouped[metrics].mean().add_suffix("_mean")
    std = grouped[metrics].std(ddof=1).fillna(0.0)
    count = grouped.size()
    out = out.join(std.add_suffix("_std"))
    out = out.join(std.div(np.sqrt(count), axis=0).add_suffix("_sem"))
    out["hsic_reject_rate"] = grouped["hsic_p_value"].apply(lambda p: float((p <= alpha).mean()))
    out["rounds"] = count
    return out.reset_index()


# ---------------------------------------------------------------------------
# Uploaded data
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EmbeddingReport:
    """Diagnostics of an anchor set (n, d) and a synthetic set (m, d); entropies in nats.

    Attributes:
        n_anchor, n_synthetic, dim: sizes analysed (after any subsampling).
        paired: whether row i of one set was paired with row i of the other for HSIC.
        hsic: the HSIC permutation test, or None when the sets are not paired.
        anchor_entropy, synthetic_entropy: kNN differential entropy estimates.
        kl_synthetic_anchor: kNN estimate of KL(synthetic || anchor) (for paired sets from
            disjoint halves of the rows, see ``_kl_both_ways``).
        kl_anchor_synthetic: kNN estimate of KL(anchor || synthetic).
        anchor_duplicates, synthetic_duplicates: repeated rows within each set (dropped by
            the kNN estimators).
        shared_rows: distinct synthetic rows that copy an anchor row exactly.
        projection: 2-D PCA of both sets (anchor first).
        k: neighbour order used.
    """

    n_anchor: int
    n_synthetic: int
    dim: int
    paired: bool
    hsic: HSICResult | None
    anchor_entropy: Estimate
    synthetic_entropy: Estimate
    kl_synthetic_anchor: float
    kl_anchor_synthetic: float
    anchor_duplicates: int
    synthetic_duplicates: int
    shared_rows: int
    projection: Projection
    k: int

    @property
    def entropy_drop(self) -> float:
        """H(anchor) - H(synthetic) from the kNN estimates (the paper's delta)."""
        return float(self.anchor_entropy.value) - float(self.synthetic_entropy.value)


def analyse_embeddings(
    anchor: ArrayLike,
    synthetic: ArrayLike,
    paired: bool,
    n_permutations: int,
    rng: np.random.Generator,
    k: int = 3,
) -> EmbeddingReport:
    """HSIC (when paired), kNN entropies, kNN KL both ways and a 2-D PCA of two sets.

    Args:
        anchor: (n, d) anchor embeddings.
        synthetic: (m, d) synthetic embeddings; with ``paired``, m == n and row i answered a
            prompt built from anchor row i.
        paired: run the HSIC test on the row pairing.
        n_permutations: permutations of the HSIC test.
        rng: source of the permutations.
        k: neighbour order of the kNN estimators.
    """
    a, s = as_points(anchor, "anchor"), as_points(synthetic, "synthetic")
    if a.shape[1] != s.shape[1]:
        raise ValueError(
            f"anchor and synthetic need the same dimension; got {a.shape[1]} and {s.shape[1]}"
        )
    if paired and a.shape[0] != s.shape[0]:
        raise ValueError(
            f"paired sets need the same number of rows; got {a.shape[0]} and {s.shape[0]}"
        )
    kl_sa, kl_as = _kl_both_ways(a, s, paired, rng, k)
    return EmbeddingReport(
        n_anchor=a.shape[0],
        n_synthetic=s.shape[0],
        dim=a.shape[1],
        paired=paired,
        hsic=hsic_test(a, s, n_permutations, rng) if paired else None,
        anchor_entropy=knn_entropy(a, k),
        synthetic_entropy=knn_entropy(s, k),
        kl_synthetic_anchor=kl_sa,
        kl_anchor_synthetic=kl_as,
        anchor_duplicates=count_duplicate_rows(a),
        synthetic_duplicates=count_duplicate_rows(s),
        shared_rows=count_shared_rows(a, s),
        projection=pca_2d([a, s]),
        k=int(k),
    )


def _kl_both_ways(
    a: Array, s: Array, paired: bool, rng: np.random.Generator, k: int
) -> tuple[float, float]:
    """kNN KL(s || a) and KL(a || s).

    The estimator assumes the two sets are independent samples. Paired rows are not: a
    synthetic point sits near its own anchor partner, which drags KL down. For paired
    sets each direction therefore compares one random half of the rows of one set with
    the other half of the other set, so no point meets its partner.
    """
    if not paired:
        return knn_kl_divergence(s, a, k), knn_kl_divergence(a, s, k)
    order = rng.permutation(a.shape[0])
    first, second = order[: a.shape[0] // 2], order[a.shape[0] // 2 :]
    return knn_kl_divergence(s[first], a[second], k), knn_kl_divergence(a[first], s[second], k)
