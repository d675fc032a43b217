"""The hub's layers on the web map: open cases and problem-solving plans at their locations, for
the cases the user reads in full (`access.full_clause`), purpose-logged like any case read; and,
for the police only, where missing people were found away from home (`missing_figures.found_places`,
by place, no names). The other map layers are published files with aggregates only (no hub records):
this force's (`map-layers`) and every force's from `saferhub national run --layers`
(`national-map-layers`), offered by a force chooser and a national overview."""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from saferhub.hub import audit
from saferhub.hub.access import can_read_cases, full_clause, sees_found_places
from saferhub.hub.errors import NotFound
from saferhub.hub.models import Case, Location, Plan, User
from saferhub.hub.services.common import case_ref
from saferhub.hub.services.missing_figures import found_places

LAYER_LIMIT = 2000
KINDS = ("cases", "plans", "found")
FOUND_DAYS = 365  # the found-places layer: the last year, like GET /missing/found-places


# A deep link (/web/map?lat=..&lon=..&zoom=..&layer=..) must land in Great Britain at a zoom the map
# draws; anything else opens the default view (fitted to the hot spots), never an error.
GB = (49.8, 61.0, -8.7, 2.0)  # south, north, west, east
ZOOMS = (6.0, 19.0)
DEEP_LINK_ZOOM = 16.0
LAYERS = ("gistar", "kde", "forecast", "none")


def _number(text: str | None) -> float | None:
    if text is None or len(text) > 24:
        return None
    try:
        v = float(text.strip())
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def opening_view(catalogue: dict, lat: str | None = None, lon: str | None = None, zoom: str | None = None,
                 layer: str | None = None, force: str | None = None, forces: list[dict] = ()) -> dict:
    """Where the map opens: the deep link's centre and zoom when they are numbers inside Great
    Britain (zoom 6 to 19, to the half; 16 when absent), else the bounds of the published Gi* hot
    cells (the grip layer first), else nothing (the map fits the first layer it draws). `layer`
    is one of gistar, kde, forecast, none; anything else is dropped. `force`: one of `forces`
    (`national_forces`) whose layers the map shows, opening on them; anything else is dropped.
    With no layers of this force's own, the map opens on the first national force."""
    view: dict = {"layer": layer if layer in LAYERS else None}
    known = {f["force"]: f for f in forces}
    if force not in known and forces and not any(x.get("group") in ("hotspots", "forecast")
                                                 for x in catalogue.get("layers", [])):
        force = forces[0]["force"]
    if force in known:
        view["force"] = force
        catalogue = {"layers": known[force]["layers"]}
    la, lo, z = _number(lat), _number(lon), _number(zoom) if zoom not in (None, "") else DEEP_LINK_ZOOM
    if la is not None and lo is not None and z is not None and GB[0] <= la <= GB[1] and GB[2] <= lo <= GB[3] \
            and ZOOMS[0] <= z <= ZOOMS[1]:
        return view | {"center": [la, lo], "zoom": round(z * 2) / 2, "source": "link"}
    hot = [x for x in catalogue.get("layers", []) if x.get("method") == "gistar" and x.get("hot_bounds")]
    hot.sort(key=lambda x: (x.get("categories") != "grip", x.get("name", "")))
    if hot:
        return view | {"bounds": hot[0]["hot_bounds"], "source": "hot spots"}
    return view | {"source": "layer"}


def view_link(view: dict) -> str:
    """The map's address for a checked view (so the purpose form returns to the same place): built
    from the validated values, never from the raw query."""
    args = []
    if view.get("source") == "link":
        (lat, lon), zoom = view["center"], view["zoom"]
        args += [f"lat={lat:g}", f"lon={lon:g}", f"zoom={zoom:g}"]
    args += [f"{k}={view[k]}" for k in ("layer", "force") if view.get(k)]
    return "/web/map" + ("?" + "&".join(args) if args else "")


def force_label(force: str) -> str:
    """A force's plain name; a synthetic force (its id says so) is named and marked simulated."""
    from saferhub.data.forces import force_name

    if force.startswith("synthetic-"):
        return f"Synthetic force {force.removeprefix('synthetic-')} (simulated)"
    return force_name(force)


def national_forces(catalogue: dict) -> list[dict]:
    """Every force with layers in the national catalogue (`saferhub national run --layers`), for
    the map's force chooser and overview: id, plain name, simulated or not, its layer entries (each
    told the force's name), its overview point and figures (None from catalogues published before
    overviews were). Forces with a name the layer route would refuse are left out. Real forces
    first, by name; then synthetic ones by number."""
    from saferhub.data.products import NAME

    by: dict[str, list] = {}
    for e in catalogue.get("layers", []):
        f = e.get("force")
        if isinstance(f, str) and NAME.match(f) and NAME.match(str(e.get("name", ""))):
            by.setdefault(f, []).append(e)
    out = []
    for f, entries in by.items():
        label, synthetic = force_label(f), f.startswith("synthetic-")
        entries = [e | {"force_label": label, "synthetic": synthetic} for e in entries]
        over = next((e.get("overview") for e in entries if e.get("method") == "gistar" and e.get("overview")), None)
        out.append({"force": f, "label": label, "synthetic": synthetic, "layers": entries, "overview": over})
    return sorted(out, key=lambda x: (x["synthetic"], x["label"]))


def draws_hub_layers(user: User) -> bool:
    """Does the map offer this user the case and plan layers?"""
    return can_read_cases(user)


def draws_found_places(user: User) -> bool:
    """Does the map offer this user where missing people were found (police only)?"""
    return sees_found_places(user)


def _point(lon, lat, props: dict) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]},
            "properties": props}


def _found_layer(db: Session, user: User, purpose: str, days: int) -> dict:
    """Places where missing people were found away from home in the last `days`, busiest first:
    episodes, different people, last found. A place known only by its words has no point (GeoJSON's
    null geometry) - the map lists how many it cannot draw. Logged by found_places."""
    feats = [{"type": "Feature",
              "geometry": None if p["lon"] is None or p["lat"] is None else
              {"type": "Point", "coordinates": [round(p["lon"], 5), round(p["lat"], 5)]},
              "properties": {"place": p["description"] or p["place_key"], "episodes": p["episodes"],
                             "people": p["people"],
                             "last_found": p["last_found"].isoformat() if p["last_found"] else None}}
             for p in found_places(db, user, purpose, days=days)[:LAYER_LIMIT]]
    return {"type": "FeatureCollection", "features": feats, "days": days}


def hub_layer(db: Session, user: User, purpose: str | None, kind: str, days: int = FOUND_DAYS) -> dict:
    """A GeoJSON FeatureCollection of the newest LAYER_LIMIT open cases (or plans on cases) the user
    reads in full, or (`found`, police only) where missing people were found in the last `days`.
    Roles that may not read the layer get an empty one and no log row."""
    if kind not in KINDS:
        raise NotFound("no such layer")
    purpose = audit.check_purpose(purpose)
    if not (sees_found_places(user) if kind == "found" else can_read_cases(user)):
        return {"type": "FeatureCollection", "features": []}
    if kind == "found":
        return _found_layer(db, user, purpose, days)
    if kind == "cases":
        q = (select(Case.id, Case.title, Case.kind, Case.risk, Location.lon, Location.lat)
             .join(Location, Location.id == Case.location_id)
             .where(Case.status == "open", Location.lon.is_not(None), full_clause(user))
             .order_by(Case.id.desc()).limit(LAYER_LIMIT))
        feats = [_point(lon, lat, {"id": cid, "ref": case_ref(cid), "title": title, "kind": k, "risk": risk})
                 for cid, title, k, risk, lon, lat in db.execute(q)]
        entity = "case"
    else:
        q = (select(Plan.id, Plan.title, Plan.stage, Plan.case_id, Location.lon, Location.lat)
             .join(Case, Case.id == Plan.case_id).join(Location, Location.id == Case.location_id)
             .where(Location.lon.is_not(None), full_clause(user)).order_by(Plan.id.desc()).limit(LAYER_LIMIT))
        feats = [_point(lon, lat, {"id": pid, "title": title, "stage": stage, "case_ref": case_ref(cid)})
                 for pid, title, stage, cid, lon, lat in db.execute(q)]
        entity = "plan"
    audit.disclose(db, user, purpose, entity, [f["properties"]["id"] for f in feats], {"map": True})
    return {"type": "FeatureCollection", "features": feats}
