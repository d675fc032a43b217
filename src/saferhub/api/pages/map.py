"""The map page and the layers it draws. Hotspot, forecast, patrol and boundary layers are files
published by the jobs (`saferhub publish`), served as they are; open cases and problem-solving
plans come from the hub per the user's access, purpose-logged like every personal-data read."""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy import select

from saferhub.api.deps import DB
from saferhub.api.pages.common import page_user, render, session_purpose
from saferhub.data.products import NAME, product_path, read_product
from saferhub.hub import audit
from saferhub.hub.access import can_read_cases, full_clause
from saferhub.hub.models import Case, Location, Plan

router = APIRouter(prefix="/web", include_in_schema=False)
CASE_LAYER_LIMIT = 2000


def _store():
    from saferhub.config import settings

    return settings().store_path


@router.get("/map")
def map_page(request: Request, db: DB):
    from saferhub.config import settings

    user = page_user(request, db)
    catalogue = read_product("map-layers", _store()) or {"layers": []}
    return render(request, "map.html", user=user, title="Map", catalogue=json.dumps(catalogue).replace("</", "<\\/"),
                  layers=catalogue["layers"], tile_url=settings().tile_url,
                  hub_layers=can_read_cases(user), has_purpose=session_purpose(request) is not None)


@router.get("/layers/{name}.geojson")
def layer(name: str, request: Request, db: DB):
    """A published layer, as written (aggregates only: no personal data)."""
    page_user(request, db)
    if not NAME.match(name) or name == "map-layers":
        raise HTTPException(404, "no such layer")
    path = product_path(name, _store())
    if path is None or path.suffix != ".geojson":
        raise HTTPException(404, f"the layer {name} has not been published yet")
    return FileResponse(path, media_type="application/geo+json", headers={"Cache-Control": "private, max-age=60"})


def _point(lon, lat, props: dict) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]},
            "properties": props}


@router.get("/hub-layers/{kind}.geojson")
def hub_layer(kind: str, request: Request, db: DB):
    """Open cases or problem-solving plans at their locations, for cases the user sees in full."""
    user = page_user(request, db)
    if kind not in ("cases", "plans"):
        raise HTTPException(404, "no such layer")
    purpose = session_purpose(request)
    if purpose is None:  # the map page shows the purpose form in its side panel
        return JSONResponse({"detail": "state the purpose of viewing first"}, status_code=428)
    if not can_read_cases(user):
        return JSONResponse({"type": "FeatureCollection", "features": []})
    if kind == "cases":
        q = (select(Case.id, Case.title, Case.kind, Case.risk, Location.lon, Location.lat)
             .join(Location, Location.id == Case.location_id)
             .where(Case.status == "open", Location.lon.is_not(None), full_clause(user))
             .order_by(Case.id.desc()).limit(CASE_LAYER_LIMIT))
        rows = db.execute(q).all()
        feats = [_point(lon, lat, {"id": cid, "ref": f"HUB-{cid:06d}", "title": title, "kind": k, "risk": risk})
                 for cid, title, k, risk, lon, lat in rows]
        entity = "case"
    else:
        q = (select(Plan.id, Plan.title, Plan.stage, Plan.case_id, Location.lon, Location.lat)
             .join(Case, Case.id == Plan.case_id).join(Location, Location.id == Case.location_id)
             .where(Location.lon.is_not(None), full_clause(user)).order_by(Plan.id.desc()).limit(CASE_LAYER_LIMIT))
        rows = db.execute(q).all()
        feats = [_point(lon, lat, {"id": pid, "title": title, "stage": stage, "case_ref": f"HUB-{cid:06d}"})
                 for pid, title, stage, cid, lon, lat in rows]
        entity = "plan"
    audit.disclose(db, user, purpose, entity, [f["properties"]["id"] for f in feats], {"map": True})
    db.commit()
    return JSONResponse({"type": "FeatureCollection", "features": feats})
