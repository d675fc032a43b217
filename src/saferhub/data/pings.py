"""GPS pings from radios and body-worn devices: their own event-store dataset "pings", one
partition per force per day (Europe/London calendar day), keyed `pings/<force>/<YYYY-MM-DD>`.

Ingest reads CSV (device or callsign, time with zone, lon/lat or easting/northing, optional
accuracy and speed) or GPX, replaces device ids with a keyed hash (HMAC-SHA256; the key lives in
the store, mode 0600, and is never printed), and quarantines bad rows with their reason: no
fix, poor accuracy, a time without zone, duplicate or backwards times, an impossible jump, far
outside the force area. Rows read = rows stored + rows quarantined, always. Re-ingesting a file
already in the store changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from saferhub.config import resolve_store
from saferhub.errors import BadFileError

DATASET = "pings"
LOCAL_ZONE = "Europe/London"
PINGS_SCHEMA = pa.schema([
    ("device", pa.string()),                    # pseudonym "dev-<12 hex>", never the raw id
    ("time", pa.timestamp("us", tz="UTC")),
    ("day", pa.date32()),                       # Europe/London calendar day (the partition)
    ("x", pa.float64()), ("y", pa.float64()),   # BNG metres
    ("accuracy", pa.float32()),                 # metres, null when the device gives none
    ("speed", pa.float32()),                    # m/s as reported, null when not given
    ("simulated", pa.bool_()),
])
QUARANTINE_COLUMNS = ("file", "line", "reason", "raw")

MAX_ACCURACY = 100.0   # metres: a fix vaguer than this cannot place anyone in a 300 m area
MAX_JUMP_SPEED = 45.0  # m/s (100 mph): faster than any patrol moves, so the fix is wrong
FAR_KM = 5.0           # beyond this distance outside the force boundary a fix is wrong

_ALIASES = {
    "device": ("device", "device_id", "callsign", "call_sign", "radio", "radio_id", "officer", "unit"),
    "time": ("time", "timestamp", "datetime", "date_time", "fix_time", "recorded_at"),
    "lon": ("lon", "lng", "long", "longitude"), "lat": ("lat", "latitude"),
    "easting": ("easting", "x", "east"), "northing": ("northing", "y", "north"),
    "accuracy": ("accuracy", "accuracy_m", "hacc", "horizontal_accuracy"),
    "speed": ("speed", "speed_ms", "speed_mps"), "simulated": ("simulated",),
}
_ZONE = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# Pseudonyms


def key_path(store=None) -> Path:
    return resolve_store(store) / "patrol" / "pseudonym.key"


def pseudonym_key(store=None) -> bytes:
    """The store's keyed-hash key, made on first use (32 random bytes, file mode 0600)."""
    path = key_path(store)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:   # another process made it first: use theirs
            return path.read_bytes()
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    return path.read_bytes()


def pseudonymise(ids, key: bytes) -> np.ndarray:
    """Raw device / officer ids -> "dev-<12 hex>" (the same id always gives the same pseudonym)."""
    cache: dict[str, str] = {}
    out = np.empty(len(ids), dtype=object)
    for i, raw in enumerate(ids):
        raw = "" if raw is None else str(raw).strip()
        if raw not in cache:
            cache[raw] = "dev-" + hmac.new(key, raw.encode(), hashlib.sha256).hexdigest()[:12]
        out[i] = cache[raw]
    return out


# ---------------------------------------------------------------------------------------------
# Reading files into one raw frame: device, time (text), lon/lat or easting/northing, ...


def _pick(columns, name):
    lower = {c.strip().lower(): c for c in columns}
    return next((lower[a] for a in _ALIASES[name] if a in lower), None)


def read_csv(path, data: bytes, key: bytes) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A pings CSV as text columns device, time, lon, lat, easting, northing, accuracy, speed,
    simulated (missing ones empty), `line` (the physical line each row starts on) and `flag` (a
    reason found while reading, or None); and the records that are not rows (file, line, reason,
    raw), read by the same reader as police and partner files, with the device pseudonymised."""
    from saferhub.data.csvread import decode_check, read_strings

    name = str(path)
    raw = read_strings(name, data, decode_check(name, data))
    if raw.table.num_rows + len(raw.bad_rows) == 0:
        raise BadFileError(path, "has a header but no rows")
    dev, when = _pick(raw.header, "device"), _pick(raw.header, "time")
    if dev is None or when is None:
        raise BadFileError(path, "need a device (or callsign) column and a time column")
    has_ll = _pick(raw.header, "lon") and _pick(raw.header, "lat")
    has_en = _pick(raw.header, "easting") and _pick(raw.header, "northing")
    if not (has_ll or has_en):
        raise BadFileError(path, "need lon/lat or easting/northing columns")
    out = pd.DataFrame({"line": raw.lines})
    for field_name in _ALIASES:
        col = _pick(raw.header, field_name)
        out[field_name] = raw.table[col].to_numpy(zero_copy_only=False) if col else ""
    out["flag"] = raw.row_flags
    at = raw.header.index(dev)
    bad = pd.DataFrame([(Path(path).name, line, reason, _pseudonymise_field(text, at, key))
                        for line, reason, text in raw.bad_rows], columns=list(QUARANTINE_COLUMNS))
    return out, bad


def _pseudonymise_field(text: str, at: int, key: bytes) -> str:
    """A raw record with its device field pseudonymised (a radio id never reaches the quarantine)."""
    import csv
    import io

    try:
        fields = next(csv.reader([text.replace("\r", " ").replace("\n", " ")]))
    except (csv.Error, StopIteration):
        return ""
    if at < len(fields):
        fields[at] = str(pseudonymise(np.array([fields[at]], dtype=object), key)[0])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(fields)
    return buf.getvalue()


def read_gpx(path, data: bytes) -> pd.DataFrame:
    """A GPX file's track points; the track (or file) name is the device."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise BadFileError(path, f"not a readable GPX file ({exc})") from None
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    rows = []
    for t, trk in enumerate(root.iter(f"{ns}trk")):
        name = trk.findtext(f"{ns}name") or f"{Path(path).stem}-{t + 1}"
        for pt in trk.iter(f"{ns}trkpt"):
            speed = next((e.text for e in pt.iter() if e.tag.endswith("speed")), "")
            rows.append({"device": name, "time": pt.findtext(f"{ns}time") or "", "lon": pt.get("lon", ""),
                         "lat": pt.get("lat", ""), "easting": "", "northing": "", "accuracy": "",
                         "speed": speed or "", "simulated": ""})
    if not rows:
        raise BadFileError(path, "the GPX file holds no track points")
    out = pd.DataFrame(rows)
    out.insert(0, "line", np.arange(1, len(out) + 1))   # GPX: the point's number in the file
    return out


# ---------------------------------------------------------------------------------------------
# Validation


@dataclass
class Checked:
    good: pa.Table           # PINGS_SCHEMA rows
    quarantine: pd.DataFrame  # file, line, reason, raw (device already pseudonymised)
    lines: np.ndarray        # the file line of each good row (to name a later duplicate's line)


def _num(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s.replace("", np.nan), errors="coerce").to_numpy(dtype="float64")


def check(raw: pd.DataFrame, key: bytes, file_label: str, boundary=None, *, max_accuracy=MAX_ACCURACY,
          max_jump_speed=MAX_JUMP_SPEED, far_km=FAR_KM) -> Checked:
    """Parse, pseudonymise and validate raw rows; each bad row gets the first reason that applies."""
    from saferhub.geo.project import to_bng

    n = len(raw)
    device = pseudonymise(raw["device"].to_numpy(), key)
    # reasons found while reading (a NUL byte, a row of commas only) come first
    reason = np.full(n, None, dtype=object)
    if "flag" in raw:
        flags = raw["flag"].to_numpy(dtype=object)
        reason[~pd.isnull(flags)] = flags[~pd.isnull(flags)]

    def flag(mask, text):
        mask = np.asarray(mask, bool) & (reason == None)  # noqa: E711 (elementwise)
        if callable(text):
            idx = np.flatnonzero(mask)
            reason[idx] = [text(i) for i in idx]
        else:
            reason[mask] = text

    flag(raw["device"].str.strip() == "", "no device or callsign")
    when_text = raw["time"].astype(str).str.strip()
    has_zone = when_text.str.contains(_ZONE)
    # a lower-case "z" is a zone too (RFC 3339), but pandas reads only "Z"
    zulu = when_text.str.replace(r"z$", "Z", regex=True)
    time = pd.to_datetime(zulu.where(has_zone, None), utc=True, errors="coerce", format="ISO8601")
    flag(when_text == "", "no time")
    flag(~has_zone.to_numpy(), "time has no zone (give an offset such as +01:00, or Z)")
    flag(time.isna().to_numpy(), "time is not a date and time")
    lon, lat = _num(raw["lon"]), _num(raw["lat"])
    e, nn = _num(raw["easting"]), _num(raw["northing"])
    lx, ly = to_bng(lon, lat)
    x = np.where(np.isfinite(e) & np.isfinite(nn), e, lx)
    y = np.where(np.isfinite(e) & np.isfinite(nn), nn, ly)
    zero = ((lon == 0) & (lat == 0)) | ((e == 0) & (nn == 0))
    flag(~np.isfinite(x) | ~np.isfinite(y) | zero, "no fix (no usable coordinates)")
    acc = _num(raw["accuracy"])
    flag(acc > max_accuracy, lambda i: f"poor accuracy ({acc[i]:.0f} m > {max_accuracy:g} m)")
    if boundary is not None and far_km is not None:
        import shapely

        ok = np.flatnonzero(reason == None)  # noqa: E711
        dist = np.zeros(n)
        dist[ok] = shapely.distance(boundary, shapely.points(x[ok], y[ok]))
        flag(dist > far_km * 1000, lambda i: f"far outside the force area ({dist[i] / 1000:.1f} km)")
    t_us = time.dt.tz_localize(None).to_numpy().astype("datetime64[us]").astype(np.int64)
    # backwards or repeated times, per device in file order, among rows still good
    ok = np.flatnonzero(reason == None)  # noqa: E711
    frame = pd.DataFrame({"d": device[ok], "t": t_us[ok]})
    prev_max = frame.groupby("d", sort=False)["t"].cummax().groupby(frame["d"], sort=False).shift(1)
    dup = frame.duplicated(["d", "t"]).to_numpy()
    back = (frame["t"] < prev_max).to_numpy()
    flag(np.isin(np.arange(n), ok[dup]), "duplicate time for this device")
    flag(np.isin(np.arange(n), ok[back]), "time goes backwards (earlier than the device's previous ping)")
    _flag_jumps(flag, reason, device, t_us, x, y, max_jump_speed)
    speed = _num(raw["speed"])
    sim = raw["simulated"].astype(str).str.strip().str.lower().isin(("1", "true", "yes", "simulated")).to_numpy()
    good = reason == None  # noqa: E711
    day = pd.Series(time).dt.tz_convert(LOCAL_ZONE).dt.date.to_numpy()
    table = pa.table({
        "device": pa.array(device[good], pa.string()),
        "time": pa.array(t_us[good], pa.timestamp("us", tz="UTC")),
        "day": pa.array(day[good], pa.date32()),
        "x": x[good], "y": y[good],
        "accuracy": pa.array(acc[good], pa.float32(), from_pandas=True),
        "speed": pa.array(speed[good], pa.float32(), from_pandas=True),
        "simulated": sim[good],
    }, schema=PINGS_SCHEMA)
    bad = ~good
    shown = raw.loc[bad, [c for c in raw.columns if c not in ("line", "flag")]].copy()
    shown["device"] = device[bad]   # the raw id never reaches the quarantine
    q = pd.DataFrame({"file": file_label, "line": raw["line"].to_numpy()[bad].astype(np.int64),
                      "reason": reason[bad].astype(str),
                      "raw": _raw_text(shown) if bad.any() else []})
    return Checked(table, q, raw["line"].to_numpy()[good].astype(np.int64))


def _raw_text(df: pd.DataFrame) -> np.ndarray:
    """Each row as comma-joined text; missing values as empty fields (never 'nan')."""
    return df.astype(object).where(df.notna(), "").astype(str).agg(",".join, axis=1).to_numpy()


def _flag_jumps(flag, reason, device, t_us, x, y, max_speed):
    """A fix that needs an impossible speed both to reach it and to leave it is a GPS error;
    then, with those gone, a track's first or last fix that needs one. Car journeys are real
    movement, below `max_speed`, and kept."""
    _jumps(flag, reason, device, t_us, x, y, max_speed, ends=False)
    _jumps(flag, reason, device, t_us, x, y, max_speed, ends=True)


def _jumps(flag, reason, device, t_us, x, y, max_speed, ends):
    ok = np.flatnonzero(reason == None)  # noqa: E711
    if ok.size < 2:
        return
    order = ok[np.lexsort((t_us[ok], device[ok]))]
    d, t = device[order], t_us[order] / 1e6
    same = d[1:] == d[:-1]
    dist = np.hypot(np.diff(x[order]), np.diff(y[order]))
    v = np.where(same, dist / np.maximum(np.diff(t), 1.0), np.nan)
    v_in = np.r_[np.nan, v]
    v_out = np.r_[v, np.nan]
    fast_in, fast_out = v_in > max_speed, v_out > max_speed
    spike = (fast_in & fast_out) | (ends & ((fast_in & np.isnan(v_out)) | (fast_out & np.isnan(v_in))))
    speed = np.fmax(v_in, v_out)
    mask = np.zeros(len(reason), bool)
    mask[order[spike]] = True
    lookup = dict(zip(order[spike], speed[spike]))
    flag(mask, lambda i: f"impossible speed ({lookup[i]:.0f} m/s to or from the neighbouring fixes)")


# ---------------------------------------------------------------------------------------------
# Store


def ingest_pings(path, store=None, force: str = "unassigned", boundary=None, **rules) -> dict:
    """Ingest one pings file (CSV or GPX). Returns {file, read, stored, quarantined, by_reason,
    days, change}; read == stored + quarantined. A file already ingested changes nothing."""
    from saferhub.data.csvread import read_file
    from saferhub.data.store import StoreWriter, partition_key

    path = Path(path)
    data = read_file(path)
    sha = hashlib.sha256(data).hexdigest()
    key = pseudonym_key(store)
    if path.suffix.lower() == ".gpx":
        raw, unread = read_gpx(path, data), pd.DataFrame(columns=list(QUARANTINE_COLUMNS))
    else:
        raw, unread = read_csv(path, data, key)
    with StoreWriter(store) as writer:
        cat = writer.catalog
        if sha in cat.files:
            rec = cat.files[sha]
            return {"file": path.name, "read": rec["read"], "stored": rec["stored"],
                    "quarantined": rec["quarantined"], "by_reason": rec.get("by_reason", {}),
                    "days": rec.get("days", []), "change": "unchanged (already ingested)"}
        checked = check(raw, key, path.name, boundary, **rules)
        good = checked.good
        q = checked.quarantine
        if len(unread):
            q = pd.concat([q, unread], ignore_index=True).sort_values("line", kind="stable", ignore_index=True)
        days = sorted({str(d) for d in good["day"].to_pylist()})
        keys, stored = [], 0
        for day in days:
            k = partition_key(DATASET, force, day)
            on_day = pc.equal(good["day"], pa.scalar(dt.date.fromisoformat(day), pa.date32()))
            new, new_lines = good.filter(on_day), checked.lines[on_day.to_numpy(zero_copy_only=False)]
            old = cat.partitions.get(k)
            if old:
                have = pq.read_table(writer.root / old["file"], schema=PINGS_SCHEMA)
                seen = set(zip(have["device"].to_pylist(), have["time"].cast(pa.int64()).to_pylist()))
                again = np.array([(dv, tt) in seen for dv, tt in
                                  zip(new["device"].to_pylist(), new["time"].cast(pa.int64()).to_pylist())], bool)
                if again.any():   # the same fix from another file: keep one, say so
                    q = pd.concat([q, _requarantine(new.filter(pa.array(again)), new_lines[again], path.name)],
                                  ignore_index=True)
                    new = new.filter(pa.array(~again))
                merged = pa.concat_tables([have, new])
            else:
                merged = new
            merged = merged.sort_by([("device", "ascending"), ("time", "ascending")])
            rel = writer.stage_partition(DATASET, force, day, merged)
            sources = sorted(set(old.get("sources", [])) | {sha}) if old else [sha]
            cat.partitions[k] = {"file": rel, "rows": merged.num_rows, "content": f"{sha}:{day}",
                                 "sha256": sha, "sources": sources, "stamp": 0, "source_file": path.name}
            keys.append(k)
            stored += new.num_rows
        by_reason = q["reason"].str.replace(r"\s*\(.*\)$", "", regex=True).value_counts().to_dict()
        rec = {"name": path.name, "kind": "pings", "force": force, "stamp": 0, "months": [],
               "partitions": keys, "days": days, "read": len(raw) + len(unread), "stored": stored,
               "quarantined": len(q), "unlocated": 0, "by_reason": {k: int(v) for k, v in by_reason.items()},
               "ingested_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "quarantine_file": None}
        if len(q):
            qt = pa.Table.from_pandas(q[list(QUARANTINE_COLUMNS)], preserve_index=False)
            rec["quarantine_file"] = writer.stage_table(f"quarantine/{sha[:32]}", qt)
        cat.files[sha] = rec
        writer.commit()
    return {"file": path.name, "read": len(raw) + len(unread), "stored": stored, "quarantined": len(q),
            "by_reason": rec["by_reason"], "days": days, "change": "new"}


def _requarantine(table: pa.Table, lines: np.ndarray, file_label: str) -> pd.DataFrame:
    df = table.to_pandas()
    return pd.DataFrame({"file": file_label, "line": lines.astype(np.int64),
                         "reason": "duplicate of a ping already in the store",
                         "raw": _raw_text(df) if len(df) else []})


def pings(store=None, force=None, days=None) -> pa.Table:
    """Stored pings (PINGS_SCHEMA), optionally for some forces and days ('2026-03-29' strings or
    dates, or a (first, last) tuple)."""
    from saferhub.data.store import Catalog

    root = resolve_store(store)
    cat = Catalog.load(root)
    if isinstance(days, tuple):
        first, last = (str(d) for d in days)
        want = lambda d: first <= d <= last  # noqa: E731
    elif days is not None:
        wanted = {str(d) for d in days}
        want = lambda d: d in wanted  # noqa: E731
    else:
        want = lambda d: True  # noqa: E731
    files = []
    for k, rec in sorted(cat.partitions.items()):
        ds, f, day = k.split("/")
        if ds == DATASET and (force is None or f == force) and want(day):
            files.append(root / rec["file"])
    if not files:
        return PINGS_SCHEMA.empty_table()
    return pa.concat_tables([pq.read_table(f, schema=PINGS_SCHEMA) for f in files])
