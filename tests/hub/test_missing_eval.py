"""Did it work: children with a plan against matched children without one, on constructed
episodes with a known effect (and with none). The estimate is checked against the closed form of
a two-period Poisson model with unit effects: (T_after / T_before) / (C_after / C_before)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from saferhub.evaluate.missing import plan_effect
from saferhub.hub.db import make_engine, session_factory
from saferhub.hub.models import Agency, Plan, User
from saferhub.hub.services import missing, missing_figures

START = dt.date(2024, 7, 1)


def _world(s, effect: float, seed: int):
    rng = np.random.default_rng(seed)
    police = Agency(code="police", name="Police", kind="police")
    council = Agency(code="council", name="Council", kind="council")
    s.add_all([police, council])
    s.flush()
    cop = User(email="cop@test.invalid", name="Cop", agency_id=police.id, role="caseworker", password_hash="x")
    other = User(email="cw@test.invalid", name="Cw", agency_id=council.id, role="caseworker", password_hash="x")
    s.add_all([cop, other])
    s.flush()
    homes = [missing.create_home(s, cop, kind=k, name=f"Home {k}", places=6, council_agency_id=council.id)["id"]
             for k in ("care_home", "foster_home")]
    treated = []
    for i in range(48):
        mp = missing.create_missing_person(s, cop, given_name="Test", family_name=f"child {i}", home_id=homes[i % 2],
                                           council_agency_id=council.id, in_care=True)
        planned = i < 8
        base = rng.gamma(4, 0.5)  # 2 a month on average, varying between children
        for m in range(12):
            month = missing_figures.add_months(START, m - 6)
            rate = base * (effect if planned and m >= 6 else 1.0)
            for _ in range(rng.poisson(rate)):
                at = dt.datetime(month.year, month.month, int(rng.integers(1, 28)), 21, tzinfo=dt.timezone.utc)
                missing.record_episode(s, cop, mp["id"], home_id=homes[i % 2], reported_at=at)
        if planned:
            s.add(Plan(case_id=mp["case_id"], title="PCSO relationship plan", lead_agency_id=police.id,
                       owner_id=cop.id, stage="response", objective="fewer episodes", scanning={}, analysis={},
                       responses=[], assessment={}, areas=[]))
            treated.append(mp["id"])
    s.flush()
    return cop, other, treated


@pytest.mark.parametrize("effect", [0.4, 1.0])
def test_plan_effect_finds_a_known_effect_and_no_false_one(db_url, effect):
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        cop, other, treated = _world(s, effect, seed=11)
        got = plan_effect(s, cop, "evaluating the PCSO plans", start=START)
        t, c = got["treated"], got["controls"]
        assert t["units"] == 8 and c["units"] == 24
        closed = (t["after"] / t["before"]) / (c["after"] / c["before"])
        assert got["rate_ratio"] == pytest.approx(closed, rel=1e-6)
        if effect < 1:
            assert got["high"] < 1 and got["low"] < 0.4 < got["high"]
        else:
            assert got["low"] < 1 < got["high"]
        # the same answer when the treated children are named explicitly
        assert plan_effect(s, cop, "evaluating the PCSO plans", start=START, treated=treated)["rate_ratio"] == \
            pytest.approx(got["rate_ratio"])
        # partners who are not police or the council get no counts
        fire = Agency(code="fire", name="Fire", kind="fire")
        s.add(fire)
        s.flush()
        ff = User(email="ff@test.invalid", name="Ff", agency_id=fire.id, role="caseworker", password_hash="x")
        s.add(ff)
        s.flush()
        from saferhub.hub.errors import Forbidden

        with pytest.raises(Forbidden):
            plan_effect(s, ff, "evaluating the PCSO plans", start=START)
    engine.dispose()
