"""Every pending referral appears on its receiving agency's briefing, in exactly one bucket by its
age: new (under 24 hours), waiting (1 to 5 days), overdue (more than 5 days). Issue 20: a referral
sent 2 to 5 days ago used to vanish from the briefing while it sat in the agency's inbox."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from saferhub.briefing import assemble, render
from saferhub.hub.models import Referral, User
from saferhub.hub.services import briefing as hub_briefing

AGES = {"23h": (dt.timedelta(hours=23), "new", "23 hours"),
        "25h": (dt.timedelta(hours=25), "waiting", "1 day 1 hour"),
        "4d23h": (dt.timedelta(days=4, hours=23), "waiting", "4 days 23 hours"),
        "5d1h": (dt.timedelta(days=5, hours=1), "overdue", "5 days 1 hour")}


@pytest.mark.parametrize("age,bucket", [(dt.timedelta(0), "new"), (dt.timedelta(hours=24), "waiting"),
                                        (dt.timedelta(days=5), "waiting"), (dt.timedelta(days=5, seconds=1), "overdue")])
def test_bucket_edges(age, bucket):
    assert hub_briefing.referral_bucket(age) == bucket


def test_each_pending_referral_is_on_the_briefing_with_its_age(hub, partnership):
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    c, h = hub.client, hub.headers("caseworker.police@test.invalid")
    r = c.post("/cases", headers=h, json={"kind": "repeat_location", "title": "Ages", "risk": "standard"})
    assert r.status_code == 201, r.text
    cid, made = r.json()["id"], {}
    for tag in [*AGES, "answered"]:
        r = c.post(f"/cases/{cid}/referrals", headers=h, json={
            "to_agency_id": partnership["fire"], "kind": "early_help", "reason": f"referral {tag}",
            "legal_gateway": "Crime and Disorder Act 1998 s115"})
        assert r.status_code == 201, r.text
        made[tag] = r.json()["id"]
    with hub.sessions() as s:
        for tag, (age, _, _) in AGES.items():
            s.execute(update(Referral).where(Referral.id == made[tag]).values(created_at=now - age))
        s.execute(update(Referral).where(Referral.id == made["answered"])
                  .values(status="accepted", created_at=now - dt.timedelta(days=3)))
        s.commit()
        fire = s.scalar(select(User).where(User.email == "caseworker.fire@test.invalid"))
        b = assemble.assemble(s, fire, "referral ages test", now=now)
        got = {"new": b.referrals_new, "waiting": b.referrals_waiting, "overdue": b.referrals_overdue}
        where = {r["id"]: bucket for bucket, rows in got.items() for r in rows}
        assert where == {made[tag]: bucket for tag, (_, bucket, _) in AGES.items()}
        html = render.standalone_html(b)
        for tag, (age, _, words) in AGES.items():
            row = next(r for rows in got.values() for r in rows if r["id"] == made[tag])
            assert row["age_hours"] == pytest.approx(age.total_seconds() / 3600)
            assert f"R{made[tag]}" in html
            assert words in html
        assert f"R{made['answered']}<" not in html
        # the sending agency's briefing lists none of them (they are Fire's to answer)
        police = s.scalar(select(User).where(User.email == "caseworker.police@test.invalid"))
        bp = assemble.assemble(s, police, "referral ages test", now=now)
        assert bp.referrals_new == bp.referrals_waiting == bp.referrals_overdue == []
        s.rollback()
