"""The statutory ASB workflow: CPW -> CPN -> FPN order, age and amount limits, statutory clocks,
expiry alerts, and the yearly ASB Case Review publication figures."""

import datetime as dt

import pytest

from saferhub.hub import asb

T0 = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.timezone.utc)
H = dt.timedelta(hours=1)


def check(power, prior=(), **kw):
    args = dict(issued_at=T0, expires_at=None, person_id=7, recipient_age=30, amount_gbp=None,
                authorised_by="Insp. A", extends_id=None) | kw
    return asb.check_power(power, prior=list(prior), **args)


def test_cpw_before_cpn_before_fpn():
    with pytest.raises(asb.AsbRuleError, match="CPW -> CPN -> FPN"):
        check("cpn")
    with pytest.raises(asb.AsbRuleError, match="earlier CPN"):
        check("fpn", [asb.PriorPower(1, "cpw", 7, T0 - H, None)], amount_gbp=100)
    cpw = asb.PriorPower(1, "cpw", 7, T0 - 24 * H, None)
    assert check("cpn", [cpw]) is None
    # a warning to someone else does not count
    with pytest.raises(asb.AsbRuleError):
        check("cpn", [asb.PriorPower(1, "cpw", 8, T0 - H, None)])
    # nor does a warning issued after the notice
    with pytest.raises(asb.AsbRuleError):
        check("cpn", [asb.PriorPower(1, "cpw", 7, T0 + H, None)])
    cpn = asb.PriorPower(2, "cpn", 7, T0 - H, None)
    assert check("fpn", [cpw, cpn], amount_gbp=100) is None
    with pytest.raises(asb.AsbRuleError, match="£100"):
        check("fpn", [cpw, cpn], amount_gbp=101)


def test_cpn_age_limit_is_16():
    with pytest.raises(asb.AsbRuleError, match="under 16"):
        check("cpw", recipient_age=15)
    assert check("cpw", recipient_age=16) is None


def test_statutory_clocks():
    assert check("dispersal") == T0 + 48 * H
    assert check("dispersal", expires_at=T0 + 48 * H) == T0 + 48 * H
    with pytest.raises(asb.AsbRuleError, match="48 hours"):
        check("dispersal", expires_at=T0 + 49 * H)
    with pytest.raises(asb.AsbRuleError, match="authorising officer"):
        check("dispersal", authorised_by="  ")
    with pytest.raises(asb.AsbRuleError, match="48 hours"):
        check("closure_notice", expires_at=T0 + 48 * H + dt.timedelta(minutes=1))
    assert check("closure_order") == T0 + dt.timedelta(days=92)
    with pytest.raises(asb.AsbRuleError, match="3 months"):
        check("closure_order", expires_at=T0 + dt.timedelta(days=93))
    assert check("pspo") == T0 + dt.timedelta(days=1096)
    with pytest.raises(asb.AsbRuleError, match="3 years"):
        check("pspo", expires_at=T0 + dt.timedelta(days=1097))
    with pytest.raises(asb.AsbRuleError, match="after the time of issue"):
        check("pspo", expires_at=T0)


def test_closure_order_extensions_cap_at_six_months():
    first = asb.PriorPower(1, "closure_order", None, T0, T0 + dt.timedelta(days=90))
    ok = check("closure_order", [first], issued_at=T0 + dt.timedelta(days=89), extends_id=1,
               expires_at=T0 + dt.timedelta(days=180))
    assert ok == T0 + dt.timedelta(days=180)
    second = asb.PriorPower(2, "closure_order", None, T0 + dt.timedelta(days=89), ok, extends_id=1)
    with pytest.raises(asb.AsbRuleError, match="6 months"):
        check("closure_order", [first, second], issued_at=T0 + dt.timedelta(days=179), extends_id=2,
              expires_at=T0 + dt.timedelta(days=200))
    with pytest.raises(asb.AsbRuleError, match="earlier closure order"):
        check("closure_order", [], extends_id=5)


def test_expiry_alerts():
    powers = [asb.PriorPower(1, "dispersal", None, T0, T0 + 48 * H),
              asb.PriorPower(2, "pspo", None, T0, T0 + dt.timedelta(days=1000)),
              asb.PriorPower(3, "closure_order", None, T0, T0 + 10 * H),
              asb.PriorPower(4, "closure_order", None, T0, T0 + 60 * H, extends_id=3),
              asb.PriorPower(5, "cpw", 7, T0, None)]
    alerts = asb.expiry_alerts(powers, T0 + 20 * H, dt.timedelta(hours=72))
    assert [a["power_id"] for a in alerts] == [1, 4]  # 3 was extended by 4; the PSPO is far off
    assert alerts[0]["hours_left"] == 28.0 and not alerts[0]["expired"]
    late = asb.expiry_alerts(powers, T0 + 50 * H, dt.timedelta(0))
    assert [a["power_id"] for a in late] == [1] and late[0]["expired"]


def test_publication_figures_financial_year():
    apps = [
        {"received_on": dt.date(2023, 3, 31), "threshold_met": True, "decision": "review_held", "recommendations": "x"},
        {"received_on": dt.date(2023, 4, 1), "threshold_met": False, "decision": "threshold_not_met"},
        {"received_on": dt.date(2023, 6, 1), "threshold_met": True, "decision": "review_held", "recommendations": "Mediation"},
        {"received_on": dt.date(2023, 9, 1), "threshold_met": True, "decision": "review_held", "recommendations": " "},
        {"received_on": dt.date(2024, 2, 1), "threshold_met": True, "decision": "pending"},
        {"received_on": dt.date(2024, 4, 1), "threshold_met": True, "decision": "pending"},
    ]
    assert asb.publication_figures(apps, 2023) == {
        "period": "2023-04-01..2024-03-31", "applications": 4, "threshold_not_met": 1,
        "reviews_carried_out": 2, "reviews_with_recommendations": 1}


def test_powers_via_api(hub, partnership):
    h = hub.headers("caseworker.police@test.invalid")
    case = hub.client.post("/cases", json={"kind": "asb", "title": "t"}, headers=h).json()
    pid = hub.client.post(f"/cases/{case['id']}/people", json={"role": "offender", "given_name": "O", "family_name": "P"},
                          headers=h).json()["person_id"]
    url = f"/cases/{case['id']}/asb-powers"
    base = {"grounds": "Repeated noise", "person_id": pid, "recipient_age": 19}
    r = hub.client.post(url, json=base | {"power": "cpn", "issued_at": "2024-05-02T10:00:00Z"}, headers=h)
    assert r.status_code == 422 and "CPW" in r.json()["detail"]
    assert hub.client.post(url, json=base | {"power": "cpw", "issued_at": "2024-05-01T10:00:00Z"}, headers=h).status_code == 201
    assert hub.client.post(url, json=base | {"power": "cpn", "issued_at": "2024-05-02T10:00:00Z"}, headers=h).status_code == 201
    r = hub.client.post(url, json=base | {"power": "fpn", "issued_at": "2024-05-03T10:00:00Z", "amount_gbp": 100}, headers=h)
    assert r.status_code == 201
    now = dt.datetime.now(dt.timezone.utc)
    r = hub.client.post(url, json={"power": "dispersal", "grounds": "Groups gathering", "authorised_by": "Insp. B",
                                   "issued_at": (now - dt.timedelta(hours=30)).isoformat()}, headers=h)
    assert r.status_code == 201
    alerts = hub.client.get("/asb/alerts", headers=h).json()
    assert [a["power"] for a in alerts] == ["dispersal"] and 17 < alerts[0]["hours_left"] <= 18
    # coordinators record the review; the yearly figures count it
    coord = hub.headers("coordinator.police@test.invalid")
    app = hub.client.post("/asb/case-reviews", json={"applicant_ref": "nobody", "received_on": "2024-05-01"}, headers=h).json()
    assert app["decision"] == "threshold_not_met"
    assert hub.client.post(f"/asb/case-reviews/{app['id']}/decision", json={"recommendations": "x"}, headers=coord).status_code == 409
    fig = hub.client.get("/asb/case-reviews/publication?year=2024", headers=coord).json()
    assert fig["applications"] == 1 and fig["threshold_not_met"] == 1
