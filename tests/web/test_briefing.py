"""The daily briefing read model: right figures, right people, every personal-data read logged."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3

import pandas as pd
import pytest
from sqlalchemy import select

from saferhub.briefing import assemble, render
from saferhub.hub import demo
from saferhub.data.products import read_product
from saferhub.hub import audit
from saferhub.hub.db import make_engine, session_factory
from saferhub.hub.models import User

pytestmark = pytest.mark.slow


@pytest.fixture
def db(demo_hub):
    engine = make_engine(demo_hub["url"])
    s = session_factory(engine)()
    yield s
    s.rollback()
    s.close()
    engine.dispose()


def _user(db, email):
    return db.scalar(select(User).where(User.email == email))


def _raw(demo_hub, sql, *args) -> pd.DataFrame:
    """An independent read of the SQLite file (no SQLAlchemy, no saferhub)."""
    with sqlite3.connect(demo_hub["url"].removeprefix("sqlite:///")) as con:
        return pd.read_sql_query(sql, con, params=args)


READABLE_SQL = """
SELECT i.id, i.occurred_at, i.source, i.lsoa, i.location_text FROM incidents i
WHERE i.occurred_at IS NOT NULL AND (i.agency_id = :agency OR EXISTS (
  SELECT 1 FROM case_incidents ci JOIN cases c ON c.id = ci.case_id WHERE ci.incident_id = i.id AND (
    c.owner_id = :user OR EXISTS (SELECT 1 FROM case_members m WHERE m.case_id = c.id AND m.user_id = :user)
    OR (c.locked = 0 AND (:role = 'coordinator' OR EXISTS (
        SELECT 1 FROM case_agencies ca WHERE ca.case_id = c.id AND ca.agency_id = :agency))))))"""


def _readable_recent(demo_hub, u) -> pd.DataFrame:
    """The incident rule, written again in SQL: the user's agency's incidents, or those on a case
    the user reads in full (named on it, or unlocked and (coordinator or their agency works it))."""
    with sqlite3.connect(demo_hub["url"].removeprefix("sqlite:///")) as con:
        inc = pd.read_sql_query(READABLE_SQL, con, params={"agency": u.agency_id, "user": u.id, "role": u.role})
    at = pd.to_datetime(inc["occurred_at"], utc=True, format="ISO8601")
    return inc[at >= pd.Timestamp(demo_hub["now"]) - pd.Timedelta(hours=24)]


def test_last_24_hours_counts_match_an_independent_count(db, demo_hub, published, web_store):
    now = demo_hub["now"]
    u = _user(db, "coordinator.merseyside-police@demo.saferhub.invalid")
    b = assemble.assemble(db, u, "morning briefing test", now=now, store=web_store)
    everything = _raw(demo_hub, "SELECT occurred_at FROM incidents WHERE occurred_at IS NOT NULL")
    at = pd.to_datetime(everything["occurred_at"], utc=True, format="ISO8601")
    assert b.incidents_recorded == int((at >= pd.Timestamp(now) - pd.Timedelta(hours=24)).sum())
    recent = _readable_recent(demo_hub, u)
    # the police coordinator reads the police's own reports and those on the unlocked demo cases
    assert b.incidents_recorded > b.incidents_total == len(recent) >= 5
    assert b.incidents_simulated == int((recent["source"] == "simulated").sum()) == len(recent)
    per_place = recent.groupby(["lsoa", "location_text"]).size().sort_values(ascending=False)
    assert [a["total"] for a in b.incidents] == per_place.head(assemble.AREA_ROWS).tolist()
    assert sum(a["total"] for a in b.incidents) + b.incidents_other_total == len(recent)
    assert b.incidents_other_places == max(0, len(per_place) - assemble.AREA_ROWS)
    assert b.incidents[0]["total"] == per_place.iloc[0]
    assert all(re.fullmatch(r"(Liverpool|Wirral|Knowsley|Sefton|St\. Helens) \d{3}[A-Z]", a["lsoa"]) for a in b.incidents)
    # hotspots come from the published layer, hottest first
    assert b.hotspots and b.hotspots[0]["gi_bin"] == 3 and all(h["count"] > 0 for h in b.hotspots)
    keys = [(-h["gi_bin"], -h["count"]) for h in b.hotspots]
    assert keys == sorted(keys)
    assert b.dosage is None  # no patrol plan published
    # the demo's casework: one overdue dispersal clock, high-risk reviews, a Case Review threshold met
    assert [p["power"] for p in b.powers] == ["dispersal"] and b.powers[0]["hours_left"] == pytest.approx(8, abs=0.1)
    assert {c["overdue"] for c in b.reviews_due} == {True, False}
    assert b.case_reviews and b.case_reviews[0]["reports_in_window"] == 4


def test_each_agency_sees_only_its_own_referrals_and_reads_are_logged(db, demo_hub, web_store):
    now = demo_hub["now"]
    youth = _user(db, "caseworker.youth-justice@demo.saferhub.invalid")
    before = int(_raw(demo_hub, "SELECT max(seq) AS n FROM audit_events")["n"][0])
    b = assemble.assemble(db, youth, "youth justice morning check", now=now, store=web_store)
    db.flush()
    assert b.referrals_new and all(r["to_agency_id"] == youth.agency_id for r in b.referrals_new)
    early = _user(db, "caseworker.early-help@demo.saferhub.invalid")
    b2 = assemble.assemble(db, early, "early help morning check", now=now, store=web_store)
    assert [r["kind"] for r in b2.referrals_overdue] == ["early_help"]  # waiting 7 days
    assert not b2.referrals_new
    db.commit()
    logged = _raw(demo_hub, "SELECT user_id, entity, purpose FROM audit_events WHERE seq > ?", before)
    mine = logged[logged["user_id"] == youth.id]
    assert set(mine["purpose"]) == {"youth justice morning check"}
    assert {"referral", "action", "case", "case_review", "asb_power"} <= set(mine["entity"])


def test_analyst_gets_aggregates_only_without_a_purpose(db, demo_hub, web_store):
    analyst = _user(db, "analyst.merseyside-police@demo.saferhub.invalid")
    b = assemble.assemble(db, analyst, None, now=demo_hub["now"], store=web_store)
    assert not b.sees_cases and b.incidents_recorded > 0 and b.incidents_total == 0 and b.incidents == []
    assert b.referrals_new == b.reviews_due == b.powers == []


def test_case_roles_need_a_purpose(db, demo_hub, web_store):
    u = _user(db, "caseworker.liverpool-cc@demo.saferhub.invalid")
    with pytest.raises(audit.MissingPurpose):
        assemble.assemble(db, u, "", now=demo_hub["now"], store=web_store)


def test_pdf_is_a_titled_pdf_and_never_fetches(db, demo_hub, web_store):
    u = _user(db, "caseworker.liverpool-cc@demo.saferhub.invalid")
    b = assemble.assemble(db, u, "printing the pack", now=demo_hub["now"], store=web_store)
    html = render.standalone_html(b)
    assert "<link" not in html and "src=" not in html and "&#34;" not in html.split("</style>")[0]
    pdf = render.pdf_bytes(b)
    from tests.web.test_pages_browser import _pdf_title

    assert pdf.startswith(b"%PDF") and _pdf_title(pdf) == render.title_for(b)


def test_simulation_is_idempotent_and_labelled(db, demo_hub, web_store):
    assert demo.simulate(db, now=demo_hub["now"])["incidents"] == 0
    sim = _raw(demo_hub, "SELECT location_text, month, occurred_at FROM incidents WHERE source = 'simulated'")
    assert len(sim) == demo_hub["simulated"]["incidents"] == 244
    assert sim["location_text"].str.startswith("Simulated: ").all()
    # each report comes from the council of the district it is in (or the fire service)
    names = read_product("lsoa-names", web_store)
    rep = _raw(demo_hub, "SELECT i.lsoa, i.category, a.code FROM incidents i JOIN agencies a ON a.id = i.agency_id "
                         "WHERE i.source = 'simulated'")
    district = rep["lsoa"].map(names).str.rsplit(" ", n=1).str[0]
    want = district.map({"Liverpool": "liverpool-cc", "Wirral": "wirral-council", "Knowsley": "knowsley-council",
                         "Sefton": "sefton-council", "St. Helens": "st-helens-council"}).fillna("merseyside-police")
    want[rep["category"] == "Deliberate fire"] = "merseyside-fire"
    assert (rep["code"] == want).all() and rep["code"].nunique() >= 4
    months = pd.to_datetime(sim["occurred_at"], utc=True).dt.strftime("%Y-%m-01")
    assert (months == sim["month"]).all()
    newest = pd.to_datetime(sim["occurred_at"], utc=True).max()
    assert newest <= pd.Timestamp(demo_hub["now"]) and newest >= pd.Timestamp(demo_hub["now"]) - dt.timedelta(days=1)
