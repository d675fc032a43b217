"""police.uk neighbourhoods: `saferhub fetch` keeps the force's neighbourhoods (id, name,
boundary, team, priorities, events) in the store, and the public pages use them instead of wards
when they are there."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/fake_police_api.py

from fake_police_api import FakePoliceAPI, details_for, world  # noqa: E402

from saferhub.data.boundaries import neighbourhoods_path  # noqa: E402
from saferhub.data.fetch import fetch  # noqa: E402
from saferhub.data.policeapi import PoliceAPI  # noqa: E402

from .conftest import GEO, TODAY  # noqa: E402


def test_fetch_keeps_neighbourhoods_and_the_pages_use_them(tmp_path):
    from saferhub.community import service

    hoods, crimes, expected = world(("2023-01", "2023-02"))
    with FakePoliceAPI(hoods, crimes, rate_limit=None) as base, \
            PoliceAPI(base, rate=500.0, backoff=0.01, max_backoff=0.05) as api:
        fetch("merseyside", "2023-01:2023-02", tmp_path, api=api)
    path = neighbourhoods_path(tmp_path, "merseyside")
    doc = json.loads(path.read_text())
    assert sorted(f["properties"]["id"] for f in doc["features"]) == sorted(hoods["merseyside"])
    assert all(f["properties"]["name"].startswith("Neighbourhood ") for f in doc["features"])
    model = service.build_model(tmp_path, "merseyside", GEO)
    names = {w["name"] for w in model["wards"]}
    assert names == {f"Neighbourhood {k}" for k in hoods["merseyside"]}
    total = sum((w["crime"]["year"] or 0) + (w["asb"]["year"] or 0) for w in model["wards"])
    assert total > 0
    wards = service.build_model(tmp_path, "merseyside", GEO, use_fetched=False)
    assert len(wards["wards"]) == 111


def test_pages_show_the_police_uk_team_priorities_and_upcoming_events(tmp_path, monkeypatch):
    """Names and ranks (never an officer's own e-mail or phone), priorities with their action and
    dates, only events still to come on the page's date; hostile text escaped; no inline script or
    style; the same on the live page and in the static export."""
    from fastapi.testclient import TestClient

    from saferhub.api import create_app
    from saferhub.community import render, service

    hoods, crimes, _ = world(("2023-01",))
    hostile = details_for("D")
    hostile["priorities"] = [{"issue": "Fights &lt;b&gt;outside&lt;/b&gt; <script>alert(1)</script>the pub",
                              "issue-date": "2026-11-20T00:00:00", "action": "&lt;script&gt;x()&lt;/script&gt; Dispersal order",
                              "action-date": "2026-11-27T00:00:00"}]
    hostile["people"][0]["name"] = "<img src=x onerror=alert(2)>Rob Kerr"
    details = {"merseyside": {k: details_for(k) for k in "ABC"} | {"D": hostile}}
    with FakePoliceAPI(hoods, crimes, rate_limit=None, details=details) as base, \
            PoliceAPI(base, rate=500.0, backoff=0.01, max_backoff=0.05) as api:
        fetch("merseyside", "2023-01", tmp_path, api=api)
    site = tmp_path / "site"
    service.publish_neighbourhoods(tmp_path, "merseyside", GEO, out=site, today=TODAY)
    model = service.public_model(tmp_path)
    wa = next(w for w in model["wards"] if w["name"] == "Neighbourhood A")
    exported = (site / f"{wa['slug']}.html").read_text()
    live_links = render.Links(static=False)
    after = render.ward_html(model, wa, live_links, today=dt.date(2026, 12, 21))
    monkeypatch.setenv("SAFERHUB_STORE", str(tmp_path))
    with TestClient(create_app(db=f"sqlite:///{tmp_path / 'hub.sqlite3'}", secret="t")) as c:
        r = c.get(f"/public/{wa['slug']}")
    assert r.status_code == 200
    live = r.text
    for page in (exported, live):
        assert "Your local team" in page and "Local priorities" in page and "Upcoming events" in page
        assert "<li>Sarah Quayle-A, Sergeant</li>" in page and "<li>Tom Ashby-A, PCSO</li>" in page
        assert "Sarah leads the team" not in page          # name and rank only
        assert "Telephone: 101" in page and "E-mail: a.team@merseyside.police.invalid" in page
        assert "Off-road bikes on Dale Street at night." in page
        assert "Set on 1 Sep 2026. <strong>Action taken:</strong> Patrols and two bikes seized. (15 Oct 2026)" in page
        assert "<strong>Action taken:</strong> none recorded yet" in page
        assert "Beat surgery" in page and "Sun 20 Dec 2026, 10:00 to 12:00, Central Library, William Brown Street" in page
        assert "Bike marking" not in page                   # 2 Nov 2026 is over on 7 Dec 2026
        assert "sarah.quayle" not in page and "0151 777" not in page
    assert "Beat surgery" not in after and "police.uk lists no events after 21 Dec 2026" in after
    wd = next(w for w in model["wards"] if w["name"] == "Neighbourhood D")
    page_d = (site / f"{wd['slug']}.html").read_text()
    assert "Fights &lt;b&gt;outside&lt;/b&gt; the pub" in page_d       # decoded to text, then escaped
    assert "&lt;script&gt;x()&lt;/script&gt; Dispersal order" in page_d
    assert "<li>Rob Kerr, Sergeant</li>" in page_d
    for page in [p.read_text() for p in site.glob("*.html")] + [live]:
        assert "alert" not in page and "onerror" not in page
        assert not re.search(r"<script|<style|\sstyle=|\son\w+=", page, re.I)
