"""Smaller API holes (issue 19, item 8): user e-mails are e-mail addresses (one validator for every
way a user is made), an ASB Case Review tells the caller only the reports they may read, the
documented 10,000 incidents per call fit the body limit, and Authorization is parsed strictly."""

import json

import pytest
from sqlalchemy import select

from saferhub.hub import services
from saferhub.hub.errors import Unprocessable
from saferhub.hub.models import CaseReviewApplication, User

ADMIN, CW = "admin.police@test.invalid", "caseworker.police@test.invalid"
NOT_EMAILS = ["<script>alert(1)</script>", "<script>@x.example", "no-at-sign", "a@b", "a@b.", "a..b@c.example",
              "a@-c.example", "a b@c.example", "a@c.example\n<b>", "x@1.2.3.4", '"q"@c.example', "@c.example"]


@pytest.mark.parametrize("email", NOT_EMAILS)
def test_an_administrator_cannot_create_a_user_whose_email_is_not_one(hub, partnership, email):
    body = {"email": email, "name": "Someone", "agency_id": partnership["police"], "role": "caseworker",
            "password": "a long enough password"}
    r = hub.client.post("/users", json=body, headers=hub.headers(ADMIN))
    assert r.status_code == 422, r.text
    with hub.sessions() as s:  # the service refuses it too (CLI, seed, any future form)
        with pytest.raises(Unprocessable, match="not an e-mail address"):
            services.add_user(s, email, "Someone", partnership["police"], "caseworker", "a long enough password")
        assert s.scalar(select(User).where(User.name == "Someone")) is None


def test_a_real_address_is_stored_normalised(hub, partnership):
    body = {"email": "  Jo.Bloggs+asb@Wirral.GOV.example ", "name": "Jo", "agency_id": partnership["council"],
            "role": "caseworker", "password": "a long enough password"}
    r = hub.client.post("/users", json=body, headers=hub.headers(ADMIN))
    assert r.status_code == 201, r.text
    assert r.json()["email"] == "jo.bloggs+asb@wirral.gov.example"


def _incidents(hub, email, months, victim="victim-7"):
    items = [{"month": f"2024-{m:02d}-01", "category": "anti-social-behaviour", "victim_ref": victim} for m in months]
    r = hub.client.post("/incidents", json={"incidents": items}, headers=hub.headers(email))
    assert r.status_code == 201, r.text


def test_case_review_counts_only_reports_the_caller_may_read(hub, partnership):
    council_cw, fire_cw, police_coord = ("caseworker.council@test.invalid", "caseworker.fire@test.invalid",
                                         "coordinator.police@test.invalid")
    _incidents(hub, council_cw, (3, 4, 5))   # three reports to the council
    _incidents(hub, CW, (5,))                # one to the police
    body = {"applicant_ref": "victim-7", "received_on": "2024-06-10"}
    police = hub.client.post("/asb/case-reviews", json=body, headers=hub.headers(CW)).json()
    council = hub.client.post("/asb/case-reviews", json=body, headers=hub.headers(council_cw)).json()
    fire = hub.client.post("/asb/case-reviews", json=body, headers=hub.headers(fire_cw)).json()
    # the statutory threshold (3 in 6 months) counts reports to every agency; each caller sees its own
    assert [a["threshold_met"] for a in (police, council, fire)] == [True, True, True]
    assert [a["reports_in_window"] for a in (police, council, fire)] == [1, 3, 0]
    decided = hub.client.post(f"/asb/case-reviews/{police['id']}/decision", json={"recommendations": "meet"},
                              headers=hub.headers(police_coord))
    assert decided.status_code == 200 and decided.json()["reports_in_window"] == 1
    with hub.sessions() as s:  # the record keeps the full count the decision was made on
        assert s.get(CaseReviewApplication, police["id"]).reports_in_window == 4
    # below the threshold everywhere: nothing to learn either
    below = hub.client.post("/asb/case-reviews", json={"applicant_ref": "victim-7", "received_on": "2024-12-01"},
                            headers=hub.headers(fire_cw)).json()
    assert (below["threshold_met"], below["reports_in_window"]) == (False, 0)


def _longest_incident(i: int) -> dict:
    """Every field at its longest (bodies.IncidentIn), ASCII."""
    return {"occurred_at": "2024-05-31T23:59:59.999999+00:00", "month": "2024-05-01",
            "category": "c" * 60, "event_id": f"{i:010d}" + "e" * 290, "location_key": "k" * 120,
            "location_text": "t" * 200, "lsoa": "E01006512", "caller_ref": "r" * 64, "caller_is_child": False,
            "victim_ref": "v" * 64}


@pytest.mark.slow
def test_the_documented_10000_incidents_per_call_fit(hub, partnership):
    body = json.dumps({"incidents": [_longest_incident(i) for i in range(10_000)]}).encode()
    assert len(body) > 10_000_000  # far past the general 1 MiB limit
    h = hub.headers(CW) | {"content-type": "application/json"}
    r = hub.client.post("/incidents", content=body, headers=h)
    assert r.status_code == 201, r.text[:300]
    assert r.json()["recorded"] == 10_000
    # one more is the model's limit (422), a bigger body the route's (413); other routes keep 1 MiB
    more = json.dumps({"incidents": [_longest_incident(0)] * 10_001}).encode()
    assert hub.client.post("/incidents", content=more, headers=h).status_code == 422
    assert hub.client.post("/incidents", content=b" " * (17 << 20), headers=h).status_code == 413
    big_case = json.dumps({"kind": "asb", "title": "x", "summary": "s" * (2 << 20)}).encode()
    assert hub.client.post("/cases", content=big_case, headers=h).status_code == 413


@pytest.mark.parametrize("form,ok", [
    ("Bearer {t}", True),
    ("bearer {t}", True),   # the scheme is case-insensitive (RFC 7235 s2.1)
    ("BEARER {t}", True),
    ("Bearer  {t}", False),  # two spaces
    ("Bearer\t{t}", False),
    ("Bearer \t{t}", False),
    ("Bearer {t} x", False),
    ("Bearer {t},", False),
    ("Bearer {t}\xa0", False),
    ("Bearer{t}", False),
    ("Basic {t}", False),
    ("{t}", False),
])
def test_the_authorization_header_is_parsed_strictly(hub, partnership, form, ok):
    token = hub.headers(CW)["Authorization"].split(" ", 1)[1]
    r = hub.client.get("/agencies", headers={"Authorization": form.format(t=token).encode("latin-1")})
    assert r.status_code == (200 if ok else 401), (form, r.status_code)
    if not ok:
        assert r.headers["www-authenticate"] == "Bearer"


def test_two_authorization_headers_are_refused(hub, partnership):
    token = hub.headers(CW)["Authorization"]
    r = hub.client.get("/agencies", headers=[("Authorization", token), ("Authorization", token)])
    assert r.status_code == 401
