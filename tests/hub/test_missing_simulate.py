"""The simulated-episode generator: labelled simulated wherever a person sees it, deterministic for a
seed, idempotent, realistic in the shares the seed quotes, and it feeds the rules; plus its CLI verb."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from saferhub.hub import seed
from saferhub.hub.db import make_engine, session_factory
from saferhub.hub.missing_simulate import simulate_missing
from saferhub.hub.models import Agency, MissingAlert, MissingEpisode, MissingHome, MissingPerson, Person, User
from saferhub.hub.services import missing_figures

NOW = dt.datetime(2024, 6, 30, 9, 0, tzinfo=dt.timezone.utc)


def _events() -> pd.DataFrame:
    """A small ASB frame in seed_demo's shape: 15 map points in Liverpool and Wirral."""
    rng = np.random.default_rng(1)
    rows = []
    for p in range(15):
        district = "Liverpool" if p < 10 else "Wirral"
        lon, lat = -2.98 + p * 0.004, 53.40 + p * 0.002
        for i in range(30 - p):
            rows.append({"event_id": f"e{p}-{i}", "month": dt.date(2024, 1 + int(rng.integers(0, 5)), 1),
                         "category": "Anti-social behaviour", "lon": lon, "lat": lat, "x": 334000.0 + p * 270,
                         "y": 390000.0 + p * 220, "lsoa": f"E0100{p:04d}", "lsoa_name": f"{district} {p:03d}A",
                         "location": f"On or near Street {p}"})
    return pd.DataFrame(rows)


@pytest.fixture
def demo(db_url):
    engine = make_engine(db_url)
    s = session_factory(engine)()
    seed.seed_demo(s, _events(), n_cases=12)
    s.commit()
    yield s
    s.close()
    engine.dispose()


def test_generator_is_labelled_realistic_and_feeds_the_rules(demo):
    s = demo
    got = simulate_missing(s, now=NOW, days=30, seed=25)
    s.commit()
    assert got["episodes"] > 20 and got["people"] == s.scalar(select(func.count()).select_from(MissingPerson))
    # labelled simulated wherever a person sees it
    assert s.scalar(select(func.count()).select_from(MissingEpisode).where(MissingEpisode.simulated.is_(False))) == 0
    assert all(n.startswith("Simulated") for n in s.scalars(select(MissingHome.name)))
    assert all(g == "Simulated" for g in s.scalars(select(Person.given_name).join(
        MissingPerson, MissingPerson.person_id == Person.id)))
    assert {len(u["password"]) > 12 for u in got["users"]} == {True} and len(got["users"]) == 2
    # episodes fall in the window and returns come after reports
    eps = s.scalars(select(MissingEpisode)).all()
    first = min(e.reported_at for e in eps).replace(tzinfo=dt.timezone.utc)
    assert NOW - dt.timedelta(days=30) <= first
    assert all(e.returned_at is None or e.returned_at >= e.reported_at for e in eps)
    # the shares come out near the seed's (73% under 18, about half from care)
    analyst = s.scalar(select(User).join(Agency, Agency.id == User.agency_id)
                       .where(User.role == "analyst", Agency.code == "merseyside-police"))
    shares = missing_figures.partnership_shares(s, analyst, until=NOW)
    assert 55 <= shares["under_18"]["percent"] <= 90, shares
    assert 30 <= shares["from_care"]["percent"] <= 70, shares
    assert shares["includes_simulated"] is True
    # a heavy-tailed month has repeat episodes: the rules raised alerts with referrals
    assert got["alerts"] == s.scalar(select(func.count()).select_from(MissingAlert)) > 0
    assert got["referrals"] > 0
    again = simulate_missing(s, now=NOW, days=30, seed=25)
    assert again["episodes"] == 0 and again["note"] == "already simulated"


def test_same_seed_same_episodes(tmp_path, sqlite_template):
    import shutil

    out = []
    for i in range(2):
        path = tmp_path / f"hub{i}.sqlite3"
        shutil.copy(sqlite_template, path)
        engine = make_engine(f"sqlite:///{path}")
        with session_factory(engine)() as s:
            seed.seed_demo(s, _events(), n_cases=12)
            simulate_missing(s, now=NOW, days=30, seed=7)
            out.append(s.execute(select(MissingEpisode.missing_person_id, MissingEpisode.reported_at,
                                        MissingEpisode.returned_at, MissingEpisode.risk)
                                 .order_by(MissingEpisode.id)).all())
        engine.dispose()
    assert out[0] == out[1] and len(out[0]) > 10


def test_cli_verb(tmp_path, sqlite_template):
    import shutil

    from saferhub.cli import app

    path = tmp_path / "hub.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    with session_factory(engine)() as s:
        seed.seed_demo(s, _events(), n_cases=12)
        s.commit()
    engine.dispose()
    pw = tmp_path / "users.tsv"
    r = CliRunner().invoke(app, ["hub", "simulate-missing", "--db", str(path), "--days", "20", "--passwords-file", str(pw)])
    assert r.exit_code == 0, r.output
    assert "SIMULATED missing episodes" in r.output and pw.stat().st_mode & 0o077 == 0
    assert len(pw.read_text().splitlines()) == 2
    r = CliRunner().invoke(app, ["hub", "simulate-missing", "--db", str(path)])
    assert r.exit_code == 0 and "nothing added" in r.output
