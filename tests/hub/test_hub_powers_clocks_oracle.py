"""Risk assessments set the case's review date, ASB alerts keep their horizon and need-to-know
(issue 26, the planted-bug probe; hub/services/powers.py at service level, dates by hand).

- a case's review date is the EARLIEST next review of its assessments: a later, lower-risk
  assessment (90 days) never pushes back the 7-day review a high-risk one set;
- `asb_alerts(horizon_hours=72)` lists powers expired or expiring within 72 hours, on cases the
  user reads in full, and not one expiring in 4 days."""

from __future__ import annotations

import datetime as dt

import pytest

from saferhub.hub.models import AsbPower, Case
from saferhub.hub.services import powers

from .service_world import PURPOSE, add_case, full_cases, make_world, open_hub

Q = "asb-victim-risk"
KEYS = ("repeat", "targeted", "hate", "disability", "mental_health", "alone", "afraid_home", "children",
        "daily_life", "retaliation")
HIGH = dict.fromkeys(KEYS, True)                 # 14 points: high, review in 7 days
STANDARD = dict.fromkeys(KEYS, False)            # 0 points: standard, review in 90 days
MEDIUM = STANDARD | {"targeted": True, "hate": True}   # 4 points: medium, 28 days
NOW = dt.datetime(2026, 6, 10, 12, tzinfo=dt.timezone.utc)


@pytest.fixture
def world(tmp_path):
    engine, db = open_hub(tmp_path)
    w = make_world(db, combos=[])
    w.facts = {"open": add_case(w), "locked": add_case(w, locked=True, lead="C", owner="caseworker.C")}
    db.commit()
    yield w
    db.close()
    engine.dispose()


def _review_on(w, cid) -> dt.date | None:
    w.db.expire_all()
    return w.db.get(Case, cid).review_on


def test_the_review_date_is_the_earliest_next_review(world):
    w, cid = world, world.facts["open"]
    user = w.user("caseworker.P")
    out = powers.assess_risk(w.db, user, cid, questionnaire=Q, answers=HIGH, on=dt.date(2026, 6, 1))
    assert (out["band"], out["next_review_on"]) == ("high", dt.date(2026, 6, 8))
    assert _review_on(w, cid) == dt.date(2026, 6, 8)
    out = powers.assess_risk(w.db, user, cid, questionnaire=Q, answers=STANDARD, on=dt.date(2026, 6, 2))
    assert (out["band"], out["next_review_on"]) == ("standard", dt.date(2026, 8, 31))
    assert _review_on(w, cid) == dt.date(2026, 6, 8)          # not pushed back
    out = powers.assess_risk(w.db, user, cid, questionnaire=Q, answers=MEDIUM, on=dt.date(2026, 5, 1))
    assert (out["band"], out["next_review_on"]) == ("medium", dt.date(2026, 5, 29))
    assert _review_on(w, cid) == dt.date(2026, 5, 29)         # an earlier one moves it forward


def _power(w, cid, expires_in_hours: float) -> int:
    p = AsbPower(case_id=cid, power="dispersal", issued_at=NOW - dt.timedelta(hours=1),
                 expires_at=NOW + dt.timedelta(hours=expires_in_hours), grounds="g",
                 created_by=w.users["caseworker.P"])
    w.db.add(p)
    w.db.flush()
    return p.id


@pytest.mark.parametrize("viewer", ["caseworker.P", "caseworker.C", "coordinator.P"])
def test_alerts_keep_their_horizon_in_hours_and_need_to_know(world, viewer):
    w = world
    powers_by_case = {cid: {"soon": _power(w, cid, 30), "expired": _power(w, cid, -2), "later": _power(w, cid, 96)}
                      for cid in (w.facts["open"], w.facts["locked"])}
    w.db.commit()
    got = powers.asb_alerts(w.db, w.user(viewer), PURPOSE, horizon_hours=72, now=NOW)
    want = {p for cid, ps in powers_by_case.items() if cid in full_cases(w, viewer) for k, p in ps.items()
            if k != "later"}
    assert {a["power_id"] for a in got} == want
    assert all(a["case_id"] in full_cases(w, viewer) for a in got)
