"""A sensible default cell size, and the reason for it (so reports can say which was used).

Rule (the one sfhotspot uses): the shorter side of the study area's bounding box divided by 50,
rounded to a "nice" size. A force area of ~30 km gives ~600 m cells for a first look, a 4 km
neighbourhood gives 75-100 m cells (street-block scale). Users override with --cell-size.
"""

from __future__ import annotations

import numpy as np

from saferhub.errors import SaferhubError

NICE = (10, 20, 25, 50, 75, 100, 125, 150, 200, 250, 300, 400, 500, 600, 750, 1000, 1500, 2000,
        2500, 5000)
CELLS_ON_SHORT_SIDE = 50
# THE default where a fixed size is wanted (forecasts, published layers, the national table, the
# CLI and scripts/main): 150 m is street-block scale, the size the backtests and RESULTS.md figures
# use. The hotspot verbs choose theirs from the area (below) unless given. Every other default
# cell size is defined here too, with its reason, so none is a literal in a verb:
DEFAULT_CELL_SIZE = 150
# evaluations count places on 200 m cells: the placebo calibration and the pinned evaluation
# figures (docs/evaluate.md) were made on them; a larger cell holds enough events per month
EVALUATION_CELL_SIZE = 200
# patrol areas are built from cells at most 300 m across (patrol.areas.MAX_EXTENT): 100 m cells
# let an area be one to three cells wide; 150 m would allow two at most
PATROL_CELL_SIZE = 100


def default_cell_size(minx: float, miny: float, maxx: float, maxy: float) -> tuple[int, str]:
    """(cell size in metres, a one-line reason) for a study area with these bounds."""
    if not all(np.isfinite([minx, miny, maxx, maxy])):
        raise SaferhubError("cannot choose a cell size: the study area has no finite extent")
    short = min(maxx - minx, maxy - miny)
    raw = short / CELLS_ON_SHORT_SIDE
    nice = np.asarray(NICE, float)
    size = int(nice[np.argmin(np.abs(np.log(np.maximum(raw, 1.0)) - np.log(nice)))])
    reason = (f"default cell size {size} m: the study area's shorter side ({short:,.0f} m) / "
              f"{CELLS_ON_SHORT_SIDE}, rounded to a standard size (override with --cell-size)")
    return size, reason
