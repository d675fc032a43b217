"""Area covariates for the forecasters and the bias audit: IMD 2019 and population per LSOA.

Files are the MHCLG English Indices of Deprivation 2019 tables (OGL v3.0), read from a folder
given by `--geo-dir` or `SAFERHUB_GEO_DIR` (never a path baked into the code):
  File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv[.gz]   rank (1 = most deprived) and decile
  File_6_-_IoD2019_Population_Denominators.csv[.gz]        mid-2015 population
A cell takes the LSOA most of its events carry (police.uk rows name their LSOA), so no polygons
are needed; cells without events have no covariates (NaN).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from saferhub.config import settings
from saferhub.errors import SaferhubError

IMD_FILE = "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv"
POP_FILE = "File_6_-_IoD2019_Population_Denominators.csv"


def resolve_geo_dir(geo_dir: str | os.PathLike | None = None) -> Path | None:
    """`--geo-dir` beats SAFERHUB_GEO_DIR; None when neither is set. A named folder must exist."""
    chosen = settings(geo_dir=geo_dir or None).geo_dir
    if not chosen:
        return None
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise SaferhubError(f"{path}: geo folder not found (set --geo-dir or SAFERHUB_GEO_DIR)")
    return path


def _find(folder: Path, name: str) -> Path | None:
    for cand in (folder / name, folder / (name + ".gz")):
        if cand.exists():
            return cand
    return None


def load_lsoa_table(folder: Path) -> pd.DataFrame:
    """LSOA code -> imd_rank, imd_decile, population (whichever files are present)."""
    parts = []
    imd = _find(folder, IMD_FILE)
    if imd is not None:
        t = pd.read_csv(imd, encoding="utf-8-sig", thousands=",")
        code = [c for c in t.columns if c.startswith("LSOA code")]
        rank = [c for c in t.columns if "(IMD) Rank" in c]
        dec = [c for c in t.columns if "(IMD) Decile" in c]
        if not (code and rank and dec):
            raise SaferhubError(f"{imd}: not the IMD 2019 file 1 layout (LSOA code, IMD rank, IMD decile)")
        parts.append(t[[code[0], rank[0], dec[0]]].set_axis(["lsoa", "imd_rank", "imd_decile"], axis=1)
                     .set_index("lsoa"))
    pop = _find(folder, POP_FILE)
    if pop is not None:
        t = pd.read_csv(pop, encoding="utf-8-sig", thousands=",")
        code = [c for c in t.columns if c.startswith("LSOA code")]
        tot = [c for c in t.columns if c.startswith("Total population")]
        if not (code and tot):
            raise SaferhubError(f"{pop}: not the IoD 2019 population file layout")
        parts.append(t[[code[0], tot[0]]].set_axis(["lsoa", "population"], axis=1).set_index("lsoa"))
    if not parts:
        return pd.DataFrame(columns=["imd_rank", "imd_decile", "population"])
    return pd.concat(parts, axis=1).apply(pd.to_numeric, errors="coerce")


def cell_covariates(cell_lsoa: np.ndarray, table: pd.DataFrame) -> dict[str, np.ndarray]:
    """(ny, nx) float arrays per covariate, from each cell's modal LSOA (NaN when unknown)."""
    flat = pd.Series(cell_lsoa.ravel())
    out = {}
    for col in table.columns:
        out[col] = flat.map(table[col]).to_numpy(dtype="float64").reshape(cell_lsoa.shape)
    return out
