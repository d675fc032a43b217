"""The force -> study area resolution, in ONE place for every verb (hotspots, forecasts, patrol
areas, the national runner): `resolve_area(query, spec)` applies `saferhub.geo.study_area`'s rule
(the given polygon, else the force's boundary, else a hull of ALL the force's located events in
the store, strays left out) and returns a `StudyArea` to pass down. A `StudyArea` already in the
spec is used as it is, so a caller resolving once per force pays for it once."""

from __future__ import annotations

import numpy as np

from saferhub.geo.area import StudyArea, study_area
from saferhub.query import EventQuery, UnitSpec


def resolve_area(query: EventQuery, spec: UnitSpec | None = None, *, forces=None, points=None,
                 fallback=None) -> StudyArea:
    """The study area for `query`'s force (or `forces`, e.g. the forces the given events come
    from). `points` (x, y): all the force's located events when the caller has read them already;
    `fallback` (x, y): points to draw the hull round when the store holds none of the force's
    events (events given with no store behind them)."""
    spec = spec or UnitSpec()
    if isinstance(spec.area, StudyArea):
        return spec.area
    forces = list(forces) if forces is not None else query.forces

    def force_points():
        if points is not None:
            return points  # the hull is drawn round ALL the force's located events, any month
        from saferhub.data.store import events


        t = events(store=query.store, force=forces or None, located_only=True, columns=["x", "y"])
        if t.num_rows == 0 and fallback is not None:
            return np.asarray(fallback[0], float), np.asarray(fallback[1], float)
        return t["x"].to_numpy(), t["y"].to_numpy()

    def lsoa_counts():  # completes the LSOA -> force lookup where it has gaps (geo.forcearea)
        from saferhub.data.store import events

        import pyarrow.compute as pc

        t = events(store=query.store, force=forces or None, located_only=True, columns=["lsoa11"])
        vc = pc.value_counts(t["lsoa11"].drop_null()) if t.num_rows else None
        return {} if vc is None else dict(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist()))

    return study_area(area=spec.area, force=forces, store=query.store, geo_dir=spec.geo_dir,
                      points=force_points, hull=spec.hull, lsoa_counts=lsoa_counts)
