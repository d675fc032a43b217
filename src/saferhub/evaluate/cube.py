"""A place x month count cube, built once from events, so that hundreds of evaluations (placebo
calibration, reference sets, control matching) are array slices instead of new queries.

Places are the square cells of `saferhub.geo.grid.Grid` (the hotspot and forecast cells; ids by its
one rule, `E<x>N<y>` of the lower-left corner); only cells with at least one event are kept, so
the cube is sparse where the forecast cube (forecast/cube.py) is dense over the study area.
Harm sums and sums of squared harm weights ride along.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from saferhub.months import month_str


@dataclass
class Cube:
    cell_size: float
    ix: np.ndarray        # cell column (x // cell_size) per place
    iy: np.ndarray        # cell row per place
    months: np.ndarray    # datetime64[M], one per cube column
    counts: np.ndarray    # places x months, event counts
    harm: np.ndarray      # places x months, sum of harm weights
    harm_sq: np.ndarray   # places x months, sum of squared harm weights

    @property
    def ids(self) -> np.ndarray:
        from saferhub.geo.grid import cell_id

        return cell_id(self.ix * self.cell_size, self.iy * self.cell_size)

    def month_index(self, month) -> int:
        hit = np.flatnonzero(self.months == np.datetime64(month, "M"))
        if hit.size == 0:
            raise KeyError(month_str(month))
        return int(hit[0])

    def ring_distance(self, treated: np.ndarray) -> np.ndarray:
        """Per place, the Chebyshev distance in cells to the nearest treated place (0 = treated,
        up to 3; farther places get a large number)."""
        nb, cheb = self._neighbours(3)
        dist = np.full(self.ix.size, np.iinfo(np.int32).max, dtype=np.int64)
        idx = nb[np.asarray(treated)]
        d = np.broadcast_to(cheb, idx.shape)
        ok = idx >= 0
        np.minimum.at(dist, idx[ok], d[ok])
        dist[np.asarray(treated)] = 0
        return dist

    def neighbours(self, radius: int) -> np.ndarray:
        """Per place, the indices of the places within `radius` cells (Chebyshev), -1 where the
        cell has no events; places x ((2r+1)^2 - 1)."""
        return self._neighbours(radius)[0]

    def _neighbours(self, radius: int):
        cache = self.__dict__.setdefault("_nb_cache", {})
        if radius not in cache:  # built once per cube and radius: the calibration asks 400 times
            raw = self.ix * 10_000_000 + self.iy
            order = np.argsort(raw, kind="stable")  # build_cube makes them sorted; a hand-made cube may not
            key = raw[order]
            offsets = [(dx, dy) for dx in range(-radius, radius + 1) for dy in range(-radius, radius + 1) if dx or dy]
            out = np.full((self.ix.size, len(offsets)), -1, dtype=np.int64)
            for j, (dx, dy) in enumerate(offsets):
                want = (self.ix + dx) * 10_000_000 + (self.iy + dy)
                pos = np.clip(np.searchsorted(key, want), 0, key.size - 1)
                out[:, j] = np.where(key[pos] == want, order[pos], -1)
            cache[radius] = (out, np.array([max(abs(dx), abs(dy)) for dx, dy in offsets]))
        return cache[radius]

    def ring_sums(self, sets: np.ndarray, radius: int, counts: np.ndarray | None = None) -> np.ndarray:
        """Monthly sums of the cells within `radius` of each set of places, excluding the sets' own
        places (the buffers of reference sets). sets: R x k place indices -> R x months."""
        counts = self.counts if counts is None else counts
        nb = self.neighbours(radius)[sets].reshape(len(sets), -1)  # R x (k * offsets)
        mask = np.zeros((len(sets), self.ix.size), dtype=bool)
        rows = np.repeat(np.arange(len(sets)), nb.shape[1])
        ok = nb.ravel() >= 0
        mask[rows[ok], nb.ravel()[ok]] = True
        mask[np.repeat(np.arange(len(sets)), sets.shape[1]), sets.ravel()] = False
        return mask.astype(float) @ counts


def build_cube(x, y, month, harm_weight=None, cell_size: float = 200.0, months=None) -> Cube:
    """Count located events into cells x months. month: datetime64[M]-convertible values."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    m = np.asarray(month).astype("datetime64[M]")
    ok = np.isfinite(x) & np.isfinite(y)
    x, y, m = x[ok], y[ok], m[ok]
    w = np.ones(x.size) if harm_weight is None else np.asarray(harm_weight, float)[ok]
    all_months = np.unique(m) if months is None else np.asarray(months, dtype="datetime64[M]")
    if all_months.size:
        all_months = np.arange(all_months.min(), all_months.max() + 1, dtype="datetime64[M]")
    col = np.searchsorted(all_months, m)
    inside = (col < all_months.size) & (all_months[np.minimum(col, all_months.size - 1)] == m)
    ix, iy = _cell_index(x[inside], y[inside], cell_size)
    col, w = col[inside], w[inside]
    key = ix * 10_000_000 + iy
    uniq, row = np.unique(key, return_inverse=True)
    shape = (uniq.size, all_months.size)
    flat = row * all_months.size + col
    size = shape[0] * shape[1]
    counts = np.bincount(flat, minlength=size).reshape(shape).astype(float)
    harm = np.bincount(flat, weights=w, minlength=size).reshape(shape)
    harm_sq = np.bincount(flat, weights=w * w, minlength=size).reshape(shape)
    return Cube(cell_size, uniq // 10_000_000, uniq % 10_000_000, all_months, counts, harm, harm_sq)


def _cell_index(x, y, cell_size):
    """Column and row numbers (easting // cell_size, northing // cell_size) of each point on the
    BNG-aligned `Grid` covering them (sparse: the grid is never materialised)."""
    from saferhub.geo.grid import Grid

    if x.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    grid = Grid.covering(x, y, cell_size, max_cells=2**62)
    row, col = grid.locate(x, y)
    return col + grid.x0 // grid.cell_size, row + grid.y0 // grid.cell_size
