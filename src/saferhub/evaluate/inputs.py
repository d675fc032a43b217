"""Reading what an evaluation is about: areas from any polygon file, a patrol plan folder (the
CONTRACTS.md layout, read here so evaluate does not depend on the patrol package), dosage and calls
CSVs. Every problem is one line naming the file and the reason."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from saferhub.data.products import plan_folder
from saferhub.errors import BadFileError, SaferhubError


def read_areas(source) -> "gpd.GeoDataFrame":  # noqa: F821
    """Areas as a GeoDataFrame in EPSG:27700 with area_id and name (saferhub.geo.areas, the one
    areas reader). source: a path (GPKG/GeoJSON) or a GeoDataFrame."""
    from saferhub.geo.areas import read_areas as read

    return read(source)[["area_id", "name", "geometry"]]


@dataclass
class Plan:
    plan_id: str
    start: pd.Timestamp
    end: pd.Timestamp
    areas: object
    crossover: pd.DataFrame = field(default_factory=pd.DataFrame)
    simulated: bool = False
    raw: dict = field(default_factory=dict)


def read_plan(plan_id: str, store) -> Plan:
    """A patrol plan from `<store>/patrol/plans/<plan_id>/` (plan.json + areas.gpkg)."""
    folder = plan_folder(plan_id, store)
    path = folder / "plan.json"
    if not path.exists():
        raise SaferhubError(f"{path}: no such plan (plans are made by `saferhub patrol plan`)")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise BadFileError(path, f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
    start = raw.get("start") or raw.get("start_date")
    end = raw.get("end") or raw.get("end_date")
    if not start or not end:
        raise BadFileError(path, "the plan has no start and end dates")
    assignment = pd.DataFrame(raw.get("crossover") or raw.get("assignment") or [],
                              columns=["area_id", "date", "arm"])
    if len(assignment) and not set(assignment["arm"]) <= {"patrol", "control"}:
        raise BadFileError(path, "crossover arms must be 'patrol' or 'control'")
    return Plan(plan_id=str(raw.get("plan_id", plan_id)), start=pd.Timestamp(start), end=pd.Timestamp(end),
                areas=read_areas(folder / "areas.gpkg"), crossover=assignment,
                simulated=bool(raw.get("simulated", False)), raw=raw)


def read_csv_columns(path, needed: list[str]) -> pd.DataFrame:
    """A CSV with the columns an analysis needs, or a one-line error naming the missing ones."""
    path = Path(path)
    if not path.exists():
        raise BadFileError(path, "file not found")
    try:
        df = pd.read_csv(path)
    except Exception as exc:
        raise BadFileError(path, f"not a readable CSV ({str(exc).splitlines()[0]})") from None
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise BadFileError(path, f"missing column(s) {', '.join(missing)}")
    for col in needed:
        if col.startswith("minutes") and not np.issubdtype(df[col].dtype, np.number):
            bad = int(pd.to_numeric(df[col], errors="coerce").isna().idxmax())
            raise BadFileError(path, f"line {bad + 2}: {col} must be a number")
    return df


_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def read_calls(path) -> pd.DataFrame:
    """A calls CSV for caller savings: caller_id, date, flagged (true/false, 1/0, yes/no), optional
    simulated. One-line errors name the file and line of a bad date or flag."""
    df = read_csv_columns(path, ["caller_id", "date", "flagged"])
    dates = pd.to_datetime(df["date"], errors="coerce")
    if dates.isna().any():
        raise BadFileError(Path(path), f"line {int(dates.isna().idxmax()) + 2}: date must be a date, e.g. 2024-03-31")
    flags = df["flagged"].astype(str).str.strip().str.lower()
    bad = ~flags.isin(_TRUE | _FALSE)
    if bad.any():
        raise BadFileError(Path(path), f"line {int(bad.idxmax()) + 2}: flagged must be true/false, 1/0 or yes/no")
    out = df.assign(date=dates, flagged=flags.isin(_TRUE))
    if "simulated" in out:
        out["simulated"] = out["simulated"].astype(str).str.strip().str.lower().isin(_TRUE)
    return out
