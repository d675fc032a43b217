"""Place context, so a sergeant reads "On or near Lord Street, Central ward" rather than
E334800N390150: per unit the most frequent police.uk snap-point name of its crimes (`street`), the
snap point of the nearest crime for units with none (`nearby`), the LSOA (from the crimes, else
the polygon the unit's centre is in), the electoral ward, and the unit's share of the crime.

Ward and LSOA polygons come from the geo folder (`--geo-dir` / SAFERHUB_GEO_DIR):
  uk-geojson/wards_by_lad/*.json.gz  (ONS wards 2013: WD13CD, WD13NM)
  uk-geojson/lsoa_by_lad/*.json.gz   (ONS LSOA 2011: LSOA11CD, LSOA11NM)
No geo folder, or no such files, gives empty names: the caller says so rather than guessing."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

LAYERS = {"ward": ("wards_by_lad", "WD13NM"), "lsoa": ("lsoa_by_lad", "LSOA11CD"),
          "lsoa_name": ("lsoa_by_lad", "LSOA11NM")}


def place_files(geo_dir, folder: str) -> list[Path]:
    if not geo_dir:
        return []
    base = Path(geo_dir) / "uk-geojson" / folder
    return sorted(base.glob("*.json.gz")) + sorted(base.glob("*.json")) if base.is_dir() else []


@functools.lru_cache(maxsize=4)
def _layer(files: tuple[str, ...]):
    from saferhub.geo.units import read_layers

    return read_layers(list(files))


def names_at(x, y, geo_dir, what: str = "ward") -> np.ndarray:
    """Object array: the `what` ("ward", "lsoa", "lsoa_name") at each BNG point; "" where the
    point is in no polygon or the geo folder has no such layer."""
    import shapely

    x, y = np.asarray(x, float), np.asarray(y, float)
    out = np.full(x.shape, "", dtype=object)
    folder, column = LAYERS[what]
    files = place_files(geo_dir, folder)
    if not files or x.size == 0:
        return out
    layer = _layer(tuple(map(str, files)))
    tree = shapely.STRtree(layer.geometry.values)
    pts, poly = tree.query(shapely.points(x, y), predicate="intersects")
    # a point on a shared boundary matches two polygons: keep the first, deterministically
    first = np.unique(pts, return_index=True)[1]
    out[pts[first]] = layer[column].astype(str).to_numpy()[poly[first]]
    return out


def modal(unit_index: np.ndarray, labels, n_units: int) -> np.ndarray:
    """Object array (n_units,): the most frequent non-empty label of each unit's events, ties to
    the alphabetically first; "" for units with none."""
    out = np.full(n_units, "", dtype=object)
    lab = pd.Series(np.asarray(labels, dtype=object))
    ok = (unit_index >= 0) & lab.notna().to_numpy() & (lab.astype(str).str.len() > 0).to_numpy()
    if not ok.any():
        return out
    t = pd.DataFrame({"u": unit_index[ok], "l": lab[ok].astype(str).to_numpy()})
    n = t.value_counts().reset_index(name="n").sort_values(["u", "n", "l"], ascending=[True, False, True])
    first = n.drop_duplicates("u")
    out[first["u"].to_numpy()] = first["l"].to_numpy()
    return out


def add_context(gdf, units, df: pd.DataFrame, geo_dir=None, count_column: str = "count"):
    """Add `street`, `lsoa`, `lsoa_name`, `ward`, `share_of_crime` (0..1 of `count_column`) and,
    for units with no crime of their own, `nearby`: the snap point of the nearest crime."""
    idx = units.assign(df["x"].to_numpy(), df["y"].to_numpy())
    gdf["street"] = modal(idx, df["location"], units.n) if "location" in df else ""
    gdf["lsoa"] = modal(idx, df["lsoa"], units.n) if "lsoa" in df else ""
    gdf["lsoa_name"] = modal(idx, df["lsoa_name"], units.n) if "lsoa_name" in df else ""
    cx, cy = units.centroids()
    empty = gdf["lsoa"].to_numpy() == ""
    if empty.any():  # units without events: the LSOA their centre lies in, when the polygons are known
        gdf.loc[empty, "lsoa"] = names_at(cx[empty], cy[empty], geo_dir, "lsoa")
        gdf.loc[empty, "lsoa_name"] = names_at(cx[empty], cy[empty], geo_dir, "lsoa_name")
    gdf["ward"] = names_at(cx, cy, geo_dir, "ward")
    gdf["nearby"] = nearest_names(cx, cy, df, gdf["street"].to_numpy() == "")
    total = float(gdf[count_column].sum())
    gdf["share_of_crime"] = gdf[count_column] / total if total > 0 else 0.0
    return gdf


def nearest_names(cx, cy, df: pd.DataFrame, which) -> np.ndarray:
    """Object array: for the units picked by `which`, the location name of the nearest event."""
    from scipy.spatial import cKDTree

    out = np.full(len(cx), "", dtype=object)
    if "location" not in df or not np.any(which) or len(df) == 0:
        return out
    loc = df["location"].fillna("").astype(str).to_numpy()
    named = loc != ""
    if not named.any():
        return out
    tree = cKDTree(np.column_stack([df["x"].to_numpy()[named], df["y"].to_numpy()[named]]))
    _, j = tree.query(np.column_stack([cx[which], cy[which]]))
    out[np.flatnonzero(which)] = loc[named][j]
    return out
