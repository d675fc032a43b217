"""A small constructed police.uk store with facility snap points placed by hand."""

import numpy as np
import pytest

from ingest_helpers import street_row, write
from saferhub.data.ingest import ingest_paths
from saferhub.geo.project import to_wgs84

X0, Y0 = 340_000.0, 390_000.0
# (type, offset east, offset north, crimes per month over 6 months); the last supermarket is the problem
FACILITIES = [("Supermarket", i * 400.0, 0.0, 1) for i in range(7)] + [("Supermarket", 2800.0, 0.0, 6)] + \
             [("Nightclub", i * 400.0, 800.0, 2) for i in range(6)]
STREETS = [("Bold Street", 20.0, 30.0), ("Lord Street", 2820.0, 40.0), ("Hope Street", 400.0, 830.0)]
MONTHS = [f"2020-0{m}" for m in range(1, 7)]


def lonlat(dx, dy):
    lon, lat = to_wgs84(np.array([X0 + dx]), np.array([Y0 + dy]))
    return f"{lon[0]:.6f}", f"{lat[0]:.6f}"


@pytest.fixture(scope="session")
def small_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("prevent")
    for month in MONTHS:
        lines = []
        for k, (t, dx, dy, per_month) in enumerate(FACILITIES):
            lon, lat = lonlat(dx, dy)
            for j in range(per_month):
                ctype = "Anti-social behaviour" if j % 2 else "Shoplifting"
                cid = "" if ctype == "Anti-social behaviour" else f"c{month}{k}{j}"
                lines.append(street_row(cid, month, lon, lat, ctype, location=f"On or near {t}"))
        for name, dx, dy in STREETS:
            lon, lat = lonlat(dx, dy)
            lines.append(street_row(f"s{month}{name[:3]}", month, lon, lat, "Burglary", location=f"On or near {name}"))
        write(root / "csv" / f"{month}-merseyside-street.csv", lines)
    store = root / "store"
    ingest_paths([root / "csv"], store=store)
    return store
