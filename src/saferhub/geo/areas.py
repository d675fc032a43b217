"""Areas files: the ONE reader and writer of the polygons patrols, evaluations and the map share
(`saferhub patrol areas` writes them; a plan folder holds one; a user may bring their own).

`read_areas(source)` takes a GeoPackage / GeoJSON path (any GIS format GDAL reads) or a
GeoDataFrame and returns polygons in EPSG:27700 with every column kept, `area_id` (A1, A2, ... in
file order when missing; unique) and `name` (the id when missing). `patrol=True` also asks for the
columns `saferhub patrol areas` writes (rank, harm, count) and sorts by rank. Every problem is
one line naming the file and the reason. `write_areas` writes GPKG, or GeoJSON in WGS84 (RFC
7946), atomically.
"""

from __future__ import annotations

from pathlib import Path

from saferhub.errors import BadFileError, SaferhubError

BNG = "EPSG:27700"
PATROL_COLUMNS = ("area_id", "name", "rank", "harm", "count")


def read_areas(source, *, patrol: bool = False):
    import geopandas as gpd

    if isinstance(source, gpd.GeoDataFrame):
        gdf, label = source.copy(), "areas"
    else:
        path = Path(source)
        label = str(path)
        if not path.exists():
            raise BadFileError(path, "areas file not found")
        try:
            gdf = gpd.read_file(path)
        except Exception as exc:  # the GIS driver's reasons are many; name the file and pass it on
            raise BadFileError(path, f"not a readable polygon file ({str(exc).splitlines()[0]})") from None
    if len(gdf) == 0:
        raise BadFileError(label, "no areas in the file")
    kinds = set(gdf.geometry.geom_type.dropna())
    if not kinds or not kinds <= {"Polygon", "MultiPolygon"}:
        raise BadFileError(label, f"areas must be polygons (found {', '.join(sorted(kinds)) or 'no geometry'})")
    if gdf.crs is None:
        raise BadFileError(label, "no coordinate reference system; save it in EPSG:27700 or EPSG:4326")
    if patrol:
        missing = set(PATROL_COLUMNS) - set(gdf.columns)
        if missing:
            raise SaferhubError(f"{label}: not a patrol areas file (missing {', '.join(sorted(missing))}); "
                                "make one with `saferhub patrol areas`")
    gdf = gdf.to_crs(BNG)
    if "area_id" not in gdf.columns:
        gdf["area_id"] = [f"A{i + 1}" for i in range(len(gdf))]
    gdf["area_id"] = gdf["area_id"].astype(str)
    if gdf["area_id"].duplicated().any():
        dup = gdf.loc[gdf["area_id"].duplicated(), "area_id"].iloc[0]
        raise BadFileError(label, f"area_id {dup!r} appears more than once")
    if "name" not in gdf.columns:
        gdf["name"] = gdf["area_id"]
    gdf["name"] = gdf["name"].fillna(gdf["area_id"]).astype(str)
    if patrol:
        gdf = gdf.sort_values("rank")
    return gdf.reset_index(drop=True)


def write_areas(areas, path) -> Path:
    """Areas as GPKG or GeoJSON (GeoJSON in WGS84 per RFC 7946), written atomically."""
    from saferhub.fsutil import replacing

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gpkg", ".geojson", ".json"):
        raise SaferhubError(f"{path}: write areas as .gpkg or .geojson")
    path.parent.mkdir(parents=True, exist_ok=True)
    out = areas.copy()
    out.attrs = {}  # parameters are for reports; GIS files carry the columns
    for col in out.columns:  # object columns of numpy strings / None write cleanly as text
        if col != "geometry" and out[col].dtype == object:
            out[col] = out[col].astype("string")
    with replacing(path) as tmp:
        if suffix == ".gpkg":
            out.to_file(tmp, driver="GPKG", layer="patrol_areas")
        else:
            out.to_crs("EPSG:4326").to_file(tmp, driver="GeoJSON")
    return path
