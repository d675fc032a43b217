"""The event store: Parquet files per (dataset, force, month) and one catalog that says which are live.

Layout under the store folder:
  catalog.json                 the live partitions and the ingested files (replaced atomically)
  parts/<dataset>/<force>/<month>-<token>.parquet
  quarantine/<file sha256>.parquet   rows that failed validation: file, line, reason, raw text
  warnings/<file sha256>.parquet     rows stored but worth a word (a duplicated Crime ID), same columns
  boundaries/<force>.geojson   force boundaries cached by the fetcher (geo.boundary reads them)
  .lock                        held by a writer for the whole of an ingest

A writer writes new partition files under fresh names first, then swaps the catalog with one
`os.replace`; readers read only what the catalog names. So an ingest killed part-way leaves the
previous catalog in force (orphan files are swept by the next writer), and a reader never sees
half an ingest. Datasets: `events` (police.uk street rows and partner incidents), `outcomes`,
`stop_search`.
"""

from __future__ import annotations

import fcntl
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from saferhub.categories import parse_categories
from saferhub.config import resolve_store
from saferhub.data.geoparquet import check_bbox, overlaps, read_box
from saferhub.data.schemas import _NO_DICTIONARY, QUARANTINE_SCHEMA, SCHEMAS
from saferhub.errors import SaferhubError
from saferhub.fsutil import write_atomic
from saferhub.months import parse_months

CATALOG_VERSION = 1

def partition_key(dataset: str, force: str, month: str) -> str:
    return f"{dataset}/{force}/{month}"


_READ_CACHE: dict = {}   # catalog.json path -> (its version key, Catalog): see Catalog.for_reading


@dataclass
class Catalog:
    """What is live in a store: partitions (key -> record) and ingested files (sha256 -> record)."""

    root: Path
    partitions: dict[str, dict] = field(default_factory=dict)
    files: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> "Catalog":
        path = root / "catalog.json"
        if not path.exists():
            return cls(root)
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise SaferhubError(f"{path}: the store catalog is unreadable ({exc})") from None
        return cls._parse(root, text)

    @classmethod
    def _parse(cls, root: Path, text: bytes) -> "Catalog":
        path = root / "catalog.json"
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise SaferhubError(f"{path}: the store catalog is unreadable ({exc})") from None
        if doc.get("version") != CATALOG_VERSION:
            raise SaferhubError(f"{path}: store catalog version {doc.get('version')} is not supported")
        return cls(root, doc.get("partitions", {}), doc.get("files", {}))

    @classmethod
    def for_reading(cls, root: Path) -> "Catalog":
        """The catalog for a reader, parsed once per version of catalog.json: a national store's
        catalog is megabytes, and parsing it took most of a force-month read. The version is the
        file's content digest (reading and hashing ~3 MB costs a few ms; inode and mtime can
        repeat within a clock tick). Shared: readers must not change it (writers use `load`)."""
        import hashlib

        path = root / "catalog.json"
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            return cls(root)
        except OSError as exc:
            raise SaferhubError(f"{path}: the store catalog is unreadable ({exc})") from None
        key = hashlib.blake2b(text, digest_size=16).digest()
        hit = _READ_CACHE.get(path)
        if hit is not None and hit[0] == key:
            return hit[1]
        catalog = cls._parse(root, text)
        _READ_CACHE[path] = (key, catalog)
        return catalog

    def save(self) -> None:
        doc = {"version": CATALOG_VERSION, "partitions": self.partitions, "files": self.files}
        write_atomic(self.root / "catalog.json", json.dumps(doc, indent=1, sort_keys=True))

    def live_files(self) -> set[str]:
        live = {p["file"] for p in self.partitions.values()}
        live |= {f[k] for f in self.files.values() for k in ("quarantine_file", "warnings_file") if f.get(k)}
        return live


class StoreWriter:
    """Exclusive writer: stage partition files, then `commit()` swaps the catalog in one step.

    Use as a context manager; leaving without commit (an error, a kill) changes nothing visible.
    """

    def __init__(self, store=None):
        self.root = resolve_store(store)
        self._lock = None
        self.catalog: Catalog | None = None
        self._staged: list[Path] = []
        self._extents: dict[str, list | None] = {}   # staged event partition -> its located rows' box

    def __enter__(self) -> "StoreWriter":
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SaferhubError(f"cannot create the store folder {self.root}: {exc.strerror}") from None
        self._lock = open(self.root / ".lock", "a+")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise SaferhubError(f"another saferhub process is writing to {self.root}; try again when it ends") from None
        self.catalog = Catalog.load(self.root)
        self._sweep_orphans()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            for path in self._staged:
                path.unlink(missing_ok=True)
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()

    def _sweep_orphans(self) -> None:
        """Delete files a killed writer left behind (never named by the catalog)."""
        live = self.catalog.live_files()
        for sub in ("parts", "quarantine", "warnings"):
            base = self.root / sub
            if base.exists():
                for path in base.rglob("*.parquet"):
                    if str(path.relative_to(self.root)) not in live:
                        path.unlink(missing_ok=True)
        for tmp in self.root.glob(".catalog.json.*"):
            tmp.unlink(missing_ok=True)

    def stage_table(self, relpath_stem: str, table: pa.Table, row_group_size: int | None = None) -> str:
        """Write `table` under a fresh name; return its path relative to the store."""
        rel = f"{relpath_stem}-{secrets.token_hex(6)}.parquet"
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        self._staged.append(path)
        # zstd level 1, dictionaries only for repetitive text, statistics only where readers
        # filter: a third faster to write than the defaults, and smaller.
        dict_cols = [c for c in table.column_names if c not in _NO_DICTIONARY | {"geometry", "bbox"}]
        stats = [c for c in ("month", "x", "y", "line") if c in table.column_names]
        if "bbox" in table.column_names:
            stats += [f"bbox.{f}" for f in ("xmin", "ymin", "xmax", "ymax")]
        pq.write_table(table, path, compression="zstd", compression_level=1,
                       use_dictionary=dict_cols, write_statistics=stats, row_group_size=row_group_size)
        return rel

    def stage_partition(self, dataset: str, force: str, month: str, table: pa.Table) -> str:
        """Write one partition. Every dataset with points (events, outcomes, stop-and-search) is
        GeoParquet 1.1 (data.geoparquet): Hilbert-ordered rows, a bbox covering and row groups of
        ROW_GROUP_ROWS, so box reads skip most of a file. Plain partitions written before read as ever."""
        if not {"x", "y"} <= set(table.column_names):
            return self.stage_table(f"parts/{dataset}/{force}/{month}", table)
        from saferhub.data.geoparquet import ROW_GROUP_ROWS, as_geoparquet, extent

        rel = self.stage_table(f"parts/{dataset}/{force}/{month}", as_geoparquet(table), ROW_GROUP_ROWS)
        self._extents[rel] = extent(table)
        return rel

    def commit(self) -> None:
        """Make everything staged live (one atomic catalog swap), then drop superseded files."""
        before = Catalog.load(self.root).live_files()
        for rec in self.catalog.partitions.values():   # the box of each new partition with points
            if rec["file"] in self._extents:
                rec["extent"] = self._extents[rec["file"]]
        self.catalog.save()
        live = self.catalog.live_files()
        staged, self._staged = self._staged, []
        for path in staged:   # staged, then superseded within the same run
            if str(path.relative_to(self.root)) not in live:
                path.unlink(missing_ok=True)
        for rel in before - live:
            (self.root / rel).unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# Reading


def _select_partitions(catalog: Catalog, dataset: str, force, months, bbox=None) -> list[str]:
    """The live files of the dataset for the forces and months; with a bbox, not those whose
    recorded extent misses it (partitions written before extents were recorded are kept)."""
    forces = None if force is None else {force} if isinstance(force, str) else set(force)
    month_set = None if months is None else {str(m) for m in months}
    out = []
    for key, rec in sorted(catalog.partitions.items()):
        ds, f, m = key.split("/")
        if ds != dataset:
            continue
        if forces is not None and f not in forces:
            continue
        if month_set is not None and m not in month_set:
            continue
        if bbox is not None and "extent" in rec and not overlaps(rec["extent"], bbox):
            continue
        out.append(str(catalog.root / rec["file"]))
    return out


def months_held(store=None, force=None, dataset: str = "events") -> list[str]:
    """The months ('YYYY-MM') the store holds for the force(s) (any force when None)."""
    forces = _force_filter(force)
    out = set()
    for key in Catalog.for_reading(resolve_store(store)).partitions:
        ds, f, m = key.split("/")
        if ds == dataset and (forces is None or f in forces):
            out.add(m)
    return sorted(out)


def missing_months(months, store=None, force=None) -> tuple[list[str], str | None]:
    """(the asked months the store does not hold for the force, a WARNING line or None): "the
    latest twelve months" may run past what was ingested, and results then cover fewer months
    than their title says."""
    asked = [str(m) for m in (parse_months(months) if months is not None else [])]
    held = set(months_held(store, force))
    missing = [m for m in asked if m not in held]
    if not missing:
        return [], None
    from saferhub.months import runs_text

    who = f" for {', '.join(_force_filter(force))}" if force is not None else ""
    return missing, (f"WARNING: {len(missing)} of the {len(asked)} months asked are not in the store{who} "
                     f"({runs_text(missing)}): the results cover the other {len(asked) - len(missing)} only")


def _read(store, dataset: str, force, months, columns=None, bbox=None) -> pa.Table:
    root = resolve_store(store)
    catalog = Catalog.for_reading(root)
    month_arr = parse_months(months)
    bbox = check_bbox(bbox)
    files = _select_partitions(catalog, dataset, _force_filter(force), month_arr, bbox)
    schema = SCHEMAS[dataset]
    if columns is not None:
        unknown = set(columns) - set(schema.names)
        if unknown:
            raise SaferhubError(f"unknown column(s) {', '.join(sorted(unknown))}; have: {', '.join(schema.names)}")
        schema = pa.schema([schema.field(c) for c in schema.names if c in set(columns)])
    if not files:
        return schema.empty_table()
    from concurrent.futures import ThreadPoolExecutor

    def one(f):
        if bbox is not None:
            return read_box(f, schema, bbox)
        return pq.read_table(f, schema=schema, columns=schema.names)

    if len(files) == 1:   # one force-month: no pool to start
        return one(files[0])
    with ThreadPoolExecutor(max_workers=4) as pool:   # Parquet decoding releases the GIL
        tables = list(pool.map(one, files))
    return pa.concat_tables(tables)


def _force_filter(force):
    if force is None:
        return None
    from saferhub.data.forces import force_id

    return [force_id(f) for f in ([force] if isinstance(force, str) else force)]


def events(store=None, force=None, months=None, categories=None, bbox=None, sources=None,
           located_only: bool = False, harm_weights=None, geo: bool = False, columns=None):
    """Read events from the store: the one read function every module uses.

    force: a force id or name ('merseyside', 'Merseyside Police') or a list; for partner incidents
      the agency id. months: '2020-01:2020-12', a list, a (start, end) tuple. categories: names,
      slugs or groups ('grip'). bbox: (minx, miny, maxx, maxy) in BNG metres (drops unlocated rows).
    sources: 'street' and/or 'incident'. located_only: drop rows without coordinates.
    harm_weights: a weights version or CSV (default table) for the `harm_weight` column.
    columns: return only these columns (much faster for analyses that need x, y, month, category).
    Returns a pyarrow.Table, or a GeoDataFrame in EPSG:27700 when geo=True (located rows only).
    """
    from saferhub.harm import load_weights, weights_for

    wanted = None if columns is None else list(dict.fromkeys(columns))
    need = None
    if wanted is not None:
        need = {c for c in wanted if c != "harm_weight"} | {"category"}
        need |= {"source"} if sources is not None else set()
        need |= {"x", "y"} if (bbox is not None or located_only or geo) else set()
    table = _read(store, "events", force, months, need, bbox=bbox)
    mask = None

    def _and(m):
        nonlocal mask
        mask = m if mask is None else pc.and_(mask, m)

    cats = parse_categories(categories)
    if cats is not None:
        _and(pc.is_in(table["category"], value_set=pa.array(cats)))
    if sources is not None:
        srcs = [sources] if isinstance(sources, str) else list(sources)
        _and(pc.is_in(table["source"], value_set=pa.array(srcs)))
    if bbox is not None:
        minx, miny, maxx, maxy = bbox
        _and(pc.and_(pc.and_(pc.greater_equal(table["x"], minx), pc.less_equal(table["x"], maxx)),
                     pc.and_(pc.greater_equal(table["y"], miny), pc.less_equal(table["y"], maxy))))
    if located_only or geo:
        _and(pc.is_valid(table["x"]))
    if mask is not None:
        table = table.filter(pc.fill_null(mask, False))
    if wanted is None or "harm_weight" in wanted:
        weights = load_weights(harm_weights)
        cats = table["category"]
        distinct = pc.unique(cats)   # one weight look-up per category, then an Arrow take
        per = pa.array(weights_for(distinct.to_numpy(zero_copy_only=False), weights), pa.float64())
        table = table.append_column("harm_weight", pc.take(per, pc.index_in(cats, value_set=distinct)))
    if wanted is not None:
        table = table.select([c for c in wanted if c in table.column_names or c == "harm_weight"])
    if not geo:
        return table
    import geopandas as gpd

    df = table.to_pandas()
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["x"], df["y"]), crs="EPSG:27700")


def outcomes(store=None, force=None, months=None, columns=None) -> pa.Table:
    """Outcomes rows (one per outcome; a Crime ID repeats when a crime has several)."""
    return _read(store, "outcomes", force, months, columns)


def stop_searches(store=None, force=None, months=None, columns=None) -> pa.Table:
    """Stop-and-search rows (timestamps in UTC; month is the file's month)."""
    return _read(store, "stop_search", force, months, columns)


def quarantine(store=None) -> pa.Table:
    """Every quarantined row of the live ingested files."""
    return _per_file(store, "quarantine_file")


def warnings(store=None) -> pa.Table:
    """Every warning of the live ingested files: rows that were stored but need a word (file,
    line, reason, raw text), e.g. a Crime ID published on two rows."""
    return _per_file(store, "warnings_file")


def _per_file(store, key: str) -> pa.Table:
    root = resolve_store(store)
    catalog = Catalog.load(root)
    files = [root / f[key] for f in catalog.files.values() if f.get(key)]
    if not files:
        return QUARANTINE_SCHEMA.empty_table()
    return pa.concat_tables([pq.read_table(f, schema=QUARANTINE_SCHEMA) for f in sorted(files)])


def quarantine_report(store=None):
    """Quarantined rows and warnings in one DataFrame (kind 'quarantined' | 'warning', file, line,
    reason, raw), by file and line: what `saferhub quarantine` prints or writes."""
    import pandas as pd

    frames = [t.to_pandas().assign(kind=kind) for kind, t in (("quarantined", quarantine(store)),
                                                              ("warning", warnings(store)))]
    df = pd.concat(frames, ignore_index=True).sort_values(["file", "line", "kind"], kind="stable")
    return df[["kind", "file", "line", "reason", "raw"]].reset_index(drop=True)
