"""Write result GeoDataFrames: GeoPackage, GeoJSON (WGS84, per RFC 7946), GeoParquet, or CSV with
BNG centroid x/y. Files are written to a temp name and renamed, so readers never see half a file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from saferhub.errors import SaferhubError
from saferhub.fsutil import replacing

FORMATS = {".gpkg": "GeoPackage", ".geojson": "GeoJSON", ".json": "GeoJSON", ".parquet": "GeoParquet",
           ".csv": "CSV"}


def write_units(gdf, path, layer: str = "hotspots") -> Path:
    """Write `gdf` (EPSG:27700) to `path`; the format comes from the suffix."""
    import shapely

    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SaferhubError(f"{path}: unknown output format (use {', '.join(FORMATS)})")
    path.parent.mkdir(parents=True, exist_ok=True)
    out = gdf.copy()
    out.attrs = {}  # parameters and summaries are for reports; GIS files carry the columns
    for col in out.columns:  # object columns of numpy strings / None write cleanly as text
        if col != "geometry" and out[col].dtype == object:
            out[col] = out[col].astype("string")
    with replacing(path) as tmp:
        if fmt == "CSV":
            c = shapely.centroid(out.geometry.values)
            table = out.drop(columns="geometry")
            table["centroid_x"] = np.round(shapely.get_x(c), 1)
            table["centroid_y"] = np.round(shapely.get_y(c), 1)
            table.to_csv(tmp, index=False)
        elif fmt == "GeoParquet":
            out.to_parquet(tmp, index=False)
        elif fmt == "GeoJSON":
            out.to_crs("EPSG:4326").to_file(tmp, driver="GeoJSON")
        else:
            out.to_file(tmp, driver="GPKG", layer=layer)
    return path
