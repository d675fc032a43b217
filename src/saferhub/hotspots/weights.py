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
