"""Forecast models with one contract (scikit-learn habits):

    model = SomeModel(**parameters)       # parameters only, no data
    model.fit(events, through="2019-12")  # learn from what was known at the end of `through`
    risk = model.predict(units)           # risk per unit for the month after `through`

`events` is a `Cube` (what a backtest passes: built once, sliced by every model) or an events
table (pandas/pyarrow with x, y, month and optionally harm_weight), binned on a grid of
`fit(..., cell_size=)` metres: the cell size belongs to the grid, not to a model's parameters.
Parameters are stored as given by `__init__` and checked once, at `fit` (scikit-learn's habit), so
`get_params()` / `repr` show exactly what was asked. `units` is None (the whole (ny, nx) grid), a (ny, nx) bool mask (risk of the
cells in it, row-major) or an array of flat cell indices. Higher risk = more crime expected.
"""

from __future__ import annotations

import numpy as np

from saferhub.errors import SaferhubError
from saferhub.forecast.kernels import gaussian_kernel, prospective_kernel, smooth
from saferhub.geo.cellsize import DEFAULT_CELL_SIZE
from saferhub.geo.cube import Cube, build_cube
from saferhub.geo.grid import Grid
from saferhub.months import parse_month


def as_cube(events, cell_size: float = DEFAULT_CELL_SIZE) -> Cube:
    """A Cube as is; an events table binned onto the smallest aligned grid covering it."""
    if isinstance(events, Cube):
        return events
    cols = events.column_names if hasattr(events, "column_names") else list(events.columns)
    missing = {"x", "y", "month"} - set(cols)
    if missing:
        raise SaferhubError(f"events need columns x, y and month (missing: {', '.join(sorted(missing))})")

    def col(name):
        c = events[name]
        return c.to_numpy() if hasattr(c, "to_numpy") else np.asarray(c)

    x, y = col("x").astype("float64"), col("y").astype("float64")
    month = col("month").astype("datetime64[M]")
    harm = col("harm_weight") if "harm_weight" in cols else None
    return build_cube(x, y, month, Grid.covering(x, y, cell_size), harm=harm)


class Model:
    """Base: subclasses implement `_risk(history, cube)` -> (ny, nx) risk for the next month."""

    #: default parameters are class attributes overridden in __init__
    target: str = "count"

    def get_params(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _check(self) -> None:
        """Raise a SaferhubError naming the first invalid parameter (subclasses add theirs)."""
        if self.target not in ("count", "harm"):
            raise SaferhubError(f"{type(self).__name__}: target must be 'count' or 'harm', not {self.target!r}")

    def fit(self, events, through, cell_size: float = DEFAULT_CELL_SIZE) -> "Model":
        self._check()
        cube = as_cube(events, cell_size)
        self.through_ = parse_month(through)
        hist = cube.history(self.through_, self.target)
        self.grid_ = cube.grid
        self.risk_ = np.asarray(self._risk(hist, cube), dtype="float64")
        return self

    def _risk(self, history: np.ndarray, cube: Cube) -> np.ndarray:  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must define _risk")

    def predict(self, units=None) -> np.ndarray:
        if not hasattr(self, "risk_"):
            raise SaferhubError(f"{type(self).__name__}: call fit() before predict()")
        return select_units(self.risk_, units)


def _need(model, ok: bool, message: str) -> None:
    if not ok:
        raise SaferhubError(f"{type(model).__name__}: {message}")


def select_units(risk: np.ndarray, units) -> np.ndarray:
    if units is None:
        return risk
    u = np.asarray(units)
    if u.dtype == bool:
        if u.shape != risk.shape:
            raise SaferhubError(f"units mask has shape {u.shape}, the forecast grid is {risk.shape}")
        return risk[u]
    return risk.ravel()[u.astype(np.int64)]


def decay_weights(n: int, half_life: float | None) -> np.ndarray:
    """Weights of the last n months, most recent first: 1 each, or halving every `half_life`."""
    age = np.arange(n, dtype="float64")
    return np.ones(n) if not half_life else 0.5 ** (age / half_life)


def window_sum(history: np.ndarray, window: int, half_life: float | None = None) -> np.ndarray:
    """Decay-weighted sum of the last `window` months of a (t, ny, nx) history."""
    recent = history[-window:][::-1]  # most recent first
    w = decay_weights(len(recent), half_life)
    return np.tensordot(w, recent, axes=1)


class Counts(Model):
    """Naive counts: the last `window` months' crime per cell, optionally with exponential decay
    (`half_life` months) and blended with a Gaussian-smoothed copy (`bandwidth` metres, share
    `blend`; blend=1 is a pure retrospective KDE of the decayed counts).

    window=1 is "last month's counts", window=12 the usual last-12-months baseline."""

    def __init__(self, window: int = 12, half_life: float | None = None, bandwidth: float = 0.0,
                 blend: float = 0.0, target: str = "count"):
        self.window, self.half_life, self.bandwidth, self.blend = window, half_life, bandwidth, blend
        self.target = target

    def _check(self):
        super()._check()
        _need(self, int(self.window) == self.window and self.window >= 1, "window must be a whole number of months >= 1")
        _need(self, self.half_life is None or self.half_life > 0, "half_life must be > 0 months (or None)")
        _need(self, self.bandwidth >= 0, "bandwidth must be >= 0 metres")
        _need(self, 0.0 <= self.blend <= 1.0, "blend must be between 0 and 1")

    def _risk(self, history, cube):
        d = window_sum(history, int(self.window), self.half_life)
        if self.bandwidth > 0 and self.blend > 0:
            s = smooth(d, gaussian_kernel(self.bandwidth / cube.grid.cell_size))
            d = (1 - self.blend) * d + self.blend * s
        return d


class RetrospectiveKDE(Counts):
    """Retrospective KDE: a Gaussian kernel (`bandwidth` metres) over the last `window` months."""

    def __init__(self, bandwidth: float = 250.0, window: int = 12, half_life: float | None = None,
                 target: str = "count"):
        super().__init__(window=window, half_life=half_life, bandwidth=bandwidth, blend=1.0, target=target)

    def get_params(self) -> dict:
        return {k: v for k, v in super().get_params().items() if k != "blend"}


class ProspectiveHotspot(Model):
    """Prospective hotspotting (Bowers, Johnson & Pease 2004): each past crime adds
    1/(1 + d) x 1/(1 + a) to a cell, d its distance in cell widths (within `bandwidth` metres) and
    a its age in months (within `time_bandwidth` months; the original used weeks, police.uk has
    months, so the last month has age 0)."""

    def __init__(self, bandwidth: float = 400.0, time_bandwidth: int = 2, target: str = "count"):
        self.bandwidth, self.time_bandwidth, self.target = bandwidth, time_bandwidth, target

    def _check(self):
        super()._check()
        _need(self, self.bandwidth > 0, "bandwidth must be > 0 metres")
        _need(self, int(self.time_bandwidth) == self.time_bandwidth and self.time_bandwidth >= 1,
              "time_bandwidth must be a whole number of months >= 1")

    def _risk(self, history, cube):
        recent = history[-int(self.time_bandwidth):][::-1]
        tw = 1.0 / (1.0 + np.arange(len(recent)))
        weighted = np.tensordot(tw, recent, axes=1)
        return smooth(weighted, prospective_kernel(self.bandwidth / cube.grid.cell_size))


class Ensemble(Model):
    """Weighted mean of member forecasts, each first scaled to sum to 1 over the study area (so a
    model on a large scale does not dominate). `members` is a list of (name, model, weight)."""

    def __init__(self, members, target: str = "count"):
        self.members, self.target = list(members), target

    def _check(self):
        super()._check()
        _need(self, len(self.members) > 0, "an ensemble needs at least one member")

    @property
    def member_names(self) -> list[str]:
        return [m[0] for m in self.members]

    def combine(self, risks: list[np.ndarray], area: np.ndarray | None = None) -> np.ndarray:
        """Combine already computed member forecasts (the backtest reuses its members' runs)."""
        out = None
        for (name, _model, weight), r in zip(self.members, risks):
            r = np.clip(np.asarray(r, dtype="float64"), 0, None)
            s = r[area].sum() if area is not None else r.sum()
            part = weight * (r / s if s > 0 else r)
            out = part if out is None else out + part
        return out

    def fit(self, events, through, cell_size: float = DEFAULT_CELL_SIZE):
        self._check()
        cube = as_cube(events, cell_size)
        self.through_ = parse_month(through)
        self.grid_ = cube.grid
        risks = [model.fit(cube, through).predict() for _name, model, _w in self.members]
        self.risk_ = self.combine(risks, cube.mask)
        return self
