"""The steps every hotspot verb shares: events (given or read), the study area, strays, the cell
size and the spatial units — each choice made from the data when not given, and said."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from saferhub.errors import SaferhubError
from saferhub.hotspots.load import as_frame, load_events, select
from saferhub.query import EventQuery, UnitSpec

log = logging.getLogger("saferhub.hotspots")


@dataclass
class Prepared:
    df: pd.DataFrame  # events inside the study area
    units: object  # saferhub.geo.units.Units
    area: object  # saferhub.geo.area.StudyArea
    n_outside: int
    cell_size: int | None
    params: dict  # what was used (goes to gdf.attrs["params"])
    notes: list = field(default_factory=list)

    @property
    def x(self):
        return self.df["x"].to_numpy()

    @property
    def y(self):
        return self.df["y"].to_numpy()

    def inside(self, other: pd.DataFrame) -> pd.DataFrame:
        """Rows of another event frame (a 'before' period, a 'versus' set) inside the study area."""
        return other[self.area.contains(other["x"].to_numpy(), other["y"].to_numpy())].reset_index(drop=True)


def say(notes: list, message: str) -> None:
    """A choice made for the user: logged now, kept for the report and the CLI."""
    log.info(message)
    notes.append(message)


def read(events=None, query: EventQuery | None = None) -> pd.DataFrame:
    """The events as a frame: the given ones (filtered by the query's months, categories and
    force when those are given), or the store's located events matching the query."""
    q = query or EventQuery()
    if events is None:
        return load_events(query=q)
    df = select(as_frame(events, q.weights), q.month_list, q.categories)
    if q.force is not None and "force" in df:
        df = df[df["force"].isin(q.forces)].reset_index(drop=True)
    if len(df) == 0:
        raise SaferhubError("none of the events given matches those months, categories and force")
    return df


def prepare(df: pd.DataFrame, query: EventQuery, spec: UnitSpec, *, points=None, notes=None,
            from_store: bool = False) -> Prepared:
    """Study area, strays and units for the events `df`; `points` (x, y) of other events to
    analyse with them (hexagons holding any are kept). `from_store`: the events were read from
    the store, so months asked that it does not hold are warned about."""
    from saferhub.data.area import resolve_area
    from saferhub.geo.cellsize import default_cell_size
    from saferhub.geo.strays import check_strays, find_strays
    from saferhub.hotspots.load import event_labels

    notes = [] if notes is None else notes
    missing = []
    if from_store and query.months is not None:
        from saferhub.data.store import missing_months

        missing, warning = missing_months(query.month_list, query.store, query.force)
        if warning:
            say(notes, warning)
    forces = query.forces or (sorted(df["force"].dropna().unique()) if "force" in df else [])
    sa = resolve_area(query, spec, forces=forces, fallback=(df["x"].to_numpy(), df["y"].to_numpy()))
    # strays stop a hull analysis unless dropped; a given or known boundary leaves them out, loudly
    x, y = df["x"].to_numpy(), df["y"].to_numpy()
    keep = check_strays(x, y, event_labels(df, find_strays(x, y)), drop=spec.drop_strays or sa.kind != "hull",
                        warn=lambda m: say(notes, m))
    df = df[keep]
    say(notes, f"study area: {sa.source}")
    inside = sa.contains(df["x"].to_numpy(), df["y"].to_numpy())
    n_out = int((~inside).sum())
    df = df[inside].reset_index(drop=True)
    if n_out:
        say(notes, f"{n_out:,} events outside the study area left out")
    if len(df) == 0:
        raise SaferhubError(f"none of the events lies in the study area ({sa.source})")
    cell_size = spec.cell_size
    if cell_size is None and spec.units in ("grid", "hex"):
        cell_size, why = default_cell_size(*sa.geometry.bounds)
        say(notes, why)
    U = build_units(spec.units, sa, cell_size, spec.boundaries, spec.network, spec.snap, spec.id_column,
                    points if points is not None else (df["x"].to_numpy(), df["y"].to_numpy()))
    from saferhub.data.forces import force_name

    params = {"force": ", ".join(map(force_name, forces)) if forces else "all", "units": spec.units, "n_units": U.n,
              "cell_size": int(cell_size) if spec.units in ("grid", "hex") else None,
              "study_area": sa.source, "study_area_kind": sa.kind, "events_outside_area": n_out,
              "hull": spec.hull if sa.kind == "hull" else None, "months_missing": missing}
    return Prepared(df, U, sa, n_out, cell_size, params, notes)


def build_units(kind, sa, cell_size, boundaries, network, snap, id_column, points):
    """The spatial units over the study area: grid cells are the area's cells (the same cells for
    every module); hexagons holding any of `points` are kept."""
    from saferhub.geo import units as U

    if kind == "grid":
        grid = sa.grid(cell_size)
        return U.grid_units(grid, mask=sa.cells(grid))
    if kind == "hex":
        return U.hex_units(cell_size, sa.geometry, points)
    if kind == "lsoa":
        if not boundaries:
            raise SaferhubError("--units lsoa needs --boundaries FILE (GeoJSON/GeoPackage polygons, .gz allowed)")
        return U.polygon_units(U.read_layers(list(boundaries)), id_column=id_column, area=sa.geometry)
    if not network:
        raise SaferhubError("--units segments needs --network FILE (GeoPackage/GeoJSON street lines)")
    return U.segment_units(U.read_layers([network]), max_distance=snap, id_column=id_column, area=sa.geometry)


def month_span(df: pd.DataFrame) -> tuple[int, int]:
    """(first month index, number of months) the events span."""
    m = df["month_index"].to_numpy()
    return int(m.min()), int(m.max() - m.min() + 1)


def months_text(df: pd.DataFrame) -> str:
    """'2020-01..2020-12' — the months the analysed events actually span."""
    first, n = month_span(df)
    a, b = np.datetime64(first, "M"), np.datetime64(first + n - 1, "M")
    return str(a) if a == b else f"{a}..{b}"
