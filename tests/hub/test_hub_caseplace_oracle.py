"""Where a case is (hub/services/caseplace.py) and places named for people (placenames.py) at
service level (issue 26), on hand-made geography whose answers are known by construction: three
rectangular wards near Liverpool city centre, two LSOAs, and police.uk street points ingested into a
tiny event store (built once and kept between pytest sessions, as tests/tiny_hotspot_store.py is).

  ward Central  E05000001  lon -2.990..-2.980  lat 53.400..53.410  district Liverpool
  ward Riverside E05000002 lon -2.980..-2.970  lat 53.400..53.410  district Knowsley
  ward Outer    E05000003  lon -2.950..-2.940  lat 53.400..53.410  no LSOA: no district (edges off by 1e-7)
  LSOA E01000001 "Liverpool 060C": lon -2.990..-2.982 (the east strip of Central has no LSOA)
  LSOA E01000002 "Knowsley 001A":  lon -2.980..-2.970

A case's location is set by street + ward or by coordinates (bad input refused with a plain
message, nothing written); reading it needs a purpose and writes one audit row."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
from conftest import _build_once
from pyproj import Transformer
from sqlalchemy import func, select

from saferhub.hub import audit
from saferhub.hub.errors import HubError, NotFound
from saferhub.hub.models import AuditEvent, Case, Location
from saferhub.hub.services import caseplace, placenames

from .service_world import PURPOSE, cached_world, level, make_world

WARDS = [("E05000001", "Central", (-2.990, 53.400, -2.980, 53.410)),
         ("E05000002", "Riverside", (-2.980, 53.400, -2.970, 53.410)),
         ("E05000003", "Outer", (-2.9500003, 53.4000003, -2.9400001, 53.4100001))]   # its middle to 7 places
LSOAS = [("E01000001", "Liverpool 060C", (-2.990, 53.400, -2.982, 53.410)),
         ("E01000002", "Knowsley 001A", (-2.980, 53.400, -2.970, 53.410))]
# street points (name, lon, lat): Bold Street has three points in Central (the middle one nearest
# their mean) and one in Riverside; High Street is in Riverside only; a "bold  STREET" spelling
# is the same street; Duke Street runs north-south in Central
STREETS = [("On or near Bold Street", -2.9880, 53.4050), ("On or near Bold Street", -2.9860, 53.4052),
           ("On or near Bold Street", -2.9835, 53.4049), ("On or near bold  STREET", -2.9750, 53.4030),
           ("On or near High Street", -2.9720, 53.4080), ("On or near Parking Area", -2.9850, 53.4020),
           ("On or near Duke Street", -2.9830, 53.4010), ("On or near Duke Street", -2.9831, 53.4030),
           ("On or near Duke Street", -2.9830, 53.4070)]
DUKE_MIDDLE = (-2.9831, 53.4030)   # runs north-south: the latitudes decide which point is the middle
BOLD_MIDDLE = (-2.9860, 53.4052)
HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
          "Crime type,Last outcome category,Context")


def _box(b):
    x0, y0, x1, y1 = b
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def _geojson(rows, extra=()):
    feats = [{"type": "Feature", "properties": {"code": c, "name": n}, "geometry": _box(b)} for c, n, b in rows]
    return json.dumps({"type": "FeatureCollection", "features": feats + list(extra)})


def write_products(store, wards=WARDS, lsoas=LSOAS, suffix=".geojson"):
    p = store / "products"
    p.mkdir(parents=True, exist_ok=True)
    (p / f"boundary-wards{suffix}").write_text(_geojson(wards))
    (p / f"boundary-lsoas{suffix}").write_text(_geojson(lsoas))


class _Fixed:
    def __init__(self, base):
        self.base = base

    def getbasetemp(self):
        return self.base


@pytest.fixture(scope="session")
def place_store(tmp_path_factory):
    """The tiny store: the street points above (each twice, two months), and the boundaries."""
    import hashlib

    from saferhub.data.ingest import ingest_paths

    def build(target):
        csv = target.parent / f"{target.name}-csv"
        csv.mkdir(parents=True, exist_ok=True)
        paths = []
        for m in ("2024-01", "2024-02"):
            lines = [HEADER] + [f",{m},Merseyside Police,Merseyside Police,{lo:.6f},{la:.6f},{n},E01000001,"
                                f"Liverpool 060C,Burglary,," for n, lo, la in STREETS]
            paths.append(csv / f"{m}-merseyside-street.csv")
            paths[-1].write_text("\n".join(lines) + "\n")
        report = ingest_paths(paths, store=target).as_dict()
        write_products(target)
        return report

    h = hashlib.sha256(repr((STREETS, WARDS, LSOAS)).encode()).hexdigest()[:12]
    root = tmp_path_factory.getbasetemp()
    keep = root.parent.parent if root.name.startswith("popen-gw") else root.parent
    return _build_once(_Fixed(keep), f"caseplace-store-{h}", build)


# ------------------------------------------------------------------ placenames: the pure parts


def test_map_href_district_street_words_and_labels():
    assert placenames.map_href(53.4, -2.98) == "/web/map?lat=53.40000&lon=-2.98000&zoom=17"
    assert placenames.map_href(53.123456, -2.987654) == "/web/map?lat=53.12346&lon=-2.98765&zoom=17"
    assert placenames.map_href(0.0, 0.0) == "/web/map?lat=0.00000&lon=0.00000&zoom=17"
    for lat, lon in ((None, -2.98), (53.4, None), (None, None)):
        assert placenames.map_href(lat, lon) == "/web/map"
    for name, district in (("Liverpool 060C", "Liverpool"), ("St Helens 012B", "St Helens"),
                           ("  Liverpool   060C ", "Liverpool"), ("Liverpool 60C", ""), ("Liverpool 060c", ""),
                           ("Liverpool 0600C", ""), ("060C", ""), ("Liverpool 060CX", ""), ("", ""), (None, ""),
                           (float("nan"), ""), (12, "")):
        assert placenames.district_of(name) == district, name
    assert placenames.street_words("Simulated: On or near X Road") == "On or near X Road"
    assert placenames.street_words("  On or near Y  ") == "On or near Y"
    assert placenames.street_words("Simulated:  On or near Z ") == "On or near Z"
    assert placenames.street_words("On or near Simulated: Q") == "On or near Simulated: Q"
    assert placenames.street_words(None) == "" and placenames.street_words(float("nan")) == ""
    cases = [(("On or near Bold Street", "Central", "Liverpool"), "On or near Bold Street, Central ward (Liverpool)"),
             (("On or near Bold Street", "Central", None), "On or near Bold Street, Central ward"),
             (("On or near Bold Street", None, "Liverpool"), "On or near Bold Street"),
             ((None, "Central", "Liverpool"), "Central ward (Liverpool)"),
             (("", " Central ", ""), "Central ward"),
             (("Simulated: On or near A", float("nan"), "L"), "On or near A"),
             ((None, None, "Liverpool"), "Unknown place"), (("  ", "", None), "Unknown place")]
    for args, label in cases:
        assert placenames.place_label(*args) == label, args
    assert placenames.place_label("On or near B", "Central") == "On or near B, Central ward"


# ------------------------------------------------------------------ the gazetteer


def _centre(b):
    return (b[0] + b[2]) / 2, (b[1] + b[3]) / 2


def test_the_gazetteer_names_points_by_ward_lsoa_and_district(place_store):
    gaz = placenames.gazetteer(place_store)
    assert list(gaz.ward_districts) == ["Liverpool", "Knowsley", ""]
    pts = [(_centre(WARDS[0][2]), {"ward": "Central", "ward_code": "E05000001", "district": "Liverpool",
                                   "lsoa": "E01000001", "lsoa_name": "Liverpool 060C"}),
           ((-2.981, 53.405), {"ward": "Central", "ward_code": "E05000001", "district": "Liverpool",
                               "lsoa": "", "lsoa_name": ""}),
           (_centre(WARDS[1][2]), {"ward": "Riverside", "ward_code": "E05000002", "district": "Knowsley",
                                   "lsoa": "E01000002", "lsoa_name": "Knowsley 001A"}),
           (_centre(WARDS[2][2]), {"ward": "Outer", "ward_code": "E05000003", "district": "", "lsoa": "",
                                   "lsoa_name": ""}),
           ((-2.960, 53.405), {"ward": "", "ward_code": "", "district": "", "lsoa": "", "lsoa_name": ""}),
           ((float("nan"), 53.405), {"ward": "", "ward_code": "", "district": "", "lsoa": "", "lsoa_name": ""}),
           ((-2.985, float("inf")), {"ward": "", "ward_code": "", "district": "", "lsoa": "", "lsoa_name": ""})]
    got = gaz.name_points([p[0] for p, _ in pts], [p[1] for p, _ in pts])
    assert got == [want for _, want in pts]
    assert gaz.name_points([], []) == []
    # one point alone (the tree is queried with the finite points only, and indexed back)
    assert gaz.name_points([float("nan"), -2.975], [53.4, 53.405])[1]["ward"] == "Riverside"
    assert gaz.wards() == [
        {"code": "E05000003", "name": "Outer", "district": "", "label": "Outer"},
        {"code": "E05000002", "name": "Riverside", "district": "Knowsley", "label": "Riverside (Knowsley)"},
        {"code": "E05000001", "name": "Central", "district": "Liverpool", "label": "Central (Liverpool)"}]
    assert (gaz.ward("E05000001"), gaz.ward("E05000003"), gaz.ward("E0500000"), gaz.ward("")) == (0, 2, None, None)
    assert placenames.gazetteer(place_store) is gaz   # read once per file version


def test_no_boundaries_published_names_nothing_and_a_changed_file_is_read_again(tmp_path):
    gaz = placenames.gazetteer(tmp_path)
    assert len(gaz.ward_geoms) == 0 and gaz.wards() == []
    assert gaz.name_points([-2.985], [53.405]) == [
        {"ward": "", "ward_code": "", "district": "", "lsoa": "", "lsoa_name": ""}]
    assert gaz.ward("E05000001") is None
    # ".json" is read when there is no ".geojson"; a ward split in two features is listed once; wards
    # with no LSOAs published have no district
    split = [WARDS[0], ("E05000001", "Central", (-2.99, 53.41, -2.98, 53.42))]
    write_products(tmp_path, wards=split, lsoas=[], suffix=".json")
    gaz = placenames.gazetteer(tmp_path)
    assert len(gaz.ward_geoms) == 2 and list(gaz.ward_districts) == ["", ""]
    assert gaz.wards() == [{"code": "E05000001", "name": "Central", "district": "", "label": "Central"}]
    assert gaz.name_points([-2.985], [53.415])[0]["ward_code"] == "E05000001"
    # a new version of the file (its mtime) is read again
    path = tmp_path / "products" / "boundary-wards.json"
    path.write_text(_geojson(WARDS[1:2]))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert [w["code"] for w in placenames.gazetteer(tmp_path).wards()] == ["E05000002"]
    # ".geojson" wins over ".json"
    (tmp_path / "products" / "boundary-wards.geojson").write_text(_geojson(WARDS[2:]))
    assert [w["code"] for w in placenames.gazetteer(tmp_path).wards()] == ["E05000003"]
    # a feature with no properties and no name or code
    (tmp_path / "products" / "boundary-lsoas.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": None, "geometry": _box(LSOAS[0][2])}]}))
    gaz = placenames.gazetteer(tmp_path)
    assert list(gaz.lsoa_codes) == [""] and list(gaz.lsoa_names) == [""]


def test_name_places_fills_ward_district_label_and_link(place_store):
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = to_bng.transform(-2.975, 53.405)
    rows = [{"lat": 53.4051234567, "lon": -2.9851234567, "street": "Simulated: On or near Bold Street"},
            {"x": x, "y": y, "street": "On or near High Street"},
            {"lat": None, "lon": None, "x": None, "street": "On or near Nowhere"},
            {"lat": 53.405, "lon": -2.985, "street": None, "ward": "Kept ward", "lsoa_name": "Wirral 002B"},
            {"lat": 53.405, "lon": -2.945, "where": "On or near Outer Lane"}]
    assert placenames.name_places([], place_store) == []
    out = placenames.name_places(rows, place_store)
    assert out is rows
    assert [(r["lat"], r["lon"]) for r in out[:1]] == [(53.405123, -2.985123)]
    assert (out[0]["ward"], out[0]["district"], out[0]["lsoa_name"], out[0]["label"], out[0]["map_href"]) == (
        "Central", "Liverpool", "Liverpool 060C", "On or near Bold Street, Central ward (Liverpool)",
        "/web/map?lat=53.40512&lon=-2.98512&zoom=17")
    assert math.isclose(out[1]["lat"], 53.405, abs_tol=1e-6) and math.isclose(out[1]["lon"], -2.975, abs_tol=1e-6)
    assert (out[1]["ward"], out[1]["district"], out[1]["label"]) == (
        "Riverside", "Knowsley", "On or near High Street, Riverside ward (Knowsley)")
    assert (out[2]["lat"], out[2]["lon"], out[2]["ward"], out[2]["district"], out[2]["label"], out[2]["map_href"]) == (
        None, None, "", "", "On or near Nowhere", "/web/map")
    assert (out[3]["ward"], out[3]["lsoa_name"], out[3]["district"], out[3]["label"]) == (
        "Kept ward", "Wirral 002B", "Liverpool", "Kept ward ward (Liverpool)")
    assert (out[4]["ward"], out[4]["district"], out[4]["label"]) == ("Outer", "", "Outer ward")
    other = placenames.name_places([{"lat": 53.405, "lon": -2.945, "where": "On or near Outer Lane"}], place_store,
                                   street_key="where")
    assert other[0]["label"] == "On or near Outer Lane, Outer ward"
    # no district from the gazetteer: the row's own LSOA name gives it
    gaz = placenames.gazetteer(place_store)
    row = placenames.name_places([{"lat": 53.405, "lon": -2.960, "street": "S", "lsoa_name": "Sefton 003A"}],
                                 gaz=gaz)[0]
    assert (row["ward"], row["district"], row["label"]) == ("", "Sefton", "S")


# ------------------------------------------------------------------ street points and resolving a place


def test_street_points_are_the_stores_snap_points_by_street_key(place_store, tmp_path):
    assert caseplace.street_key("On or near Bold Street") == "bold street"
    assert caseplace.street_key("  bold \t  STREET ") == "bold street"
    assert caseplace.street_key("on or near   High Street") == "high street"
    assert caseplace.street_key("Near Bold Street") == "near bold street"
    assert caseplace.street_key(None) == "" and caseplace.street_key(" \n ") == ""
    assert caseplace.street_key("On or near ") == "on or near"   # the prefix is taken with its space only
    pts = caseplace.street_points(place_store)
    assert sorted(pts) == ["bold street", "duke street", "high street", "parking area"]
    for key, (names, lon, lat) in pts.items():
        want = sorted((n, lo, la) for n, lo, la in STREETS if caseplace.street_key(n) == key)
        got = sorted(zip(names.tolist(), lon.tolist(), lat.tolist()))
        assert [g[0] for g in got] == [n for n, _, _ in want]
        assert np.allclose([g[1:] for g in got], [wv[1:] for wv in want], atol=2e-6)
    assert caseplace.street_points(place_store) is pts   # once per store version
    flat = caseplace._flat(pts)
    assert caseplace._flat(pts) is flat and len(flat[0]) == len(STREETS)   # made once per table
    assert len(caseplace._flat({k: pts[k] for k in ("high street",)})[0]) == 1 and caseplace._flat(pts) is not flat
    assert caseplace.street_points(tmp_path / "no store here") == {}
    assert caseplace.street_points(tmp_path) == {}


def test_nearest_street_within_150_metres(place_store, tmp_path):
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    to_wgs = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    x, y = to_bng.transform(*BOLD_MIDDLE)
    for dx, want in ((0, "On or near Bold Street"), (100, "On or near Bold Street"), (149, "On or near Bold Street")):
        lon, lat = to_wgs.transform(x, y + dx)
        assert caseplace.nearest_street(place_store, lon, lat) == want, dx
    hx, hy = to_bng.transform(-2.9720, 53.4080)
    lon, lat = to_wgs.transform(hx + 152, hy)
    assert caseplace.nearest_street(place_store, lon, lat) == ""
    lon, lat = to_wgs.transform(hx + 147, hy)
    assert caseplace.nearest_street(place_store, lon, lat) == "On or near High Street"
    assert caseplace.nearest_street(tmp_path, -2.986, 53.405) == ""


def test_resolving_coordinates(place_store, tmp_path):
    got = caseplace.resolve_place(place_store, lat=53.4052, lon=-2.9861)
    assert got == {"lon": -2.9861, "lat": 53.4052, "ward": "Central", "lsoa": "E01000001",
                   "description": "On or near Bold Street, Central ward (Liverpool)"}
    got = caseplace.resolve_place(place_store, lat=53.4095, lon=-2.9895)
    assert got == {"lon": -2.9895, "lat": 53.4095, "ward": "Central", "lsoa": "E01000001",
                   "description": "Central ward (Liverpool)"}
    got = caseplace.resolve_place(place_store, lat=53.405, lon=-2.981)   # Central, no LSOA there
    assert (got["ward"], got["lsoa"], got["description"]) == ("Central", None, "Central ward (Liverpool)")
    got = caseplace.resolve_place(place_store, lat=53.405, lon=-2.945)
    assert (got["ward"], got["lsoa"], got["description"]) == ("Outer", None, "Outer ward")
    # the street and ward given are ignored when coordinates are
    assert caseplace.resolve_place(place_store, street="High Street", ward_code="E05000002", lat=53.4052,
                                   lon=-2.9861)["ward"] == "Central"
    for lat, lon in ((53.4, None), (None, -2.98)):
        with pytest.raises(HubError) as e:
            caseplace.resolve_place(place_store, lat=lat, lon=lon)
        assert str(e.value) == "Give both latitude and longitude, or neither."
    outside = ("That point is outside Great Britain: latitude runs about 49.8 to 60.9 and longitude -8.7 to 1.8 "
               "(Liverpool is about 53.40, -2.98).")
    nowhere = "That point is in none of the partnership's wards. Check the numbers (latitude first, then longitude)."
    for lat, lon, msg in ((49.79, -2.0, outside), (60.91, -2.0, outside), (53.4, -8.71, outside), (53.4, 1.81, outside),
                          (-2.98, 53.40, outside), (49.8, -2.0, nowhere), (60.9, -2.0, nowhere), (53.4, -8.7, nowhere),
                          (53.4, 1.8, nowhere), (53.405, -2.960, nowhere)):
        with pytest.raises(HubError) as e:
            caseplace.resolve_place(place_store, lat=lat, lon=lon)
        assert str(e.value) == msg, (lat, lon)
    # no boundaries published (and no street points): the point is taken as given, unnamed
    assert caseplace.resolve_place(tmp_path, lat=53.405, lon=-2.96) == {
        "lon": -2.96, "lat": 53.405, "ward": None, "lsoa": None, "description": None}


def test_resolving_coordinates_without_boundaries_names_the_street(place_store, tmp_path, monkeypatch):
    empty = placenames.gazetteer(tmp_path)
    monkeypatch.setattr(caseplace, "gazetteer", lambda store: empty)
    assert caseplace.resolve_place(place_store, lat=53.4052, lon=-2.9861) == {
        "lon": -2.9861, "lat": 53.4052, "ward": None, "lsoa": None, "description": "On or near Bold Street"}


def test_resolving_a_ward_or_a_street_in_a_ward(place_store):
    import shapely

    got = caseplace.resolve_place(place_store, ward_code="E05000001")
    p = shapely.point_on_surface(shapely.box(*WARDS[0][2]))
    assert got == {"lon": round(p.x, 6), "lat": round(p.y, 6), "ward": "Central", "lsoa": "E01000001",
                   "description": "Central ward (Liverpool)"}
    assert caseplace.resolve_place(place_store, street=" \t ", ward_code="E05000003") == {
        "lon": -2.945, "lat": 53.405, "ward": "Outer", "lsoa": None, "description": "Outer ward"}
    for spelling in ("Bold Street", "bold  street", "On or near BOLD STREET "):
        got = caseplace.resolve_place(place_store, street=spelling, ward_code="E05000001")
        assert got == {"lon": BOLD_MIDDLE[0], "lat": BOLD_MIDDLE[1], "ward": "Central", "lsoa": "E01000001",
                       "description": "On or near Bold Street, Central ward (Liverpool)"}, spelling
    got = caseplace.resolve_place(place_store, street="Duke Street", ward_code="E05000001")
    assert (got["lon"], got["lat"]) == DUKE_MIDDLE
    got = caseplace.resolve_place(place_store, street="bold street", ward_code="E05000002")
    assert got == {"lon": -2.975, "lat": 53.403, "ward": "Riverside", "lsoa": "E01000002",
                   "description": "On or near bold  STREET, Riverside ward (Knowsley)"}
    for ward in ("", "E0599"):
        with pytest.raises(HubError) as e:
            caseplace.resolve_place(place_store, street="Bold Street", ward_code=ward)
        assert str(e.value) == "Choose the ward, or give latitude and longitude."
    with pytest.raises(HubError) as e:
        caseplace.resolve_place(place_store, street=" High Street ", ward_code="E05000001")
    assert str(e.value) == ('No street called "High Street" is known in Central ward (Liverpool) among the police.uk '
                            "street points. It is in Riverside (Knowsley). Check the spelling, choose another ward, "
                            "or give latitude and longitude.")
    with pytest.raises(HubError) as e:
        caseplace.resolve_place(place_store, street="Bold Street", ward_code="E05000003")
    assert str(e.value) == ('No street called "Bold Street" is known in Outer ward () among the police.uk street '
                            "points. It is in Central (Liverpool), Riverside (Knowsley). Check the spelling, choose "
                            "another ward, or give latitude and longitude.")
    with pytest.raises(HubError) as e:
        caseplace.resolve_place(place_store, street="Penny Lane", ward_code="E05000001")
    assert str(e.value) == ('No street called "Penny Lane" is known in Central ward (Liverpool) among the police.uk '
                            "street points. Check the spelling, choose another ward, or give latitude and longitude.")


# ------------------------------------------------------------------ a case's location, on the hub


@pytest.fixture
def world(tmp_path):
    engine, w = cached_world(tmp_path, make_world)
    yield w
    w.db.close()
    engine.dispose()


def _since(db, seq):
    return list(db.scalars(select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)))


def _seq(db):
    return db.scalar(select(func.max(AuditEvent.seq))) or 0


def test_setting_a_cases_place_needs_the_case_in_full_and_logs_both_writes(world, place_store):
    w = world
    place = caseplace.resolve_place(place_store, street="Bold Street", ward_code="E05000001")
    for viewer in ("coordinator.P", "caseworker.P", "caseworker.C", "caseworker.F", "admin.P"):
        for cid in sorted(w.cases)[::7]:
            lv = level(viewer, w.cases[cid])
            seq, was = _seq(w.db), w.db.get(Case, cid).location_id
            if lv != "full":
                with pytest.raises(HubError) as e:
                    caseplace.set_case_location(w.db, w.user(viewer), cid, place)
                assert e.value.status == (403 if lv == "stub" else 404)
                w.db.rollback()
                assert _seq(w.db) == seq and w.db.get(Case, cid).location_id == was
                continue
            before = w.db.get(Case, cid).location_id
            loc = caseplace.set_case_location(w.db, w.user(viewer), cid, place)
            w.db.commit()
            stored = w.db.get(Location, loc["id"])
            assert w.db.get(Case, cid).location_id == loc["id"]
            assert (stored.description, stored.lon, stored.lat, stored.lsoa, stored.ward,
                    stored.created_by_agency_id) == (
                "On or near Bold Street, Central ward (Liverpool)", BOLD_MIDDLE[0], BOLD_MIDDLE[1], "E01000001",
                "Central", w.user(viewer).agency_id)
            rows = _since(w.db, seq)
            assert [(r.action, r.entity, r.entity_ids, json.loads(r.detail), r.user_id) for r in rows] == [
                ("create", "location", str(loc["id"]), {}, w.users[viewer]),
                ("update", "case", str(cid), {"fields": ["location_id"], "location_id": loc["id"],
                                              "previous_location_id": before}, w.users[viewer])]
    # a place with no description, ward or LSOA (coordinates only)
    cid = min(w.cases)
    loc = caseplace.set_case_location(w.db, w.user("coordinator.P"), cid, {"lon": -2.96, "lat": 53.405})
    stored = w.db.get(Location, loc["id"])
    assert (stored.description, stored.ward, stored.lsoa) == (None, None, None)


def test_a_cases_place_is_named_read_with_a_purpose_and_logged(world, place_store):
    w = world
    co = w.user("coordinator.P")
    gaz = placenames.gazetteer(place_store)
    cid = min(w.cases)
    assert caseplace.case_place(w.db, co, {"id": cid, "location_id": None}, PURPOSE, gaz=gaz) is None
    assert caseplace.case_place(w.db, co, {"id": cid}, None, gaz=gaz) is None

    def placed(**fields):
        loc = Location(created_by_agency_id=co.agency_id, **fields)
        w.db.add(loc)
        w.db.flush()
        w.db.get(Case, cid).location_id = loc.id
        w.db.commit()
        return loc.id

    checks = [
        (dict(description="The flats", lon=-2.975, lat=53.405),
         {"label": "The flats", "lsoa_name": "Knowsley 001A", "map_href": "/web/map?lat=53.40500&lon=-2.97500&zoom=17"}),
        (dict(lon=-2.975, lat=53.405, ward="Stored ward"),
         {"label": "Riverside ward (Knowsley)", "lsoa_name": "Knowsley 001A"}),
        (dict(lon=-2.960, lat=53.405, ward="Stored ward"),
         {"label": "Stored ward ward", "lsoa_name": ""}),
        (dict(description="Known only by name"), {"label": "Known only by name", "map_href": "/web/map"}),
        (dict(uprn="10001"), {"label": "A place with no coordinates", "map_href": "/web/map"}),
    ]
    for fields, want in checks:
        lid = placed(**fields)
        seq = _seq(w.db)
        got = caseplace.case_place(w.db, co, {"id": cid, "location_id": lid}, PURPOSE, gaz=gaz)
        w.db.commit()
        assert {k: got[k] for k in want} == want, fields
        assert got["id"] == lid and all(got[k] == v for k, v in fields.items())
        rows = _since(w.db, seq)
        assert [(r.action, r.entity, r.entity_ids, r.purpose) for r in rows] == [("read", "location", str(lid), PURPOSE)]
    # the store's own gazetteer when none is given
    got = caseplace.case_place(w.db, co, {"id": cid, "location_id": placed(lon=-2.985, lat=53.405)}, PURPOSE,
                               store=place_store)
    assert got["label"] == "Central ward (Liverpool)"
    # no purpose, no place; a place the viewer cannot see is a 404
    with pytest.raises(audit.MissingPurpose):
        caseplace.case_place(w.db, co, {"id": cid, "location_id": lid}, None, gaz=gaz)
    w.db.rollback()
    with pytest.raises(NotFound):
        caseplace.case_place(w.db, w.user("caseworker.F"), {"id": cid, "location_id": lid}, PURPOSE, gaz=gaz)


def test_odd_rows_and_files(place_store, tmp_path):
    """Rows half-placed or with whole-number degrees, and a boundary file with no features list."""
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = to_bng.transform(-2.975, 53.405)
    rows = [{"lat": 53.405, "lon": None}, {"lon": -2.975}, {"x": x}, {"lon": -3, "lat": 53}, {"x": x, "y": y}]
    out = placenames.name_places(rows, place_store)
    assert [(r["lat"], r["lon"], r["map_href"]) for r in out[:3]] == [(None, None, "/web/map")] * 3
    assert (out[3]["lat"], out[3]["lon"]) == (53.0, -3.0)
    assert math.isclose(out[4]["lon"], -2.975, abs_tol=1e-6) and out[4]["ward"] == "Riverside"
    (tmp_path / "products").mkdir()
    (tmp_path / "products" / "boundary-wards.geojson").write_text('{"type": "FeatureCollection"}')
    gaz = placenames.gazetteer(tmp_path)
    assert len(gaz.ward_geoms) == 0 and gaz.wards() == []
    one = placenames.name_places([{"lon": -3, "lat": 53}], place_store)[0]
    assert type(one["lon"]) is float and type(one["lat"]) is float


def test_the_street_point_table_is_read_again_when_the_store_is_rebuilt(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(caseplace, "_street_points", lambda root, stamp: calls.append((root, stamp)) or {})
    caseplace.street_points(tmp_path)
    (tmp_path / ".built").write_text("{}")
    caseplace.street_points(tmp_path)
    assert calls == [(str(tmp_path), 0), (str(tmp_path), (tmp_path / ".built").stat().st_mtime_ns)]
    assert calls[1][1] > 0


def test_a_ward_with_no_code_is_never_chosen_and_lsoas_alone_are_named(tmp_path):
    write_products(tmp_path, wards=[("", "Codeless", WARDS[0][2])], lsoas=LSOAS)
    with pytest.raises(HubError) as e:
        caseplace.resolve_place(tmp_path, ward_code="")
    assert str(e.value) == "Choose the ward, or give latitude and longitude."
    (tmp_path / "products" / "boundary-wards.geojson").unlink()
    gaz = placenames.gazetteer(tmp_path)
    assert gaz.name_points([-2.975], [53.405]) == [{"ward": "", "ward_code": "", "district": "Knowsley",
                                                    "lsoa": "E01000002", "lsoa_name": "Knowsley 001A"}]


def test_the_hint_names_at_most_five_other_wards(tmp_path, monkeypatch):
    """A street known in seven wards, none of them the one chosen."""
    wards = [(f"E0510000{k}", f"W{k}", (-2.99 + 0.001 * k, 53.40, -2.99 + 0.001 * (k + 1), 53.41)) for k in range(8)]
    write_products(tmp_path, wards=wards, lsoas=[])
    lon = np.array([-2.99 + 0.001 * k + 0.0005 for k in range(1, 8)])
    monkeypatch.setattr(caseplace, "street_points", lambda store: {
        "long road": (np.array(["On or near Long Road"] * 7, dtype=object), lon, np.full(7, 53.405))})
    with pytest.raises(HubError) as e:
        caseplace.resolve_place(tmp_path, street="Long Road", ward_code="E05100000")
    assert "It is in W1 (), W2 (), W3 (), W4 (), W5 (). Check" in str(e.value)


def _feature(code, name, ring):
    return {"type": "Feature", "properties": {"code": code, "name": name},
            "geometry": {"type": "Polygon", "coordinates": [ring + ring[:1]]}}


def test_polygons_not_their_boxes_and_the_first_of_two_overlapping(tmp_path):
    """A triangular ward (a point inside its bounding box but outside it is in no ward); two
    overlapping wards (a point in both is named by the first); a ward over two districts' LSOAs
    (each point takes its own LSOA's district)."""
    p = tmp_path / "products"
    p.mkdir()
    tri = _feature("E05200001", "Triangle", [[-2.93, 53.40], [-2.92, 53.40], [-2.93, 53.41]])
    wards = [tri, _feature("E05200002", "First", [[-2.99, 53.40], [-2.97, 53.40], [-2.97, 53.41], [-2.99, 53.41]]),
             _feature("E05200003", "Second", [[-2.98, 53.40], [-2.96, 53.40], [-2.96, 53.41], [-2.98, 53.41]])]
    write_products(tmp_path, wards=[], lsoas=[("E01200001", "Knowsley 001A", (-2.99, 53.40, -2.9715, 53.41)),
                                             ("E01200002", "Sefton 002A", (-2.9715, 53.40, -2.96, 53.41))])
    (p / "boundary-wards.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": wards}))
    gaz = placenames.gazetteer(tmp_path)
    got = gaz.name_points([-2.928, -2.922, -2.975, -2.971, -2.965], [53.401, 53.408, 53.405, 53.405, 53.405])
    assert [(n["ward"], n["district"]) for n in got] == [
        ("Triangle", ""), ("", ""), ("First", "Knowsley"), ("First", "Sefton"), ("Second", "Sefton")]
