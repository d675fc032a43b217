"""Patrol fixtures: a small real store (three Merseyside months) and its patrol areas."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
MERSEYSIDE = SHARED / "police-uk" / "merseyside"
GEO = SHARED / "geo"
MONTHS = ("2020-01", "2020-02", "2020-03", "2020-04")


@pytest.fixture(scope="session")
def patrol_store(tmp_path_factory) -> Path:
    """Four real Merseyside street months (Jan-Apr 2020) in a fresh store; tests only read it."""
    from saferhub.data.ingest import ingest_paths

    root = tmp_path_factory.mktemp("patrol-store")
    ingest_paths([MERSEYSIDE / f"{m}-merseyside-street.csv.gz" for m in MONTHS], store=root)
    return root


@pytest.fixture(scope="session")
def areas_result(patrol_store):
    from saferhub.patrol import service

    return service.make_areas(patrol_store, force="merseyside", months="2020-01:2020-03", geo_dir=GEO)


@pytest.fixture(scope="session")
def areas_file(areas_result, tmp_path_factory) -> Path:
    from saferhub.patrol import service

    path = tmp_path_factory.mktemp("areas") / "areas.gpkg"
    service.write_areas(areas_result.areas, path)
    return path


def schedule_for(areas, days=("2026-03-28", "2026-03-29", "2026-03-30"), per_team=4):
    """A hand-made schedule: two teams, four 15-minute visits a day 2 hours apart, over a
    clock-change weekend (BST starts 2026-03-29)."""
    rows = []
    ids = list(areas["area_id"])
    for day in days:
        for t, team in enumerate(("T1", "T2")):
            for j in range(per_team):
                start = pd.Timestamp(f"{day} 10:00", tz="Europe/London") + pd.Timedelta(hours=2 * j)
                rows.append((team, day, ids[(t + 2 * j) % len(ids)], start, start + pd.Timedelta(minutes=15)))
    return pd.DataFrame(rows, columns=["team", "date", "area_id", "planned_start", "planned_end"])
