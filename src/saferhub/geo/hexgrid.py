"""Hexagon grids in British National Grid metres, anchored at (0, 0) so a hexagon's id is the same
whatever area a grid covers.

Pointy-top hexagons with edge length a, axial coordinates (q, r): centre x = a sqrt3 (q + r/2),
y = 1.5 a r (Red Blob Games' hexagon reference). We size hexagons by `cell_size`, the side of a
square of the same area (a = cell_size sqrt(2 / (3 sqrt3))), so a 150 m hexagon grid and a 150 m
square grid have cells of equal area and comparable counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from saferhub.errors import SaferhubError
from saferhub.geo.grid import MAX_CELLS

SQRT3 = np.sqrt(3.0)


@dataclass(frozen=True)
class HexGrid:
    cell_size: float

    @property
    def edge(self) -> float:
        return self.cell_size * np.sqrt(2.0 / (3.0 * SQRT3))

    @property
    def spacing(self) -> float:
        """Distance between neighbouring centres (a sqrt3): the first-ring distance band."""
        return self.edge * SQRT3

    def axial(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """(q, r) of the hexagon holding each point (cube rounding); NaN points give a huge sentinel."""
        a = self.edge
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        qf = (SQRT3 / 3 * x - y / 3) / a
        rf = (2.0 / 3 * y) / a
        sf = -qf - rf
        q, r, s = np.round(qf), np.round(rf), np.round(sf)
        dq, dr, ds = np.abs(q - qf), np.abs(r - rf), np.abs(s - sf)
        fix_q = (dq > dr) & (dq > ds)
        fix_r = ~fix_q & (dr > ds)
        q = np.where(fix_q, -r - s, q)
        r = np.where(fix_r, -q - s, r)
        bad = ~(np.isfinite(q) & np.isfinite(r))
        big = np.iinfo(np.int64).min
        return (np.where(bad, big, np.nan_to_num(q)).astype(np.int64),
                np.where(bad, big, np.nan_to_num(r)).astype(np.int64))

    def centre(self, q, r) -> tuple[np.ndarray, np.ndarray]:
        a = self.edge
        q = np.asarray(q, float)
        r = np.asarray(r, float)
        return a * SQRT3 * (q + r / 2), 1.5 * a * r

    def polygons(self, q, r):
        import shapely

        cx, cy = self.centre(q, r)
        ang = np.deg2rad(60 * np.arange(6) + 30)  # pointy-top
        vx = cx[:, None] + self.edge * np.cos(ang)[None, :]
        vy = cy[:, None] + self.edge * np.sin(ang)[None, :]
        rings = np.stack([vx, vy], axis=-1)
        return shapely.polygons(rings)

    def covering(self, minx, miny, maxx, maxy, max_cells: int = MAX_CELLS) -> tuple[np.ndarray, np.ndarray]:
        """Axial (q, r) of every hexagon whose centre lies in the (buffered) box."""
        a = self.edge
        r0 = int(np.floor((miny - a) / (1.5 * a)))
        r1 = int(np.ceil((maxy + a) / (1.5 * a)))
        rows = np.arange(r0, r1 + 1)
        qmin = int(np.floor((minx - self.spacing) / self.spacing - r1 / 2)) - 1
        qmax = int(np.ceil((maxx + self.spacing) / self.spacing - r0 / 2)) + 1
        n = rows.size * (qmax - qmin + 1)
        if n > max_cells:
            raise SaferhubError(f"a {self.cell_size:g} m hexagon grid over this area would have {n:,} cells "
                                f"(limit {max_cells:,}); choose a larger cell size or a smaller area")
        Q, R = np.meshgrid(np.arange(qmin, qmax + 1), rows)
        cx, cy = self.centre(Q, R)
        inside = (cx >= minx - a) & (cx <= maxx + a) & (cy >= miny - a) & (cy <= maxy + a)
        return Q[inside].ravel(), R[inside].ravel()


def hex_ids(q, r) -> np.ndarray:
    return np.char.add(np.char.add("H", np.asarray(q).astype(str)), np.char.add("_", np.asarray(r).astype(str)))
