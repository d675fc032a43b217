"""Partner incidents (calls for service, council ASB reports, deliberate fires...): a partner's CSV
plus a mapping file from their column names to ours. Same validation and quarantine as police data.

Records are keyed by (agency, id): ingesting a record again replaces it (a corrected date or
category moves it), so re-running an import is idempotent and exports that overlap are safe.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from saferhub.categories import CATEGORIES, LEGACY_SLUGS, canonical
from saferhub.data.csvread import decode_check, read_strings
from saferhub.data.forces import force_id, slugify
from saferhub.data.policeuk import ParsedFile, _quarantine_table, _set_reason
from saferhub.data.sources import Member, parsing
from saferhub.data.schemas import EVENT_SCHEMA
from saferhub.data.validate import parse_coordinates, project_and_check
from saferhub.errors import BadFileError, SaferhubError
from saferhub.geo.lsoa import editions
from saferhub.geo.project import to_wgs84

FIELDS = {"id", "datetime", "category", "lon", "lat", "easting", "northing", "text", "location", "lsoa", "agency"}
REQUIRED = ("id", "datetime", "category")


@dataclass
class Mapping:
    """How a partner's columns map onto ours (see docs/ingest.md for the YAML format)."""

    name: str
    columns: dict[str, str]
    agency: str | None = None             # a constant agency name, unless columns['agency'] is given
    force: str | None = None              # the force area the records belong to (informational)
    datetime_format: str | None = None
    dayfirst: bool = True
    timezone: str = "Europe/London"
    categories: dict[str, str] = field(default_factory=dict)
    unmapped_categories: str = "keep"     # keep | quarantine


SETTINGS = ("agency", "force", "columns", "datetime_format", "dayfirst", "timezone", "categories",
            "unmapped_categories",
            "version", "asb")   # read by saferhub.places.asbmap: the ASB types of their categories
MAX_MAPPING_BYTES = 1 << 20   # a mapping is a few dozen lines; anything this big is not one


def read_yaml(path) -> object:
    """A mapping file's YAML, or one clear line: not found, not a file, over 1 MB, not UTF-8, not
    YAML. Every mapping reader (partner incidents, places registers, surveys, ASB types) uses it."""
    path = Path(path)
    try:
        if not path.is_file():
            raise SaferhubError(f"{path}: mapping file not found" if not path.exists() else
                                f"{path}: the mapping is not a file")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_MAPPING_BYTES + 1)
        if len(raw) > MAX_MAPPING_BYTES:
            raise SaferhubError(f"{path}: over 1 MB; a mapping file is a few lines of YAML")
        return yaml.safe_load(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise SaferhubError(f"{path}: not UTF-8 text; save the mapping as UTF-8 YAML") from None
    except OSError as exc:
        raise SaferhubError(f"{path}: cannot read the mapping ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise SaferhubError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None


def mapping_columns(path: Path, doc, settings, fields, required) -> dict[str, str]:
    """The `columns:` section (ours: theirs) of a mapping, after refusing misspelt settings,
    unknown fields and missing required ones."""
    if not isinstance(doc, dict) or not isinstance(doc.get("columns"), dict):
        raise SaferhubError(f"{path}: a mapping needs a 'columns:' section (ours: theirs)")
    stray = [str(k) if isinstance(k, _SCALAR) else "a non-text key" for k in doc if k not in settings]
    if stray:   # a misspelt setting (`catgories:`) would otherwise be ignored without a word
        raise SaferhubError(f"{path}: unknown setting(s) {', '.join(sorted(stray))[:200]} "
                            f"(known: {', '.join(settings)})")
    columns = _text_pairs(path, "columns", doc["columns"])
    unknown = set(columns) - set(fields)
    if unknown:
        raise SaferhubError(f"{path}: unknown field(s) {', '.join(sorted(unknown))} under columns "
                            f"(known: {', '.join(sorted(fields))})")
    missing = [f for f in required if f not in columns]
    if missing:
        raise SaferhubError(f"{path}: columns must map {', '.join(missing)}")
    return columns


def load_mapping(path) -> Mapping:
    path = Path(path)
    doc = read_yaml(path)
    columns = mapping_columns(path, doc, SETTINGS, FIELDS, REQUIRED)
    has_ll = {"lon", "lat"} <= set(columns)
    has_en = {"easting", "northing"} <= set(columns)
    if ({"lon", "lat"} & set(columns) and not has_ll) or ({"easting", "northing"} & set(columns) and not has_en):
        raise SaferhubError(f"{path}: give both lon and lat, or both easting and northing")
    agency = _text(path, doc, "agency")
    if not agency and "agency" not in columns:
        raise SaferhubError(f"{path}: say which agency the records come from ('agency: Wirral Council')")
    policy = _text(path, doc, "unmapped_categories") or "keep"
    if policy not in ("keep", "quarantine"):
        raise SaferhubError(f"{path}: unmapped_categories must be 'keep' or 'quarantine'")
    cats = {k.strip(): v.strip() for k, v in _text_pairs(path, "categories", doc.get("categories") or {}).items()}
    for theirs, ours in cats.items():
        if canonical(ours) is None:
            raise SaferhubError(f"{path}: category {theirs!r} maps to {ours!r}, which is not a police.uk category")
    dayfirst = doc.get("dayfirst", True)
    if not isinstance(dayfirst, bool):
        raise SaferhubError(f"{path}: dayfirst must be true or false")
    return Mapping(name=str(path), columns=columns, agency=agency, force=_text(path, doc, "force"),
                   datetime_format=_text(path, doc, "datetime_format"), dayfirst=dayfirst,
                   timezone=_text(path, doc, "timezone") or "Europe/London", categories=cats,
                   unmapped_categories=policy)


_SCALAR = (str, int, float)   # YAML may read a column called 2020 or 1.5 as a number


def _text(path: Path, doc: dict, key: str) -> str | None:
    """A setting that must be one piece of text (None when absent)."""
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, _SCALAR):
        raise SaferhubError(f"{path}: {key} must be a single value, not a {type(value).__name__}")
    return str(value)


def _text_pairs(path: Path, section: str, value) -> dict[str, str]:
    """A section of `name: value` lines, each a single value (never a list or a nested section)."""
    if not isinstance(value, dict):
        raise SaferhubError(f"{path}: {section} must be lines of 'name: value', not a {type(value).__name__}")
    out = {}
    for k, v in value.items():
        for part in (k, v):
            if isinstance(part, bool) or not isinstance(part, _SCALAR):
                shown = repr(k)[:60] if isinstance(k, _SCALAR) else "an entry"
                raise SaferhubError(f"{path}: {section}: {shown} must map a single value to a single value, "
                                    f"not a {type(part).__name__}")
        out[str(k)] = str(v)
    return out


@dataclass
class ParsedIncidents(ParsedFile):
    merged: dict[str, pa.Table] | None = None
    content_ids: dict[str, str] = field(default_factory=dict)


def parse_incidents(member: Member, spec: Mapping, far_km: float | None = None,
                    checks=None) -> list[ParsedIncidents]:
    """Validate one partner CSV. Returns one ParsedIncidents per agency in the file.
    checks: a policeuk.Checks (far-outside tolerance, expansion limits, geo folder)."""
    from saferhub.data.policeuk import Checks

    checks = checks or Checks(far_km=far_km)
    data, sha = member.read(checks.limits)
    with parsing(data, checks.limits):
        return _parse(member, data, sha, spec, checks)


def _parse(member: Member, data: bytes, sha: str, spec: Mapping, checks) -> list[ParsedIncidents]:
    far_km = checks.far_km
    header_line = decode_check(member.name, data)
    raw = read_strings(member.name, data, header_line)
    absent = [theirs for ours, theirs in spec.columns.items() if theirs not in raw.header]
    if absent:
        raise BadFileError(member.name, f"column(s) {', '.join(map(repr, absent))} named in {spec.name} "
                                        f"are not in the header ({', '.join(raw.header[:8])})")
    if raw.table.num_rows + len(raw.bad_rows) == 0:
        raise BadFileError(member.name, "has a header but no rows")
    df = raw.table.to_pandas()
    col = {ours: df[theirs].str.strip() for ours, theirs in spec.columns.items()}
    n = len(df)
    reason = raw.row_reasons()
    ids = col["id"]
    _set_reason(reason, (ids == "").to_numpy(), "missing id")
    when = _parse_when(col["datetime"], spec)
    dt_text = col["datetime"].to_numpy(dtype=object)
    _set_reason(reason, when.isna().to_numpy(), lambda idx: [f"unparseable date/time {t!r}" for t in dt_text[idx]])
    raw_cat = col["category"]
    _set_reason(reason, (raw_cat == "").to_numpy(), "missing category")
    category, slug = _categories(raw_cat, spec)
    if spec.unmapped_categories == "quarantine":
        cats = raw_cat.to_numpy(dtype=object)
        _set_reason(reason, ~raw_cat.isin(spec.categories).to_numpy() & (raw_cat != "").to_numpy(),
                    lambda idx: [f"unknown category {c!r} (not in the mapping's categories)" for c in cats[idx]])
    agency = col["agency"] if "agency" in col else pd.Series(str(spec.agency), index=df.index)
    _set_reason(reason, (agency == "").to_numpy(), "missing agency")
    lon, lat, x, y = _coordinates(col, reason, far_km)
    # The same id twice in one file: keep the first, quarantine the rest (it says which line).
    key = agency + "\x1f" + ids
    dup = key.duplicated(keep="first").to_numpy() & pd.isnull(reason)
    if dup.any():
        first_line = dict(zip(key[~key.duplicated(keep="first")], raw.lines[~key.duplicated(keep="first").to_numpy()]))
        keys = key.to_numpy(dtype=object)
        _set_reason(reason, dup, lambda idx: [f"duplicate id (first on line {first_line[k]})" for k in keys[idx]])
    month = when.dt.tz_convert("Europe/London").dt.strftime("%Y-%m")
    agency_id = agency.map(lambda a: force_id(a) if a else "")
    out = pd.DataFrame({
        "event_id": agency_id + ":" + ids,
        "source": "incident",
        "force": agency_id,
        "month": pd.to_datetime(month, format="%Y-%m", errors="coerce").dt.date,
        "occurred_at": when.dt.as_unit("us"),
        "category": category, "category_slug": slug,
        "lon": lon, "lat": lat, "x": x, "y": y,
        "lsoa": col["lsoa"].replace("", None) if "lsoa" in col else None,
        "lsoa_name": None,
        "location": col["location"].replace("", None) if "location" in col else None,
        "outcome": None,
        "agency": agency,
        "raw_category": raw_cat,
        "text": col["text"].replace("", None) if "text" in col else None,
    })
    # from_pandas: an empty LSOA cell is NaN in pandas' string columns, and null here
    edition, lsoa11 = editions(pa.array(out["lsoa"].to_numpy(dtype=object) if "lsoa" in col else [None] * n,
                                        pa.string(), from_pandas=True), x, y, checks.geo_dir)
    out["lsoa_edition"], out["lsoa11"] = edition.to_pandas(), lsoa11.to_pandas()
    good = pd.isnull(reason)
    quarantine = _quarantine_table(member.name, raw, reason, good)
    results = []
    kept = out[good]
    agencies = kept["force"].unique() if len(kept) else [force_id(spec.agency or "partner")]
    total = len(df) + len(raw.bad_rows)
    for i, aid in enumerate(sorted(agencies)):
        part = kept[kept["force"] == aid]
        # The first agency's line carries the file's quarantine, so read = stored + quarantined
        # holds per line and for the file as a whole.
        read = total - int((kept["force"] != aid).sum()) if i == 0 else len(part)
        item = ParsedIncidents(member, "incidents", "events", aid, sha, rows_read=read)
        for m in sorted(month[good][kept["force"] == aid].unique()):
            rows = part[month[good][kept["force"] == aid] == m]
            item.tables[m] = pa.Table.from_pandas(rows, schema=EVENT_SCHEMA, preserve_index=False)
        item.unlocated = int(part["x"].isna().sum())
        # The file's quarantine is reported once, with its first agency.
        item.quarantine = quarantine if i == 0 else quarantine.slice(0, 0)
        results.append(item)
    return results


def _parse_when(text: pd.Series, spec: Mapping) -> pd.Series:
    """Partner date/times -> UTC. Stamps with an offset ('Z', '+01:00') are exact; naive ones are
    local time in the mapping's time zone (Europe/London by default), DST included."""
    text = text.where(text != "", None)
    aware = text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True, na=False)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    if aware.any():
        out[aware] = pd.to_datetime(text[aware], errors="coerce", utc=True, format="ISO8601")
    naive = ~aware & text.notna()
    if naive.any():
        if spec.datetime_format:
            local = pd.to_datetime(text[naive], format=spec.datetime_format, errors="coerce")
        else:
            # ISO 8601 (year first) is never day-first: "2020-07-01" is 1 July, not 7 January
            iso = text[naive].str.match(r"\d{4}-\d{1,2}-\d{1,2}", na=False)
            local = pd.to_datetime(text[naive], errors="coerce", dayfirst=spec.dayfirst, format="mixed")
            if iso.any():
                local[iso] = pd.to_datetime(text[naive][iso], errors="coerce", format="ISO8601")
        try:
            local = local.dt.tz_localize(spec.timezone, ambiguous="NaT", nonexistent="shift_forward")
        except Exception as exc:  # an unknown time zone name in the mapping
            raise SaferhubError(f"{spec.name}: cannot use time zone {spec.timezone!r} ({exc})") from None
        out[naive] = local.dt.tz_convert("UTC")
    return out


_SLUG = {**CATEGORIES, **LEGACY_SLUGS}


def _categories(raw: pd.Series, spec: Mapping):
    """A police.uk category where the mapping (or the name itself) gives one, else the partner's own."""
    lookup = {}
    for value in raw.unique():
        mapped = spec.categories.get(value)
        name = canonical(mapped) if mapped else canonical(value)
        lookup[value] = name or value
    category = raw.map(lookup)
    slug = category.map(lambda c: _SLUG.get(c) or slugify(c))
    return category, slug


def _coordinates(col: dict, reason: np.ndarray, far_km):
    kwargs = {} if far_km is None else {"far_km": far_km}
    if "lon" in col:
        lon, lat, why = parse_coordinates(col["lon"], col["lat"])
    elif "easting" in col:
        e, n, why = _parse_bng(col["easting"], col["northing"])
        lon, lat = to_wgs84(e, n)
        lon = np.where(np.isfinite(e), lon, np.nan)
        lat = np.where(np.isfinite(n), lat, np.nan)
        lon_s = pd.Series(np.where(np.isfinite(lon), lon.astype(str), ""))
        lat_s = pd.Series(np.where(np.isfinite(lat), lat.astype(str), ""))
        lon, lat, why2 = parse_coordinates(lon_s, lat_s)
        why = np.where(pd.isnull(why), why2, why)
    else:
        n = len(reason)
        return np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    _set_reason(reason, ~pd.isnull(why), why)
    x, y = project_and_check(lon, lat, reason, True, **kwargs)
    bad = ~pd.isnull(reason)
    return lon, lat, np.where(bad, np.nan, x), np.where(bad, np.nan, y)


def _parse_bng(e_text: pd.Series, n_text: pd.Series):
    e = pd.to_numeric(e_text.replace("", None), errors="coerce").to_numpy(dtype="float64", copy=True)
    n = pd.to_numeric(n_text.replace("", None), errors="coerce").to_numpy(dtype="float64", copy=True)
    why = np.full(len(e), None, dtype=object)
    e_empty = (e_text == "").to_numpy()
    n_empty = (n_text == "").to_numpy()
    bad = ~(e_empty & n_empty) & ~(np.isfinite(e) & np.isfinite(n))
    idx = np.flatnonzero(bad)
    if idx.size:
        why[idx] = [f"unparseable easting/northing ({a!r}, {b!r})" for a, b in zip(e_text.iloc[idx], n_text.iloc[idx])]
    out = (e < 0) | (e > 700_000) | (n < 0) | (n > 1_300_000)
    idx = np.flatnonzero(out & ~bad & np.isfinite(e))
    if idx.size:
        why[idx] = [f"easting/northing ({e[i]:.0f}, {n[i]:.0f}) outside the British National Grid" for i in idx]
    e[bad | out] = np.nan
    n[bad | out] = np.nan
    return e, n, why


def _content_id(table: pa.Table) -> str:
    sink = io.BytesIO()
    pq.write_table(table.sort_by("event_id"), sink, compression="none")
    return hashlib.sha256(sink.getvalue()).hexdigest()


def merge_into(writer, parsed: list) -> None:
    """Upsert each file's records into what the store holds for its agency: a record id seen again
    replaces the stored one, wherever (whichever month) it was. Sets `.merged` partitions."""
    catalog = writer.catalog
    flat = [p for group in parsed for p in (group if isinstance(group, list) else [group])]
    parsed[:] = flat
    by_agency: dict[str, list[ParsedIncidents]] = {}
    for item in flat:
        by_agency.setdefault(item.force, []).append(item)
    for agency, items in by_agency.items():
        prefix = f"events/{agency}/"
        existing = {key.split("/")[2]: pq.read_table(writer.root / rec["file"], schema=EVENT_SCHEMA)
                    for key, rec in catalog.partitions.items() if key.startswith(prefix)}
        current = existing
        for item in sorted(items, key=lambda p: (p.member.stamp, p.member.name)):
            if f"{item.sha256}:{agency}" in catalog.files:
                # the same file again changes nothing: re-applying it would undo a newer export's corrections
                item.merged = {m: current[m].sort_by("event_id") for m in sorted(item.tables) if m in current}
                item.content_ids = {m: catalog.partitions[prefix + m]["content"] if current[m] is existing.get(m)
                                    else _content_id(t) for m, t in item.merged.items()}
                continue
            incoming = [t for t in item.tables.values()]
            new_ids = pa.concat_tables(incoming)["event_id"] if incoming else pa.array([], pa.string())
            merged = {}
            for month, table in current.items():
                keep = pc.invert(pc.is_in(table["event_id"], value_set=new_ids))
                merged[month] = table.filter(keep)
            for month, table in item.tables.items():
                merged[month] = pa.concat_tables([merged[month], table]) if month in merged else table
            touched = {m for m in merged if m in item.tables or m not in current
                       or merged[m].num_rows != current[m].num_rows}
            item.merged = {m: merged[m].sort_by("event_id") for m in sorted(touched)}
            item.content_ids = {m: _content_id(t) for m, t in item.merged.items()}
            current = merged
