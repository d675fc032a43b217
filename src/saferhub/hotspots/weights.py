"""Sparse binary spatial weights for non-grid units (polygons, hexagons, street segments).

All return scipy.sparse CSR matrices without self-links; Gi* adds the focal unit itself.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from saferhub.errors import SaferhubError


def distance_band(x, y, distance: float) -> sp.csr_matrix:
    """w_ij = 1 when the units' representative points are within `distance` metres (i != j)."""
    pts = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
    if not np.isfinite(pts).all():
        raise SaferhubError("distance-band weights need finite coordinates for every unit")
    tree = cKDTree(pts)
    D = tree.sparse_distance_matrix(tree, distance, output_type="coo_matrix")
    keep = D.row != D.col
    n = len(pts)
    return sp.csr_matrix((np.ones(keep.sum()), (D.row[keep], D.col[keep])), shape=(n, n))


def knn(x, y, k: int) -> sp.csr_matrix:
    """w_ij = 1 for the k nearest other units of i (not symmetric in general)."""
    pts = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
    n = len(pts)
    if not 1 <= k < n:
        raise SaferhubError(f"k must be between 1 and {n - 1}, got {k}")
    _, idx = cKDTree(pts).query(pts, k=k + 1)
    rows = np.repeat(np.arange(n), k + 1)
    cols = idx.ravel()
    keep = rows != cols
    # Duplicated points can push the unit itself out of its own k+1 list; keep exactly k.
    W = sp.csr_matrix((np.ones(keep.sum()), (rows[keep], cols[keep])), shape=(n, n))
    W.data[:] = 1.0
    return W


def contiguity(geoms, queen: bool = True) -> sp.csr_matrix:
    """Polygon contiguity: queen (any shared boundary point) or rook (a shared edge of length > 0)."""
    import shapely

    geoms = np.asarray(geoms)
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    keep = i != j
    i, j = i[keep], j[keep]
    if not queen:
        edge = shapely.length(shapely.intersection(shapely.boundary(geoms[i]), shapely.boundary(geoms[j])))
        keep = edge > 0
        i, j = i[keep], j[keep]
    n = len(geoms)
    W = sp.csr_matrix((np.ones(i.size), (i, j)), shape=(n, n))
    W.data[:] = 1.0
    return W
