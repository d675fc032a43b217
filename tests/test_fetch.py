"""`saferhub fetch` against a local fake of the police.uk API (tests/fake_police_api.py).

Known answers come from the fake's synthetic world: which crimes lie inside the neighbourhoods
(including ones exactly on shared borders and cut lines), which are unlocated, BTP or malformed.
"""

from __future__ import annotations

import json
import sys
import time

import pyarrow.compute as pc
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from fake_police_api import FakePoliceAPI, details_for, world
from saferhub.data import boundaries as boundaries_mod
from saferhub.data.fetch import (ApiSource, api_rows_to_parsed, boundary_polygon, fetch, poly_param,
                                 split_polygon)
from saferhub.data.policeapi import PoliceAPI, TokenBucket, retry_after_seconds
from saferhub.data.schemas import EVENT_SCHEMA
from saferhub.data.store import Catalog, events, quarantine
from saferhub.errors import SaferhubError

MONTHS = ("2023-01", "2023-02")


@pytest.fixture(scope="module")
def synthetic():
    return world(MONTHS)


class Sleeps:
    """Injected sleep: records every requested pause, really sleeps only a sliver of it."""

    def __init__(self):
        self.asked: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        time.sleep(min(seconds, 0.01))


def fast_api(base: str, **kw) -> PoliceAPI:
    kw.setdefault("rate", 500.0)
    kw.setdefault("backoff", 0.01)
    kw.setdefault("max_backoff", 0.05)
    return PoliceAPI(base, **kw)


def fake(synthetic, **kw) -> FakePoliceAPI:
    hoods, crimes, _ = synthetic
    kw.setdefault("rate_limit", None)   # the fast client would trip it; the rate test turns it on
    return FakePoliceAPI(hoods, crimes, **kw)


def _v(value):
    """A cell from to_pandas() with nulls (None or NaN) as None."""
    return None if value is None or value != value else value


def _ids(store, month=None) -> list[str]:
    return events(store, months=month)["event_id"].to_pylist()


# ---------------------------------------------------------------------------------------------
# End to end against the fake


def test_fetch_stores_exactly_the_expected_crimes(synthetic, tmp_path):
    _, crimes, expected = synthetic
    server = fake(synthetic)
    with server as base, fast_api(base) as api:
        report = fetch("Merseyside Police", "2023-01:2023-02", tmp_path, api=api)
    assert report.force == "merseyside" and report.neighbourhoods == 4
    assert [m.month for m in report.fetched] == list(MONTHS)
    for m in report.fetched:
        exp = expected[m.month]
        ids = _ids(tmp_path, m.month)
        assert len(ids) == len(set(ids)) == exp["rows"]             # no duplicates across areas
        assert set(ids) == exp["event_ids"]                         # border and cut-line crimes included
        assert m.read == m.stored + m.quarantined
        assert (m.stored, m.quarantined, m.unlocated, m.other_force) == (exp["rows"], exp["quarantined"],
                                                                          exp["unlocated"], exp["btp"])
        assert m.splits >= 3 and m.queries > 4 + m.splits           # B needed recursive splits
    # the API answered 503 for the dense area, and the many-vertex boundary went as a POST
    assert any(r.status == 503 for r in server.log)
    assert any(r.method == "POST" and r.path.endswith("all-crime") for r in server.log)
    ev = events(tmp_path)
    assert pc.sum(pc.is_null(ev["x"])).as_py() == sum(e["unlocated"] for e in expected.values())
    q = quarantine(tmp_path).to_pandas()
    assert len(q) == 2 and set(q["reason"]) == {"unknown crime category 'unicorn-theft'"}
    assert set(q["line"]) == set().union(*[e["quarantined_ids"] for e in expected.values()])
    assert all(json.loads(r)["category"] == "unicorn-theft" for r in q["raw"])


def _liverpool_lsoa_holding(x, y) -> list:
    """Oracle: the Liverpool 2011 LSOA polygon holding each point (None: in none of them)."""
    import geopandas as gpd

    from conftest import GEO

    polys = gpd.read_file(f"/vsigzip/{GEO / 'liverpool_lsoa2011.geojson.gz'}").to_crs(27700)
    col = next(c for c in polys.columns if c.upper() == "LSOA11CD")
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=27700)
    hit = gpd.sjoin(pts, polys[[col, "geometry"]], predicate="within", how="left")
    hit = hit[~hit.index.duplicated()]
    return [None if not isinstance(v, str) else v for v in hit[col]]


def test_rows_are_normalised_like_csv_street_rows(synthetic, tmp_path, monkeypatch):
    _, crimes, _ = synthetic
    from conftest import GEO

    monkeypatch.setenv("SAFERHUB_GEO_DIR", str(GEO))
    with fake(synthetic) as base, fast_api(base) as api:
        fetch("merseyside", "2023-01", tmp_path, api=api)
    df = events(tmp_path).to_pandas().set_index("event_id")
    placed = _liverpool_lsoa_holding(df["x"].to_numpy(), df["y"].to_numpy())
    by_id = {c["persistent_id"] or f"api:{c['id']}": c for c in crimes["2023-01"]}
    checked = 0
    for eid, row in df.iterrows():
        c = by_id[eid]
        assert row["source"] == "street" and row["force"] == "merseyside"
        assert str(row["month"]) == "2023-01-01"
        assert row["category_slug"] == c["category"] and row["raw_category"] == c["category"]
        assert (c["category"] == "anti-social-behaviour") == eid.startswith("api:")
        assert _v(row["outcome"]) == ((c["outcome_status"] or {}).get("category"))
        assert _v(row["lsoa"]) is None and _v(row["lsoa_edition"]) is None
        # no LSOA code from the API: the 2011 LSOA holding the point (in Liverpool), null when unlocated
        inside = placed[df.index.get_loc(eid)]
        assert inside is None or row["lsoa11"] == inside
        assert (_v(row["lsoa11"]) is not None) == bool(c["location"])
        if c["location"]:
            assert row["lsoa11"].startswith("E01")
            assert row["location"] == c["location"]["street"]["name"]
            assert row["lon"] == pytest.approx(float(c["location"]["longitude"]))
            assert 333_000 < row["x"] < 341_000 and 386_000 < row["y"] < 393_000   # BNG, Liverpool
            checked += 1
        else:
            assert _v(row["location"]) is None and _v(row["x"]) is None
    assert checked > 200 and sum(p is not None for p in placed) > 200
    assert df.loc[df["category_slug"] == "violent-crime", "category"].eq("Violence and sexual offences").all()


def test_btp_fetch_keeps_only_btp_crimes(tmp_path):
    """The same map seen as British Transport Police: only BTP-located crimes (and BTP's own
    no-location ones) are BTP's; the force's are left out, mirroring the force fetch."""
    hoods, crimes, expected = world(("2023-01",), force="btp", dense=30)
    btp_ids = {c["persistent_id"] or f"api:{c['id']}" for c in crimes["2023-01"]
               if c["location_type"] == "BTP" or c.get("_force") == "btp"}
    with FakePoliceAPI(hoods, crimes, rate_limit=None) as base, fast_api(base) as api:
        report = fetch("British Transport Police", "2023-01", tmp_path, api=api)
    assert report.force == "btp"
    assert set(_ids(tmp_path)) == btp_ids and len(btp_ids) == 1 + expected["2023-01"]["unlocated"]
    assert report.fetched[0].other_force == expected["2023-01"]["rows"] - expected["2023-01"]["unlocated"] + 1


def test_border_margin_is_what_catches_border_crimes(synthetic, tmp_path, monkeypatch):
    """The fake counts points on a polygon's edge as outside (the harshest reading); without the
    ~10 cm margin the crimes on shared borders and cut lines are lost. Shows the main test bites."""
    monkeypatch.setattr(boundaries_mod, "EDGE_EPS", 0.0)
    _, _, expected = synthetic
    with fake(synthetic) as base, fast_api(base) as api:
        fetch("merseyside", "2023-01", tmp_path, api=api)
    missing = expected["2023-01"]["event_ids"] - set(_ids(tmp_path))
    assert 4 <= len(missing) <= 6


def test_rerun_adds_nothing_and_refresh_replaces_with_the_same(synthetic, tmp_path):
    with fake(synthetic) as base, fast_api(base) as api:
        fetch("merseyside", "2023-01:2023-02", tmp_path, api=api)
    catalog = (tmp_path / "catalog.json").read_text()
    rows = len(_ids(tmp_path))
    server = fake(synthetic)
    with server as base, fast_api(base) as api:
        again = fetch("merseyside", ("2023-01", "2023-02"), tmp_path, api=api)
    assert again.skipped == list(MONTHS) and again.fetched == [] and server.log == []
    assert (tmp_path / "catalog.json").read_text() == catalog
    with fake(synthetic) as base, fast_api(base) as api:
        refreshed = fetch("merseyside", "2023-01:2023-02", tmp_path, api=api, refresh=True)
    assert [m.change for m in refreshed.fetched] == ["unchanged", "unchanged"]
    assert len(_ids(tmp_path)) == rows


def test_a_failed_month_keeps_the_finished_ones_and_rerun_resumes(tmp_path):
    hoods, crimes, expected = world(("2023-01", "2023-02", "2023-03"), seed=11, dense=60)
    broken = FakePoliceAPI(hoods, crimes, rate_limit=None, broken_month="2023-03")
    with broken as base, fast_api(base, max_retries=2) as api:
        with pytest.raises(SaferhubError) as err:
            fetch("merseyside", "2023-01:2023-03", tmp_path, api=api)
    msg = str(err.value)
    assert "fetching 2023-03" in msg and "HTTP 500" in msg and "2023-01, 2023-02" in msg and "\n" not in msg
    assert sorted(Catalog.load(tmp_path).partitions) == ["events/merseyside/2023-01", "events/merseyside/2023-02"]
    fixed = FakePoliceAPI(hoods, crimes, rate_limit=None)
    with fixed as base, fast_api(base) as api:
        report = fetch("merseyside", "2023-01:2023-03", tmp_path, api=api)
    assert report.skipped == ["2023-01", "2023-02"] and [m.month for m in report.fetched] == ["2023-03"]
    street_dates = {r.path for r in fixed.log}
    assert "/api/crimes-street/all-crime" in street_dates
    assert set(_ids(tmp_path)) == set().union(*[e["event_ids"] for e in expected.values()])


def test_throttling_errors_and_timeouts_are_survived(synthetic, tmp_path):
    _, _, expected = synthetic
    sleeps = Sleeps()
    server = fake(synthetic, throttle_first=3, retry_after="1", fail_500={6, 9, 15}, slow={4}, slow_s=0.6)
    with server as base, fast_api(base, sleep=sleeps, timeout=0.3) as api:
        report = fetch("merseyside", "2023-01:2023-02", tmp_path, api=api)
        assert api.stats.pauses.count(1.0) == 3
    assert set(_ids(tmp_path)) == set().union(*[e["event_ids"] for e in expected.values()])
    assert report.throttled == 3
    assert report.retries >= 3 + 1             # three 500s and at least one timeout
    assert sum(1 for s in sleeps.asked if s >= 0.99) >= 3    # Retry-After: 1 honoured each time
    assert [r.status for r in server.log].count(500) == 3


def test_429_without_retry_after_backs_off(synthetic, tmp_path):
    sleeps = Sleeps()
    with fake(synthetic, throttle_first=4, retry_after=None) as base, \
            fast_api(base, sleep=sleeps, backoff=0.2, max_backoff=10) as api:
        report = fetch("merseyside", "2023-01", tmp_path, api=api)
        pauses = api.stats.pauses
    assert report.throttled == 4
    # the first request met all four 429s: exponential back-off with equal jitter,
    # attempt k waits in [0.2 * 2^k / 2, 0.2 * 2^k]
    assert len(pauses) == 4
    for k, p in enumerate(pauses):
        assert 0.1 * 2 ** k <= p <= 0.2 * 2 ** k
    assert max(sleeps.asked) >= pauses[-1] * 0.9        # and the client really waited for it


def test_rate_stays_under_15_per_second(synthetic, tmp_path):
    server = fake(synthetic, rate_limit=15)
    with server as base:
        fetch("merseyside", "2023-01:2023-02", tmp_path, base_url=base)   # the default client
    assert len(server.log) > 30
    assert server.too_fast == 0
    assert server.max_per_second() <= 15


def test_token_bucket_spacing_and_hold():
    now = [0.0]
    bucket = TokenBucket(rate=10, burst=1, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    for _ in range(21):
        bucket.acquire()
    assert now[0] == pytest.approx(2.0)          # 21 requests at 10/s: the 21st starts at t=2 s
    bucket.hold(5.0)
    bucket.acquire()
    assert now[0] == pytest.approx(7.0)


def test_cancel_stops_requests_and_back_off_at_once(synthetic):
    """Ctrl-C or an error in one area must not leave other threads retrying for minutes."""
    import threading

    from saferhub.data.policeapi import Cancelled

    server = fake(synthetic, down=500)
    with server as base, PoliceAPI(base, backoff=30.0, max_backoff=30.0) as api:   # real sleep
        threading.Timer(0.5, api.cancel).start()
        t0 = time.monotonic()
        with pytest.raises(Cancelled):
            api.available_months()
        assert time.monotonic() - t0 < 5            # not the 15-30 s back-off
    assert len(server.log) == 1


def test_retry_after_parsing():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == pytest.approx(10.0)


# ---------------------------------------------------------------------------------------------
# Errors


def test_api_down_is_a_one_line_error_and_stores_nothing(synthetic, tmp_path):
    with fake(synthetic, down=502) as base, fast_api(base, max_retries=2) as api:
        with pytest.raises(SaferhubError) as err:
            fetch("merseyside", "2023-01", tmp_path / "store", api=api)
    msg = str(err.value)
    assert "unavailable" in msg and "/api/crimes-street-dates" in msg and "HTTP 502" in msg and "3 attempts" in msg
    assert not (tmp_path / "store" / "catalog.json").exists()


def test_endless_503_is_bounded(synthetic, tmp_path):
    server = fake(synthetic, threshold=0)
    with server as base, fast_api(base) as api:
        with pytest.raises(SaferhubError, match="503 after splitting an area 2 times"):
            fetch("merseyside", "2023-01", tmp_path, api=api, max_depth=2)
    assert len(server.paths("/api/crimes-street/all-crime")) < 4 * 7 + 1
    assert not (tmp_path / "catalog.json").exists()


def test_neighbourhood_without_boundary_is_reported(synthetic, tmp_path):
    hoods, crimes, expected = synthetic
    hoods = {"merseyside": {**hoods["merseyside"], "Z": [], "Y": [(-2.9, 53.4)]}}
    with FakePoliceAPI(hoods, crimes, rate_limit=None) as base, fast_api(base) as api:
        report = fetch("merseyside", "2023-01", tmp_path, api=api)
    assert report.no_boundary == ["Z", "Y"]
    assert set(_ids(tmp_path)) == expected["2023-01"]["event_ids"]


def test_month_the_api_does_not_serve(synthetic, tmp_path):
    with fake(synthetic) as base, fast_api(base) as api:
        with pytest.raises(SaferhubError, match=r"does not serve 2019-01 \(it serves 2023-01..2023-02\)"):
            fetch("merseyside", "2019-01:2019-01", tmp_path, api=api)


def test_cli_unknown_force_is_one_line(synthetic, tmp_path, monkeypatch, capsys):
    """Through `saferhub.cli.main` (what `python -m saferhub` runs), with the API root from
    SAFERHUB_POLICE_API: exit 2 and one line naming the URL, no traceback."""
    from saferhub.cli import main

    with fake(synthetic) as base:
        monkeypatch.setenv("SAFERHUB_POLICE_API", base)
        monkeypatch.setattr(sys, "argv", ["saferhub", "fetch", "--force", "nowhere", "--from", "2023-01",
                                          "--store", str(tmp_path / "s")])
        with pytest.raises(SystemExit) as code:
            main()
    assert code.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "unknown police force 'nowhere'" in lines[0] and f"{base}/nowhere/neighbourhoods" in lines[0]


def test_cli_end_to_end(synthetic, tmp_path):
    """In-process (CliRunner), at the default request rate, with the fake's rate check on."""
    from typer.testing import CliRunner

    from saferhub.cli import app

    _, _, expected = synthetic
    store = tmp_path / "store"
    runner = CliRunner()
    with fake(synthetic, rate_limit=15) as base:
        out = runner.invoke(app, ["fetch", "--force", "merseyside", "--from", "2023-02",
                                  "--base-url", base, "--store", str(store), "--json"])
        assert out.exit_code == 0, out.output
        report = json.loads(out.stdout)
        assert [m["stored"] for m in report["fetched"]] == [expected["2023-02"]["rows"]]
        assert report["details_file"].endswith("boundaries/merseyside-neighbourhood-details.json")
        table = runner.invoke(app, ["fetch", "--force", "merseyside", "--from", "2023-01", "--to", "2023-02",
                                    "--base-url", base, "--store", str(store)])
        assert table.exit_code == 0, table.output
        assert "2023-01" in table.stdout and "already in the store" in table.stdout and "2023-02" in table.stdout
        assert "neighbourhood teams, priorities and events" in table.stdout
    status = runner.invoke(app, ["status", "--store", str(store), "--json"])
    assert status.exit_code == 0, status.output
    s = json.loads(status.stdout)
    assert s["rows"]["events"] == sum(e["rows"] for e in expected.values())
    assert s["quarantined"] == 2 and s["unlocated_events"] == 8


# ---------------------------------------------------------------------------------------------
# Pure parts


def test_split_covers_the_polygon_with_a_thin_overlap():
    l_shape = Polygon([(-3.0, 53.39), (-2.96, 53.39), (-2.96, 53.41), (-2.98, 53.41), (-2.98, 53.43), (-3.0, 53.43)])
    parts = split_polygon(l_shape)
    assert len(parts) == 2
    assert shapely.union_all(parts).symmetric_difference(l_shape).area < 1e-12
    overlap = sum(p.area for p in parts) - l_shape.area
    assert 0 < overlap <= 2 * 1e-6 * 0.04 + 1e-15      # a 2e-6 strip across the 0.04-degree side
    # a U shape cut across its arms gives three parts: the cut works on multi-part results
    u = Polygon([(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3)])
    assert len(split_polygon(u.buffer(0))) >= 2
    rows = split_polygon(Polygon([(0, 0), (3, 0), (3, 0.5), (0, 0.5)]).buffer(0))
    assert all(p.bounds[2] - p.bounds[0] <= 1.5 + 1e-5 for p in rows)


def test_poly_param_round_trips_exactly():
    p = boundary_polygon([(53.4, -2.98), (53.41, -2.98), (53.41, -2.97)])[0]
    text = poly_param(p)
    back = Polygon([(float(b), float(a)) for a, b in (pt.split(",") for pt in text.split(":"))])
    assert back.equals_exact(p, 0)


def test_api_rows_mapping_and_quarantine():
    def row(i, **kw):
        base = {"id": i, "persistent_id": f"pid{i}", "month": "2023-05", "category": "burglary",
                "location_type": "Force", "context": "", "outcome_status": {"category": "Under investigation"},
                "location": {"latitude": "53.400000", "longitude": "-2.980000", "street": {"name": "On or near Hope Street"}}}
        base.update(kw)
        return base

    rows = [row(1), row(2, persistent_id=""), row(3, category="shoe-theft"), row(4, month="2023-04"),
            row(5, location={"latitude": "abc", "longitude": "-2.9", "street": {"name": "x"}}),
            row(6, location=None, outcome_status=None), row(None), row(8, location={"latitude": "51.5", "longitude": "-0.1", "street": {"name": "London"}}),
            *[row(100 + k) for k in range(5)]]
    parsed = api_rows_to_parsed(rows, "merseyside", "2023-05", ApiSource("api test", "2024-01-01T00:00:00+00:00"))
    t = parsed.tables["2023-05"].to_pandas().set_index("event_id")
    assert parsed.rows_read == parsed.stored + parsed.quarantined == len(rows)
    assert {"pid1", "api:2", "pid6"} <= set(t.index) and parsed.unlocated == 1
    assert t.loc["pid1", "category"] == "Burglary" and t.loc["pid1", "outcome"] == "Under investigation"
    assert _v(t.loc["pid6", "outcome"]) is None
    reasons = dict(zip(parsed.quarantine["line"].to_pylist(), parsed.quarantine["reason"].to_pylist()))
    assert reasons[3] == "unknown crime category 'shoe-theft'"
    assert reasons[4] == "month '2023-04' in an answer for 2023-05"
    assert "unparseable coordinates" in reasons[5]
    assert reasons[-1] == "no API crime id"
    assert "outside the force area" in reasons[8]
    empty = api_rows_to_parsed([], "merseyside", "2023-05", ApiSource("api test", "2024-01-01T00:00:00+00:00"))
    assert empty.tables["2023-05"].num_rows == 0 and empty.quarantined == 0   # a month the API says is empty


# ---------------------------------------------------------------------------------------------
# Real data: a real Merseyside month served by the fake API over the five real districts


@pytest.mark.slow
def test_real_month_matches_the_csv_ingest(tmp_path):
    """Serve the real 2019-07 Merseyside street CSV as API crimes, with the five Merseyside
    districts (real ONS boundaries) as the neighbourhoods and a 2,000-crime cap, and check the
    fetched month against the CSV ingest of the same file: the same crimes (Crime IDs; ASB rows
    by place and type), the same BNG coordinates, categories and outcomes. Crimes snapped outside
    the districts (neighbouring LSOAs) are the only ones an area-based fetch cannot see."""
    import gzip

    import numpy as np
    import pandas as pd
    from shapely.geometry import shape

    from conftest import GEO, MERSEYSIDE
    from saferhub.categories import CATEGORIES
    from saferhub.data.ingest import ingest_paths

    csv = MERSEYSIDE / "2019-07-merseyside-street.csv.gz"
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    doc = json.loads(gzip.decompress((GEO / "merseyside_lad_2011_derived_from_lsoa.geojson.gz").read_bytes()))
    hoods = {}
    for f in doc["features"]:
        for k, part in enumerate(shape(f["geometry"]).geoms):
            hoods[f"{f['properties']['LAD11CD']}-{k}"] = [tuple(c) for c in part.exterior.coords[:-1]]
    rows = []
    for i, r in enumerate(df.itertuples(index=False)):
        located = r.Longitude != ""
        rows.append({
            "id": 70_000_000 + i, "persistent_id": r[0], "month": r.Month,
            "category": CATEGORIES[r[9]], "location_type": "Force" if located else None,
            "location": {"latitude": r.Latitude, "longitude": r.Longitude, "street": {"id": i, "name": r.Location}}
            if located else None,
            "context": r.Context, "outcome_status": {"category": r[10], "date": "2019-08"} if r[10] else None,
            "location_subtype": "", **({} if located else {"_force": "merseyside"}),
        })
    server = FakePoliceAPI({"merseyside": hoods}, {"2019-07": rows}, threshold=2000, rate_limit=None)
    with server as base, fast_api(base) as api:
        report = fetch("merseyside", "2019-07", tmp_path / "api", api=api)
    ingest_paths([csv], store=tmp_path / "csv")
    got = events(tmp_path / "api").to_pandas()
    ref = events(tmp_path / "csv").to_pandas()
    m = report.fetched[0]
    assert m.splits > 0 and m.quarantined == 0 and m.read == m.stored == len(got)
    assert any(r.method == "POST" for r in server.log)

    union = shapely.union_all([Polygon(r) for r in hoods.values()]).buffer(1e-6)
    located = ref["x"].notna()
    inside = np.zeros(len(ref), bool)
    inside[located.to_numpy()] = shapely.contains_xy(union, ref.loc[located, "lon"], ref.loc[located, "lat"])
    expected = ref[inside | ~located]
    outside = int((located & ~inside).sum())
    assert 0 < outside < 0.02 * len(ref)               # edge snap points in neighbouring LSOAs
    assert len(got) == len(expected) and got["x"].isna().sum() == (~located).sum()

    cols = ["category", "category_slug", "outcome", "x", "y", "lon", "lat", "location"]
    has_id = expected["event_id"].str.len() == 64
    a = got.set_index("event_id").loc[expected.loc[has_id, "event_id"], cols]
    b = expected[has_id].set_index("event_id")[cols]
    pd.testing.assert_frame_equal(a.sort_index(), b.sort_index(), check_dtype=False)
    # ASB rows have no Crime ID: the same multiset of (place, type, location) on both sides
    key = ["lon", "lat", "category", "location"]
    asb_got = got[got["event_id"].str.startswith("api:")][key].fillna("").astype(str).value_counts()
    asb_ref = expected[~has_id][key].fillna("").astype(str).value_counts()
    assert asb_got.sort_index().equals(asb_ref.sort_index())


# ---------------------------------------------------------------------------------------------
# Property: whatever JSON the API sends, every crime is stored or quarantined, never a crash

_junk = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                     max_leaves=6)


@st.composite
def _api_crime(draw):
    good = {"id": draw(st.integers(1, 10**9)), "persistent_id": draw(st.sampled_from(["", "a" * 64])),
            "month": "2023-05", "category": draw(st.sampled_from(["burglary", "anti-social-behaviour", "drugs"])),
            "location_type": "Force", "context": "", "outcome_status": None,
            "location": {"latitude": f"{draw(st.floats(53.38, 53.45)):.6f}",
                         "longitude": f"{draw(st.floats(-3.0, -2.9)):.6f}", "street": {"name": "On or near X"}}}
    kind = draw(st.sampled_from(["good", "mutated", "junk"]))
    if kind == "junk":
        return draw(_junk)
    if kind == "mutated":
        for key in draw(st.lists(st.sampled_from(sorted(good)), min_size=1, max_size=3)):
            good[key] = draw(_junk | st.just(None))
    return good


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_api_crime(), max_size=25))
def test_any_api_json_is_stored_or_quarantined(crimes):
    parsed = api_rows_to_parsed(crimes, "merseyside", "2023-05", ApiSource("api prop", "2024-01-01T00:00:00+00:00"))
    table = parsed.tables["2023-05"]
    assert parsed.rows_read == len(crimes) == table.num_rows + parsed.quarantined
    assert table.schema == EVENT_SCHEMA
    assert all(e and e != "api:" for e in table["event_id"].to_pylist())
    assert pc.all(pc.is_valid(table["category"])).as_py() in (True, None)


def test_fetch_caches_the_force_outline_and_ingest_then_uses_it(synthetic, tmp_path):
    """The union of the neighbourhoods is cached as the force's boundary; a later CSV ingest of
    that force quarantines a point beyond --far-km of it, naming the distance."""
    import shapely
    from pyproj import Transformer
    from shapely.geometry import Polygon

    from ingest_helpers import street_row, write
    from saferhub.data.ingest import ingest_paths
    from saferhub.geo.boundary import force_boundary

    hoods, _, _ = synthetic
    with fake(synthetic) as base, fast_api(base) as api:
        report = fetch("merseyside", "2023-01", tmp_path, api=api)
    assert report.boundary_file == str(tmp_path / "boundaries" / "merseyside.geojson")
    to_bng = Transformer.from_crs(4326, 27700, always_xy=True).transform
    outline = shapely.union_all([shapely.make_valid(Polygon(r)) for r in hoods["merseyside"].values()])
    expected = shapely.transform(outline, lambda x, y: to_bng(x, y), interleaved=False)
    got = force_boundary("merseyside", store=tmp_path)
    assert got.symmetric_difference(expected).area < 1e-3 * expected.area   # only the ~10 cm margin
    # 0.5 degrees east of the cells: far beyond 20 km of the outline.
    lon, lat = -2.40, 53.42
    path = write(tmp_path / "csv" / "2023-01-merseyside-street.csv",
                 [street_row(month="2023-01", lon="-2.99", lat="53.395"),
                  street_row(month="2023-01", lon=str(lon), lat=str(lat))])
    ingest = ingest_paths([path], store=tmp_path)
    assert (ingest.files[0].stored, ingest.files[0].quarantined) == (1, 1)
    km = expected.distance(shapely.Point(*to_bng(lon, lat))) / 1000
    (reason,) = quarantine(tmp_path)["reason"].to_pylist()
    assert reason.startswith(f"outside the force area ({km:.0f} km beyond its boundary")


def test_fetch_keeps_each_neighbourhoods_team_priorities_and_events(synthetic, tmp_path):
    """/{id}, /people, /priorities, /events are stored cleaned: HTML and scripts become plain text,
    officers' own e-mails and phones are dropped, missing fields and a 404 leave parts empty."""
    from saferhub.data.hooddetails import details_path, read_details

    hoods, crimes, _ = synthetic
    hostile = details_for("B")
    hostile["priorities"] = [
        {"issue": "<p>Speeding &amp; racing<script>alert('x')</script> on <a href=\"javascript:evil()\">Duke St</a></p>",
         "issue-date": "2026-10-01T00:00:00", "action": "<style>p{color:red}</style><b>Speed checks</b>",
         "action-date": "not a date"},
        {"issue": None, "issue-date": "2026-10-02T00:00:00"},     # no issue: left out
        {"issue-date": "2026-10-03T00:00:00"},                      # missing fields
        "not even an object",
    ]
    hostile["people"] = [{"name": "<i>Ann</i> Lee", "contact_details": {"email": "ann.lee@police.invalid"}},
                         {"rank": "PC"}]                            # no name: left out
    hostile["events"] = [{"title": "No date"}, {"title": "<img src=x onerror=alert(1)>Meeting",
                                                "start_date": "2026-12-24T18:00:00"}]
    hostile["info"]["links"] = [{"url": "javascript:alert(1)", "title": "bad"}]
    details = {"merseyside": {"A": details_for("A"), "B": hostile,
                              "C": {"info": details_for("C")["info"]},   # people/priorities/events 404
                              "D": {}}}                                  # every part 404
    with FakePoliceAPI(hoods, crimes, rate_limit=None, details=details) as base, fast_api(base) as api:
        report = fetch("merseyside", "2023-01", tmp_path, api=api)
    assert report.details_file == str(details_path(tmp_path, "merseyside"))
    got = read_details(tmp_path, "merseyside")
    assert sorted(got) == [f"Neighbourhood {k}" for k in "ABCD"]
    a = got["Neighbourhood A"]
    assert a["id"] == "A" and a["missing"] == []
    assert a["description"] == "Neighbourhood A covers the streets around the waterfront."
    assert a["contact"] == {"telephone": "101", "email": "a.team@merseyside.police.invalid",
                            "twitter": "https://twitter.com/MerPolCC"}
    assert a["team"] == [{"name": "Sarah Quayle-A", "rank": "Sergeant", "bio": "Sarah leads the team."},
                         {"name": "Tom Ashby-A", "rank": "PCSO", "bio": ""}]
    assert a["priorities"] == [   # newest first
        {"issue": "Drug dealing near the park.", "issue_date": "2026-11-01T00:00", "action": "", "action_date": None},
        {"issue": "Off-road bikes on Dale Street at night.", "issue_date": "2026-09-01T00:00",
         "action": "Patrols and two bikes seized.", "action_date": "2026-10-15T00:00"}]
    assert [e["title"] for e in a["events"]] == ["Bike marking", "Beat surgery"]   # by start
    assert a["events"][1] == {"title": "Beat surgery", "description": "Come and meet your local team.",
                              "type": "meeting", "address": "Central Library, William Brown Street",
                              "start": "2026-12-20T10:00", "end": "2026-12-20T12:00"}
    text = details_path(tmp_path, "merseyside").read_text()
    for leaked in ("sarah.quayle", "0151 777 0101", "0151 777 0102", "ann.lee@", "<script", "alert", "<", "javascript:"):
        assert leaked not in text, leaked
    b = got["Neighbourhood B"]
    assert b["priorities"] == [{"issue": "Speeding & racing on Duke St", "issue_date": "2026-10-01T00:00",
                                "action": "Speed checks", "action_date": None}]
    assert b["team"] == [{"name": "Ann Lee", "rank": "", "bio": ""}]
    assert [(e["title"], e["start"]) for e in b["events"]] == [("Meeting", "2026-12-24T18:00")]
    assert b["links"] == []
    c, d = got["Neighbourhood C"], got["Neighbourhood D"]
    assert c["missing"] == ["people", "priorities", "events"] and c["description"] and c["team"] == []
    assert d["missing"] == ["info", "people", "priorities", "events"] and d["description"] == "" and d["contact"] == {}
    assert set(_ids(tmp_path)) == synthetic[2]["2023-01"]["event_ids"]   # the crimes are unaffected
