"""Crime harm weights per police.uk category: versioned tables, the default, and user overrides.

police.uk categories are coarse, so a weight is a category-level mean (DOMAIN.md, Finding hotspots).
Tables live in `harm_weights/<version>.csv` with columns category, weight, basis.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from saferhub.categories import canonical
from saferhub.errors import SaferhubError

# v2 (2026-11): CCHI subgroup values with documented within-category mixes; see docs/harm.md.
# v1 stays packaged so earlier results can be reproduced with --weights cchi-category-v1.
DEFAULT_VERSION = "cchi-category-v2"


def available_versions() -> list[str]:
    folder = resources.files("saferhub") / "harm_weights"
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".csv"))


def load_weights(source: str | Path | None = None) -> dict[str, float]:
    """category name -> weight, from a packaged version name or a user's CSV (category,weight)."""
    source = source or DEFAULT_VERSION
    path = Path(source)
    if not path.suffix:
        if str(source) not in available_versions():
            raise SaferhubError(f"unknown harm weights version {source!r} (have: {', '.join(available_versions())})")
        text = (resources.files("saferhub") / "harm_weights" / f"{source}.csv").read_text()
        import io
        table = pd.read_csv(io.StringIO(text))
    else:
        if not path.exists():
            raise SaferhubError(f"{path}: harm weights file not found")
        table = pd.read_csv(path)
    if not {"category", "weight"} <= set(table.columns):
        raise SaferhubError(f"{source}: harm weights need columns 'category' and 'weight'")
    out: dict[str, float] = {}
    for i, row in table.iterrows():
        name = canonical(row["category"]) or str(row["category"]).strip()
        w = pd.to_numeric(row["weight"], errors="coerce")
        if not np.isfinite(w) or w < 0:
            raise SaferhubError(f"{source}, line {i + 2}: weight for {row['category']!r} must be a number >= 0")
        out[name] = float(w)
    return out


def weights_for(categories, weights: dict[str, float] | None = None) -> np.ndarray:
    """Array of harm weights for an array of category names (unknown categories weigh 1)."""
    weights = weights or load_weights()
    cats = pd.Series(np.asarray(categories, dtype=object))
    return cats.map(weights).fillna(1.0).to_numpy(dtype="float64")
