"""ASB Case Review: the threshold counts reports to every relevant body, the caller is told only
the ones they may read (issue 26, the planted-bug probe; hub/services/powers.py at service level).

The statutory threshold (ASB, Crime and Policing Act 2014 s104; the rule asb_case_review_threshold:
3 ASB reports in 6 months) counts reports to any agency, so an applicant who told the police, the
council and the fire service once each has met it even though no one agency heard three times. The
answer to the caller, though, carries only the reports the caller may read (their own agency's),
so a victim reference cannot be used to learn how often others heard from that person. Counted
here by hand from the incidents written below; the service is not asked."""

from __future__ import annotations

import datetime as dt

import pytest

from saferhub.hub.models import CaseReviewApplication, Incident
from saferhub.hub.services import powers

from .service_world import ids_of, make_world, open_hub, reads

ASB = "Anti-social behaviour"
RECEIVED = dt.date(2026, 6, 15)


def _incident(w, ref: str, agency: str, month: dt.date, category: str = ASB) -> None:
    w.db.add(Incident(source="incident", month=month, category=category, victim_ref=ref,
                      agency_id=w.agencies[agency]))


@pytest.fixture
def world(tmp_path):
    engine, db = open_hub(tmp_path)
    w = make_world(db, combos=[])
    # met across agencies: one report each to police, council and fire inside the 6 months
    for agency, month in (("P", dt.date(2026, 2, 1)), ("C", dt.date(2026, 4, 1)), ("F", dt.date(2026, 6, 1))):
        _incident(w, "three-bodies", agency, month)
    # not met: two police reports in the window; one older than 6 months; one that is not ASB
    _incident(w, "two-only", "P", dt.date(2026, 5, 1))
    _incident(w, "two-only", "P", dt.date(2026, 6, 1))
    _incident(w, "two-only", "C", dt.date(2025, 12, 1))
    _incident(w, "two-only", "C", dt.date(2026, 3, 1), category="Criminal damage and arson")
    db.commit()
    yield w
    db.close()
    engine.dispose()


def _stored(w, app_id: int) -> CaseReviewApplication:
    w.db.expire_all()
    return w.db.get(CaseReviewApplication, app_id)


@pytest.mark.parametrize("viewer, readable", [("caseworker.P", 1), ("caseworker.C", 1), ("caseworker.F", 1),
                                              ("coordinator.C", 1)])
def test_reports_to_three_bodies_meet_the_threshold_the_caller_sees_their_own(world, viewer, readable):
    w = world
    out, rows = reads(w.db, lambda: powers.apply_case_review(w.db, w.user(viewer), applicant_ref="three-bodies",
                                                             received_on=RECEIVED))
    stored = _stored(w, out["id"])
    assert (stored.reports_in_window, stored.threshold_met, stored.decision) == (3, True, "pending")
    assert (out["reports_in_window"], out["threshold_met"], out["decision"]) == (readable, True, "pending")
    assert [(r.action, r.entity, ids_of(r)) for r in rows] == [("create", "case_review", [out["id"]])]


def test_two_reports_in_the_window_do_not_meet_it(world):
    w = world
    out = powers.apply_case_review(w.db, w.user("caseworker.P"), applicant_ref="two-only", received_on=RECEIVED)
    stored = _stored(w, out["id"])
    assert (stored.reports_in_window, stored.threshold_met, stored.decision) == (2, False, "threshold_not_met")
    assert out["reports_in_window"] == 2   # both are the police's own
    # the council caseworker reads neither police report
    out = powers.apply_case_review(w.db, w.user("caseworker.C"), applicant_ref="two-only", received_on=RECEIVED)
    assert (out["reports_in_window"], out["threshold_met"]) == (0, False)


def test_the_decision_tells_the_coordinator_only_their_agencys_reports(world):
    w = world
    app_ = powers.apply_case_review(w.db, w.user("caseworker.P"), applicant_ref="three-bodies", received_on=RECEIVED)
    out = powers.decide_case_review(w.db, w.user("coordinator.C"), app_["id"], recommendations="mediation",
                                    on=dt.date(2026, 6, 30))
    assert (out["decision"], out["recommendations"], out["decided_on"]) == ("review_held", "mediation", dt.date(2026, 6, 30))
    assert out["reports_in_window"] == 1
    assert _stored(w, app_["id"]).reports_in_window == 3


def test_a_review_on_a_case_out_of_sight_cannot_be_decided(world):
    """An application on a locked council case: the police coordinator (not named on it) gets a 404
    and the row stays pending; the council caseworker who owns the case may not decide (coordinators
    only); a coordinator named on the case may."""
    from saferhub.hub.errors import Forbidden, NotFound
    from saferhub.hub.models import CaseMember

    from .service_world import add_case

    w = world
    cid = add_case(w, locked=True, lead="C", owner="caseworker.C")
    w.db.commit()
    app_ = powers.apply_case_review(w.db, w.user("caseworker.C"), applicant_ref="three-bodies",
                                    received_on=RECEIVED, case_id=cid)
    w.db.commit()
    with pytest.raises(NotFound, match=f"no Case Review application {app_['id']}"):
        powers.decide_case_review(w.db, w.user("coordinator.P"), app_["id"], recommendations="x", on=RECEIVED)
    w.db.rollback()
    assert (_stored(w, app_["id"]).decision, _stored(w, app_["id"]).recommendations) == ("pending", None)
    with pytest.raises(Forbidden):
        powers.decide_case_review(w.db, w.user("caseworker.C"), app_["id"], recommendations="x", on=RECEIVED)
    w.db.rollback()
    w.db.add(CaseMember(case_id=cid, user_id=w.users["coordinator.P"]))
    w.db.commit()
    out = powers.decide_case_review(w.db, w.user("coordinator.P"), app_["id"], recommendations="x", on=RECEIVED)
    assert out["decision"] == "review_held"


def test_a_decision_without_a_date_is_dated_today(world):
    w = world
    app_ = powers.apply_case_review(w.db, w.user("caseworker.P"), applicant_ref="three-bodies", received_on=RECEIVED)
    before = dt.datetime.now(dt.timezone.utc).date()
    out = powers.decide_case_review(w.db, w.user("coordinator.P"), app_["id"], recommendations=None)
    after = dt.datetime.now(dt.timezone.utc).date()
    assert out["decided_on"] in (before, after) and out["decided_on"] != RECEIVED
    assert _stored(w, app_["id"]).decided_on == out["decided_on"]
