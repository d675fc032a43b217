"""Place context for every result, so a sergeant reads "On or near Lord Street, Central ward"
rather than E334800N390150: per unit the most frequent police.uk snap-point name (`street`), the
LSOA (code and name, from the events, else the geo folder's polygons), the ward (geo folder),
and the unit's share of all the crime analysed."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
    from saferhub.geo.places import names_at

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


def place_label(row) -> str:
    """'On or near Lord Street (Central ward, Liverpool 060A)' from a result row; the cell id when
    nothing else is known."""
    street = str(row.get("street") or "")
    where = [w for w in (f"{row.get('ward')} ward" if row.get("ward") else "", str(row.get("lsoa_name") or ""))
             if w]
    if not street and row.get("nearby"):
        street = f"beside {str(row.get('nearby')).removeprefix('On or near ')}"
    if not street and not where:
        return str(row.get("unit_id", ""))
    return (street or "no crime recorded in the cell") + (f" ({', '.join(where)})" if where else "")
