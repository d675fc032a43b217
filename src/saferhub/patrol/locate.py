"""Which patrol area is each point in? Fast for tens of millions of points.

The areas are rasterised once onto a bucket grid: a bucket wholly inside exactly one area answers
for every point in it, a bucket no area touches answers "none", and only points in buckets an area
edge crosses are tested exactly (shapely.contains_xy on prepared polygons). Edge buckets hold a
few per cent of the points, so the cost is a couple of numpy look-ups per point.
"""

from __future__ import annotations

import numpy as np
import shapely

MAX_BUCKETS = 4_000_000


class AreaIndex:
    """Point -> index of the first area (in the given order) that contains it, or -1."""

    def __init__(self, geoms, bucket: float = 25.0):
        self.geoms = np.asarray(list(geoms), dtype=object)
        if self.geoms.size == 0:
            self.label = np.full((1, 1), -1, np.int32)
            self.x0 = self.y0 = 0.0
            self.bucket = bucket
            return
        shapely.prepare(self.geoms)
        minx, miny, maxx, maxy = shapely.total_bounds(self.geoms)
        while ((maxx - minx) / bucket + 2) * ((maxy - miny) / bucket + 2) > MAX_BUCKETS:
            bucket *= 2   # areas spread far apart: coarser buckets, more exact tests
        self.bucket = bucket
        self.x0 = np.floor(minx / bucket) * bucket
        self.y0 = np.floor(miny / bucket) * bucket
        nx = int(np.ceil((maxx - self.x0) / bucket)) + 1
        ny = int(np.ceil((maxy - self.y0) / bucket)) + 1
        touches = np.zeros((ny, nx), np.int16)
        inside = np.full((ny, nx), -1, np.int32)
        for k, g in enumerate(self.geoms):
            bx0, by0, bx1, by1 = g.bounds
            c0, c1 = int((bx0 - self.x0) // bucket), int((bx1 - self.x0) // bucket)
            r0, r1 = int((by0 - self.y0) // bucket), int((by1 - self.y0) // bucket)
            cc, rr = np.meshgrid(np.arange(c0, c1 + 1), np.arange(r0, r1 + 1))
            cx = self.x0 + cc.ravel() * bucket
            cy = self.y0 + rr.ravel() * bucket
            boxes = shapely.box(cx, cy, cx + bucket, cy + bucket)
            hit = shapely.intersects(g, boxes)
            full = shapely.contains(g, boxes)
            touches[rr.ravel()[hit], cc.ravel()[hit]] += 1
            inside[rr.ravel()[full], cc.ravel()[full]] = k
        # >= 0: wholly inside one area and touched by no other; -1: no area; -2: test exactly
        self.label = np.where(touches == 0, -1, np.where((touches == 1) & (inside >= 0), inside, -2))
        self.label = self.label.astype(np.int32)

    def assign(self, x, y) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        ny, nx = self.label.shape
        cx = x - self.x0
        cx *= 1.0 / self.bucket
        cy = y - self.y0
        cy *= 1.0 / self.bucket
        ok = (cx >= 0) & (cx < nx) & (cy >= 0) & (cy < ny)   # NaN compares False: outside
        with np.errstate(invalid="ignore"):
            flat = cy.astype(np.int64)
            flat *= nx
            flat += cx.astype(np.int64)
        flat[~ok] = 0
        out = self.label.ravel()[flat]
        out[~ok] = -1
        edge = np.flatnonzero(out == -2)
        if edge.size:
            out[edge] = -1
            ex, ey = x[edge], y[edge]
            for k, g in enumerate(self.geoms):   # areas in priority order: first match wins
                bx0, by0, bx1, by1 = g.bounds
                cand = np.flatnonzero((out[edge] == -1) & (ex >= bx0) & (ex <= bx1) & (ey >= by0) & (ey <= by1))
                if cand.size:
                    hit = shapely.contains_xy(g, ex[cand], ey[cand])
                    out[edge[cand[hit]]] = k
        return out


def effective_areas(geoms, buffer: float) -> np.ndarray:
    """Each area grown by `buffer` metres into space no area holds (the ring round it, never a
    neighbour's ground); where two rings overlap the higher-ranked area (earlier in the list)
    keeps it. Disjoint regions: a point is in one area at most, and two neighbouring areas meet
    on their own common edge. Only near neighbours are compared (a tree query), so hundreds of
    areas cost milliseconds."""
    core = np.asarray(list(geoms), dtype=object)
    grown = shapely.buffer(core, buffer)
    tree = shapely.STRtree(grown)
    src, dst = tree.query(grown, predicate="intersects")
    near = [dst[src == k] for k in range(len(core))]
    rings = np.empty(len(core), dtype=object)
    for k in range(len(core)):
        rings[k] = shapely.difference(grown[k], shapely.union_all(core[near[k]]))
    out = np.empty(len(core), dtype=object)
    for k in range(len(core)):
        earlier = near[k][near[k] < k]
        ring = shapely.difference(rings[k], shapely.union_all(rings[earlier])) if earlier.size else rings[k]
        out[k] = shapely.union(core[k], ring)
    return out
