"""Missing episodes through the API, on SQLite and PostgreSQL: who sees what (canaries: a home's
staff never see another home's children; a partner never sees police-only places found; the
Philomena profile only its holders), purpose logging, the rules raising referrals once, and each
agency's alerts."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from saferhub.hub.models import AuditEvent, MissingAlert, Referral

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def E(who):
    return f"{who}@test.invalid"


@pytest.fixture
def world(hub):
    a = {k: hub.agency(k, kind) for k, kind in (
        ("police", "police"), ("liverpool", "council"), ("wirral", "council"), ("acme-care", "other"),
        ("early-help", "early_help"), ("youth", "youth"))}
    users = {}
    for who, ag, role in (("police", "police", "caseworker"), ("policecoord", "police", "coordinator"),
                          ("liverpool", "liverpool", "caseworker"), ("wirral", "wirral", "caseworker"),
                          ("acmecoord", "acme-care", "coordinator"), ("staffa", "acme-care", "caseworker"),
                          ("staffb", "acme-care", "caseworker"), ("early", "early-help", "caseworker"),
                          ("youth", "youth", "caseworker"), ("analyst", "police", "analyst"),
                          ("admin", "police", "admin")):
        users[who] = hub.user(E(who), a[ag], role)
    c = hub.client
    police = hub.headers(E("police"))
    homes = {}
    for name, council in (("A", "liverpool"), ("B", "wirral")):
        r = c.post("/missing/homes", json={"kind": "care_home", "name": f"CANARY-home-{name}", "places": 4,
                                           "operator_agency_id": a["acme-care"], "council_agency_id": a[council],
                                           "address": f"CANARY-address-{name}"}, headers=police)
        assert r.status_code == 201, r.text
        homes[name] = r.json()["id"]
    acme = hub.headers(E("acmecoord"))
    for home, staff in (("A", "staffa"), ("B", "staffb")):
        r = c.post(f"/missing/homes/{homes[home]}/staff", json={"user_id": users[staff]}, headers=acme)
        assert r.status_code == 201, r.text
    kids = {}
    for kid, council, home in (("1", "liverpool", "A"), ("2", "wirral", "B")):
        r = c.post("/missing/people", json={"given_name": f"CANARY-child-{kid}", "family_name": "X",
                                            "date_of_birth": "2010-05-01", "council_agency_id": a[council],
                                            "home_id": homes[home], "in_care": True}, headers=police)
        assert r.status_code == 201, r.text
        kids[kid] = r.json()["id"]
    eps = {}
    for key, kid, home, found in (("1A", "1", "A", "CANARY-found-1A"), ("1B", "1", "B", "CANARY-found-1B"),
                                  ("2B", "2", "B", "CANARY-found-2B")):
        r = c.post(f"/missing/people/{kids[kid]}/episodes", json={
            "home_id": homes[home], "reported_at": (NOW - dt.timedelta(days=20)).isoformat(),
            "returned_at": (NOW - dt.timedelta(days=19)).isoformat(), "risk": "medium",
            "interview_done_at": (NOW - dt.timedelta(days=18)).isoformat(), "interview_by": f"CANARY-episode-{key}",
            "found": {"description": found, "lon": -2.98, "lat": 53.40}}, headers=police)
        assert r.status_code == 201, r.text
        eps[key] = r.json()["id"]
    r = c.put(f"/missing/people/{kids['1']}/profile", json={"description": "CANARY-profile-1",
                                                           "likely_places": "the retail park"},
              headers=hub.headers(E("staffa")))
    assert r.status_code == 200, r.text
    return {"agency": a, "users": users, "homes": homes, "kids": kids, "eps": eps}


# What each viewer may read (written from the rules in the brief, not from access.py).
SEES = {
    "police": {"child-1", "child-2", "home-A", "home-B", "episode-1A", "episode-1B", "episode-2B",
               "found-1A", "found-1B", "found-2B", "address-A", "address-B"},
    "liverpool": {"child-1", "home-A", "home-B", "episode-1A", "episode-1B", "address-A"},
    "wirral": {"child-2", "home-B", "episode-2B", "address-B"},
    "staffa": {"child-1", "home-A", "episode-1A", "address-A", "profile-1"},
    # acme-care holds child 1's profile, and staffb sees child 1 through episode 1B (from home B)
    "staffb": {"child-1", "child-2", "home-B", "episode-1B", "episode-2B", "address-B", "profile-1"},
    "early": set(), "youth": set(), "analyst": set(), "admin": set(), "acmecoord": set(),
}


def _reads(hub, w, who):
    c, h = hub.client, hub.headers(E(who), "missing persons check")
    urls = ["/missing/people", "/missing/homes", "/missing/alerts", "/missing/shares", "/missing/found-places"]
    urls += [f"/missing/people/{k}" for k in w["kids"].values()]
    urls += [f"/missing/people/{k}/profile" for k in w["kids"].values()]
    urls += [f"/missing/homes/{h_}/pattern" for h_ in w["homes"].values()]
    return [(u, c.get(u, headers=h)) for u in urls]


@pytest.mark.parametrize("who", sorted(SEES))
def test_each_viewer_sees_only_what_the_rules_allow(hub, world, who):
    seen = set()
    for url, r in _reads(hub, world, who):
        assert r.status_code < 500, (url, r.text)
        seen |= set(re.findall(r"CANARY-([a-z]+-[0-9A-Z]+)", r.text))
    assert seen == SEES[who]


def test_staff_see_their_home_only_and_partners_never_see_where_found(hub, world):
    c, kid = hub.client, world["kids"]["1"]
    staff = c.get(f"/missing/people/{kid}", headers=hub.headers(E("staffa"))).json()
    assert [e["id"] for e in staff["episodes"]] == [world["eps"]["1A"]]
    assert staff["seen_as"] == "episodes from your home only" and staff["episodes"][0]["found"] is None
    council = c.get(f"/missing/people/{kid}", headers=hub.headers(E("liverpool"))).json()
    assert len(council["episodes"]) == 2 and all(e["found"] is None for e in council["episodes"])
    police = c.get(f"/missing/people/{kid}", headers=hub.headers(E("police"))).json()
    assert sorted(e["found"]["description"] for e in police["episodes"]) == ["CANARY-found-1A", "CANARY-found-1B"]
    assert police["pattern"]["last_30_days"] == 2 and police["pattern"]["nights_missing_365_days"] == 2
    # staff of home A cannot read or write home B's episode, nor record one from home B
    assert c.patch(f"/missing/episodes/{world['eps']['1B']}", json={"version": 1, "interview_by": "x"},
                   headers=hub.headers(E("staffa"))).status_code == 404
    r = c.post(f"/missing/people/{kid}/episodes", json={"home_id": world["homes"]["B"],
                                                         "reported_at": NOW.isoformat()}, headers=hub.headers(E("staffa")))
    assert r.status_code == 404
    # a partner may not record the force's risk grading or where found
    r = c.post(f"/missing/people/{kid}/episodes", json={"home_id": world["homes"]["A"], "reported_at": NOW.isoformat(),
                                                         "risk": "high"}, headers=hub.headers(E("staffa")))
    assert r.status_code == 403
    r = c.post(f"/missing/people/{kid}/episodes", json={"home_id": world["homes"]["A"], "reported_at": NOW.isoformat()},
               headers=hub.headers(E("staffa")))
    assert r.status_code == 201 and r.json()["risk"] is None


def test_profile_only_for_its_holders(hub, world):
    c, kid = hub.client, world["kids"]["1"]
    assert c.get(f"/missing/people/{kid}/profile", headers=hub.headers(E("police"))).status_code == 404
    prof = c.get(f"/missing/people/{kid}/profile", headers=hub.headers(E("staffa"))).json()
    r = c.put(f"/missing/people/{kid}/profile", json={"version": prof["version"], "holders": [world["agency"]["police"]]},
              headers=hub.headers(E("staffa")))
    assert r.status_code == 200, r.text
    got = c.get(f"/missing/people/{kid}/profile", headers=hub.headers(E("police"))).json()
    assert got["description"] == "CANARY-profile-1"
    assert sorted(got["holders"]) == sorted([world["agency"]["police"], world["agency"]["acme-care"]])
    assert c.get(f"/missing/people/{kid}/profile", headers=hub.headers(E("liverpool"))).status_code == 404
    # a stale version is refused; a non-holder cannot overwrite
    assert c.put(f"/missing/people/{kid}/profile", json={"version": 1, "health": "x"},
                 headers=hub.headers(E("police"))).status_code == 409
    assert c.put(f"/missing/people/{kid}/profile", json={"health": "x"},
                 headers=hub.headers(E("liverpool"))).status_code == 404


def test_reads_need_a_purpose_and_are_logged(hub, world):
    c, kid = hub.client, world["kids"]["1"]
    assert c.get(f"/missing/people/{kid}", headers=hub.headers(E("police"), None)).status_code == 400
    assert c.get(f"/missing/people/{kid}", headers=hub.headers(E("police"), "finding a missing child")).status_code == 200
    with hub.sessions() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.purpose == "finding a missing child")).all()
    assert {r.entity for r in rows} == {"missing_person", "missing_found"}
    assert all(r.user_id == world["users"]["police"] for r in rows)


def test_bad_times_are_refused_without_5xx(hub, world):
    c, kid = hub.client, world["kids"]["1"]
    r = c.post(f"/missing/people/{kid}/episodes", json={
        "home_id": world["homes"]["A"], "reported_at": NOW.isoformat(),
        "returned_at": (NOW - dt.timedelta(hours=1)).isoformat()}, headers=hub.headers(E("police")))
    assert r.status_code == 400 and "before" in r.json()["detail"]


def _episode(hub, kid, home, reported, returned=None, **kw):
    body = {"home_id": home, "reported_at": reported.isoformat()} | kw
    if returned is not None:
        body["returned_at"] = returned.isoformat()
    r = hub.client.post(f"/missing/people/{kid}/episodes", json=body, headers=hub.headers(E("police")))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_rules_raise_referrals_once_and_each_agency_sees_only_its_alerts(hub, world):
    kid, home = world["kids"]["1"], world["homes"]["A"]
    for days in (10, 5):  # with the episode 20 days ago: a third within 90 days, from care
        _episode(hub, kid, home, NOW - dt.timedelta(days=days), NOW - dt.timedelta(days=days - 1),
                 interview_done_at=(NOW - dt.timedelta(days=days - 2)).isoformat())
    late = _episode(hub, world["kids"]["2"], world["homes"]["B"], NOW - dt.timedelta(days=6),
                    NOW - dt.timedelta(days=5))  # no return interview: overdue
    coord = hub.headers(E("policecoord"))
    assert hub.client.post("/missing/rules/run", headers=hub.headers(E("police"))).status_code == 403
    r = hub.client.post("/missing/rules/run", headers=coord)
    assert r.status_code == 200, r.text
    # 1A and 1B were found at the same point (-2.98, 53.40): found twice, to the youth service
    assert r.json()["new_alerts"] == 3 and r.json()["referrals"] == 3
    again = hub.client.post("/missing/rules/run", headers=coord).json()
    assert again["new_alerts"] == 0 and again["hits"] == 3
    with hub.sessions() as s:
        alerts = {a.rule: a for a in s.scalars(select(MissingAlert))}
        refs = {r.id: r for r in s.scalars(select(Referral))}
    a = world["agency"]
    third = alerts["missing_third_in_90_days"]
    assert (third.from_agency_id, third.to_agency_id) == (a["liverpool"], a["police"])
    assert refs[third.referral_id].kind == "missing_persons" and "Children Act 2004" in refs[third.referral_id].legal_gateway
    ri = alerts["return_interview_overdue_72h"]
    assert (ri.from_agency_id, ri.to_agency_id, ri.key) == (a["wirral"], a["early-help"], f"episode:{late}")
    ft = alerts["found_twice_same_place"]
    assert (ft.from_agency_id, ft.to_agency_id) == (a["liverpool"], a["youth"])
    assert refs[ft.referral_id].kind == "youth_intervention"

    def rules_seen(who):
        r = hub.client.get("/missing/alerts", headers=hub.headers(E(who)))
        assert r.status_code == 200, r.text
        assert "CANARY" not in r.text  # alerts carry references, never names or places
        return sorted((x["rule"], x["direction"]) for x in r.json())

    assert rules_seen("police") == [("missing_third_in_90_days", "received")]
    assert rules_seen("liverpool") == [("found_twice_same_place", "sent"), ("missing_third_in_90_days", "sent")]
    assert rules_seen("wirral") == [("return_interview_overdue_72h", "sent")]
    assert rules_seen("early") == [("return_interview_overdue_72h", "received")]
    assert rules_seen("youth") == [("found_twice_same_place", "received")]
    assert rules_seen("staffa") == []
    # accepting the referral lets Early Help read the child through the child's case
    early = hub.headers(E("early"))
    assert hub.client.get(f"/missing/people/{world['kids']['2']}", headers=early).status_code == 404
    assert hub.client.post(f"/referrals/{ri.referral_id}/response", json={"accept": True},
                           headers=early).status_code == 200
    got = hub.client.get(f"/missing/people/{world['kids']['2']}", headers=early).json()
    assert got["ref"] and all(e["found"] is None for e in got["episodes"])


def test_home_pattern_and_shares_from_the_records(hub, world):
    police = hub.headers(E("police"))
    pat = hub.client.get(f"/missing/homes/{world['homes']['B']}/pattern", headers=police).json()
    assert pat["home_rate"]["episodes"] == 2 and pat["residents_with_episodes"] == 2
    assert pat["comparable_homes"] == 1 and pat["comparable"]["episodes"] == 1
    assert pat["home_vs_comparable"]["ratio"] == 2.0 and pat["home_vs_comparable"]["low"] < 2.0
    assert hub.client.get("/missing/shares", headers=police).status_code == 403
    shares = hub.client.get("/missing/shares", headers=hub.headers(E("analyst"))).json()
    assert shares["people"] == 2 and shares["under_18"]["count"] == 2 and shares["from_care"]["percent"] == 100.0


def test_found_places_by_place_for_the_police_only(hub, world):
    c = hub.client
    got = c.get("/missing/found-places", headers=hub.headers(E("police"))).json()
    # the three episodes were found at one point (-2.98, 53.40): one place, two people
    assert [(p["episodes"], p["people"], p["place_key"]) for p in got] == [(3, 2, "pt:-2.9800,53.4000")]
    for who in ("liverpool", "staffa", "analyst", "early"):
        r = c.get("/missing/found-places", headers=hub.headers(E(who)))
        assert r.status_code == 403 and "CANARY" not in r.text
