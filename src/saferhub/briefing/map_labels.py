"""Place names for a map with no background tiles, made once by `publish boundaries`: district
names for zoomed-out views, ward names at middle zooms, street names when zoomed in.

Street names come from the event store: police.uk places each crime "On or near" a street (an
anonymised snap point). Per square of the grid the busiest street is labelled, at the mean of its
events there (so the name sits on the street). Snap points named after a kind of place ("Parking
Area", "Supermarket", "Nightclub") are not street names and are left out."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd

# Zoom bands (Leaflet zooms; inclusive). A district is ~15-30 km across, a ward ~2 km, a street label
# square is 800 m (from zoom 14) or 400 m (from zoom 15, the streets the 800 m squares left out).
DISTRICT_ZOOMS, WARD_ZOOMS = (0, 11), (12, 13)
STREET_TIERS = ((800.0, 14), (400.0, 15))
STREET_MAX_ZOOM = 19
_PREFIX = re.compile(r"^on or near\s+", re.I)
_STREET = re.compile(
    r"\b(street|road|lane|avenue|drive|way|close|place|crescent|grove|gardens|terrace|walk|square|hill|"
    r"row|parade|court|green|view|rise|boulevard|mews|vale|brow|approach|promenade|bypass|by-pass|"
    r"circus|broadway|precinct|strand|quay|wynd|croft|fold)$", re.I)


def street_name(location: str | None) -> str | None:
    """'On or near Bold Street' -> 'Bold Street'; a kind of place ('On or near Supermarket') -> None."""
    if not isinstance(location, str):
        return None
    name = _PREFIX.sub("", location.strip())
    return name if name and _STREET.search(name) else None


def _points(g: gpd.GeoDataFrame, kind: str, zooms: tuple[int, int]) -> pd.DataFrame:
    pts = g.geometry.representative_point()  # inside the area, unlike a centroid of a crescent
    return pd.DataFrame({"name": g["name"].to_numpy(), "kind": kind, "minzoom": zooms[0], "maxzoom": zooms[1],
                         "x": pts.x.to_numpy(), "y": pts.y.to_numpy(), "count": 0})


def street_labels(events: pd.DataFrame) -> pd.DataFrame:
    """The busiest street per grid square, per tier (columns name, kind, minzoom, maxzoom, x, y,
    count = events on that street in that square). A finer tier leaves out a street its coarser
    square already names."""
    names = events["location"].map(street_name)
    ev = pd.DataFrame({"x": events["x"].to_numpy(), "y": events["y"].to_numpy(), "name": names.to_numpy()})
    ev = ev.dropna(subset=["name"])
    coarse = STREET_TIERS[0][0]
    ev["parent"] = list(zip(np.floor(ev["x"] / coarse).astype(np.int64), np.floor(ev["y"] / coarse).astype(np.int64)))
    out, named = [], set()
    for size, minzoom in STREET_TIERS:
        ev["gx"] = np.floor(ev["x"] / size).astype(np.int64)
        ev["gy"] = np.floor(ev["y"] / size).astype(np.int64)
        per = (ev.groupby(["gx", "gy", "name"], sort=False)
               .agg(count=("x", "size"), x=("x", "mean"), y=("y", "mean"), parent=("parent", "first")).reset_index())
        per = per.sort_values(["gx", "gy", "count", "name"], ascending=[True, True, False, True], kind="stable")
        top = per.drop_duplicates(["gx", "gy"])
        top = top[[(p, n) not in named for p, n in zip(top["parent"], top["name"])]]
        named.update(zip(top["parent"], top["name"]))
        out.append(pd.DataFrame({"name": top["name"].to_numpy(), "kind": "street", "minzoom": minzoom,
                                 "maxzoom": STREET_MAX_ZOOM, "x": top["x"].round(1).to_numpy(),
                                 "y": top["y"].round(1).to_numpy(), "count": top["count"].to_numpy()}))
    return pd.concat(out, ignore_index=True)


def label_layers(bounds: dict[str, gpd.GeoDataFrame], events: pd.DataFrame | None) -> dict[str, gpd.GeoDataFrame]:
    """`areas` (district and ward names, small: loaded with the map) and `streets` (loaded when the
    map is first zoomed in far enough), as point layers in EPSG:27700."""
    parts = []
    if "districts" in bounds:
        parts.append(_points(bounds["districts"], "district", DISTRICT_ZOOMS))
    if "wards" in bounds:
        parts.append(_points(bounds["wards"], "ward", WARD_ZOOMS))
    out = {}
    if parts:
        areas = pd.concat(parts, ignore_index=True)
        out["areas"] = gpd.GeoDataFrame(areas.drop(columns=["x", "y"]),
                                        geometry=gpd.points_from_xy(areas["x"], areas["y"]), crs=27700)
    if events is not None and len(events):
        st = street_labels(events)
        out["streets"] = gpd.GeoDataFrame(st.drop(columns=["x", "y"]), geometry=gpd.points_from_xy(st["x"], st["y"]),
                                          crs=27700)
    return out
