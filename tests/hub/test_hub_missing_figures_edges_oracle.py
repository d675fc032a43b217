"""What the first (sampled) mutation run of test_hub_missing_figures_oracle.py left unchecked in
hub/services/missing_alerts.py and missing_figures.py (issue 26): refusal messages, a council with
no homes or children of its own, a re-run
of the rules with one new hit after the stored ones. Same world (tests/hub/missing_world.py)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from saferhub.hub.errors import Forbidden, HubError
from saferhub.hub.models import Agency, MissingAlert, MissingEpisode, MissingFound, MissingPerson, Plan, User
from saferhub.hub.services import missing_alerts as alerts
from saferhub.hub.services import missing_figures as figures

from . import missing_world as mw
from .service_world import NOW, PURPOSE, _pw, audit_rows, cached_world, refused

H = dt.timedelta(hours=1)


@pytest.fixture
def world(tmp_path):
    engine, w = cached_world(tmp_path, mw.build)
    yield w
    w.db.close()
    engine.dispose()


def test_figures_say_why_not(world):
    w = world
    count = lambda viewer, unit="home", months=1: figures.monthly_counts(  # noqa: E731
        w.db, w.user(viewer), PURPOSE, unit=unit, first=dt.date(2026, 1, 1), months=months)
    for viewer in ("coordinator.O", "caseworker.E", "analyst.P"):
        refused(w, lambda: count(viewer), Forbidden, "evaluations of missing episodes are for the police and councils")
    refused(w, lambda: count("caseworker.C", "people"), HubError, "unit is person or home, and months 1 to 120")
    refused(w, lambda: count("caseworker.C", months=0), HubError, "unit is person or home, and months 1 to 120")
    refused(w, lambda: figures.found_places(w.db, w.user("caseworker.C"), PURPOSE, now=NOW),
            Forbidden, "where missing people were found is for the police only")
    with pytest.raises(Forbidden, match="^this needs the role coordinator or analyst; you are caseworker$"):
        figures.partnership_shares(w.db, w.user("caseworker.P"), until=NOW)


def test_a_council_with_no_homes_or_children_counts_nothing(world):
    w = world
    a = Agency(code="Z", name="Agency Z", kind="council")
    w.db.add(a)
    w.db.flush()
    u = User(email="z@x.test", name="Z", agency_id=a.id, role="coordinator", password_hash=_pw())
    w.db.add(u)
    w.db.commit()
    for unit in ("home", "person"):
        got = figures.monthly_counts(w.db, u, PURPOSE, unit=unit, first=dt.date(2025, 11, 1), months=14)
        assert (got["ids"], got["counts"], got["home_kinds"], got["planned"]) == ([], [], [], [])
        assert len(got["months"]) == 14


def test_a_rerun_stores_only_the_new_hit_after_the_stored_ones(world):
    w, people, homes = world, world.facts["people"], world.facts["homes"]
    first = alerts.run_missing_rules(w.db, None, now=NOW)
    assert first["new_alerts"] == first["hits"] > 0
    # M1 back 80 hours ago with no interview: overdue 8 hours ago, after every stored hit
    e = MissingEpisode(missing_person_id=people["M1"], home_id=homes["H1"], reported_at=NOW - 90 * H,
                       returned_at=NOW - 80 * H, created_by_agency_id=w.agencies["P"])
    w.db.add(e)
    w.db.commit()
    again = alerts.run_missing_rules(w.db, None, now=NOW)
    assert (again["hits"], again["new_alerts"], again["referrals"]) == (first["hits"] + 1, 1, 1)
    new = w.db.scalar(select(MissingAlert).where(MissingAlert.key == f"episode:{e.id}"))
    assert (new.rule, new.to_agency_id, new.from_agency_id) == (
        "return_interview_overdue_72h", w.agencies["E"], w.agencies["C"])
    referral_row = audit_rows(w.db)[-2]
    assert (referral_row.entity, json.loads(referral_row.detail)["rule"], referral_row.purpose[:33]) == (
        "referral", "return_interview_overdue_72h", "rule return_interview_overdue_72h")


def test_what_the_full_run_left_over(world):
    w, people = world, world.facts["people"]
    # a window holding only M3's family-home episode: nobody from care
    got = figures.partnership_shares(w.db, w.user("analyst.P"), since=NOW - 6 * 24 * H, until=NOW - 4 * 24 * H)
    assert (got["people"], got["from_care"]["count"], got["from_care"]["of"]) == (1, 0, 1)
    # one plan on a case is planned; an episode at the first instant after the last month is not counted
    w.db.add(Plan(case_id=w.db.get(MissingPerson, people["M2"]).case_id, title="one", lead_agency_id=w.agencies["P"],
                  owner_id=w.users["caseworker.P"]))
    w.db.commit()
    got = figures.monthly_counts(w.db, w.user("caseworker.P"), PURPOSE, unit="person", first=dt.date(2026, 10, 1),
                                 months=1)
    assert got["planned"][got["ids"].index(people["M2"])] is True
    assert got["counts"][got["ids"].index(people["M5"])] == [1]   # 31 Oct 23:59:59, not 1 Nov 00:00
    # found a year and half a day back: outside the default 365 days
    e = MissingEpisode(missing_person_id=people["M1"], home_id=w.facts["homes"]["H1"],
                       reported_at=NOW - 365.5 * 24 * H, created_by_agency_id=w.agencies["P"])
    w.db.add(e)
    w.db.flush()
    w.db.add(MissingFound(episode_id=e.id, uprn="400", place_key="uprn:400", at_home=False))
    w.db.commit()
    keys = lambda **kw: [p["place_key"] for p in figures.found_places(  # noqa: E731
        w.db, w.user("caseworker.P"), PURPOSE, now=NOW, **kw)]
    assert "uprn:400" not in keys() and "uprn:400" in keys(days=366)
