"""Manual visit logs: officers' own record of a hotspot visit (callsign, area, start, end), for
forces or days without GPS. Stored beside the pings (one Parquet per log file, keyed by its
content, so re-importing changes nothing); the callsign is pseudonymised with the store's key.
Dosage counts them as visits whose dwell is exactly what was logged."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from saferhub.config import resolve_store
from saferhub.errors import BadFileError


def logs_dir(store=None) -> Path:
    return resolve_store(store) / "patrol" / "visit_logs"


def import_log(path, store=None) -> dict:
    """Validate and store one manual log CSV (callsign, area_id, start, end; times with zone)."""
    from saferhub.data.csvread import read_file, read_small_table
    from saferhub.data.pings import _ZONE, pseudonym_key, pseudonymise
    from saferhub.fsutil import replacing

    path = Path(path)
    data = read_file(path)
    raw, lines = read_small_table(path, data)
    target = logs_dir(store) / f"{hashlib.sha256(data).hexdigest()[:24]}.parquet"
    raw.columns = [c.strip().lower() for c in raw.columns]
    dev_col = next((c for c in ("callsign", "device", "officer", "team") if c in raw.columns), None)
    if dev_col is None or not {"area_id", "start", "end"} <= set(raw.columns):
        raise BadFileError(path, "need callsign, area_id, start and end columns")
    for col in ("start", "end"):
        bad = ~raw[col].str.strip().str.contains(_ZONE)
        if bad.any():
            raise BadFileError(path, f"line {lines[np.flatnonzero(bad)[0]]}: {col} time has no zone")
    start = pd.to_datetime(raw["start"], utc=True, errors="coerce", format="ISO8601")
    end = pd.to_datetime(raw["end"], utc=True, errors="coerce", format="ISO8601")
    wrong = start.isna() | end.isna() | (end < start)
    if wrong.any():
        raise BadFileError(path, f"line {lines[np.flatnonzero(wrong)[0]]}: start/end unreadable or end before start")
    seconds = (end - start).dt.total_seconds().to_numpy()
    out = pd.DataFrame({"device": pseudonymise(raw[dev_col].to_numpy(), pseudonym_key(store)),
                        "area_id": raw["area_id"].str.strip(), "start": start, "end": end, "earliest": start,
                        "latest": end, "dwell_min_s": seconds, "dwell_max_s": seconds,
                        "minutes_min": seconds / 60, "minutes_max": seconds / 60, "pings": 0,
                        "simulated": False})
    if target.exists():
        return {"file": path.name, "visits": len(out), "change": "unchanged (already imported)"}
    with replacing(target) as tmp:
        out.to_parquet(tmp, index=False)
    return {"file": path.name, "visits": len(out), "change": "new"}


def logged_visits(store=None, first=None, last=None) -> pd.DataFrame:
    """Every logged visit starting between the days first and last (Europe/London), if given."""
    files = sorted(logs_dir(store).glob("*.parquet"))
    if not files:
        return pd.DataFrame()
    v = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True).drop_duplicates()
    day = v["start"].dt.tz_convert("Europe/London").dt.date.astype(str)
    keep = np.ones(len(v), bool)
    if first:
        keep &= (day >= str(first)).to_numpy()
    if last:
        keep &= (day <= str(last)).to_numpy()
    return v[keep].reset_index(drop=True)
