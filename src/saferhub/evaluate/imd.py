"""IMD 2019 decile of places, for matching controls within the same deprivation decile (optional):
each place takes the decile of the nearest LSOA 2011 population-weighted centroid."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from saferhub.errors import SaferhubError

CENTROIDS = "lsoa2011_centroids_ew.csv"


def place_deciles(x: np.ndarray, y: np.ndarray, geo_dir) -> np.ndarray:
    """IMD decile (1 = most deprived) per point, from the geo folder's LSOA centroids and IMD file."""
    from scipy.spatial import cKDTree

    from saferhub.forecast.covariates import load_lsoa_table, resolve_geo_dir
    from saferhub.geo.project import to_bng

    folder = resolve_geo_dir(geo_dir)
    if folder is None:
        raise SaferhubError("--imd needs the geo folder (--geo-dir or SAFERHUB_GEO_DIR) with IMD 2019 and LSOA centroids")
    path = next((p for p in (Path(folder) / CENTROIDS, Path(folder) / f"{CENTROIDS}.gz") if p.exists()), None)
    if path is None:
        raise SaferhubError(f"{folder}: no {CENTROIDS}[.gz] (LSOA 2011 centroids: lsoa11cd, lon, lat)")
    with (gzip.open(path, "rt") if path.suffix == ".gz" else open(path)) as fh:
        cent = pd.read_csv(fh)
    table = load_lsoa_table(Path(folder))
    if "imd_decile" not in table.columns:
        raise SaferhubError(f"{folder}: no IMD 2019 file (File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv)")
    cent = cent[cent["lsoa11cd"].isin(table.index)]
    cx, cy = to_bng(cent["lon"].to_numpy(), cent["lat"].to_numpy())
    _, idx = cKDTree(np.column_stack([cx, cy])).query(np.column_stack([x, y]))
    return table.loc[cent["lsoa11cd"].to_numpy()[idx], "imd_decile"].to_numpy()
