"""GPS pings against an independent oracle (issue 26): a brute-force reader written here, row by row
with the `csv` module, `datetime.fromisoformat`, pyproj and plain loops, decides for every physical
row of a random file whether it is stored or quarantined and why; `check()` and `ingest_pings()`
must agree row for row (line, reason, device, time, day, x, y, accuracy, speed, simulated), and
read = stored + quarantined is recounted from the file. Edge cases pinned by hand: accuracy exactly
at the limit, a fix exactly `far_km` outside the area, equal timestamps on one radio and on two,
half a second between fixes (the speed divides by at least one second), a radio gap, the first and
last fix of a track, the local calendar day across midnight and the clock change, GPX names."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import json
import math
import random
import re
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely
from pyproj import Transformer

from saferhub.data.pings import (
    PINGS_SCHEMA, check, ingest_pings, pings, pseudonym_key, pseudonymise, read_csv, read_gpx,
)
from saferhub.errors import SaferhubError

LONDON = ZoneInfo("Europe/London")
TO_BNG = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
TO_WGS84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
KEY = b"k" * 32
AREA = (330_000.0, 385_000.0, 345_000.0, 400_000.0)   # a 15 km square, BNG metres
BOX = shapely.box(*AREA)


def _pseudo(raw: str) -> str:
    return "dev-" + hmac.new(KEY, raw.strip().encode(), hashlib.sha256).hexdigest()[:12]


def _num(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        return math.nan
    return v


def _outside_km(x: float, y: float) -> float:
    """Distance from the square AREA, by hand."""
    x0, y0, x1, y1 = AREA
    dx = max(x0 - x, 0.0, x - x1)
    dy = max(y0 - y, 0.0, y - y1)
    return math.hypot(dx, dy) / 1000


def oracle(text: str, max_accuracy=100.0, max_speed=45.0, far_km=5.0):
    """{line: reason} for quarantined rows and {line: stored fields} for kept ones, by brute force.
    The file has no quoted line breaks, so record k starts on physical line k (blank lines skipped)."""
    rows = []
    lines = text.split("\n")
    header = [h.strip().lower() for h in next(csv.reader([lines[0]]))]
    col = {h: i for i, h in enumerate(header)}
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == "":
            continue
        fields = next(csv.reader([line]))
        rows.append((number, fields))
    bad, info = {}, {}
    for number, fields in rows:
        if len(fields) != len(header):
            bad[number] = f"wrong column count (got {len(fields)}, expected {len(header)})"
            continue
        if all(f == "" for f in fields):
            bad[number] = "no values (the row holds only commas)"
            continue
        get = {h: fields[i].strip() for h, i in col.items()}
        device = get.get("device", get.get("callsign", ""))
        when = get["time"]
        if device == "":
            bad[number] = "no device or callsign"
            continue
        if when == "":
            bad[number] = "no time"
            continue
        if not (when[-1] in "Zz" or re.search(r"[+-]\d\d:?\d\d$", when)):
            bad[number] = "time has no zone (give an offset such as +01:00, or Z)"
            continue
        try:
            t = dt.datetime.fromisoformat(when[:-1] + "+00:00" if when[-1] in "Zz" else when)
        except ValueError:
            bad[number] = "time is not a date and time"
            continue
        e, n = _num(get.get("easting", "")), _num(get.get("northing", ""))
        lon, lat = _num(get.get("lon", "")), _num(get.get("lat", ""))
        if math.isfinite(e) and math.isfinite(n):
            x, y = e, n
        elif math.isfinite(lon) and math.isfinite(lat):
            x, y = TO_BNG.transform(lon, lat)
        else:
            x = y = math.nan
        if not (math.isfinite(x) and math.isfinite(y)) or (lon == 0 and lat == 0) or (e == 0 and n == 0):
            bad[number] = "no fix (no usable coordinates)"
            continue
        acc = _num(get.get("accuracy", ""))
        if acc > max_accuracy:
            bad[number] = f"poor accuracy ({acc:.0f} m > {max_accuracy:g} m)"
            continue
        out = _outside_km(x, y)
        if far_km is not None and out > far_km:
            bad[number] = f"far outside the force area ({out:.1f} km)"
            continue
        sim = get.get("simulated", "").lower() in ("1", "true", "yes", "simulated")
        info[number] = dict(device=_pseudo(device), time=t.astimezone(dt.timezone.utc), x=x, y=y, acc=acc,
                            speed=_num(get.get("speed", "")), sim=sim)
    # duplicate and backwards times, per radio in file order
    seen, latest = {}, {}
    for number in sorted(info):
        d, t = info[number]["device"], info[number]["time"]
        if t in seen.setdefault(d, set()):
            bad[number] = "duplicate time for this device"
        elif d in latest and t < latest[d]:
            bad[number] = "time goes backwards (earlier than the device's previous ping)"
        seen[d].add(t)
        latest[d] = max(latest.get(d, t), t)
    for number in list(info):
        if number in bad:
            del info[number]
    # impossible speeds: a spike both ways first, then the ends of what is left
    for ends in (False, True):
        tracks = {}
        for number, r in info.items():
            tracks.setdefault(r["device"], []).append(number)
        spikes = {}
        for numbers in tracks.values():
            numbers.sort(key=lambda k: info[k]["time"])
            speeds = []
            for a, b in zip(numbers, numbers[1:]):
                ra, rb = info[a], info[b]
                secs = max((rb["time"] - ra["time"]).total_seconds(), 1.0)
                speeds.append(math.hypot(rb["x"] - ra["x"], rb["y"] - ra["y"]) / secs)
            for j, number in enumerate(numbers):
                v_in = speeds[j - 1] if j > 0 else None
                v_out = speeds[j] if j < len(speeds) else None
                fin = v_in is not None and v_in > max_speed
                fout = v_out is not None and v_out > max_speed
                if (fin and fout) or (ends and ((fin and v_out is None) or (fout and v_in is None))):
                    spikes[number] = max(v for v in (v_in, v_out) if v is not None)
        for number, v in spikes.items():
            bad[number] = f"impossible speed ({v:.0f} m/s to or from the neighbouring fixes)"
            del info[number]
    for r in info.values():
        r["day"] = r["time"].astimezone(LONDON).date()
    return bad, info


def random_file(rng: random.Random) -> str:
    """Three radios moving at walking or driving pace, with every fault mixed in."""
    out = ["device,time,easting,northing,lon,lat,accuracy,speed,simulated"]
    base = dt.datetime(2026, 3, 28, 23, 40, tzinfo=dt.timezone.utc)   # the clock change night
    pos = {r: [rng.uniform(AREA[0], AREA[2]), rng.uniform(AREA[1], AREA[3])] for r in ("R1", "R2", "R3")}
    clock = {r: base for r in pos}
    for _ in range(70):
        r = rng.choice(list(pos))
        step = rng.choice([0.5, 1, 30, 60, 60, 120, 900, 3600])   # half a second .. a radio gap
        clock[r] += dt.timedelta(seconds=step)
        t = clock[r]
        kind = rng.random()
        if kind < 0.06:
            t = t - dt.timedelta(seconds=rng.choice([0, 1, 30, 300]))   # repeated or backwards
        pos[r][0] += rng.uniform(-1, 1) * 40 * min(step, 60)
        pos[r][1] += rng.uniform(-1, 1) * 40 * min(step, 60)
        x, y = pos[r]
        if rng.random() < 0.08:    # a spike: 3 km off for one fix
            x += rng.choice([-3000, 3000])
        zone = rng.choice(["Z", "+00:00", "z", "+0000"])
        local = t.astimezone(LONDON)
        when = rng.choice([t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + zone,
                           local.isoformat(timespec="seconds")])
        e, n, lon, lat = f"{x:.1f}", f"{y:.1f}", "", ""
        if rng.random() < 0.3:   # lon/lat instead
            lo, la = TO_WGS84.transform(x, y)
            e, n, lon, lat = "", "", f"{lo:.6f}", f"{la:.6f}"
        acc = rng.choice(["", "5", "100", "100.4", "100.6", "250"])
        speed = rng.choice(["", "0", "1.5", "13.25"])
        sim = rng.choice(["", "", "true", "Yes", "0", "simulated", "no"])
        device = r
        fault = rng.random()
        if fault < 0.03:
            device = " "
        elif fault < 0.06:
            when = ""
        elif fault < 0.09:
            when = t.strftime("%Y-%m-%d %H:%M:%S")             # no zone
        elif fault < 0.11:
            when = "2026-02-30T10:00:00Z"                      # not a date
        elif fault < 0.14:
            e, n, lon, lat = "", "", "", ""                    # no fix
        elif fault < 0.16:
            e, n, lon, lat = "0", "0", "", ""                  # a null island fix
        elif fault < 0.19:
            e = f"{AREA[2] + rng.choice([4000, 6000, 20000]):.1f}"   # outside the area, near or far
        row = ",".join([device, when, e, n, lon, lat, acc, speed, sim])
        if rng.random() < 0.03:
            row = ",".join(row.split(",")[:5])              # a short row
        elif rng.random() < 0.02:
            row = "," * 8
        out.append(row)
        if rng.random() < 0.03:
            out.append("")
    return "\n".join(out) + "\n"


def _run(text, tmp_path, **rules):
    path = tmp_path / "radios.csv"
    path.write_bytes(text.encode())
    raw, unread = read_csv(path, text.encode(), KEY)
    checked = check(raw, KEY, "radios.csv", boundary=BOX, **rules)
    return raw, unread, checked


def _compare(text, checked, unread, **rules):
    bad, info = oracle(text, **rules)
    q = pd.concat([checked.quarantine, unread], ignore_index=True)
    got_bad = dict(zip(q["line"].astype(int), q["reason"]))
    assert got_bad == bad
    assert q["file"].eq("radios.csv").all()
    # a row the checks refused keeps its values, device pseudonymised, in the reader's column order
    lines = text.split("\n")
    header = next(csv.reader([lines[0]]))
    for _, r in checked.quarantine.iterrows():
        f = dict(zip(header, next(csv.reader([lines[r["line"] - 1]]))))
        want = [_pseudo(f["device"])] + [f.get(c, "") for c in ("time", "lon", "lat", "easting", "northing",
                                                               "accuracy", "speed", "simulated")]
        assert r["raw"] == ",".join(want)
    for name, key in (("accuracy", "acc"), ("speed", "speed")):   # missing = null, not NaN
        assert checked.good[name].null_count == sum(math.isnan(v[key]) for v in info.values())
    g = checked.good.to_pandas()
    assert g.columns.tolist() == PINGS_SCHEMA.names
    assert sorted(checked.lines.tolist()) == sorted(info)
    for line, (_, row) in zip(checked.lines.tolist(), g.iterrows()):
        want = info[line]
        assert row["device"] == want["device"]
        assert row["time"].to_pydatetime() == want["time"]
        assert row["day"] == want["day"]
        assert row["x"] == pytest.approx(want["x"], abs=1e-3) and row["y"] == pytest.approx(want["y"], abs=1e-3)
        for name, key in (("accuracy", "acc"), ("speed", "speed")):
            if math.isnan(want[key]):
                assert pd.isnull(row[name])
            else:
                assert row[name] == pytest.approx(want[key], rel=1e-6)
        assert row["simulated"] == want["sim"]
    return bad, info


@pytest.mark.parametrize("seed", range(4))
def test_random_files_equal_the_brute_force_reader(tmp_path, seed):
    text = random_file(random.Random(seed))
    raw, unread, checked = _run(text, tmp_path)
    bad, info = _compare(text, checked, unread)
    reasons = {r.split(" (")[0] for r in bad.values()}
    assert len(reasons) >= 5, reasons     # the file exercises most checks
    # the same file through ingest: read = physical rows, stored = the store, quarantined = the table
    from saferhub.data.store import quarantine

    store = tmp_path / "store"
    (tmp_path / "store" / "patrol").mkdir(parents=True)
    (tmp_path / "store" / "patrol" / "pseudonym.key").write_bytes(KEY)
    r = ingest_pings(tmp_path / "radios.csv", store=store, force="merseyside", boundary=BOX)
    physical = sum(1 for line in text.split("\n")[1:] if line.strip())
    assert r["read"] == physical == len(bad) + len(info)
    assert r["stored"] == len(info) == len(pings(store))
    assert r["quarantined"] == len(bad) == len(quarantine(store))
    assert r["days"] == sorted({str(v["day"]) for v in info.values()})
    short = {}
    for reason in bad.values():
        k = re.sub(r"\s*\(.*\)$", "", reason)
        short[k] = short.get(k, 0) + 1
    assert r["by_reason"] == short


@pytest.mark.parametrize("seed", range(2))
def test_other_limits_equal_the_brute_force_reader(tmp_path, seed):
    text = random_file(random.Random(100 + seed))
    rules = dict(max_accuracy=7.0, max_jump_speed=20.0, far_km=1.5)
    raw, unread, checked = _run(text, tmp_path, **rules)
    _compare(text, checked, unread, max_accuracy=7.0, max_speed=20.0, far_km=1.5)


def test_limits_are_inclusive_at_the_edge(tmp_path):
    """Accuracy exactly 100 m and a fix exactly 5 km outside the area are kept; just over is not."""
    x1 = AREA[2]
    text = ("device,time,easting,northing,accuracy\n"
            f"A,2026-05-01T10:00:00Z,{x1 - 100},390000,100\n"          # 2 kept: at the limit
            f"A,2026-05-01T10:10:00Z,{x1 - 100},390000,100.6\n"        # 3 poor accuracy (101 m)
            f"B,2026-05-01T10:00:00Z,{x1 + 5000},390000,5\n"            # 4 kept: exactly 5 km out
            f"C,2026-05-01T10:00:00Z,{x1 + 5001},390000,5\n"            # 5 far outside (5.0 km)
            f"D,2026-05-01T10:00:00Z,{x1 + 5100},390000,\n")            # 6 far outside (5.1 km)
    raw, unread, checked = _run(text, tmp_path)
    q = dict(zip(checked.quarantine["line"], checked.quarantine["reason"]))
    assert q == {3: "poor accuracy (101 m > 100 m)", 5: "far outside the force area (5.0 km)",
                 6: "far outside the force area (5.1 km)"}
    assert checked.lines.tolist() == [2, 4]
    # no boundary, or far_km=None: no area check at all
    assert len(check(raw, KEY, "f", None).quarantine) == 1
    assert len(check(raw, KEY, "f", BOX, far_km=None).quarantine) == 1


def test_equal_times_speed_floor_gaps_and_track_ends(tmp_path):
    """Equal times on one radio are duplicates, on two radios both kept; fixes half a second apart
    divide by one second; a one-hour gap makes a long move slow enough; a spike in the middle goes
    on the first pass, a wrong first fix on the second."""
    text = ("device,time,easting,northing\n"
            "A,2026-05-01T10:00:00Z,335000,390000\n"      # 2 kept
            "B,2026-05-01T10:00:00Z,335000,390000\n"      # 3 kept: same instant, other radio
            "A,2026-05-01T10:00:00Z,335000,390000\n"      # 4 duplicate
            "A,2026-05-01T10:00:00.5Z,335040,390000\n"    # 5 kept: 40 m in 0.5 s counts as 40 m/s
            "A,2026-05-01T09:59:59Z,335000,390000\n"      # 6 backwards
            "A,2026-05-01T11:00:00.5Z,395000,390000\n"    # 7 kept: 60 km in an hour (16.7 m/s)
            "A,2026-05-01T11:01:00.5Z,398000,390000\n"    # 8 spike: 3 km in a minute, and back
            "A,2026-05-01T11:02:00.5Z,395010,390000\n"    # 9 kept
            "C,2026-05-01T10:00:00Z,340000,390000\n"      # 10 a wrong first fix: 5 km from the next
            "C,2026-05-01T10:01:00Z,335000,390000\n"      # 11 kept
            "C,2026-05-01T10:02:00Z,335030,390000\n"      # 12 kept
            "D,2026-05-01T10:00:00Z,335000,390000\n"      # 13 a two-fix track too fast: both ends go
            "D,2026-05-01T10:00:00.5Z,335046,390000\n")   # 14 a last fix at 46 m/s (0.5 s floored to 1)
    raw, unread, checked = _run(text, tmp_path, far_km=None)
    q = dict(zip(checked.quarantine["line"], checked.quarantine["reason"]))
    assert q == {4: "duplicate time for this device",
                 6: "time goes backwards (earlier than the device's previous ping)",
                 8: "impossible speed (50 m/s to or from the neighbouring fixes)",
                 10: "impossible speed (83 m/s to or from the neighbouring fixes)",
                 13: "impossible speed (46 m/s to or from the neighbouring fixes)",   # a two-fix track
                 14: "impossible speed (46 m/s to or from the neighbouring fixes)"}
    assert checked.lines.tolist() == [2, 3, 5, 7, 9, 11, 12]
    # 45 m/s exactly is allowed
    ok = "device,time,easting,northing\nE,2026-05-01T10:00:00Z,335000,390000\nE,2026-05-01T10:00:01Z,335045,390000\n"
    raw, unread, checked = _run(ok, tmp_path, far_km=None)
    assert len(checked.quarantine) == 0 and checked.lines.tolist() == [2, 3]


def test_local_day_and_stored_fields(tmp_path):
    """The day is the Europe/London calendar day; easting/northing win over lon/lat; accuracy and
    speed stored as given, missing ones null; 'simulated' in any spelling."""
    text = ("Call_Sign ,Timestamp,Longitude,Latitude,East,North,HAcc,Speed_ms,Simulated\n"
            "R,2026-06-30T23:30:00Z,-2.98,53.40,335001,390002,7.5,3.25,TRUE\n"      # 1 July in the UK
            "R,2026-12-31T23:30:00Z,-2.98,53.40,,,,,no\n"                           # 31 Dec (GMT)
            "R,2027-01-01T00:29:00+01:00,-2.98,53.40,,,8,,simulated\n")             # 31 Dec 23:29 UTC
    raw, unread, checked = _run(text, tmp_path, far_km=None)
    assert [r.split(" (")[0] for r in checked.quarantine["reason"]] == ["time goes backwards"]
    g = checked.good.to_pandas()
    assert [str(d) for d in g["day"]] == ["2026-07-01", "2026-12-31"]
    assert (g["x"].iloc[0], g["y"].iloc[0]) == (335001.0, 390002.0)
    lx, ly = TO_BNG.transform(-2.98, 53.40)
    assert g["x"].iloc[1] == pytest.approx(lx, abs=1e-6) and g["y"].iloc[1] == pytest.approx(ly, abs=1e-6)
    assert g["accuracy"].iloc[0] == 7.5 and g["speed"].iloc[0] == 3.25 and g["simulated"].tolist() == [True, False]
    assert pd.isnull(g["accuracy"].iloc[1]) and pd.isnull(g["speed"].iloc[1])
    assert g["device"].tolist() == [_pseudo("R")] * 2


def test_pseudonyms_and_the_key():
    assert pseudonymise(["  R1 ", "R1", None, ""], KEY).tolist() == [_pseudo("R1"), _pseudo("R1"), _pseudo(""), _pseudo("")]
    assert pseudonymise(["R1"], KEY)[0] != pseudonymise(["R1"], b"x" * 32)[0]


def test_key_is_made_once_with_32_bytes(tmp_path):
    k = pseudonym_key(tmp_path)
    assert len(k) == 32 and pseudonym_key(tmp_path) == k
    assert (tmp_path / "patrol" / "pseudonym.key").read_bytes() == k


def test_a_file_that_cannot_be_pings_is_one_clear_error(tmp_path):
    for text, words in (("device,time,lon,lat\n", "has a header but no rows"),
                        ("device,lon,lat\nA,1,2\n", "need a device (or callsign) column and a time column"),
                        ("time,lon,lat\n2026-01-01T00:00Z,1,2\n", "need a device"),
                        ("device,time,lon\nA,2026-01-01T00:00Z,1\n", "need lon/lat or easting/northing columns"),
                        ("device,time,easting\nA,2026-01-01T00:00Z,1\n", "need lon/lat or easting/northing")):
        with pytest.raises(SaferhubError, match=re.escape(words)):
            read_csv(tmp_path / "p.csv", text.encode(), KEY)
    # easting/northing alone, or lon/lat alone, is enough
    for text in ("device,time,easting,northing\nA,2026-01-01T00:00Z,1,2\n", "device,time,lat,lng\nA,2026-01-01T00:00Z,1,2\n"):
        raw, unread = read_csv(tmp_path / "p.csv", text.encode(), KEY)
        assert len(raw) == 1 and len(unread) == 0


def test_gpx_names_lines_and_speed(tmp_path):
    gpx = tmp_path / "walk.gpx"
    data = b"""<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">
<trk><name>PC 1234</name><trkseg>
<trkpt lat="53.405" lon="-2.98"><time>2026-06-01T10:00:00Z</time><extensions><speed>1.5</speed></extensions></trkpt>
<trkpt lat="53.4051" lon="-2.9801"><time>2026-06-01T10:01:00Z</time></trkpt>
</trkseg></trk>
<trk><trkseg><trkpt lat="53.41" lon="-2.97"><time>2026-06-01T10:00:00Z</time></trkpt></trkseg></trk>
</gpx>"""
    raw = read_gpx(gpx, data)
    assert raw["line"].tolist() == [1, 2, 3]
    assert raw["device"].tolist() == ["PC 1234", "PC 1234", "walk-2"]
    assert raw["speed"].tolist() == ["1.5", "", ""]
    assert raw["lon"].tolist() == ["-2.98", "-2.9801", "-2.97"] and raw["easting"].tolist() == ["", "", ""]
    no_ns = read_gpx(gpx, b"<gpx><trk><trkpt lat='1' lon='2'><time>t</time></trkpt></trk></gpx>")
    assert no_ns["device"].tolist() == ["walk-1"] and no_ns["time"].tolist() == ["t"]
    with pytest.raises(SaferhubError, match="holds no track points"):
        read_gpx(gpx, b"<gpx><trk></trk></gpx>")
    with pytest.raises(SaferhubError, match="not a readable GPX file"):
        read_gpx(gpx, b"<gpx><trk>")


def test_two_files_two_days_merge_and_filters(tmp_path):
    """Partitions per local day; a second file adds to a day already stored (sources both files),
    repeats of stored fixes are quarantined; pings() filters by force and by day (list or an
    inclusive range); a file ingested again returns its first record."""
    store = tmp_path / "s"
    a = tmp_path / "a.csv"
    a.write_text("device,time,easting,northing,accuracy\n"
                 "R,2026-05-01T22:30:00Z,335000,390000,5\n"      # 1 May 23:30 BST
                 "R,2026-05-01T23:30:00Z,335010,390000,5\n"      # 2 May 00:30 BST
                 "R,2026-05-02T08:00:00Z,335020,390000,500\n")   # poor accuracy
    b = tmp_path / "b.csv"
    b.write_text("device,time,easting,northing\n"
                 "R,2026-05-01T23:30:00Z,335010,390000\n"        # already stored
                 "S,2026-05-02T09:00:00Z,335010,390000\n"
                 "S,2026-05-03T09:00:00Z,335010,390000\n")
    ra = ingest_pings(a, store=store, force="merseyside")
    assert (ra["read"], ra["stored"], ra["quarantined"], ra["days"], ra["change"]) == \
        (3, 2, 1, ["2026-05-01", "2026-05-02"], "new")
    assert ra["by_reason"] == {"poor accuracy": 1}
    rb = ingest_pings(b, store=store, force="merseyside")
    assert (rb["read"], rb["stored"], rb["quarantined"], rb["days"]) == (3, 2, 1, ["2026-05-02", "2026-05-03"])
    assert rb["by_reason"] == {"duplicate of a ping already in the store": 1}
    ingest_pings(b, store=tmp_path / "other", force="cheshire")
    cat = json.loads((store / "catalog.json").read_text())
    day2 = cat["partitions"]["pings/merseyside/2026-05-02"]
    assert day2["rows"] == 2 and len(day2["sources"]) == 2
    assert pq.read_table(store / day2["file"]).num_rows == 2
    rec = [f for f in cat["files"].values() if f["name"] == "b.csv"][0]
    assert (rec["read"], rec["stored"], rec["quarantined"], rec["kind"], rec["force"]) == (3, 2, 1, "pings", "merseyside")
    assert pq.read_table(store / rec["quarantine_file"]).num_rows == 1
    assert rec["partitions"] == [f"pings/merseyside/2026-05-0{d}" for d in (2, 3)]
    again = ingest_pings(b, store=store, force="merseyside")
    assert {k: again[k] for k in ("read", "stored", "quarantined", "by_reason", "days")} == \
        {k: rb[k] for k in ("read", "stored", "quarantined", "by_reason", "days")}
    assert again["change"] == "unchanged (already ingested)"
    assert len(pings(store)) == 4
    assert len(pings(store, force="merseyside")) == 4 and len(pings(store, force="cheshire")) == 0
    assert len(pings(store, days=["2026-05-02"])) == 2
    assert len(pings(store, days=[dt.date(2026, 5, 1), "2026-05-03"])) == 2
    assert len(pings(store, days=("2026-05-01", "2026-05-02"))) == 3
    assert len(pings(store, days=("2026-05-02", "2026-05-03"))) == 3
    assert pings(store, days=["2026-06-01"]).schema == PINGS_SCHEMA
    t = pings(store, days=["2026-05-02"]).to_pandas()   # a merged day is sorted by device, then time
    assert list(zip(t["device"], t["time"])) == sorted(zip(t["device"], t["time"]))


def test_a_file_whose_rows_are_all_bad_stores_nothing(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("device,time,easting,northing\nR,2026-05-01 10:00,335000,390000\n,2026-05-01T10:00Z,1,2\n")
    r = ingest_pings(f, store=tmp_path / "s")
    assert (r["read"], r["stored"], r["quarantined"], r["days"]) == (2, 0, 2, [])
    assert r["by_reason"] == {"time has no zone": 1, "no device or callsign": 1}
    assert len(pings(tmp_path / "s")) == 0
