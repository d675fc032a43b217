"""Where a case is: set from the web by street and ward, or by latitude and longitude, and shown
named like the briefing's places ("On or near Bold Street, Central ward (Liverpool)") with a map
link. Setting it is the JSON API's two writes in one: a location is created (`create_location`,
logged "create location") and the case points at it (logged "update case", field location_id).

A street and ward resolve to the police.uk snap point of that street inside the ward (the event
store's street points; the one nearest their middle when a street has several); a ward alone, to a
point inside the ward. Coordinates must fall in one of the partnership's wards when boundaries are
published."""

from __future__ import annotations

import functools
import re

import numpy as np
from sqlalchemy.orm import Session

from saferhub.hub.access import case_for
from saferhub.hub.errors import HubError
from saferhub.hub.models import User
from saferhub.hub.services.common import write_log
from saferhub.hub.services.placenames import gazetteer, map_href, place_label
from saferhub.hub.services.places import create_location, get_location

LON_RANGE, LAT_RANGE = (-8.7, 1.8), (49.8, 60.9)  # Great Britain, as the API's LocationIn


def street_key(text: str) -> str:
    """'On or near Bold Street' and 'bold  street' -> 'bold street'."""
    t = re.sub(r"\s+", " ", (text or "").strip().lower())
    return t.removeprefix("on or near ").strip()


def street_points(store) -> dict:
    """{street key: (names, lon array, lat array)}: the police.uk snap points of the event store."""
    from saferhub.config import resolve_store

    root = resolve_store(store)
    built = root / ".built"
    stamp = built.stat().st_mtime_ns if built.exists() else 0
    return _street_points(str(root), stamp)


@functools.lru_cache(maxsize=2)
def _street_points(root: str, _stamp: int) -> dict:

    from saferhub.data import events
    from saferhub.geo.project import to_wgs84

    try:
        t = events(store=root, located_only=True, columns=["location", "x", "y"])
    except Exception:  # no store yet: no street points (the form says so)
        return {}
    df = t.select(["location", "x", "y"]).to_pandas().dropna().drop_duplicates()
    if df.empty:
        return {}
    lon, lat = to_wgs84(df["x"].to_numpy(), df["y"].to_numpy())
    df = df.assign(lon=lon, lat=lat, key=df["location"].map(street_key))
    return {k: (g["location"].to_numpy(), g["lon"].to_numpy(), g["lat"].to_numpy())
            for k, g in df.groupby("key", sort=False)}


NEAREST_M = 150  # a point is "on or near" a street whose police.uk snap point is this close


def nearest_street(store, lon: float, lat: float) -> str:
    """The police.uk snap point name nearest the point, within NEAREST_M metres; '' for none."""
    from saferhub.geo.project import to_bng

    names, x, y = _flat(street_points(store))
    if not len(names):
        return ""
    px, py = to_bng([lon], [lat])
    d2 = (x - px[0]) ** 2 + (y - py[0]) ** 2
    i = int(np.argmin(d2))
    return str(names[i]) if d2[i] <= NEAREST_M ** 2 else ""


def _flat(points: dict) -> tuple:
    """Every street point as (names, BNG x, BNG y) arrays, made once per street-point table."""
    cached = _FLAT.get(id(points))
    if cached is None:
        from saferhub.geo.project import to_bng

        names = np.concatenate([v[0] for v in points.values()]) if points else np.array([], dtype=object)
        lon = np.concatenate([v[1] for v in points.values()]) if points else np.array([])
        lat = np.concatenate([v[2] for v in points.values()]) if points else np.array([])
        x, y = to_bng(lon, lat)
        _FLAT.clear()
        cached = _FLAT[id(points)] = (names, x, y)
    return cached


_FLAT: dict = {}


def resolve_place(store, *, street: str = "", ward_code: str = "", lat: float | None = None,
                  lon: float | None = None) -> dict:
    """{lon, lat, description, ward, lsoa} for a street in a ward, a ward alone, or coordinates.
    HubError with a plain message when it cannot be placed."""
    gaz = gazetteer(store)
    if lat is not None or lon is not None:
        if lat is None or lon is None:
            raise HubError("Give both latitude and longitude, or neither.")
        if not (LAT_RANGE[0] <= lat <= LAT_RANGE[1] and LON_RANGE[0] <= lon <= LON_RANGE[1]):
            raise HubError("That point is outside Great Britain: latitude runs about 49.8 to 60.9 and "
                           "longitude -8.7 to 1.8 (Liverpool is about 53.40, -2.98).")
        name = gaz.name_points([lon], [lat])[0]
        if len(gaz.ward_geoms) and not name["ward"]:
            raise HubError("That point is in none of the partnership's wards. Check the numbers "
                           "(latitude first, then longitude).")
        street = nearest_street(store, lon, lat)
        return {"lon": lon, "lat": lat, "ward": name["ward"] or None, "lsoa": name["lsoa"] or None,
                "description": place_label(street, name["ward"], name["district"]) if name["ward"] or street else None}
    i = gaz.ward(ward_code) if ward_code else None
    if i is None:
        raise HubError("Choose the ward, or give latitude and longitude.")
    ward, district = str(gaz.ward_names[i]), str(gaz.ward_districts[i])
    if not street_key(street):
        import shapely

        p = shapely.point_on_surface(gaz.ward_geoms[i])
        lon, lat = float(p.x), float(p.y)
        label = place_label("", ward, district)
    else:
        names, plon, plat = street_points(store).get(street_key(street), (np.array([]),) * 3)
        inside = np.array([n["ward_code"] == ward_code for n in gaz.name_points(plon, plat)], dtype=bool)
        if not inside.any():
            elsewhere = sorted({f"{n['ward']} ({n['district']})" for n in gaz.name_points(plon, plat) if n["ward"]})
            hint = f" It is in {', '.join(elsewhere[:5])}." if elsewhere else ""
            raise HubError(f"No street called \"{street.strip()}\" is known in {ward} ward ({district}) among the "
                           f"police.uk street points.{hint} Check the spelling, choose another ward, or give "
                           "latitude and longitude.")
        plon, plat, names = plon[inside], plat[inside], names[inside]
        j = int(np.argmin((plon - plon.mean()) ** 2 + (plat - plat.mean()) ** 2))  # the middle of the street
        lon, lat = float(plon[j]), float(plat[j])
        label = place_label(str(names[j]), ward, district)
    lsoa = gaz.name_points([lon], [lat])[0]["lsoa"]
    return {"lon": round(lon, 6), "lat": round(lat, 6), "ward": ward, "lsoa": lsoa or None, "description": label}


def set_case_location(db: Session, user: User, case_id: int, place: dict) -> dict:
    """Put the case at `place` (from resolve_place): a new location, then the case points at it.
    Needs the case in full (404 otherwise); both writes are logged."""
    case, _ = case_for(db, user, case_id)
    loc = create_location(db, user, description=place.get("description"), lon=place["lon"], lat=place["lat"],
                          lsoa=place.get("lsoa"), ward=place.get("ward"))
    before = case.location_id
    case.location_id = loc["id"]
    db.flush()
    write_log(db, user, "update", "case", [case.id], None,
              {"fields": ["location_id"], "location_id": loc["id"], "previous_location_id": before})
    return loc


def case_place(db: Session, user: User, case: dict, purpose: str | None, store=None, gaz=None) -> dict | None:
    """The case's location named for a person, with its map link; None when it has none. Read
    through `get_location` (access and the purpose log)."""
    if not case.get("location_id"):
        return None
    loc = get_location(db, user, case["location_id"], purpose)
    gaz = gaz or gazetteer(store)
    if loc["lat"] is None:
        return loc | {"label": loc["description"] or "A place with no coordinates", "map_href": map_href(None, None)}
    name = gaz.name_points([loc["lon"]], [loc["lat"]])[0]
    label = loc["description"] or place_label("", name["ward"] or loc["ward"], name["district"])
    return loc | {"label": label, "lsoa_name": name["lsoa_name"], "map_href": map_href(loc["lat"], loc["lon"])}
