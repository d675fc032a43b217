"""The map page and the layers it draws. Hotspot, forecast, patrol and boundary layers are files
published by the jobs (`saferhub publish`), served as they are; open cases and problem-solving
plans (and, for the police, where missing people were found) come from the hub per the user's
access, purpose-logged like every personal-data read. Every force's layers from `saferhub national
run --layers` (the `national-map-layers` catalogue) are offered by a force chooser (`?force=`)."""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse

from saferhub.api.deps import DB
from saferhub.api.pages.common import page_user, render, session_purpose
from saferhub.data.products import NAME, product_path, read_product
from saferhub.hub import audit, services
from saferhub.hub.errors import HubError

router = APIRouter(prefix="/web", include_in_schema=False)


def _store():
    from saferhub.config import settings

    return settings().store_path


@router.get("/map")
def map_page(request: Request, db: DB):
    """The map; `?lat=&lon=&zoom=&layer=&force=` open it there (values the map cannot use are ignored)."""
    from saferhub.config import settings

    user = page_user(request, db)
    catalogue = read_product("map-layers", _store()) or {"layers": []}
    forces = services.maps.national_forces(read_product("national-map-layers", _store()) or {})
    q = request.query_params
    view = services.maps.opening_view(catalogue, q.get("lat"), q.get("lon"), q.get("zoom"), q.get("layer"),
                                      q.get("force"), forces)
    return render(request, "map.html", user=user, title="Map", catalogue=_json(catalogue), national=_json(forces),
                  forces=forces, local_layers=catalogue["layers"],
                  layers=catalogue["layers"] + [e for f in forces for e in f["layers"]], tile_url=settings().tile_url, view=view,
                  map_next=services.maps.view_link(view),
                  hub_layers=services.maps.draws_hub_layers(user), found_layer=services.maps.draws_found_places(user),
                  has_purpose=session_purpose(request) is not None)


def _json(obj) -> str:
    """JSON for a <script type="application/json"> block (a "</" in any text cannot close it)."""
    return json.dumps(obj).replace("</", "<\\/")


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


@router.get("/hub-layers/{kind}.geojson")
def hub_layer(kind: str, request: Request, db: DB, days: int = Query(services.maps.FOUND_DAYS, ge=1, le=3650)):
    """Open cases or problem-solving plans at their locations, for cases the user sees in full; where
    missing people were found in the last `days` (police only)."""
    user = page_user(request, db)
    try:
        layer = services.maps.hub_layer(db, user, session_purpose(request), kind, days=days)
    except audit.MissingPurpose:  # the map page shows the purpose form in its side panel
        return JSONResponse({"detail": "state the purpose of viewing first"}, status_code=428)
    except HubError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    db.commit()
    return JSONResponse(layer)
