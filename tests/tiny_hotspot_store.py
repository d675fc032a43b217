"""A tiny event store for fast tests of the hotspot verbs and CLI (issue 26): a few hundred events
placed by a seeded generator, in cells of a 2 km x 2 km study area in Liverpool city centre,
written as police.uk street files (one per month of 2020) and ingested once per test run.

The test data is made up (labelled so in every location name: "Simulated ..."); the oracle is
`EVENTS`, the placed events themselves in British National Grid metres, so every count can be
recounted without saferhub. Points sit at least 30 m inside their 250 m cell, so the 0.1 m lost
to the 6 decimals of a police.uk longitude/latitude never moves one across a cell edge.

    from tiny_hotspot_store import tiny_store, AREA, EVENTS  # noqa: F401
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import _build_once

CS = 250                                          # the cell size every test here uses
X0, Y0, SIDE = 334000, 389000, 2000               # the study area: 8 x 8 cells of 250 m
AREA = shapely.box(X0, Y0, X0 + SIDE, Y0 + SIDE)
MONTHS = [f"2020-{m:02d}" for m in range(1, 13)]
CATS = ["Violence and sexual offences", "Robbery", "Anti-social behaviour", "Burglary",
        "Possession of weapons", "Shoplifting"]
HOT = (335000, 390250)                            # lower-left corner of a cell that heats up late in the year


def _place() -> pd.DataFrame:
    rng = np.random.default_rng(20261207)
    rows = []
    # background: 240 events anywhere in the area, any month and category
    for _ in range(240):
        i, j = rng.integers(0, 8, 2)
        rows.append((X0 + CS * i, Y0 + CS * j, MONTHS[rng.integers(0, 12)], CATS[rng.integers(0, 6)]))
    # a hot cell: 30 more events in October-December, mostly violence and robbery
    for k in range(30):
        rows.append((*HOT, MONTHS[9 + k % 3], CATS[k % 2] if k % 5 else "Anti-social behaviour"))
    # a cold corner cell busy only in the first half-year (a fall for change / dual KDE)
    for k in range(18):
        rows.append((X0, Y0 + 7 * CS, MONTHS[k % 6], "Shoplifting" if k % 3 else "Burglary"))
    # outside the study area (east of it, still Liverpool): never counted when AREA is the area
    for k in range(15):
        rows.append((X0 + SIDE + 100 + 50 * (k % 5), Y0 + 500 + 40 * k, MONTHS[k % 12], CATS[k % 6]))
    df = pd.DataFrame(rows, columns=["cx", "cy", "month", "category"])
    off = rng.integers(30, CS - 30, size=(len(df), 2))
    df["x"] = (df["cx"] + off[:, 0]).astype(float)
    df["y"] = (df["cy"] + off[:, 1]).astype(float)
    df["cell"] = "E" + df["cx"].astype(str) + "N" + df["cy"].astype(str)
    df["location"] = "On or near Simulated Street " + ((df["cx"] - X0) // CS).astype(str) + \
        ((df["cy"] - Y0) // CS).astype(str)
    df["inside"] = shapely.contains_xy(AREA, df["x"], df["y"])
    return df.drop(columns=["cx", "cy"])


EVENTS = _place()
HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
          "Crime type,Last outcome category,Context")


def write_files(folder) -> list:
    from pyproj import Transformer

    lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(
        EVENTS["x"].to_numpy(), EVENTS["y"].to_numpy())
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for m in MONTHS:
        sel = np.flatnonzero(EVENTS["month"].to_numpy() == m)
        lines = [HEADER] + [f",{m},Merseyside Police,Merseyside Police,{lon[i]:.6f},{lat[i]:.6f},"
                            f"{EVENTS['location'].iat[i]},E01006512,Liverpool 060A,{EVENTS['category'].iat[i]},,"
                            for i in sel]
        p = folder / f"{m}-merseyside-street.csv"
        p.write_text("\n".join(lines) + "\n")
        paths.append(p)
    return paths


def _fingerprint() -> str:
    """The placed events and the store code that writes them: a cached store is reused only
    when both are unchanged."""
    import hashlib
    from pathlib import Path

    import saferhub.data

    h = hashlib.sha256(EVENTS.to_csv(index=False).encode())
    for p in sorted(Path(saferhub.data.__file__).parent.glob("*.py")):
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory):
    """Path of the tiny store (read-only for tests). Built once and kept beside pytest's numbered
    temporary folders, so a mutation run (one pytest session per mutant) does not re-ingest it."""
    from saferhub.data.ingest import ingest_paths

    def build(target):
        return ingest_paths(write_files(target.parent / f"{target.name}-csv"), store=target).as_dict()

    root = tmp_path_factory.getbasetemp()
    keep = root.parent.parent if root.name.startswith("popen-gw") else root.parent
    return _build_once(_Fixed(keep), f"tiny-hotspot-store-{_fingerprint()}", build)


class _Fixed:
    """A stand-in for tmp_path_factory whose base folder outlives the session."""

    def __init__(self, base):
        self.base = base

    def getbasetemp(self):
        return self.base


def recount(months=None, categories=None, weights=None, inside_only=True) -> pd.Series:
    """Independent oracle: per cell id, the number (or summed harm `weights`, category -> weight)
    of placed events in these months and categories."""
    ev = EVENTS
    if inside_only:
        ev = ev[ev["inside"]]
    if months is not None:
        ev = ev[ev["month"].isin(months)]
    if categories is not None:
        ev = ev[ev["category"].isin(categories)]
    vals = np.ones(len(ev)) if weights is None else ev["category"].map(weights).to_numpy(float)
    return pd.Series(vals, index=ev["cell"].to_numpy()).groupby(level=0).sum()
