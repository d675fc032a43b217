"""data.police.uk CSVs (street, outcomes, stop-and-search) -> validated, normalised Arrow tables.

Every row read ends up either in `tables` (by month) or in `quarantine` with its line and reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from saferhub.categories import CATEGORIES, LEGACY_SLUGS, canonical
from saferhub.data.csvread import RawTable, as_array, decode_check, read_strings
from saferhub.data.forces import NATIONAL, force_id
from saferhub.data.rowchecks import distinct_crime_ids, file_force, occurrence
from saferhub.data.sources import Limits, Member, parsing
from saferhub.data.schemas import EVENT_SCHEMA, OUTCOME_SCHEMA, QUARANTINE_SCHEMA, STOP_SEARCH_SCHEMA
from saferhub.data.validate import parse_coordinates, project_and_check
from saferhub.errors import BadFileError
from saferhub.geo.lsoa import editions, lsoa11_of_points
from saferhub.geo.pointmemo import Memos

STREET = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
          "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
OUTCOMES = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
            "LSOA code", "LSOA name", "Outcome type"]
STOP_SEARCH = ["Type", "Date", "Part of a policing operation", "Policing operation", "Latitude",
               "Longitude", "Gender", "Age range", "Self-defined ethnicity", "Officer-defined ethnicity",
               "Legislation", "Object of search", "Outcome", "Outcome linked to object of search",
               "Removal of more than just outer clothing"]
# Columns a file may lack (older releases) without being a different kind of file.
OPTIONAL = {"Context", "Last outcome category", "Policing operation", "Part of a policing operation",
            "Outcome linked to object of search", "Removal of more than just outer clothing",
            "Self-defined ethnicity", "Officer-defined ethnicity"}
KINDS = {"street": STREET, "outcomes": OUTCOMES, "stop-and-search": STOP_SEARCH}
DATASET = {"street": "events", "outcomes": "outcomes", "stop-and-search": "stop_search"}


@dataclass
class ParsedFile:
    member: Member
    kind: str
    dataset: str
    force: str
    sha256: str
    rows_read: int
    tables: dict[str, pa.Table] = field(default_factory=dict)   # 'YYYY-MM' -> rows
    quarantine: pa.Table = None
    unlocated: int = 0
    warnings: pa.Table = None    # stored rows worth a word (duplicate Crime IDs): file, line, reason, raw
    extra_columns: list = field(default_factory=list)   # header columns of no police.uk kind (not stored)

    @property
    def stored(self) -> int:
        return sum(t.num_rows for t in self.tables.values())

    @property
    def quarantined(self) -> int:
        return self.quarantine.num_rows

    @property
    def warned(self) -> int:
        return 0 if self.warnings is None else self.warnings.num_rows


class Checks:
    """What a parse needs beyond the file, resolved once per ingest: the far-outside tolerance, the
    expansion limits, the store and geo folder (boundaries, LSOA look-ups)."""

    def __init__(self, far_km: float | None = None, limits: Limits | None = None, store=None, geo_dir=None):
        from saferhub.config import settings

        self.far_km = far_km
        self.limits = limits or Limits.from_settings()
        self.store = store
        self.geo_dir = settings(geo_dir=geo_dir).geo_dir   # None: no geo folder
        self._boundaries: dict = {}
        self.memos = Memos()   # per-point results (projection, boundary, LSOA) shared by the files

    def boundary(self, force: str):
        """The force's real boundary (BNG) when known; national forces have no area check."""
        if force in NATIONAL:
            return None
        if force not in self._boundaries:   # a dict write is atomic; two threads may both look it up
            from saferhub.geo.boundary import force_boundary

            self._boundaries[force] = force_boundary(force, store=self.store, geo_dir=self.geo_dir)
        return self._boundaries[force]


def detect_kind(name: str, header: list[str]) -> tuple[str, list[str]]:
    """(kind, columns of no police.uk kind): a file is the one kind whose required columns it has.
    Columns police.uk may add in later releases are named back, not a reason to refuse the file."""
    cols = set(header)
    fits = [k for k, expected in KINDS.items() if set(expected) - OPTIONAL <= cols]
    exact = [k for k in fits if cols <= set(KINDS[k])]
    if len(exact) == 1 or len(fits) == 1:
        kind = (exact or fits)[0]
        return kind, [h for h in header if h not in KINDS[kind]]
    shown = ", ".join(header[:6]) + (", ..." if len(header) > 6 else "")
    both = f" (it has the columns of {' and '.join(fits)} files)" if fits else ""
    raise BadFileError(name, f"unrecognised header ({shown}){both}; expected data.police.uk street, "
                             "outcomes or stop-and-search columns")


def parse_member(member: Member, far_km: float | None = None, checks: Checks | None = None) -> ParsedFile:
    """Read and validate one police.uk CSV. Raises BadFileError when the whole file is unusable."""
    checks = checks or Checks(far_km=far_km)
    data, sha = member.read(checks.limits)
    with parsing(data, checks.limits):
        return _parse(member, data, sha, checks)


def _parse(member: Member, data: bytes, sha: str, checks: Checks) -> ParsedFile:
    header_line = decode_check(member.name, data)
    raw = read_strings(member.name, data, header_line)
    kind, extra = detect_kind(member.name, raw.header)
    if raw.table.num_rows + len(raw.bad_rows) == 0:
        raise BadFileError(member.name, "has a header but no rows")
    named = member.police_name() or {}
    file_month = named.get("month")
    n_rows = raw.table.num_rows
    reason = raw.row_reasons()
    table = raw.table
    for col in KINDS[kind]:
        if col not in table.column_names:
            table = table.append_column(col, pa.array([""] * n_rows, pa.string()))
    if kind == "stop-and-search":
        force = force_id(named["force"]) if named.get("force") else None
        if force is None:
            raise BadFileError(member.name, "cannot tell which force this file is for: name it like "
                                            "YYYY-MM-<force>-stop-and-search.csv")
    else:
        force, other = file_force(member.name, named.get("force"), table["Reported by"], table["Falls within"])
        _set_reason(reason, ~pd.isnull(other), other)
    if kind == "street":
        parsed = _finish_street(member, raw, table, reason, force, file_month, checks, sha)
        parsed.extra_columns = extra
        return parsed
    df = table.to_pandas()
    area = (checks.far_km, checks.boundary(force)) if force not in NATIONAL else None
    if kind == "outcomes":
        out, month_key = _outcomes(df, reason, force, file_month, area, checks.memos)
        edition, lsoa11 = editions(pa.array(out["lsoa"].to_numpy(dtype=object), pa.string(), from_pandas=True),
                                   out["x"].to_numpy(), out["y"].to_numpy(), checks.geo_dir, checks.memos)
        out["lsoa_edition"] = pd.Series(edition.to_numpy(zero_copy_only=False)).astype("Int16")
        out["lsoa11"] = lsoa11.to_pandas()
        schema = OUTCOME_SCHEMA
    else:
        out, month_key = _stop_search(df, reason, force, file_month, area, checks.memos)
        out["lsoa11"] = lsoa11_of_points(out["x"].to_numpy(), out["y"].to_numpy(), checks.geo_dir,
                                         checks.memos).to_pandas()
        schema = STOP_SEARCH_SCHEMA
    good = pd.isnull(reason)
    parsed = ParsedFile(member, kind, DATASET[kind], force, sha,
                        rows_read=len(df) + len(raw.bad_rows), extra_columns=extra)
    kept = out[good]
    keys = month_key[good]
    for month in np.unique(keys):
        part = kept[keys == month]
        parsed.tables[str(month)] = pa.Table.from_pandas(part, schema=schema, preserve_index=False)
    parsed.unlocated = int(kept["x"].isna().sum())
    parsed.quarantine = _quarantine_table(member.name, raw, reason, good)
    return parsed


def _trim(col) -> pa.Array:
    return pc.utf8_trim_whitespace(as_array(col))


def _null_empty(arr: pa.Array) -> pa.Array:
    """Empty strings -> null. The values are not copied: only a validity bitmap is made."""
    empty = pc.equal(arr, "")
    if not pc.any(empty).as_py():
        return arr
    keep = pc.invert(pc.fill_null(empty, True))
    if arr.offset or keep.offset:
        return pc.if_else(keep, arr, pa.scalar(None, pa.string()))
    return pa.Array.from_buffers(pa.string(), len(arr), [keep.buffers()[1], *arr.buffers()[1:]])


def _finish_street(member, raw, table, reason, force, file_month, checks, sha) -> ParsedFile:
    """Validate and normalise a street file entirely in Arrow (the hot path of every ingest)."""
    n = table.num_rows
    month_txt = _trim(table["Month"])
    # Month: distinct values checked once each.
    uniq_months = pc.unique(month_txt).to_pylist()
    valid_months = [m for m in uniq_months if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", m)]
    month_ok = pc.is_in(month_txt, value_set=pa.array(valid_months, pa.string())).to_numpy(zero_copy_only=False)
    def month_of(idx):   # the text of the given rows' months (only failing rows need it)
        return month_txt.take(pa.array(idx)).to_pylist()

    _set_reason(reason, ~month_ok, lambda idx: [f"unparseable month {v!r}" for v in month_of(idx)])
    if file_month:
        other = month_ok & pc.not_equal(month_txt, file_month).to_numpy(zero_copy_only=False)
        _set_reason(reason, other, lambda idx: [f"month {v} in a file for {file_month}" for v in month_of(idx)])
    # Crime type: each distinct spelling resolved once.
    raw_type = _trim(table["Crime type"])
    types = pc.unique(raw_type).to_pylist()
    names = [canonical(t) for t in types]
    which = pc.index_in(raw_type, value_set=pa.array(types, pa.string()))
    category = pc.take(pa.array(names, pa.string()), which)
    slug = pc.take(pa.array([_SLUG.get(c) if c else None for c in names], pa.string()), which)

    def unknown(idx):
        return [f"unknown crime type {t!r}" for t in raw_type.take(pa.array(idx)).to_pylist()]

    _set_reason(reason, category.is_null().to_numpy(zero_copy_only=False), unknown)
    lon, lat, why = parse_coordinates(table["Longitude"], table["Latitude"])
    _set_reason(reason, ~pd.isnull(why), why)
    x, y = _project(lon, lat, reason, (checks.far_km, checks.boundary(force)) if force not in NATIONAL else None,
                    checks.memos)
    good = pd.isnull(reason)
    x = np.where(good, x, np.nan)
    y = np.where(good, y, np.nan)
    crime_id, warned = distinct_crime_ids(_trim(table["Crime ID"]), good, raw.lines)
    lsoa = _null_empty(_trim(table["LSOA code"]))
    edition, lsoa11 = editions(lsoa, x, y, checks.geo_dir, checks.memos)
    # One date per distinct month (a file has one), spread by index.
    distinct = pa.array(uniq_months, pa.string())
    dates = pa.array([_first_of_month(m) for m in uniq_months], pa.date32())
    month_date = pc.take(dates, pc.index_in(month_txt, value_set=distinct))
    out = pa.table({
        "event_id": _street_event_ids(crime_id, force, month_txt, table),
        "source": _constant("street", n),
        "force": _constant(force, n),
        "month": month_date,
        "occurred_at": pa.nulls(n, pa.timestamp("us", tz="UTC")),
        "category": category, "category_slug": slug,
        "lon": pa.array(lon, from_pandas=True), "lat": pa.array(lat, from_pandas=True),
        "x": pa.array(x, from_pandas=True), "y": pa.array(y, from_pandas=True),
        # Free-text columns are kept as published (only empty -> null); the columns that are
        # matched or parsed (month, type, coordinates, ids) were trimmed above.
        "lsoa": lsoa, "lsoa_name": _null_empty(as_array(table["LSOA name"])),
        "location": _null_empty(as_array(table["Location"])),
        "outcome": _null_empty(as_array(table["Last outcome category"])),
        "agency": pa.nulls(n, pa.string()), "raw_category": raw_type,
        "text": _null_empty(as_array(table["Context"])),
        "lsoa_edition": edition, "lsoa11": lsoa11,
    }, schema=EVENT_SCHEMA)
    parsed = ParsedFile(member, "street", "events", force, sha, rows_read=n + len(raw.bad_rows))
    all_good = bool(good.all())
    kept = out if all_good else out.filter(pa.array(good))
    kept_months = month_txt if all_good else month_txt.filter(pa.array(good))
    for m in pc.unique(kept_months).to_pylist():
        parsed.tables[m] = kept if len(valid_months) == 1 else kept.filter(pc.equal(kept_months, m))
    parsed.unlocated = kept["x"].null_count
    parsed.quarantine = _quarantine_table(member.name, raw, reason, good)
    parsed.warnings = _rows_table(member.name, raw, [w[0] for w in warned], [w[1] for w in warned])
    return parsed


def _street_event_ids(crime_id: pa.Array, force: str, month: pa.Array, table: pa.Table) -> pa.Array:
    """Crime ID where there is one; otherwise an id from the row's content and how many identical
    rows came before it: stable across re-publication, and ASB repeats (separate incidents at one
    snap point) are never merged."""
    missing = pc.equal(crime_id, "")
    idx = np.flatnonzero(missing.to_numpy(zero_copy_only=False))
    if idx.size == 0:
        return crime_id
    take = pa.array(idx)
    key = pc.binary_join_element_wise(
        month.take(take), *(as_array(table[c]).take(take) for c in
                             ("Longitude", "Latitude", "LSOA code", "Crime type", "Location")), "|")
    nth = occurrence(pc.dictionary_encode(key).indices.to_numpy(zero_copy_only=False))
    gen = pc.binary_join_element_wise(force, key, pa.array(nth).cast(pa.string()), ":")
    return pc.replace_with_mask(crime_id, missing, gen)


def _constant(value: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, pa.string()), n)


def _first_of_month(text: str):
    """'2020-01' -> date(2020, 1, 1); None for anything that is not a month (those rows are
    quarantined, their date is never used)."""
    import datetime as dt

    if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        return dt.date(int(text[:4]), int(text[5:7]), 1)
    return None


def _quarantine_table(name: str, raw: RawTable, reason: np.ndarray, good: np.ndarray) -> pa.Table:
    """The file's quarantine: its bad rows (by physical line, with their own raw text) and the
    records the CSV reader could not take as rows."""
    bad_idx = np.flatnonzero(~good)
    return _rows_table(name, raw, bad_idx, reason[bad_idx].tolist(), extra=raw.bad_rows)


def _rows_table(name: str, raw: RawTable, rows, reasons: list, extra=()) -> pa.Table:
    """file, line, reason, raw text for the given rows of the file's table (sorted by line)."""
    out = list(zip(raw.lines[np.asarray(rows, dtype=np.int64)].tolist(), reasons, raw.raw_of_rows(rows)))
    out += list(extra)
    out.sort(key=lambda r: r[0])
    return pa.Table.from_pydict({
        "file": [name] * len(out), "line": [r[0] for r in out],
        "reason": [r[1] for r in out], "raw": [r[2] for r in out],
    }, schema=QUARANTINE_SCHEMA)


def _set_reason(reason: np.ndarray, mask: np.ndarray, texts) -> None:
    """Give rows that have no reason yet a reason: a string, a per-row array, or a function of the
    row indices (so messages are only built for the rare failing rows)."""
    idx = np.flatnonzero(mask)   # usually none: then the reasons are never scanned
    if idx.size:
        idx = idx[pd.isnull(reason[idx])]
    if idx.size:
        if callable(texts):
            reason[idx] = np.asarray(texts(idx), dtype=object)
        else:
            reason[idx] = texts if isinstance(texts, str) else np.asarray(texts, dtype=object)[idx]


def _month_dates(month: np.ndarray) -> pd.Series:
    """'YYYY-MM' strings ('' for bad rows) -> first-of-month dates, parsing each distinct value once."""
    uniq, inv = np.unique(month.astype(str), return_inverse=True)
    dates = np.array([np.datetime64(u + "-01", "D") if u else np.datetime64("NaT", "D") for u in uniq],
                     dtype="datetime64[D]")
    return pd.Series(dates[inv], dtype="datetime64[s]").dt.date


def _months(df: pd.DataFrame, col: str, reason: np.ndarray, file_month: str | None) -> np.ndarray:
    text = df[col].str.strip()
    values = text.to_numpy(dtype=object)
    uniq = text.unique()
    good = {u for u in uniq if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", u)}
    ok = text.isin(good).to_numpy()
    _set_reason(reason, ~ok, lambda idx: [f"unparseable month {v!r}" for v in values[idx]])
    if file_month:
        _set_reason(reason, ok & (values != file_month),
                    lambda idx: [f"month {v} in a file for {file_month}" for v in values[idx]])
    return np.where(ok, values, "")


def _project(lon, lat, reason, area, memos=None):
    """area: None (no area check: a national force) or (far_km or None, boundary or None)."""
    if area is None:
        return project_and_check(lon, lat, reason, False, memos=memos)
    far_km, boundary = area
    return project_and_check(lon, lat, reason, True, boundary=boundary, memos=memos,
                             **({} if far_km is None else {"far_km": far_km}))


def _located(df, reason, area, memos=None):
    lon, lat, why = parse_coordinates(df["Longitude"], df["Latitude"])
    _set_reason(reason, ~pd.isnull(why), why)
    x, y = _project(lon, lat, reason, area, memos)
    bad = ~pd.isnull(reason)
    return lon, lat, np.where(bad, np.nan, x), np.where(bad, np.nan, y)


def _null_if_empty(s: pd.Series) -> pd.Series:
    s = s.str.strip()
    return s.where(s != "", None)


_SLUG = {**CATEGORIES, **LEGACY_SLUGS}


def _outcomes(df, reason, force, file_month, area, memos=None):
    month = _months(df, "Month", reason, file_month)
    crime_id = df["Crime ID"].str.strip()
    _set_reason(reason, (crime_id == "").to_numpy(), "missing Crime ID")
    outcome = df["Outcome type"].str.strip()
    _set_reason(reason, (outcome == "").to_numpy(), "missing outcome type")
    lon, lat, x, y = _located(df, reason, area, memos)
    out = pd.DataFrame({
        "crime_id": crime_id, "force": force,
        "month": _month_dates(month),
        "lon": lon, "lat": lat, "x": x, "y": y,
        "location": _null_if_empty(df["Location"]), "lsoa": _null_if_empty(df["LSOA code"]),
        "lsoa_name": _null_if_empty(df["LSOA name"]), "outcome_type": outcome,
    })
    return out, month


def _stop_search(df, reason, force, file_month, area, memos=None):
    when = pd.to_datetime(df["Date"].str.strip(), errors="coerce", utc=True, format="ISO8601")
    dates = df["Date"].to_numpy(dtype=object)
    _set_reason(reason, when.isna().to_numpy(), lambda idx: [f"unparseable date {d!r}" for d in dates[idx]])
    local = when.dt.tz_convert("Europe/London")
    # Searches are filed by the UK month; the UTC stamp can fall on the previous evening.
    month_of_row = local.dt.strftime("%Y-%m").fillna("").to_numpy()
    month = np.full(len(df), file_month, dtype=object) if file_month else month_of_row
    month = np.where(pd.isnull(reason), month, "")
    search_type = df["Type"].str.strip()
    _set_reason(reason, (search_type == "").to_numpy(), "missing search type")
    lon, lat, x, y = _located(df, reason, area, memos)
    out = pd.DataFrame({
        "force": force,
        "month": _month_dates(month),
        "occurred_at": when.dt.as_unit("us"),
        "type": search_type,
        "part_of_operation": _null_if_empty(df["Part of a policing operation"]),
        "operation": _null_if_empty(df["Policing operation"]),
        "lon": lon, "lat": lat, "x": x, "y": y,
        "gender": _null_if_empty(df["Gender"]), "age_range": _null_if_empty(df["Age range"]),
        "self_defined_ethnicity": _null_if_empty(df["Self-defined ethnicity"]),
        "officer_defined_ethnicity": _null_if_empty(df["Officer-defined ethnicity"]),
        "legislation": _null_if_empty(df["Legislation"]),
        "object_of_search": _null_if_empty(df["Object of search"]),
        "outcome": _null_if_empty(df["Outcome"]),
        "outcome_linked_to_object": _null_if_empty(df["Outcome linked to object of search"]),
        "removal_of_outer_clothing": _null_if_empty(df["Removal of more than just outer clothing"]),
    })
    return out, month
