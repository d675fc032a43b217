"""Square grids aligned to the British National Grid.

Cells are `cell_size` metres square with lower-left corners on multiples of `cell_size`, so a
cell's identity (`cell_id`, e.g. "E336150N390300") is the same whatever extent a grid covers.
Arrays over a grid are indexed [row, col] with row 0 the southernmost row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from saferhub.errors import SaferhubError

# A grid beyond this many cells is almost always a stray far-away point (sfhotspot's most
# reported problem); callers that really want one can raise the limit.
MAX_CELLS = 25_000_000


@dataclass(frozen=True)
class Grid:
    cell_size: int
    x0: int  # easting of column 0's left edge (a multiple of cell_size)
    y0: int  # northing of row 0's bottom edge
    nx: int
    ny: int

    @classmethod
    def from_bounds(cls, minx: float, miny: float, maxx: float, maxy: float, cell_size: float,
                    max_cells: int = MAX_CELLS) -> "Grid":
        cs = int(cell_size)
        if cs != cell_size or cs < 1:
            raise SaferhubError(f"cell size must be a whole number of metres >= 1, got {cell_size!r}")
        if not all(np.isfinite([minx, miny, maxx, maxy])):
            raise SaferhubError("cannot build a grid: the extent is not finite (no located events?)")
        x0 = int(np.floor(minx / cs)) * cs
        y0 = int(np.floor(miny / cs)) * cs
        nx = int(np.floor(maxx / cs)) * cs // cs - x0 // cs + 1
        ny = int(np.floor(maxy / cs)) * cs // cs - y0 // cs + 1
        if nx * ny > max_cells:
            raise SaferhubError(
                f"a {cs} m grid over {maxx - minx:,.0f} m x {maxy - miny:,.0f} m would have "
                f"{nx * ny:,} cells (limit {max_cells:,}); choose a larger cell size or a smaller area")
        return cls(cs, x0, y0, nx, ny)

    @classmethod
    def covering(cls, x, y, cell_size: float, max_cells: int = MAX_CELLS) -> "Grid":
        """The smallest aligned grid holding every finite point."""
        x = np.asarray(x, dtype="float64")
        y = np.asarray(y, dtype="float64")
        ok = np.isfinite(x) & np.isfinite(y)
        if not ok.any():
            raise SaferhubError("cannot build a grid: no located events")
        return cls.from_bounds(x[ok].min(), y[ok].min(), x[ok].max(), y[ok].max(), cell_size, max_cells)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ny, self.nx)

    @property
    def n_cells(self) -> int:
        return self.nx * self.ny

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        return (self.x0, self.y0, self.x0 + self.nx * self.cell_size, self.y0 + self.ny * self.cell_size)

    def locate(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) of each point; -1 for points outside the grid or with NaN coordinates."""
        x = np.asarray(x, dtype="float64")
        y = np.asarray(y, dtype="float64")
        with np.errstate(invalid="ignore"):
            col = np.floor((x - self.x0) / self.cell_size)
            row = np.floor((y - self.y0) / self.cell_size)
        inside = (col >= 0) & (col < self.nx) & (row >= 0) & (row < self.ny)
        return (np.where(inside, row, -1).astype(np.int64), np.where(inside, col, -1).astype(np.int64))

    def flat_index(self, x, y) -> np.ndarray:
        """Row-major flat cell index of each point (row * nx + col); -1 outside."""
        row, col = self.locate(x, y)
        return np.where(row >= 0, row * self.nx + col, -1)

    def counts(self, x, y, weights=None) -> np.ndarray:
        """(ny, nx) array of point counts, or of summed weights."""
        idx = self.flat_index(x, y)
        keep = idx >= 0
        w = None if weights is None else np.asarray(weights, dtype="float64")[keep]
        flat = np.bincount(idx[keep], weights=w, minlength=self.n_cells)
        return flat.reshape(self.shape).astype("float64")

    def lower_left(self) -> tuple[np.ndarray, np.ndarray]:
        """(ny, nx) arrays of each cell's lower-left easting and northing."""
        xs = self.x0 + self.cell_size * np.arange(self.nx)
        ys = self.y0 + self.cell_size * np.arange(self.ny)
        return np.meshgrid(xs, ys)

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        X, Y = self.lower_left()
        half = self.cell_size / 2
        return X + half, Y + half

    def cell_ids(self) -> np.ndarray:
        """(ny, nx) array of stable cell ids "E<x>N<y>" from the lower-left corner."""
        return cell_id(*self.lower_left())

    def to_geodataframe(self, columns: dict[str, np.ndarray] | None = None, mask=None):
        """GeoDataFrame (EPSG:27700) of square cells with cell_id, x, y (lower-left) and the given
        (ny, nx) arrays as columns; `mask` (ny, nx bool) keeps only some cells."""
        import geopandas as gpd
        import shapely

        X, Y = self.lower_left()
        keep = np.ones(self.shape, bool) if mask is None else np.asarray(mask, bool)
        x = X[keep].astype(np.int64)
        y = Y[keep].astype(np.int64)
        cs = self.cell_size
        geom = shapely.box(x, y, x + cs, y + cs)
        data = {"cell_id": self.cell_ids()[keep], "x": x, "y": y}
        for name, arr in (columns or {}).items():
            data[name] = np.asarray(arr)[keep]
        return gpd.GeoDataFrame(data, geometry=geom, crs="EPSG:27700")


def cell_id(x_lower_left, y_lower_left) -> np.ndarray:
    """THE cell-id rule, for every grid and cube: "E<x>N<y>" of the cell's lower-left corner in
    whole BNG metres (the same cell has the same id whatever extent or module made it)."""
    X = np.asarray(x_lower_left).astype(np.int64).astype(str)
    Y = np.asarray(y_lower_left).astype(np.int64).astype(str)
    return np.char.add(np.char.add("E", X), np.char.add("N", Y))


def cells_in(grid: Grid, area) -> np.ndarray:
    """(ny, nx) bool: cells whose centre lies in `area` (a shapely geometry in BNG metres)."""
    import shapely

    cx, cy = grid.centres()
    shapely.prepare(area)
    return shapely.contains_xy(area, cx, cy)


def cells_overlapping(grid: Grid, area) -> np.ndarray:
    """(ny, nx) bool: cells that share some area with `area` (not just an edge or a corner), so
    every point inside `area` falls in one of them whatever the cell size. Only the cells whose
    centre is outside are tested polygon by polygon (the rest are inside already)."""
    import shapely

    mask = cells_in(grid, area)
    X, Y = grid.lower_left()
    cs = grid.cell_size
    # candidates: outside cells whose centre is within half a diagonal of the area
    cand = ~mask & shapely.dwithin(area, shapely.points(X + cs / 2, Y + cs / 2), cs * 0.7072)
    if cand.any():
        boxes = shapely.box(X[cand], Y[cand], X[cand] + cs, Y[cand] + cs)
        mask[cand] = shapely.area(shapely.intersection(boxes, area)) > 0
    return mask
