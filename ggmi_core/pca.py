"""Principal axes of a point cloud (scikit-learn's PCA), for 2-D views of d-dimensional data.

One place for the projection used by the Distributions figure (d > 2) and by the uploaded
embeddings' picture on the Diagnostics page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


@dataclass(frozen=True)
class PrincipalAxes:
    """Leading principal axes of a point set.

    Attributes:
        mean: (d,) mean of the points.
        axes: (n_axes, d) orthonormal rows, largest variance first; rows beyond the data's
            rank (fewer points or coordinates than axes, or constant data) are zero.
        explained: (n_axes,) fraction of the total variance along each axis (0 for zero rows).
    """

    mean: Array
    axes: Array
    explained: Array


def principal_axes(X: Array, n_axes: int = 2) -> PrincipalAxes:
    """The ``n_axes`` leading principal axes of the rows of ``X`` (n, d).

    Each axis's sign is fixed so its largest-magnitude loading is positive: the same data
    always give the same picture. The solver is exact either way: eigenvectors of the
    d x d covariance when d <= n (cheap for tall data), ARPACK's truncated SVD of the data
    otherwise (a d x d eigenproblem would cost seconds for a few hundred 2048-d rows).
    """
    X = np.asarray(X, dtype=float)
    n, d = X.shape
    mean = X.mean(axis=0)
    axes = np.zeros((n_axes, d))
    explained = np.zeros(n_axes)
    k = min(n_axes, n, d)
    centred = X - mean
    if k == 0 or not np.einsum("ij,ij->", centred, centred) > 0:
        return PrincipalAxes(mean, axes, explained)
    if d <= n:
        solver = "covariance_eigh"
    else:
        solver = "arpack" if k < min(n, d) else "full"
    # Imported here: scikit-learn (and the scipy.stats it loads) takes 1-3 s to import,
    # and most page views (d = 2) never need a projection.
    from sklearn.decomposition import PCA

    pca = PCA(n_components=k, svd_solver=solver, random_state=0).fit(X)
    comps = pca.components_
    signs = np.sign(comps[np.arange(k), np.argmax(np.abs(comps), axis=1)])
    axes[:k] = comps * np.where(signs == 0, 1.0, signs)[:, None]
    explained[:k] = pca.explained_variance_ratio_
    return PrincipalAxes(mean, axes, explained)
