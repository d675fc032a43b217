"""Patrol teams: read from a CSV (stations, shifts, hours) or placed by k-means on the areas."""

from __future__ import annotations

import numpy as np
import pandas as pd

from saferhub.patrol.plan import Team


def read_teams(path) -> list:
    """Teams from a CSV: team, station x/y (BNG) or lon/lat, and optionally shift_start,
    shift_end (HH:MM), patrol_hours, officers, days ("Mon,Tue,...")."""
    from saferhub.errors import BadFileError
    from saferhub.geo.project import to_bng
    try:
        t = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise BadFileError(path, f"not a readable CSV ({exc})") from None
    t.columns = [c.strip().lower() for c in t.columns]
    if "team" not in t.columns:
        raise BadFileError(path, "need a team column")
    teams = []
    for line, row in enumerate(t.to_dict("records"), start=2):
        try:
            if row.get("x") and row.get("y"):
                x, y = float(row["x"]), float(row["y"])
            elif row.get("lon") and row.get("lat"):
                bx, by = to_bng([float(row["lon"])], [float(row["lat"])])
                x, y = float(bx[0]), float(by[0])
            else:
                raise ValueError("no station: give x,y (BNG) or lon,lat")
            kw = {k: row[k] for k in ("shift_start", "shift_end", "days") if row.get(k)}
            if row.get("patrol_hours"):
                kw["patrol_hours"] = float(row["patrol_hours"])
            if row.get("officers"):
                kw["officers"] = int(row["officers"])
        except ValueError as exc:
            raise BadFileError(path, f"line {line}: {exc}") from None
        teams.append(Team(row["team"].strip(), x, y, **kw))
    if not teams:
        raise BadFileError(path, "no teams in the file")
    return teams


def default_teams(areas, n: int, seed: int = 0, **kw) -> list:
    """n teams with stations at the centres of n groups of areas (k-means on the centroids)."""
    import shapely
    from scipy.cluster.vq import kmeans2

    c = shapely.centroid(np.asarray(areas.geometry.values, dtype=object))
    pts = np.c_[shapely.get_x(c), shapely.get_y(c)]
    n = max(1, min(n, len(pts)))
    centres, _ = kmeans2(pts, n, seed=seed, minit="++") if n > 1 else (pts.mean(axis=0, keepdims=True), None)
    # a station is not in a hotspot: move any that falls within 100 m of an area to the nearest
    # point 150 m out (time at the station must not read as patrol in an area)
    from shapely.ops import nearest_points

    union = shapely.union_all(np.asarray(areas.geometry.values, dtype=object))
    near, ring = union.buffer(100), union.buffer(150).boundary
    out = []
    for i, (x, y) in enumerate(centres):
        p = shapely.Point(x, y)
        if near.contains(p):
            p = nearest_points(ring, p)[0]
        out.append(Team(f"Team {i + 1}", float(p.x), float(p.y), **kw))
    return out


