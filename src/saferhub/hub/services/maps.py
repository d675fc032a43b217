"""The hub's layers on the web map: open cases and problem-solving plans at their locations, for
the cases the user reads in full (`access.full_clause`), purpose-logged like any case read. The
other map layers are published files with aggregates only (no hub records)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from saferhub.hub import audit
from saferhub.hub.access import can_read_cases, full_clause
from saferhub.hub.errors import NotFound
from saferhub.hub.models import Case, Location, Plan, User
from saferhub.hub.services.common import case_ref

LAYER_LIMIT = 2000
KINDS = ("cases", "plans")


def draws_hub_layers(user: User) -> bool:
    """Does the map offer this user the case and plan layers?"""
    return can_read_cases(user)


def _point(lon, lat, props: dict) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]},
            "properties": props}


def hub_layer(db: Session, user: User, purpose: str | None, kind: str) -> dict:
    """A GeoJSON FeatureCollection of the newest LAYER_LIMIT open cases (or plans on cases) the user
    reads in full. Roles without case access get an empty layer and no log row."""
    if kind not in KINDS:
        raise NotFound("no such layer")
    purpose = audit.check_purpose(purpose)
    if not can_read_cases(user):
        return {"type": "FeatureCollection", "features": []}
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
