"""`saferhub fetch`: street crimes for a force and months from the data.police.uk API, into the store.

How a month is fetched (the API has no "all street crimes of a force" call):
  1. the force's neighbourhoods and their boundaries (once per run), and each neighbourhood's
     public details, team, priorities and events for the public pages (`hooddetails`);
  2. `crimes-street/all-crime?poly=...&date=YYYY-MM` for each neighbourhood; when the API answers
     503 (the area holds > 10,000 crimes) the polygon is cut in two across its longer side and
     each half asked again, recursively (MAX_SPLIT_DEPTH);
  3. `crimes-no-location?force=F&date=YYYY-MM`, so unlocated crimes count in totals as in the CSVs;
  4. crimes two areas both returned (shared borders, overlapping halves) are kept once, by API id.
The rows are normalised exactly like CSV street rows (category via `canonical`, coordinates via
`validate`) and stored with the CSV ingest's own `ingest_parsed`, one transaction per month: a
long fetch that fails part-way keeps the months it finished, and re-running resumes (months already
in the store are skipped unless `refresh`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from saferhub.categories import ALL_NAMES, canonical
from saferhub.config import resolve_store, settings
from saferhub.data.boundaries import boundary_polygon, cache_boundary, poly_param, split_polygon  # noqa: F401
from saferhub.data.boundaries import cache_neighbourhoods, hood_names
from saferhub.data.hooddetails import cache_details, fetch_details
from saferhub.data.forces import NATIONAL, force_id
from saferhub.data.policeuk import ParsedFile
from saferhub.data.schemas import EVENT_SCHEMA, QUARANTINE_SCHEMA
from saferhub.data.store import Catalog, partition_key
from saferhub.data.validate import parse_coordinates, project_and_check
from saferhub.errors import SaferhubError
from saferhub.geo.boundary import force_boundary
from saferhub.geo.lsoa import lsoa11_of_points
from saferhub.months import month_str

# Halving a polygon's box 8 times gives up to 256 parts: a 10,000-crime cap per part allows
# ~2.5 million crimes in one neighbourhood-month, far beyond any real one. Hitting the limit
# means the 503s are an outage, not density.
MAX_SPLIT_DEPTH = 8
THREADS = 4


@dataclass(frozen=True)
class ApiSource:
    """Stands in for a CSV `Member` in the ingest: a name for messages and the copy's date."""

    name: str
    stamp: str


# ---------------------------------------------------------------------------------------------
# Pure parts: polygons and the mapping of API rows


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _get(obj, *path):
    """obj[path[0]][path[1]]..., or None where a level is missing or not an object (API JSON
    is not ours to trust: a null street or a string location must not crash the fetch)."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def api_id(value) -> int | None:
    """The API's numeric crime id (an int, or digits in a string); None when absent or malformed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _json(obj) -> str:
    try:
        return json.dumps(obj, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(obj)


def api_rows_to_parsed(crimes: list[dict], force: str, month: str, source: ApiSource,
                       far_km: float | None = None, boundary=None, geo_dir=None) -> ParsedFile:
    """API crime objects (street and no-location, already de-duplicated) -> a ParsedFile for the
    store: normalised like CSV street rows; bad rows go to quarantine with their reason and JSON.

    Quarantine `line` is the API's crime id (there are no lines in an API answer). The API gives
    no LSOA code, so `lsoa11` is the 2011 LSOA holding the point (geo_dir: the geo folder, from
    the settings when None).
    """
    ids = [api_id(_get(c, "id")) for c in crimes]
    order = sorted(range(len(crimes)), key=lambda i: (ids[i] is None, ids[i] or 0, _json(crimes[i])))
    crimes = [crimes[i] for i in order]
    ids = [ids[i] for i in order]
    n = len(crimes)
    df = pd.DataFrame({
        "id": pd.Series(ids, dtype=object),
        "persistent_id": [_text(_get(c, "persistent_id")) for c in crimes],
        "month": [_text(_get(c, "month")) for c in crimes],
        "slug": [_text(_get(c, "category")) for c in crimes],
        "lon": [_text(_get(c, "location", "longitude")) for c in crimes],
        "lat": [_text(_get(c, "location", "latitude")) for c in crimes],
        "street": [_text(_get(c, "location", "street", "name")) for c in crimes],
        "outcome": [_text(_get(c, "outcome_status", "category")) for c in crimes],
        "context": [_text(_get(c, "context")) for c in crimes],
    }, index=pd.RangeIndex(n))
    reason = np.full(n, None, dtype=object)

    def _set(mask, texts):
        idx = np.flatnonzero(np.asarray(mask) & pd.isnull(reason))
        for i in idx:
            reason[i] = texts(i) if callable(texts) else texts

    _set(np.array([not isinstance(c, dict) for c in crimes], dtype=bool), "not a crime object")
    _set(df["id"].isna().to_numpy(), "no API crime id")
    _set((df["month"] != month).to_numpy(), lambda i: f"month {df['month'].iat[i]!r} in an answer for {month}")
    lookup = {s: canonical(s) for s in df["slug"].unique()}
    category = df["slug"].map(lookup)
    _set(category.isna().to_numpy(), lambda i: f"unknown crime category {df['slug'].iat[i]!r}")
    lon, lat, why = parse_coordinates(df["lon"], df["lat"])
    _set(~pd.isnull(why), lambda i: why[i])
    kwargs = {} if far_km is None else {"far_km": far_km}
    x, y = project_and_check(lon, lat, reason, force not in NATIONAL, boundary=boundary, **kwargs)
    good = pd.isnull(reason)
    id_text = pd.Series(["" if v is None else str(v) for v in ids], index=df.index, dtype=object)
    event_id = df["persistent_id"].where(df["persistent_id"] != "", "api:" + id_text)

    def _null(s: pd.Series) -> pd.Series:
        return s.where(s != "", None)

    out = pd.DataFrame({
        "event_id": event_id,
        "source": "street",
        "force": force,
        "month": dt.date.fromisoformat(month + "-01"),
        "occurred_at": pd.Series(pd.NaT, index=df.index, dtype="datetime64[us, UTC]"),
        "category": category,
        "category_slug": category.map(ALL_NAMES),
        "lon": lon, "lat": lat,
        "x": np.where(good, x, np.nan), "y": np.where(good, y, np.nan),
        "lsoa": None, "lsoa_name": None,
        "location": _null(df["street"]),
        "outcome": _null(df["outcome"]),
        "agency": None,
        "raw_category": df["slug"],
        "text": _null(df["context"]),
        "lsoa_edition": None,   # the API gives no LSOA code; the point gives the 2011 LSOA
        "lsoa11": lsoa11_of_points(np.where(good, x, np.nan), np.where(good, y, np.nan),
                                   settings(geo_dir=geo_dir).geo_dir).to_pandas(),
    })
    kept = out[good]
    bad = np.flatnonzero(~good)
    quarantine = pa.Table.from_pydict({
        "file": [source.name] * len(bad),
        "line": [ids[i] if ids[i] is not None else -1 for i in bad],
        "reason": [reason[i] for i in bad],
        "raw": [_json(crimes[i]) for i in bad],
    }, schema=QUARANTINE_SCHEMA)
    digest = hashlib.sha256(f"police.uk API {force} {month}\n".encode())
    digest.update(_json(crimes).encode())
    parsed = ParsedFile(source, "street", "events", force, digest.hexdigest(), rows_read=n)
    # Always a partition, even an empty one: "the API says none" is a fact worth keeping, and it
    # lets a re-run see the month as done.
    parsed.tables[month] = pa.Table.from_pandas(kept, schema=EVENT_SCHEMA, preserve_index=False)
    parsed.unlocated = int(kept["x"].isna().sum())
    parsed.quarantine = quarantine
    return parsed


# ---------------------------------------------------------------------------------------------
# Fetching


@dataclass
class MonthResult:
    month: str
    read: int
    stored: int
    quarantined: int
    unlocated: int
    other_force: int      # BTP crimes inside the force's neighbourhoods (BTP publishes those)
    queries: int          # polygon queries, split parts included
    splits: int           # 503 answers that made us split a polygon
    change: str


@dataclass
class FetchReport:
    store: Path
    force: str
    base_url: str
    neighbourhoods: int = 0
    no_boundary: list[str] = field(default_factory=list)   # listed, but no usable boundary
    boundary_file: str | None = None   # the force's outline cached from its neighbourhoods
    details_file: str | None = None    # the neighbourhoods' teams, priorities and events
    fetched: list[MonthResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    throttled: int = 0

    def as_dict(self) -> dict:
        d = asdict(self)
        d["store"] = str(self.store)
        return d


class _MonthFetcher:
    """Fetch one month's crimes for a set of neighbourhood polygons (threads share the client)."""

    def __init__(self, api, force: str, polygons: list, threads: int, max_depth: int):
        self.api = api
        self.force = force
        self.polygons = polygons
        self.threads = threads
        self.max_depth = max_depth

    def _area(self, polygon, month: str, depth: int, counts: dict) -> list[dict]:
        from saferhub.data.policeapi import TooManyCrimes

        counts["queries"] += 1
        try:
            return self.api.street_crimes(poly_param(polygon), month)
        except TooManyCrimes as exc:
            counts["splits"] += 1
            if depth >= self.max_depth:
                raise SaferhubError(f"the police.uk API still answered 503 after splitting an area "
                                    f"{depth} times ({exc}); it is probably unavailable, try again later") from None
        out = []
        for part in split_polygon(polygon):
            out.extend(self._area(part, month, depth + 1, counts))
        return out

    def fetch(self, month: str, on_area: Callable[[], None] | None = None) -> tuple[list[dict], dict]:
        counts = {"queries": 0, "splits": 0}
        crimes: dict = {}

        def keep(c) -> None:
            # Same API id = same crime; a crime without an id is kept (and quarantined later).
            key = api_id(_get(c, "id"))
            crimes.setdefault(key if key is not None else ("no id", len(crimes)), c)

        def one(group):
            local = {"queries": 0, "splits": 0}
            found = []
            for polygon in group:
                found.extend(self._area(polygon, month, 0, local))
            return found, local

        pool = ThreadPoolExecutor(max_workers=self.threads)
        try:
            for found, local in pool.map(one, self.polygons):
                for k in counts:
                    counts[k] += local[k]
                for c in found:
                    keep(c)
                if on_area:
                    on_area()
        except BaseException as exc:
            # Stop the other areas: queued ones never start, running ones stop at their next
            # request or back-off. On Ctrl-C don't even wait for requests in flight.
            self.api.cancel()
            pool.shutdown(wait=not isinstance(exc, KeyboardInterrupt), cancel_futures=True)
            raise
        pool.shutdown()
        for c in self.api.crimes_no_location(self.force, month):
            keep(c)
        if on_area:
            on_area()
        return list(crimes.values()), counts


def fetch(force: str, months, store=None, *, base_url: str | None = None, refresh: bool = False,
          api=None, threads: int = THREADS, max_depth: int = MAX_SPLIT_DEPTH, far_km: float | None = None,
          on_step: Callable[[int, int, str], None] | None = None) -> FetchReport:
    """Fetch `months` ('2023-01:2023-12', a (start, end) tuple, a list) of street crimes for `force`
    into the store. One transaction per month; months already stored are skipped unless `refresh`.

    api: a PoliceAPI (tests pass one with fast back-off); default one for `base_url`.
    on_step(done, total, label): progress callback (one step per neighbourhood-month and per
    no-location query).
    """
    from saferhub.config import settings
    from saferhub.data.ingest import ingest_parsed
    from saferhub.data.policeapi import NotFound, PoliceAPI
    from saferhub.months import parse_months

    fid = force_id(force)
    wanted = [month_str(m) for m in parse_months(months)] if months is not None else None
    if not wanted:
        raise SaferhubError("say which months to fetch, e.g. --from 2023-01 --to 2023-12")
    base_url = settings(police_api=base_url or None).police_api
    own_api = api is None
    if own_api:
        api = PoliceAPI(base_url)
    root = resolve_store(store)
    report = FetchReport(root, fid, api.base_url)
    api.uncancel()
    try:
        live = Catalog.load(root).partitions if root.exists() else {}
        todo = [m for m in wanted if refresh or partition_key("events", fid, m) not in live]
        report.skipped = [m for m in wanted if m not in todo]
        if todo:
            _check_available(api, todo)
            stamp = _stamp(api)
            hoods = api.neighbourhoods(fid)
            if not hoods:
                raise SaferhubError(f"the police.uk API lists no neighbourhoods for force {fid!r}")
            report.neighbourhoods = len(hoods)
            total = 2 * len(hoods) + len(todo) * (len(hoods) + 1)
            done = 0
            step_lock = threading.Lock()

            def step(label: str) -> None:
                nonlocal done
                with step_lock:     # boundary threads report concurrently
                    done += 1
                    if on_step:
                        on_step(done, total, label)

            def boundary(h):
                try:
                    polys = boundary_polygon(api.boundary(fid, h["id"]))
                except NotFound:    # listed but gone: its streets belong to its neighbours now
                    polys = []
                step("boundaries")
                return polys

            def details(h):
                out = fetch_details(api, fid, h)
                step("neighbourhood teams, priorities and events")
                return out

            with ThreadPoolExecutor(max_workers=threads) as pool:
                groups = list(pool.map(boundary, hoods))
                about = list(pool.map(details, hoods))
            report.no_boundary = [str(h["id"]) for h, g in zip(hoods, groups) if not g]
            cache_neighbourhoods(root, fid, hoods, groups)  # the public pages' neighbourhoods (community)
            report.details_file = str(cache_details(
                root, fid, hood_names(hoods), about, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")))  # and their teams, priorities, events
            groups = [g for g in groups if g]
            if not groups:
                raise SaferhubError(f"none of the {len(hoods)} neighbourhoods of {fid!r} has a usable boundary")
            if not report.no_boundary:   # a partial outline would put its missing streets outside
                report.boundary_file = str(cache_boundary(root, fid, [p for g in groups for p in g]))
            fetcher = _MonthFetcher(api, fid, groups, threads, max_depth)
            for month in todo:
                try:
                    report.fetched.append(_fetch_month(fetcher, fid, month, api.base_url, stamp, root,
                                                       refresh, far_km, lambda: step(month), ingest_parsed))
                except SaferhubError as exc:
                    raise _partial(exc, report, month) from None
    finally:
        report.requests = api.stats.requests
        report.retries = api.stats.retries
        report.throttled = api.stats.throttled
        if own_api:
            api.close()
    return report


def _fetch_month(fetcher, fid, month, base_url, stamp, root, refresh, far_km, on_area, ingest_parsed):
    crimes, counts = fetcher.fetch(month, on_area)
    # BTP crimes share the map but not the force: data.police.uk publishes them under 'btp', so
    # they are left out here as they are absent from the force's CSVs (and vice versa for btp).
    # No-location crimes were asked for by force, so they are the force's own.
    want_btp = fid == "btp"
    ours = [c for c in crimes if not isinstance(_get(c, "location"), dict)
            or (_text(_get(c, "location_type")).upper() == "BTP") == want_btp]
    source = ApiSource(f"police.uk API {base_url} {fid} {month}", stamp)
    parsed = api_rows_to_parsed(ours, fid, month, source, far_km=far_km, boundary=force_boundary(fid, store=root))
    ingest = ingest_parsed([parsed], root, replace_older=refresh)
    res = ingest.files[0]
    return MonthResult(month, res.read, res.stored, res.quarantined, res.unlocated,
                       len(crimes) - len(ours), counts["queries"], counts["splits"], res.change)


def _partial(exc: SaferhubError, report: FetchReport, month: str) -> SaferhubError:
    done = [r.month for r in report.fetched]
    note = (f"; months stored before the failure: {', '.join(done)} (re-run to continue)" if done
            else "; nothing was stored")
    return SaferhubError(f"fetching {month}: {exc}{note}")


def _check_available(api, months: list[str]) -> None:
    available = set(api.available_months())
    missing = [m for m in months if m not in available]
    if missing:
        span = f"{min(available)}..{max(available)}" if available else "none"
        raise SaferhubError(f"the police.uk API does not serve {', '.join(missing)} (it serves {span}); "
                            "older months are in the data.police.uk archive: download it and use `saferhub ingest`")


def _stamp(api) -> str:
    """When this copy of the data was published: the API's last-update date, so a fetched month
    and the same month from the archive compare by publication, as the ingest's newer-wins rule wants."""
    from saferhub.data.policeapi import NotFound

    try:
        day = dt.date.fromisoformat(api.last_updated())
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).isoformat(timespec="seconds")
    except (NotFound, ValueError, KeyError, TypeError):
        return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
