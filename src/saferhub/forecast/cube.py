"""The space-time count cube every forecast model fits from.

A backtest builds one cube (months x grid rows x grid cols) from the events once, and every model
at every origin reads slices of it; nothing re-bins events per model. police.uk timing is monthly,
so the month is the time step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from saferhub.errors import SaferhubError
from saferhub.geo.grid import Grid
from saferhub.months import parse_month


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
    """Bin events (BNG x, y; month as datetime64[M]-able) into a cube over `grid`.

    `months` fixes the cube's time axis (events outside it are dropped); by default it runs from
    the first to the last month present. Unlocated events (NaN x/y) are dropped.
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    m = np.asarray(month).astype("datetime64[M]")
    if months is None:
        if len(m) == 0:
            raise SaferhubError("no events to forecast from")
        months = np.arange(m.min(), m.max() + 1, dtype="datetime64[M]")
    months = np.asarray(months, dtype="datetime64[M]")
    t = (m - months[0]).astype(np.int64)
    cell = grid.flat_index(x, y)
    keep = (cell >= 0) & (t >= 0) & (t < len(months))
    flat = t[keep] * grid.n_cells + cell[keep]
    size = len(months) * grid.n_cells
    shape = (len(months), grid.ny, grid.nx)
    counts = np.bincount(flat, minlength=size).astype("float64").reshape(shape)
    harm_cube = None
    if harm is not None:
        w = np.nan_to_num(np.asarray(harm, dtype="float64")[keep], nan=1.0)
        harm_cube = np.bincount(flat, weights=w, minlength=size).reshape(shape)
    return Cube(grid, months, counts, harm_cube, mask)


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


def count_layer(x, y, month, grid: Grid, months) -> np.ndarray:
    """(T, ny, nx) float32 counts of some events on the cube's grid and months (a predictor layer)."""
    c = build_cube(x, y, month, grid, months=months)
    return c.counts.astype("float32")
