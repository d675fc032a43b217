"""The places register: one table of places, from police.uk facility points and partners' registers.

A partner's register (licensed premises with licence type and hours, care homes, schools, shops,
transport hubs) is a CSV plus a mapping YAML in the same format as partner incidents
(docs/ingest.md): `columns:` maps our field names to theirs, `agency:` names the source, and
`types:` maps their type names to ours. Bad rows go to the quarantine with file, line and reason;
good rows are keyed by (source, id), so importing the same register again replaces it.

Places are premises and facilities, not people: the register is kept with the event store
(`<store>/places/register.parquet`, written atomically).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from saferhub.data.csvread import decode_check, read_file, read_strings
from saferhub.data.forces import force_id
from saferhub.data.incidents import _text, _text_pairs, mapping_columns, read_yaml
from saferhub.data.policeuk import _quarantine_table, _set_reason
from saferhub.data.validate import parse_coordinates, project_and_check
from saferhub.errors import BadFileError, SaferhubError

FIELDS = {"id", "name", "type", "lon", "lat", "easting", "northing", "licence_type", "hours", "address"}
REQUIRED = ("id", "name", "type")
SETTINGS = ("agency", "columns", "types", "simulated", "version")
COLUMNS = ["place_id", "source", "source_id", "name", "type", "x", "y", "lon", "lat", "street", "ward",
           "licence_type", "hours", "late_night", "label", "simulated"]
HOURS = re.compile(r"^\s*(\d{1,2}):?(\d{2})\s*-\s*(\d{1,2}):?(\d{2})\s*$")
LATE = 23 * 60   # open past 23:00 (or past midnight): the late-night economy


@dataclass
class PlacesMapping:
    name: str
    agency: str
    columns: dict[str, str]
    types: dict[str, str] = field(default_factory=dict)
    simulated: bool = False


def load_mapping(path) -> PlacesMapping:
    path = Path(path)
    doc = read_yaml(path)
    columns = mapping_columns(path, doc, SETTINGS, FIELDS, REQUIRED)
    if not ({"lon", "lat"} <= set(columns) or {"easting", "northing"} <= set(columns)):
        raise SaferhubError(f"{path}: columns must map lon and lat, or easting and northing (a place needs a point)")
    agency = _text(path, doc, "agency")
    if not agency:
        raise SaferhubError(f"{path}: say whose register it is ('agency: Liverpool City Council licensing')")
    simulated = doc.get("simulated", False)
    if not isinstance(simulated, bool):
        raise SaferhubError(f"{path}: simulated must be true or false")
    types = {k.strip(): v.strip() for k, v in _text_pairs(path, "types", doc.get("types") or {}).items()}
    return PlacesMapping(str(path), agency, columns, types, simulated)


def parse_hours(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """'10:00-02:00' / '24h' / '' -> (late_night bool, reason or None). Closing after 23:00 or
    past midnight is late night."""
    late = np.zeros(len(text), bool)
    why = np.full(len(text), None, dtype=object)
    for i, t in enumerate(text.to_numpy(dtype=object)):
        t = (t or "").strip()
        if not t:
            continue
        if t.lower() in ("24h", "24 hours", "24/7"):
            late[i] = True
            continue
        m = HOURS.match(t)
        if not m or int(m[1]) > 24 or int(m[3]) > 24 or int(m[2]) > 59 or int(m[4]) > 59:
            why[i] = f"unreadable opening hours {t!r} (use HH:MM-HH:MM or 24h)"
            continue
        opens, closes = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
        late[i] = closes > LATE or closes <= opens
    return late, why


def parse_register(path, spec: PlacesMapping, data: bytes | None = None) -> tuple[pd.DataFrame, "pa.Table"]:  # noqa: F821
    """A partner register -> (places in register COLUMNS, quarantine table)."""
    name = str(path)
    data = read_file(path) if data is None else data
    raw = read_strings(name, data, decode_check(name, data))
    absent = [theirs for theirs in spec.columns.values() if theirs not in raw.header]
    if absent:
        raise BadFileError(name, f"column(s) {', '.join(map(repr, absent))} named in {spec.name} are not in "
                                 f"the header ({', '.join(raw.header[:8])})")
    if raw.table.num_rows + len(raw.bad_rows) == 0:
        raise BadFileError(name, "has a header but no rows")
    df = raw.table.to_pandas()
    col = {ours: df[theirs].astype(str).str.strip() for ours, theirs in spec.columns.items()}
    n = len(df)
    reason = raw.row_reasons()
    for f in REQUIRED:
        _set_reason(reason, (col[f] == "").to_numpy(), f"missing {f}")
    their_type = col["type"]
    ptype = their_type.map(lambda t: spec.types.get(t, t))
    if "lon" in col:
        lon, lat, why = parse_coordinates(col["lon"], col["lat"])
    else:
        from saferhub.data.incidents import _parse_bng
        from saferhub.geo.project import to_wgs84

        e, nn, why = _parse_bng(col["easting"], col["northing"])
        lon, lat = to_wgs84(e, nn)
        lon, lat = np.where(np.isfinite(e), lon, np.nan), np.where(np.isfinite(nn), lat, np.nan)
    _set_reason(reason, ~pd.isnull(why), why)
    _set_reason(reason, ~(np.isfinite(lon) & np.isfinite(lat)), "no coordinates (a place needs a point)")
    x, y = project_and_check(lon, lat, reason, False)
    hours = col.get("hours", pd.Series([""] * n))
    late, why_h = parse_hours(hours)
    _set_reason(reason, ~pd.isnull(why_h), why_h)
    dup = col["id"].duplicated(keep="first").to_numpy() & pd.isnull(reason)
    _set_reason(reason, dup, "duplicate id (an earlier row has it)")
    good = pd.isnull(reason)
    source = force_id(spec.agency)
    label = ("SIMULATED register (a demonstration, not real premises)" if spec.simulated
             else f"partner register: {spec.agency}")
    out = pd.DataFrame({
        "place_id": (source + ":" + col["id"]).to_numpy(), "source": source, "source_id": col["id"].to_numpy(),
        "name": col["name"].to_numpy(), "type": ptype.to_numpy(), "x": x, "y": y, "lon": lon, "lat": lat,
        "street": "", "ward": "", "licence_type": col.get("licence_type", pd.Series([""] * n)).to_numpy(),
        "hours": hours.to_numpy(), "late_night": late, "label": label, "simulated": spec.simulated,
    })[good].reset_index(drop=True)
    return out, _quarantine_table(name, raw, reason, good)


def empty_register() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})


def merge(register: pd.DataFrame, new: pd.DataFrame, replace_source: bool) -> pd.DataFrame:
    """Upsert `new` into `register`: a place_id seen again replaces the stored row; with
    replace_source every stored row of new's sources goes first (a rebuilt police.uk register)."""
    old = register
    if replace_source and len(new):
        old = old[~old["source"].isin(new["source"].unique())]
    old = old[~old["place_id"].isin(new["place_id"])]
    frames = [f for f in (old, new[COLUMNS]) if len(f)]
    out = pd.concat(frames, ignore_index=True) if frames else empty_register()
    return out.sort_values("place_id", kind="stable").reset_index(drop=True)


PREMISES = (  # (type, licence type, hours choices, share): a simulated town's registers
    ("Pub/Bar", "premises licence (on sales)", ("11:00-23:00", "11:00-00:30", "12:00-02:00"), 0.30),
    ("Nightclub", "premises licence (late night)", ("22:00-03:00", "22:00-04:00"), 0.06),
    ("Off-licence", "premises licence (off sales)", ("08:00-22:00", "08:00-23:00"), 0.20),
    ("Takeaway", "late night refreshment", ("17:00-01:00", "17:00-03:00"), 0.18),
    ("Care home", "", ("",), 0.08),
    ("School", "", ("",), 0.10),
    ("Transport hub", "", ("24h",), 0.08),
)


def simulate_register(street_points: pd.DataFrame, n: int = 300, seed: int = 1) -> tuple[pd.DataFrame, str]:
    """A SIMULATED premises register for demonstrations and tests: `n` premises placed at real
    street snap points (name, x, y) with types, licence types and hours drawn from PREMISES by a
    seeded generator. Returns (CSV frame in a partner's own column names, its mapping YAML)."""
    from saferhub.geo.project import to_wgs84

    if len(street_points) == 0:
        raise SaferhubError("no street points to place simulated premises at (ingest police.uk data first)")
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(street_points), size=n, replace=len(street_points) < n)
    shares = np.array([p[3] for p in PREMISES])
    kinds = rng.choice(len(PREMISES), size=n, p=shares / shares.sum())
    pts = street_points.iloc[pick]
    jitter = rng.uniform(-15, 15, size=(n, 2))   # premises lie along the street, not on its point
    e, nn = pts["x"].to_numpy() + jitter[:, 0], pts["y"].to_numpy() + jitter[:, 1]
    lon, lat = to_wgs84(e, nn)
    rows = []
    for i in range(n):
        t, lic, hours, _ = PREMISES[kinds[i]]
        street = str(pts["name"].iloc[i]).removeprefix("On or near ")
        rows.append({"Premises Ref": f"SIM-{i + 1:05d}", "Premises Name": f"Simulated {t.lower()} {i + 1}, {street}",
                     "Premises Type": t, "Licence": lic, "Hours": hours[rng.integers(len(hours))],
                     "Longitude": f"{lon[i]:.6f}", "Latitude": f"{lat[i]:.6f}"})
    mapping = ("# SIMULATED premises register (saferhub.places.register.simulate_register, seed "
               f"{seed})\nagency: Simulated licensing register\nsimulated: true\nversion: 1\n"
               "columns: {id: Premises Ref, name: Premises Name, type: Premises Type, licence_type: Licence,\n"
               "          hours: Hours, lon: Longitude, lat: Latitude}\n")
    return pd.DataFrame(rows), mapping
