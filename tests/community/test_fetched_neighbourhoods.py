"""police.uk neighbourhoods: `saferhub fetch` keeps the force's neighbourhoods (id, name,
boundary) in the store, and the public pages use them instead of wards when they are there."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/fake_police_api.py

from fake_police_api import FakePoliceAPI, world  # noqa: E402

from saferhub.data.boundaries import neighbourhoods_path  # noqa: E402
from saferhub.data.fetch import fetch  # noqa: E402
from saferhub.data.policeapi import PoliceAPI  # noqa: E402

from .conftest import GEO  # noqa: E402


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
