"""An approximate police force area drawn offline, for any English force with no boundary file.

The geo folder holds every 2011 LSOA centroid in England and Wales (`lsoa2011_centroids_ew.csv.gz`)
and the English LSOA -> local authority -> police force lookup (`PoliceforceLSOA.csv.gz`). Each
LSOA gets the Voronoi cell of its centroid among ALL centroids (Welsh ones included, so a border
force stops where Wales starts); a force's area is the union of its LSOAs' cells.

Two repairs make it usable:
- about 3,300 English LSOAs have no force in the lookup; police force areas are made of whole
  local authorities, so such an LSOA takes the force most of its local authority's LSOAs have;
  whole districts have none (North Yorkshire's, most of Devon's, Dorset's...), so the force's own
  events complete it: an unassigned LSOA where the force records crime like in its own joins;
- Voronoi cells on the coast run out to sea (to the edge of the diagram); each cell is clipped to
  a disc round its centroid of 1.5 times the LSOA's equivalent radius (from its area in
  `census_2011_population_hh.csv.gz`; at least 750 m), and holes the clipping leaves inside the
  union are filled.
On Merseyside this gives 663 km² against the 645 km² of the boundary derived from the LSOA
polygons, overlapping it by 84% (intersection over union; tests/test_geo_forcearea.py). It is
labelled approximate wherever shown.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

CENTROIDS = "lsoa2011_centroids_ew.csv.gz"
LOOKUP = "PoliceforceLSOA.csv.gz"
CENSUS = "census_2011_population_hh.csv.gz"
MIN_RADIUS_M = 750.0
RADIUS_FACTOR = 1.5
MIN_EVENTS = 5
SHARE_OF_MEDIAN = 0.1


def available(geo_dir) -> bool:
    return geo_dir is not None and all((Path(geo_dir) / f).is_file() for f in (CENTROIDS, LOOKUP))


def drawn_force_area(force: str, geo_dir, lsoa_counts: dict | None = None):
    """The force's approximate area (shapely (Multi)Polygon, EPSG:27700), or None when the geo
    folder lacks the files or the lookup does not know the force (e.g. a Welsh force, BTP).
    `lsoa_counts` (2011 LSOA code -> the force's located events there) completes the lookup: an
    English LSOA the lookup gives no force joins when it holds at least SHARE_OF_MEDIAN of the
    median events of the force's own LSOAs (a neighbour's LSOA gets only a border trickle)."""
    if not available(geo_dir):
        return None
    codes, forces, cells = _lsoa_cells(str(Path(geo_dir).resolve()))
    own = forces == force
    if not own.any():
        return None
    if lsoa_counts:
        n = np.array([lsoa_counts.get(c, 0) for c in codes], float)
        floor = max(MIN_EVENTS, SHARE_OF_MEDIAN * float(np.median(n[own])))
        unassigned = np.array([f is None for f in forces]) & np.char.startswith(codes.astype(str), "E")
        own = own | (unassigned & (n >= floor))
    return _union(cells[own & (cells != None)])  # noqa: E711 (an object array of geometries)


def _union(cells):
    import shapely

    area = shapely.union_all(cells)
    polys = [shapely.Polygon(p.exterior) for p in shapely.get_parts(area) if p.area > 0]  # fill holes
    return shapely.make_valid(shapely.union_all(polys))


@functools.lru_cache(maxsize=2)
def _lsoa_cells(geo_dir: str):
    """(LSOA codes, force id or None per LSOA, its clipped Voronoi cell) for every 2011 LSOA."""
    import pandas as pd
    import shapely

    from saferhub.data.forces import force_id
    from saferhub.geo.project import to_bng

    folder = Path(geo_dir)
    cen = pd.read_csv(folder / CENTROIDS, dtype={"lsoa11cd": str})
    look = pd.read_csv(folder / LOOKUP, usecols=["Local authority code", "LSOA Code", "Police_force"], dtype=str)
    look["force"] = [force_id(f) if isinstance(f, str) and f.strip() else None for f in look["Police_force"]]
    # an LSOA with no force takes its local authority's (force areas are whole authorities)
    la_force = look.dropna(subset=["force"]).groupby("Local authority code")["force"].agg(lambda s: s.mode().iloc[0])
    look["force"] = look["force"].fillna(look["Local authority code"].map(la_force))
    cen = cen.merge(look[["LSOA Code", "force"]], left_on="lsoa11cd", right_on="LSOA Code", how="left")
    x, y = to_bng(cen["lon"].to_numpy(float), cen["lat"].to_numpy(float))
    radius = np.full(len(cen), 3 * MIN_RADIUS_M)
    if (folder / CENSUS).is_file():
        pop = pd.read_csv(folder / CENSUS, usecols=["LSOA Code", "Hectares"], dtype={"LSOA Code": str}, thousands=",")
        ha = cen["lsoa11cd"].map(pop.set_index("LSOA Code")["Hectares"]).to_numpy(float)
        eq = np.sqrt(ha * 10_000 / np.pi)
        radius = np.where(np.isfinite(eq), np.maximum(MIN_RADIUS_M, RADIUS_FACTOR * eq), radius)
    pts = shapely.points(x, y)
    vor = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts)))
    # voronoi_polygons does not keep the input order: find each cell's own centroid
    pi, ci = shapely.STRtree(vor).query(pts, predicate="intersects")
    cells = np.full(len(pts), None, dtype=object)
    cells[pi] = shapely.intersection(vor[ci], shapely.buffer(pts[pi], radius[pi], quad_segs=8))
    forces = np.array([f if isinstance(f, str) else None for f in cen["force"]], dtype=object)
    return cen["lsoa11cd"].to_numpy(str), forces, cells


def force_districts(force: str, geo_dir) -> list[str]:
    """The local authorities making up an English force's area ('Liverpool', 'Wirral', ...), from
    the geo folder's LSOA lookup (unitary-authority suffixes dropped); [] when unknown."""
    import pandas as pd

    from saferhub.data.forces import force_id

    if geo_dir is None or not (Path(geo_dir) / LOOKUP).is_file():
        return []
    look = pd.read_csv(Path(geo_dir) / LOOKUP, usecols=["Local authority name", "Police_force"], dtype=str).dropna()
    names = look.loc[[force_id(f) == force for f in look["Police_force"]], "Local authority name"]
    return sorted({n.removesuffix(" UA").strip() for n in names})
