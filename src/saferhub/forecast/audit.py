"""Bias audit and feedback-loop check for a forecaster's top cells.

- Exposure by deprivation: the share of the top-risk cells in each IMD decile against the share
  of the month's recorded crime there. A ratio above 1 means the decile gets more attention than
  its share of crime (DOMAIN.md: audit who is exposed).
- Feedback loop (Ensign et al. 2018): patrols follow the forecast and recorded crime follows
  patrols. We inflate the recorded crime of the current top cells by `effect` (e.g. +20%) in the
  last month(s) known, refit, and measure how many top cells stay the same (Jaccard), and how
  many cells outside the old top set could still get in. A model whose top set barely moves when
  its own hotspots record a bit more crime locks in its first picks.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from saferhub.forecast import metrics as M
from saferhub.geo.cube import Cube


def exposure_by_decile(risks: dict, cube: Cube, coverage: float = 0.05) -> pd.DataFrame:
    """`risks` maps forecast month -> risk over area cells. Returns one row per IMD decile with the
    share of top cells, share of crime, and their ratio, pooled over the months."""
    if "imd_decile" not in cube.covariates:
        return pd.DataFrame()
    area = cube.area
    dec = cube.covariates["imd_decile"][area]
    top_counts = np.zeros(11)
    crime = np.zeros(11)
    d_idx = np.where(np.isfinite(dec), dec, 0).astype(int)  # 0 = unknown decile
    cells = np.bincount(d_idx, minlength=11)  # study-area cells per decile
    for month, risk in risks.items():
        k = M.n_selected(risk.size, coverage)
        top = M.top_cells(risk, k)
        top_counts += np.bincount(d_idx[top], minlength=11)
        actual = cube.counts[cube.index_of(month)][area]
        crime += np.bincount(d_idx, weights=actual, minlength=11)
    df = pd.DataFrame({"imd_decile": ["unknown"] + [str(i) for i in range(1, 11)],
                       "cells": cells.astype(np.int64), "share_of_top_cells": top_counts / max(top_counts.sum(), 1),
                       "share_of_crime": crime / max(crime.sum(), 1)})
    df["attention_to_crime_ratio"] = df.share_of_top_cells / df.share_of_crime.replace(0, np.nan)
    return df[df.cells > 0].reset_index(drop=True)


def feedback_check(model, cube: Cube, months, coverage: float = 0.05, effect: float = 0.2,
                   patrolled_months: int = 1) -> pd.DataFrame:
    """For each forecast month: refit with the top cells' recorded crime raised by `effect` in the
    last `patrolled_months` known months, and compare the new top set with the old one."""
    area = cube.area
    rows = []
    for m in np.asarray(months, dtype="datetime64[M]"):
        through = m - 1
        i = cube.index_of(through)
        risk = model.fit(cube, through).predict(area)
        k = M.n_selected(risk.size, coverage)
        top = M.top_cells(risk, k)
        boosted = copy.copy(cube)
        counts = cube.counts.copy()
        sel = np.zeros(area.sum(), bool)
        sel[top] = True
        full = np.zeros(area.shape, bool)
        full[area] = sel
        for j in range(max(0, i - patrolled_months + 1), i + 1):
            counts[j][full] *= 1 + effect
        boosted.counts = counts
        new = model.fit(boosted, through).predict(area)
        new_top = M.top_cells(new, k)
        rows.append({"month": str(m), "cells": k, "jaccard_with_before": M.jaccard(top, new_top),
                     "cells_displaced": int(k - np.intersect1d(top, new_top).size)})
    return pd.DataFrame(rows)
