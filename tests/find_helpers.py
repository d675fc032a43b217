"""The small real store the hotspot and forecast service tests share: every Merseyside street row
of 2019-07..2020-12 within a 3 km square of Liverpool city centre (real streets, LSOAs and wards),
ingested once per test run. Import the fixture into a test module:
    from find_helpers import small_store  # noqa: F401
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import MERSEYSIDE, _build_once

BOX = (333000, 388500, 336000, 391500)  # BNG metres: Liverpool city centre and round it
MONTHS = [str(m) for m in pd.period_range("2019-07", "2020-12", freq="M")]


def small_rows(month: str) -> pd.DataFrame:
    """The real rows of one month inside BOX (projected independently of saferhub)."""
    from pyproj import Transformer

    df = pd.read_csv(MERSEYSIDE / f"{month}-merseyside-street.csv.gz", dtype=str)
    lon, lat = pd.to_numeric(df["Longitude"]), pd.to_numeric(df["Latitude"])
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(lon.to_numpy(), lat.to_numpy())
    keep = (x >= BOX[0]) & (x < BOX[2]) & (y >= BOX[1]) & (y < BOX[3])
    return df[keep]


@pytest.fixture(scope="session")
def small_store(tmp_path_factory):
    """Path of the small store (read-only for tests)."""
    from saferhub.data.ingest import ingest_paths

    def build(target):
        src = target.parent / "small-store-csv"
        src.mkdir(parents=True, exist_ok=True)
        for m in MONTHS:
            small_rows(m).to_csv(src / f"{m}-merseyside-street.csv", index=False)
        return ingest_paths([src], store=target).as_dict()

    return _build_once(tmp_path_factory, "small-find-store", build)
