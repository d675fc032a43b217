"""The map's layer of where missing children were found (issue 25): police case roles only, the same
rule and the same figures as GET /missing/found-places, purpose-logged; every other role gets an
empty layer, no log row and no checkbox on the map page. The world is test_missing_api's: three
episodes of two children, all found at one point (-2.98, 53.40)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from saferhub.hub import audit, services
from saferhub.hub.errors import NotFound
from saferhub.hub.models import AuditEvent, User

from .conftest import PASSWORD
from .test_missing_api import E, world  # noqa: F401 (the fixture)
from .web_client import WebUser

PURPOSE = "county lines review, Op Orochi"


def _layer(hub, who, purpose=PURPOSE, kind="found"):
    with hub.sessions() as db:
        user = db.scalar(select(User).where(User.email == E(who)))
        before = db.scalar(select(func.max(AuditEvent.seq))) or 0
        got = services.maps.hub_layer(db, user, purpose, kind)
        db.commit()
        rows = db.scalars(select(AuditEvent).where(AuditEvent.seq > before)).all()
        return got, [(r.user_id, r.action, r.entity, r.entity_ids, r.purpose) for r in rows], user.id


@pytest.mark.parametrize("who", ["police", "policecoord"])
def test_police_see_where_children_were_found_by_place_and_it_is_logged(hub, world, who):  # noqa: F811
    got, rows, uid = _layer(hub, who)
    assert [f["geometry"] for f in got["features"]] == [{"type": "Point", "coordinates": [-2.98, 53.4]}]
    p = got["features"][0]["properties"]
    assert (p["episodes"], p["people"]) == (3, 2)
    assert p["place"] in {"CANARY-found-1A", "CANARY-found-1B", "CANARY-found-2B"}
    assert "CANARY-child" not in str(got) and "given_name" not in str(got)  # no names
    eps = ",".join(str(i) for i in sorted(world["eps"].values()))
    assert (uid, "read", "missing_found", eps, PURPOSE) in rows
    # the same figures as the API's found-places
    api = hub.client.get("/missing/found-places", headers=hub.headers(E(who))).json()
    assert [(a["episodes"], a["people"]) for a in api] == [(p["episodes"], p["people"])]


@pytest.mark.parametrize("who", ["liverpool", "staffa", "early", "analyst", "admin", "fire"])
def test_no_one_else_gets_the_found_layer_or_a_log_row(hub, world, who):  # noqa: F811
    if who == "fire":
        hub.user(E("fire"), hub.agency("fire-service", "fire"), "caseworker")
    got, rows, _ = _layer(hub, who)
    assert got == {"type": "FeatureCollection", "features": []}
    assert not [r for r in rows if r[2] == "missing_found"]


def test_found_layer_needs_a_purpose_and_a_known_kind(hub, world):  # noqa: F811
    with pytest.raises(audit.MissingPurpose):
        _layer(hub, "police", purpose=None)
    with pytest.raises(NotFound):
        _layer(hub, "police", kind="homes")


def test_the_map_offers_the_found_layer_to_the_police_only(hub, world):  # noqa: F811
    app = hub.client.app
    for who, offered in (("police", True), ("liverpool", False), ("analyst", False)):
        u = WebUser(app, E(who), PASSWORD)
        u.state_purpose(PURPOSE)
        page = u.get("/web/map")
        assert page.status_code == 200
        assert ('id="show-found"' in page.text) is offered, who
        r = u.get("/web/hub-layers/found.geojson")
        assert r.status_code == 200 and ("CANARY-found" in r.text) is offered, who
