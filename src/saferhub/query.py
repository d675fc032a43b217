"""The typed contracts every analysis verb takes: what to read (`EventQuery`) and what to count it
into (`UnitSpec`). The study area they are counted on is `saferhub.geo.area.StudyArea`, resolved
once per force (`saferhub.data.area.resolve_area`) and passed down.

Both are frozen, validated when built (a bad month or category fails here, before any store
read), picklable (a Dask worker can be handed one) and serialisable (`to_dict` / `from_dict`,
JSON-able, for records of what a product read). Keyword arguments stay a convenience: a verb
called with `months=..., cell_size=...` builds them with `split_options`.

    q = EventQuery(force="merseyside", months="2020-01:2020-12", categories="grip")
    u = UnitSpec(cell_size=150, drop_strays=True)
    hot = gistar(query=q, spec=u)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from saferhub.errors import SaferhubError

UNIT_KINDS = ("grid", "hex", "lsoa", "segments")
HULLS = ("concave", "convex")


def _force(force):
    if force is None:
        return None
    from saferhub.data.forces import force_id  # a pure name table, no store access

    if isinstance(force, str):
        return force_id(force) if force.strip() else None
    forces = tuple(sorted({force_id(f) for f in force}))
    return forces[0] if len(forces) == 1 else (forces or None)


@dataclass(frozen=True)
class EventQuery:
    """Which events: a store, a force (id, name or several), months, categories, the harm
    weights table and a `bbox` (minx, miny, maxx, maxy in BNG metres; the store then skips the
    partitions and row groups outside it). Months and categories are kept canonical ('YYYY-MM'
    strings, category names)."""

    store: str | None = None
    force: str | tuple[str, ...] | None = None
    months: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    weights: str | None = None
    bbox: tuple[float, float, float, float] | None = None

    def __post_init__(self):
        from saferhub.categories import parse_categories
        from saferhub.months import parse_months

        # a 2-tuple is a (start, end) range, as everywhere in saferhub; replace() passes a list
        parsed = parse_months(self.months)
        months = None if parsed is None else tuple(str(m) for m in parsed)
        cats = parse_categories(self.categories)
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, "store", None if self.store is None else str(self.store))
        set_(self, "force", _force(self.force))
        set_(self, "months", months)
        set_(self, "categories", None if cats is None else tuple(cats))
        set_(self, "weights", None if self.weights is None else str(self.weights))
        if self.bbox is not None:
            from saferhub.data.geoparquet import check_bbox

            set_(self, "bbox", check_bbox(self.bbox))

    def read(self, **kw):
        """`saferhub.data.store.events` for this query (kw: columns, located_only, geo, sources)."""
        from saferhub.data.store import events

        return events(self.store, force=self.force, months=self.month_list, categories=self.categories,
                      bbox=self.bbox, harm_weights=self.weights, **kw)

    @property
    def forces(self) -> list[str]:
        return [] if self.force is None else [self.force] if isinstance(self.force, str) else list(self.force)

    @property
    def months_text(self) -> str:
        """'2020-01..2020-12' for a run of months, else the list; 'all' for every month."""
        if self.months is None:
            return "all"
        m = np.array(self.months, dtype="datetime64[M]")
        if len(m) > 2 and (np.diff(m).astype(int) == 1).all():
            return f"{m[0]}..{m[-1]}"
        return ", ".join(self.months)

    @property
    def categories_text(self) -> str:
        return "all" if self.categories is None else ", ".join(self.categories)

    @property
    def month_list(self) -> list[str] | None:
        """The months as a list (a tuple of two would read as a range)."""
        return None if self.months is None else list(self.months)

    def replace(self, **changes) -> "EventQuery":
        changes.setdefault("months", self.month_list)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict) -> "EventQuery":
        return cls(**d)


@dataclass(frozen=True)
class UnitSpec:
    """What events are counted into: `units` (grid | hex | lsoa | segments), `cell_size` (metres,
    None: chosen from the study area and said), the study `area` (a polygon file, a shapely
    geometry or a resolved StudyArea; None: the force's), the `hull` drawn when no boundary is
    known, `drop_strays`, LSOA `boundaries`, a street `network` with its `snap` distance, the
    polygons' `id_column`, and the `geo_dir` holding boundaries and place names."""

    units: str = "grid"
    cell_size: int | None = None
    area: object = None
    hull: str = "concave"
    drop_strays: bool = False
    boundaries: tuple[str, ...] | None = None
    network: str | None = None
    snap: float = 30.0
    id_column: str | None = None
    geo_dir: str | None = None

    def __post_init__(self):
        set_ = object.__setattr__
        if self.units not in UNIT_KINDS:
            raise SaferhubError(f"unknown units {self.units!r} (use {', '.join(UNIT_KINDS)})")
        if self.hull not in HULLS:
            raise SaferhubError(f"hull must be 'convex' or 'concave', not {self.hull!r}")
        if self.cell_size is not None:
            cs = float(self.cell_size)
            if not np.isfinite(cs) or cs != int(cs) or cs < 10:
                raise SaferhubError(f"cell size must be a whole number of metres, at least 10, got {self.cell_size!r}")
            set_(self, "cell_size", int(cs))
        if not float(self.snap) > 0:
            raise SaferhubError(f"the snapping distance must be positive, got {self.snap!r}")
        set_(self, "snap", float(self.snap))
        set_(self, "drop_strays", bool(self.drop_strays))
        if self.boundaries is not None:
            b = [self.boundaries] if isinstance(self.boundaries, (str, Path)) else self.boundaries
            set_(self, "boundaries", tuple(str(p) for p in b))
        for name in ("network", "geo_dir", "id_column"):
            if getattr(self, name) is not None:
                set_(self, name, str(getattr(self, name)))
        if isinstance(self.area, Path):
            set_(self, "area", str(self.area))

    def replace(self, **changes) -> "UnitSpec":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """JSON-able: a geometry area as WKT, a resolved StudyArea as its WKT and source."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        area = d["area"]
        if area is not None and not isinstance(area, str):
            geom = getattr(area, "geometry", area)
            d["area"] = {"wkt": geom.wkt, "source": getattr(area, "source", "the polygon given"),
                         "kind": getattr(area, "kind", "given")}
        d["boundaries"] = None if d["boundaries"] is None else list(d["boundaries"])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "UnitSpec":
        d = dict(d)
        if isinstance(d.get("area"), dict):
            import shapely

            from saferhub.geo.area import StudyArea

            a = d["area"]
            d["area"] = StudyArea(shapely.from_wkt(a["wkt"]), a["source"], a["kind"])
        if d.get("boundaries") is not None:
            d["boundaries"] = tuple(d["boundaries"])
        return cls(**d)


QUERY_KEYS = tuple(f.name for f in dataclasses.fields(EventQuery))
SPEC_KEYS = tuple(f.name for f in dataclasses.fields(UnitSpec))


def split_options(where: dict, query: EventQuery | None = None, spec: UnitSpec | None = None,
                  verb: str = "the verb") -> tuple[EventQuery, UnitSpec]:
    """Keyword arguments (the convenience form) -> (EventQuery, UnitSpec). Keywords given beside a
    query or spec override its fields; an unknown keyword is a TypeError, as Python's own."""
    unknown = set(where) - set(QUERY_KEYS) - set(SPEC_KEYS)
    if unknown:
        raise TypeError(f"{verb}() got unexpected keyword argument(s) {', '.join(sorted(unknown))}")
    q = {k: where[k] for k in QUERY_KEYS if k in where}
    s = {k: where[k] for k in SPEC_KEYS if k in where}
    query = (query.replace(**q) if q else query) if query is not None else EventQuery(**q)
    spec = (spec.replace(**s) if s else spec) if spec is not None else UnitSpec(**s)
    return query, spec
