"""Patrol areas: neighbouring hot cells merged into compact walkable areas, ranked, named, with
ids that survive re-runs (so next month's plan keeps the dosage history of persisting areas).

Pure functions over GeoDataFrames and arrays; the service reads the store and writes files.
"""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import shapely

from saferhub.errors import SaferhubError
from saferhub.patrol.locate import AreaIndex

MAX_EXTENT = 300.0      # metres: an area a pair of officers walks round in a 15-minute visit
MATCH_OVERLAP = 0.5     # share of the smaller area two areas must share to be "the same area"
AREA_COLUMNS = ["area_id", "name", "rank", "harm", "count", "risk", "geometry"]


def merge_cells(x0, y0, size, score, max_extent: float = MAX_EXTENT) -> list[list[int]]:
    """Group grid cells (lower-left corners x0, y0, side `size`) into areas: the best unassigned
    cell anchors an area, which then takes its best 8-neighbouring unassigned cell while the
    area's bounding box stays within `max_extent` metres each way. Returns index lists, anchor
    first, in anchor order (best first)."""
    x0 = np.asarray(x0, float)
    y0 = np.asarray(y0, float)
    score = np.asarray(score, float)
    if max_extent < size:
        raise SaferhubError(f"the maximum area extent ({max_extent:g} m) is smaller than one cell ({size:g} m)")
    col = np.round(x0 / size).astype(np.int64)
    row = np.round(y0 / size).astype(np.int64)
    at = {(c, r): i for i, (c, r) in enumerate(zip(col.tolist(), row.tolist()))}
    order = np.lexsort((row, col, -score))   # best first; ties by position, so runs repeat exactly
    free = np.ones(len(score), bool)
    limit = int(np.floor(max_extent / size + 1e-9))
    groups = []
    for i in order:
        if not free[i]:
            continue
        free[i] = False
        group = [int(i)]
        c0 = c1 = col[i]
        r0 = r1 = row[i]
        while True:
            best = -1
            for m in group:
                for dc in (-1, 0, 1):
                    for dr in (-1, 0, 1):
                        j = at.get((col[m] + dc, row[m] + dr))
                        if j is None or not free[j]:
                            continue
                        if max(c1, col[j]) - min(c0, col[j]) + 1 > limit or max(r1, row[j]) - min(r0, row[j]) + 1 > limit:
                            continue
                        if best < 0 or (score[j], -col[j], -row[j]) > (score[best], -col[best], -row[best]):
                            best = j
            if best < 0:
                break
            free[best] = False
            group.append(int(best))
            c0, c1 = min(c0, col[best]), max(c1, col[best])
            r0, r1 = min(r0, row[best]), max(r1, row[best])
        groups.append(group)
    return groups


def cell_areas(cells, max_extent: float = MAX_EXTENT, score_col: str = "harm"):
    """Hot cells (GeoDataFrame of squares with unit_id and a score column) -> one row per merged
    area: geometry (union of its cells), anchor cell id, cells, and the summed risk if present."""
    import geopandas as gpd

    if len(cells) == 0:
        raise SaferhubError("no hot cells to make patrol areas from (try a lower --level or more months)")
    b = shapely.bounds(cells.geometry.values)
    size = float(np.median(b[:, 2] - b[:, 0]))
    score = cells[score_col].to_numpy(float) if score_col in cells else cells["count"].to_numpy(float)
    groups = merge_cells(b[:, 0], b[:, 1], size, score, max_extent)
    ids = cells["unit_id"].to_numpy().astype(str)
    geoms = cells.geometry.values
    risk = cells["risk"].to_numpy(float) if "risk" in cells else None
    rows = {"anchor": [ids[g[0]] for g in groups], "cells": [len(g) for g in groups],
            "geometry": [shapely.union_all(geoms[g]) for g in groups]}
    if risk is not None:
        rows["risk"] = [float(risk[g].sum()) for g in groups]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:27700")


def polygon_areas(gdf):
    """A user's polygons (GeoDataFrame) as areas; the anchor is their own id or name column when
    they have one (so their ids stay stable), else the rounded centroid."""
    import geopandas as gpd

    if len(gdf) == 0:
        raise SaferhubError("the polygon file holds no areas")
    gdf = gdf.to_crs("EPSG:27700") if gdf.crs is not None else gdf.set_crs("EPSG:27700")
    geoms = gdf.geometry.values
    bad = ~np.isin(shapely.get_type_id(geoms), [3, 6])   # Polygon, MultiPolygon
    if bad.any():
        raise SaferhubError(f"area {int(np.flatnonzero(bad)[0]) + 1} of the polygon file is not a polygon")
    key = next((c for c in ("area_id", "id", "name") if c in gdf.columns), None)
    if key is not None:
        anchor = gdf[key].astype(str).to_numpy()
    else:
        c = shapely.centroid(geoms)
        anchor = [f"C{x:.0f}_{y:.0f}" for x, y in zip(shapely.get_x(c), shapely.get_y(c))]
    out = {"anchor": list(anchor), "cells": [0] * len(gdf), "geometry": list(geoms)}
    if "risk" in gdf:
        out["risk"] = gdf["risk"].astype(float).to_list()
    return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:27700")


# police.uk snaps some crimes to a kind of place rather than a street ("On or near Nightclub"):
# no use for finding the area, so a street is preferred when the area has one.
PLACE_KINDS = {"Nightclub", "Parking Area", "Supermarket", "Shopping Area", "Petrol Station", "Hospital",
               "Police Station", "Hotel", "Church", "Prison", "Theatre/Concert Hall", "Bus/Coach Station",
               "Train Station", "Pedestrian Subway", "Sports/Recreation Area", "Park/Open Space",
               "Further/Higher Educational Building", "Conference/Exhibition Centre", "Airport/Airfield",
               "Entertainment/Activity Venue", "Shop", "Retail Park"}


def _street(location: str) -> str:
    text = str(location or "").strip()
    for prefix in ("On or near ", "on or near "):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text


def _best_street(locations) -> str:
    names = [_street(s) for s in locations]
    streets = [s for s in names if s and s not in PLACE_KINDS and "/" not in s]
    return _modal(streets) or _modal(names)


def describe(areas, x, y, category, harm, location=None, lsoa_name=None, top: int = 3):
    """Add count, harm, top categories and a name (street + LSOA name) from the events in each
    area; returns a copy. Events outside every area are ignored here."""
    out = areas.copy()
    idx = AreaIndex(out.geometry.values).assign(x, y)
    inside = idx >= 0
    n = len(out)
    out["count"] = np.bincount(idx[inside], minlength=n).astype(float)
    out["harm"] = np.bincount(idx[inside], weights=np.asarray(harm, float)[inside], minlength=n)
    cats = np.asarray(category, dtype=object)[inside]
    locs = None if location is None else np.asarray(location, dtype=object)[inside]
    lsoas = None if lsoa_name is None else np.asarray(lsoa_name, dtype=object)[inside]
    where = idx[inside]
    order = np.argsort(where, kind="stable")
    bounds = np.searchsorted(where[order], np.arange(n + 1))
    names, tops = [], []
    for k in range(n):
        sel = order[bounds[k]:bounds[k + 1]]
        tops.append("; ".join(f"{c} {v}" for c, v in Counter(cats[sel]).most_common(top)))
        street = _best_street(locs[sel]) if locs is not None else ""
        place = _modal(list(lsoas[sel])) if lsoas is not None else ""
        names.append(", ".join(p for p in (street, place) if p) or f"Area near {_grid_ref(out.geometry.values[k])}")
    out["name"] = names
    out["top_categories"] = tops
    return out


def _modal(values) -> str:
    values = [v for v in values if v and v == v and str(v).strip()]
    if not values:
        return ""
    counts = Counter(values)
    best = max(counts.values())
    return sorted(v for v, c in counts.items() if c == best)[0]   # ties: alphabetical, repeatable


def _grid_ref(geom) -> str:
    c = shapely.centroid(geom)
    return f"E{c.x:.0f} N{c.y:.0f}"


def stable_ids(areas, previous=None) -> list[str]:
    """Ids for `areas`: the id of a previous area it overlaps (at least half of the smaller of the
    two, best overlaps first, one-to-one), else "PA-" + a hash of its anchor cell."""
    n = len(areas)
    ids: list[str | None] = [None] * n
    taken: set[str] = set()
    if previous is not None and len(previous):
        prev = previous.to_crs("EPSG:27700") if previous.crs is not None else previous
        a = np.asarray(areas.geometry.values, dtype=object)
        p = np.asarray(prev.geometry.values, dtype=object)
        inter = shapely.area(shapely.intersection(a[:, None], p[None, :]))
        share = inter / np.minimum(shapely.area(a)[:, None], shapely.area(p)[None, :])
        pairs = sorted(((share[i, j], i, j) for i, j in zip(*np.nonzero(share >= MATCH_OVERLAP))), reverse=True)
        prev_ids = prev["area_id"].astype(str).to_numpy()
        used_prev = set()
        for _, i, j in pairs:
            if ids[i] is None and j not in used_prev:
                ids[i] = prev_ids[j]
                used_prev.add(j)
        taken |= set(prev_ids)
    for i, anchor in enumerate(areas["anchor"].astype(str)):
        if ids[i] is not None:
            continue
        digest = hashlib.sha256(anchor.encode()).hexdigest()
        length = 6
        while f"PA-{digest[:length]}" in taken or f"PA-{digest[:length]}" in ids:
            length += 1
        ids[i] = f"PA-{digest[:length]}"
        taken.add(ids[i])
    return ids


def rank_areas(areas, by: str = "harm", keep: int | None = None):
    """Sort best first by harm, risk or count (ties by id), keep the top `keep`, number ranks 1..n."""
    if by not in areas.columns:
        raise SaferhubError(f"cannot rank areas by {by!r}: no such figure (use harm, count or risk)")
    out = areas.sort_values([by, "area_id"], ascending=[False, True], kind="stable")
    if keep is not None:
        out = out.head(keep)
    out = out.reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out


def coverage(areas, x, y, harm, region_area_m2: float | None) -> dict:
    """Share of the force area, of crime and of harm the areas hold (as the Southend trial
    reported: 20 spots, 2.6% of the area, 41% of harm)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    harm = np.asarray(harm, float)
    idx = AreaIndex(areas.geometry.values).assign(x, y)
    inside = idx >= 0
    area_m2 = float(shapely.area(shapely.union_all(areas.geometry.values)))
    return {
        "areas": int(len(areas)),
        "area_km2": area_m2 / 1e6,
        "share_of_area": area_m2 / region_area_m2 if region_area_m2 else None,
        "crimes_in_areas": int(inside.sum()),
        "share_of_crime": float(inside.mean()) if len(x) else 0.0,
        "harm_in_areas": float(harm[inside].sum()),
        "share_of_harm": float(harm[inside].sum() / harm.sum()) if harm.sum() > 0 else 0.0,
    }


def coverage_sentence(cov: dict) -> str:
    share = cov.get("share_of_area")
    area = (f"{share:.1%}" if share >= 0.01 else f"{share:.2%}") + f" of {cov.get('region', 'the force area')}" \
        if share else f"{cov['area_km2']:.2f} km²"
    return (f"{cov['areas']} patrol areas cover {area} and hold {cov['share_of_crime']:.1%} of the crime "
            f"and {cov['share_of_harm']:.1%} of the harm")


def reasons(areas, months_text: str, measure: str) -> list[str]:
    """Why each area was chosen, in words a sergeant can read out."""
    out = []
    n = len(areas)
    for r in areas.itertuples():
        risk = f"; forecast risk {r.risk:.2f}" if "risk" in areas.columns and r.risk == r.risk else ""
        out.append(f"Ranked {r.rank} of {n} by {measure}: {r.count:.0f} crimes, harm {r.harm:,.0f} "
                   f"({months_text}){risk}. Most common: {r.top_categories or 'none recorded'}.")
    return out
