"""Facilities among police.uk snap points.

police.uk moves every crime to one of ~750,000 anonymised map points; a point that is a facility
is named by its type ("On or near Supermarket"), not by a street. Such a point is a *place* in the
risky-facilities sense (Eck, Clarke & Guerette 2007), but never an address: it stands for every
premises of that type near it, and the crimes at it are the crimes snapped to it.

FACILITY_TYPES was derived from the data, not guessed: in the 36 shared Merseyside months
(2018-2020) we listed every location name found at 8 or more distinct points in 3 or more local
authorities that contains no road word (Street, Road, Lane, Park, Green ...), which gives the 13
names from Parking Area to Conference/Exhibition Centre plus three street names (Kingsway,
Broadway, Meadway, dropped), and added the names in the police.uk style "X/Y" or a facility
noun seen at fewer points (Park/Open Space, Theme/Adventure Park, Airport/Airfield, Ferry
Terminal). There is no "Pub/Bar" type in these files: licensed premises come from a partner's
register (`register.py`). `candidate_types` repeats the derivation for another force's data.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# type -> class used for comparisons (the type itself; kept as a table so a force can merge types)
FACILITY_TYPES = (
    "Parking Area", "Supermarket", "Shopping Area", "Petrol Station", "Sports/Recreation Area",
    "Nightclub", "Hospital", "Police Station", "Pedestrian Subway", "Further/Higher Educational Building",
    "Bus/Coach Station", "Theatre/Concert Hall", "Conference/Exhibition Centre", "Park/Open Space",
    "Theme/Adventure Park", "Airport/Airfield", "Ferry Terminal",
)
LABEL = "police.uk anonymised point, not an address"
PREFIX = "On or near "
ROAD_WORDS = re.compile(
    r"\b(?:Street|Road|Lane|Avenue|Drive|Close|Way|Grove|Crescent|Place|Terrace|Gardens|Court|Walk|View|"
    r"Square|Hill|Mews|Rise|Row|Parade|Vale|Bank|Brow|Boulevard|Parkway|Gate|Croft|Mount|Heights|Approach|"
    r"Bridge|Quay|Dale|Park|Green|Fold|Chase|Meadow|Hey|Village|Alley|Wood|Field|Wharf|Yard|Side|End)\b")


def bare_name(location) -> pd.Series:
    """'On or near Supermarket' -> 'Supermarket' (None/'' stay '')."""
    s = pd.Series(location, dtype=object).fillna("").astype(str)
    return s.str.removeprefix(PREFIX).str.strip()


def candidate_types(location, x, y, district, min_points: int = 8, min_districts: int = 3) -> pd.DataFrame:
    """The derivation of FACILITY_TYPES, for another force's data: names at >= min_points distinct
    points in >= min_districts districts (e.g. the LSOA name without its code) with no road word.
    A person reviews the result: a few street names (Kingsway) pass the rule."""
    df = pd.DataFrame({"name": bare_name(location).to_numpy(), "x": np.round(np.asarray(x, float)),
                       "y": np.round(np.asarray(y, float)), "district": np.asarray(district, dtype=object)})
    df = df[(df["name"] != "") & np.isfinite(df["x"])]
    df["pt"] = df["x"].astype(np.int64) * 10_000_000 + df["y"].astype(np.int64)
    g = df.groupby("name").agg(points=("pt", "nunique"), districts=("district", "nunique"), crimes=("pt", "size"))
    keep = (g["points"] >= min_points) & (g["districts"] >= min_districts) & ~g.index.str.contains(ROAD_WORDS)
    return g[keep].sort_values("crimes", ascending=False).reset_index()


def type_slug(t: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", t.lower()).strip("-")


def facility_points(location, x, y, lon=None, lat=None, types=FACILITY_TYPES) -> pd.DataFrame:
    """The distinct snap points named by a facility type: place_id, type, x, y (BNG, metres, the
    point's own coordinates), lon, lat, crimes_seen (events at the point in the data given).
    A place_id is stable from one run to the next: PUK-<type>-E<x>N<y> (whole metres)."""
    name = bare_name(location).to_numpy(dtype=object)
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isin(name, list(types)) & np.isfinite(x) & np.isfinite(y)
    df = pd.DataFrame({"type": name[ok], "xr": np.round(x[ok]).astype(np.int64), "yr": np.round(y[ok]).astype(np.int64),
                       "x": x[ok], "y": y[ok]})
    if lon is not None:
        df["lon"], df["lat"] = np.asarray(lon, float)[ok], np.asarray(lat, float)[ok]
    agg = {"x": ("x", "mean"), "y": ("y", "mean"), "crimes_seen": ("x", "size")}
    if lon is not None:
        agg |= {"lon": ("lon", "mean"), "lat": ("lat", "mean")}
    g = df.groupby(["type", "xr", "yr"], sort=True).agg(**agg).reset_index()
    g["place_id"] = ["PUK-" + type_slug(t) + f"-E{a}N{b}" for t, a, b in zip(g["type"], g["xr"], g["yr"])]
    return g.drop(columns=["xr", "yr"]).sort_values("place_id").reset_index(drop=True)


def street_points(location, x, y) -> pd.DataFrame:
    """Distinct snap points named by a street (not a facility type, not blank): name, x, y; used
    to say which street a facility point is on."""
    name = bare_name(location).to_numpy(dtype=object)
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = ~np.isin(name, list(FACILITY_TYPES)) & (name != "") & np.isfinite(x) & np.isfinite(y)
    df = pd.DataFrame({"name": name[ok], "x": np.round(x[ok]), "y": np.round(y[ok])})
    return df.drop_duplicates().reset_index(drop=True)


def nearest_street(px, py, streets: pd.DataFrame) -> np.ndarray:
    """The street name of the nearest street-named snap point to each place ("" when none)."""
    from scipy.spatial import cKDTree

    px, py = np.asarray(px, float), np.asarray(py, float)
    out = np.full(px.shape, "", dtype=object)
    if len(streets) == 0 or px.size == 0:
        return out
    tree = cKDTree(streets[["x", "y"]].to_numpy())
    _, j = tree.query(np.column_stack([px, py]))
    out[:] = streets["name"].to_numpy(dtype=object)[j]
    return out
