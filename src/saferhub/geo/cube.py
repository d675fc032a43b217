"""THE space-time cube: events counted per `Grid` cell per month, built once and sliced by every
forecast model, backtest origin and evaluation (placebo calibration, reference sets, controls) —
nothing re-bins events per model or per placebo.

One binning rule (`_bin`: a cell index on a `geo.grid.Grid` and a month offset on a contiguous
monthly axis, counted with one `bincount`) and one cell-id rule (`geo.grid.cell_id`), in two
layouts over the same cells:
- `Cube` (dense): (months, ny, nx) over a study-area grid, with its mask — the forecasts';
- `SparseCube`: only the cells holding at least one event, places x months, with harm sums and
  sums of squared harm — the evaluations' (a force's occupied cells, whatever the extent).
police.uk timing is monthly, so the month is the time step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from saferhub.errors import SaferhubError
from saferhub.geo.cellsize import EVALUATION_CELL_SIZE
from saferhub.geo.grid import Grid, cell_id
from saferhub.months import month_str, parse_month


def month_axis(month, months=None) -> np.ndarray:
    """The cube's contiguous datetime64[M] axis: from the first to the last of `months` if
    given, else of the events' months."""
    ref = np.asarray(month if months is None else months).astype("datetime64[M]")
    if ref.size == 0:
        return ref
    return np.arange(ref.min(), ref.max() + 1, dtype="datetime64[M]")


def _bin(flat, shape, weights=()):
    """THE binning: events given as flat (cell, month) indices into `shape` -> counts, then one
    sum per array in `weights`, all of `shape` (one bincount each)."""
    size = int(np.prod(shape))
    out = [np.bincount(flat, minlength=size).astype("float64").reshape(shape)]
    out += [np.bincount(flat, weights=w, minlength=size).reshape(shape) for w in weights]
    return out


def _month_offsets(month, axis):
    m = np.asarray(month).astype("datetime64[M]")
    if axis.size == 0:
        return np.full(m.shape, -1, np.int64)
    t = (m - axis[0]).astype(np.int64)
    return np.where((t >= 0) & (t < axis.size), t, -1)


@dataclass
class Cube:
    """Counts (and optionally harm) per month per cell, plus the study-area mask and covariates.

    counts[t] is the (ny, nx) count grid of months[t]; row 0 is the southernmost row.
    """

    grid: Grid
    months: np.ndarray  # datetime64[M], contiguous, ascending
    counts: np.ndarray  # (T, ny, nx) float64
    harm: np.ndarray | None = None  # (T, ny, nx) summed harm weights, if known
    mask: np.ndarray | None = None  # (ny, nx) bool study area; None = every cell
    covariates: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (ny, nx), NaN unknown
    # extra (T, ny, nx) count layers a model may use as predictors, e.g. each target category
    # apart and "other" (every category not forecast): name -> counts, same months as `counts`
    layers: dict[str, np.ndarray] = field(default_factory=dict)
    study_area: str = ""  # where the mask came from, in words (saferhub.geo.study_area)
    study_area_kind: str = ""  # given | force boundary | drawn force area | hull

    @property
    def area(self) -> np.ndarray:
        return np.ones(self.grid.shape, bool) if self.mask is None else self.mask

    def index_of(self, month) -> int:
        """Position of `month` in the cube (may be len(months) for the month just after the end)."""
        m = parse_month(month)
        i = int((m - self.months[0]).astype(int))
        if i < 0 or i > len(self.months):
            raise SaferhubError(
                f"month {m} is outside the data ({self.months[0]}..{self.months[-1]})")
        return i

    def history(self, through, target: str = "count") -> np.ndarray:
        """(t, ny, nx) slice of every month up to and including `through` (what is known then)."""
        i = self.index_of(through)
        if i >= len(self.months):
            raise SaferhubError(f"no data for {parse_month(through)} (the data end at {self.months[-1]})")
        return self.target_array(target)[: i + 1]

    def target_array(self, target: str = "count") -> np.ndarray:
        if target == "count":
            return self.counts
        if target == "harm":
            if self.harm is None:
                raise SaferhubError("harm-weighted target asked for, but the events carry no harm weights")
            return self.harm
        raise SaferhubError(f"target must be 'count' or 'harm', not {target!r}")


def build_cube(x, y, month, grid: Grid, months=None, harm=None, mask=None) -> Cube:
    """Bin events (BNG x, y; month as datetime64[M]-able) into a dense cube over `grid`.

    `months` fixes the cube's time axis (events outside it are dropped); by default it runs from
    the first to the last month present. Unlocated events (NaN x/y) are dropped.
    """
    if months is None and len(np.asarray(month)) == 0:
        raise SaferhubError("no events to forecast from")
    axis = month_axis(month, months)
    t = _month_offsets(month, axis)
    cell = grid.flat_index(x, y)
    keep = (cell >= 0) & (t >= 0)
    weights = [] if harm is None else [np.nan_to_num(np.asarray(harm, dtype="float64")[keep], nan=1.0)]
    out = _bin(t[keep] * grid.n_cells + cell[keep], (axis.size, grid.ny, grid.nx), weights)
    return Cube(grid, axis, out[0], out[1] if harm is not None else None, mask)


@dataclass
class SparseCube:
    """The cells holding at least one event x months (evaluations' places): counts, harm and
    squared-harm sums; `ids` by the one cell-id rule."""

    cell_size: float
    ix: np.ndarray        # cell column (x // cell_size) per place
    iy: np.ndarray        # cell row per place
    months: np.ndarray    # datetime64[M], one per cube column
    counts: np.ndarray    # places x months, event counts
    harm: np.ndarray      # places x months, sum of harm weights
    harm_sq: np.ndarray   # places x months, sum of squared harm weights

    @property
    def ids(self) -> np.ndarray:
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


def build_sparse_cube(x, y, month, harm_weight=None, cell_size: float = EVALUATION_CELL_SIZE, months=None) -> SparseCube:
    """Count located events into their cells x months (`months`: the axis's span, else the
    events'). Cells are those of the BNG-aligned `Grid` covering the points, never materialised;
    places come in column-then-row order (x, then y)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    m = np.asarray(month).astype("datetime64[M]")[ok]
    w = np.ones(x.size) if harm_weight is None else np.asarray(harm_weight, float)[ok]
    axis = month_axis(m, months)
    t = _month_offsets(m, axis)
    inside = t >= 0
    x, y, t, w = x[inside], y[inside], t[inside], w[inside]
    if x.size == 0:
        e = np.zeros((0, axis.size))
        return SparseCube(cell_size, np.zeros(0, np.int64), np.zeros(0, np.int64), axis, e, e.copy(), e.copy())
    grid = Grid.covering(x, y, cell_size, max_cells=2**62)
    row, col = grid.locate(x, y)
    uniq, place = np.unique(col * grid.ny + row, return_inverse=True)  # column-major: sorted by x, then y
    counts, harm, harm_sq = _bin(place * axis.size + t, (uniq.size, axis.size), [w, w * w])
    cs = grid.cell_size
    return SparseCube(cell_size, uniq // grid.ny + grid.x0 // cs, uniq % grid.ny + grid.y0 // cs,
                      axis, counts, harm, harm_sq)


def count_layer(x, y, month, grid: Grid, months) -> np.ndarray:
    """(T, ny, nx) float32 counts of some events on the cube's grid and months (a predictor layer)."""
    return build_cube(x, y, month, grid, months=months).counts.astype("float32")


def modal_labels(grid: Grid, x, y, labels) -> np.ndarray:
    """(ny, nx) object array: the most common label (e.g. LSOA code) of the events in each cell,
    ties to the alphabetically first; None for empty cells. Vectorised by sorting (cell, label)."""
    labels = np.asarray(labels, dtype=object)
    cell = grid.flat_index(x, y)
    ok = (cell >= 0) & np.array([isinstance(v, str) and v != "" for v in labels])
    out = np.full(grid.n_cells, None, dtype=object)
    if not ok.any():
        return out.reshape(grid.shape)
    codes, inv = np.unique(labels[ok].astype(str), return_inverse=True)
    pair = cell[ok] * len(codes) + inv
    up, n = np.unique(pair, return_counts=True)
    pc, pl = up // len(codes), up % len(codes)
    # order by cell, then count descending, then label ascending; first per cell wins
    order = np.lexsort((pl, -n, pc))
    pc, pl = pc[order], pl[order]
    first = np.r_[True, pc[1:] != pc[:-1]]
    out[pc[first]] = codes[pl[first]]
    return out.reshape(grid.shape)
