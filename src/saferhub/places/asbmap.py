"""ASB recorded the same way by every partner: each agency's own ASB categories mapped to the Home
Office's three types and to police.uk's category, and how well agencies agree on the same incidents.

The Home Office National Standard for Incident Recording (2011/12) sorts ASB into *personal*
(targeted at a person or group), *nuisance* (affecting a community rather than a person) and
*environmental* (affecting the surroundings: fly-tipping, graffiti, litter). police.uk publishes
all three as one category, "Anti-social behaviour".

The mapping lives in the agency's partner-incident mapping file (docs/ingest.md), versioned:

    agency: Wirral Council
    version: 3
    categories: {Criminal damage: Criminal damage and arson}     # theirs -> police.uk (as for ingest)
    asb:
      Noise nuisance: nuisance
      Neighbour dispute: personal
      Fly-tipping: environmental
      Criminal damage: {type: not asb, police_uk: Criminal damage and arson}

A category the mapping does not name is "unmapped" (counted, never guessed). Agreement is Cohen's
kappa over incidents matched across two agencies by time and place (`match`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from saferhub.errors import SaferhubError

TYPES = ("personal", "nuisance", "environmental", "not asb")
UNMAPPED = "unmapped"
POLICE_ASB = "Anti-social behaviour"


@dataclass
class AsbMapping:
    agency: str
    version: str
    types: dict[str, str] = field(default_factory=dict)       # their category -> Home Office type
    police_uk: dict[str, str] = field(default_factory=dict)   # their category -> police.uk category
    source: str = ""

    def type_of(self, categories) -> np.ndarray:
        return np.array([self.types.get(str(c).strip(), UNMAPPED) for c in categories], dtype=object)

    def police_uk_of(self, categories) -> np.ndarray:
        return np.array([self.police_uk.get(str(c).strip(), UNMAPPED) for c in categories], dtype=object)


def load(path) -> AsbMapping:
    """The `asb:` section (and `version`, `agency`, `categories`) of a partner mapping file."""
    from saferhub.categories import canonical

    from saferhub.data.incidents import read_yaml

    path = Path(path)
    doc = read_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("asb"), dict) or not doc["asb"]:
        raise SaferhubError(f"{path}: no 'asb:' section mapping the agency's categories to "
                            f"{', '.join(TYPES)}")
    if doc.get("version") is None:
        raise SaferhubError(f"{path}: give the mapping a version ('version: 1') so results can say which was used")
    cats = {str(k).strip(): str(v).strip() for k, v in (doc.get("categories") or {}).items()}
    types, police = {}, {}
    for theirs, v in doc["asb"].items():
        theirs = str(theirs).strip()
        t, p = (v.get("type"), v.get("police_uk")) if isinstance(v, dict) else (v, None)
        t = str(t or "").strip().lower()
        if t not in TYPES:
            raise SaferhubError(f"{path}: asb: {theirs!r} maps to {t!r}; use one of {', '.join(TYPES)}")
        p = p or cats.get(theirs) or (POLICE_ASB if t != "not asb" else None)
        if p is None or canonical(p) is None:
            raise SaferhubError(f"{path}: asb: {theirs!r} needs a police.uk category (police_uk: ...)")
        types[theirs], police[theirs] = t, canonical(p)
    return AsbMapping(str(doc.get("agency") or path.stem), str(doc["version"]), types, police, str(path))


def match(a: pd.DataFrame, b: pd.DataFrame, minutes: float, metres: float) -> pd.DataFrame:
    """One-to-one pairs of records (rows of a and b, each with t (UTC timestamps), x, y) within
    `minutes` and `metres` of each other: the closest pairs first (distance in metres plus minutes
    apart scaled to metres by metres/minutes), each record used once. Returns columns ia, ib."""
    from scipy.spatial import cKDTree

    if a.empty or b.empty:
        return pd.DataFrame({"ia": pd.Series(dtype=int), "ib": pd.Series(dtype=int)})
    tree = cKDTree(b[["x", "y"]].to_numpy(float))
    near = tree.query_ball_point(a[["x", "y"]].to_numpy(float), metres)
    ia = np.repeat(np.arange(len(a)), [len(n) for n in near])
    ib = np.fromiter((j for n in near for j in n), dtype=np.int64, count=ia.size)
    ta = a["t"].to_numpy("datetime64[s]").astype(np.int64)
    tb = b["t"].to_numpy("datetime64[s]").astype(np.int64)
    dt_min = np.abs(ta[ia] - tb[ib]) / 60.0
    keep = dt_min <= minutes
    ia, ib, dt_min = ia[keep], ib[keep], dt_min[keep]
    dist = np.hypot(a["x"].to_numpy(float)[ia] - b["x"].to_numpy(float)[ib],
                    a["y"].to_numpy(float)[ia] - b["y"].to_numpy(float)[ib])
    score = dist + dt_min * (metres / max(minutes, 1e-9))
    order = np.lexsort((ib, ia, score))      # ties: lower a row, then lower b row
    used_a, used_b, pairs = set(), set(), []
    for k in order:
        if ia[k] not in used_a and ib[k] not in used_b:
            used_a.add(ia[k])
            used_b.add(ib[k])
            pairs.append((ia[k], ib[k]))
    return pd.DataFrame(pairs, columns=["ia", "ib"]).sort_values("ia").reset_index(drop=True)


def cohen_kappa(x, y) -> dict:
    """Cohen's kappa for two raters' labels of the same items: (p_o - p_e) / (1 - p_e), with the
    agreement table, observed and chance agreement, and the large-sample standard error
    sqrt(p_o (1 - p_o) / (n (1 - p_e)^2)) (Cohen 1960)."""
    x, y = np.asarray(x, dtype=object), np.asarray(y, dtype=object)
    n = x.size
    table = pd.crosstab(pd.Series(x, name="a"), pd.Series(y, name="b"))
    labels = sorted(set(table.index) | set(table.columns))
    table = table.reindex(index=labels, columns=labels, fill_value=0)
    if n == 0:
        return {"kappa": float("nan"), "n": 0, "table": table}
    m = table.to_numpy(float)
    po = np.trace(m) / n
    pe = float((m.sum(1) / n) @ (m.sum(0) / n))
    kappa = (po - pe) / (1 - pe) if pe < 1 else float("nan")
    se = float(np.sqrt(po * (1 - po) / (n * (1 - pe) ** 2))) if pe < 1 else float("nan")
    return {"kappa": float(kappa), "se": se, "low": kappa - 1.96 * se, "high": kappa + 1.96 * se,
            "observed": float(po), "chance": pe, "n": int(n), "table": table}


def disagreements(cat_a, cat_b, type_a, type_b, top: int = 10) -> pd.DataFrame:
    """The pairs of their own categories behind the disagreements: how often agency A's category
    met agency B's on the same incident with a different Home Office type, most frequent first."""
    df = pd.DataFrame({"category_a": cat_a, "category_b": cat_b, "type_a": type_a, "type_b": type_b})
    bad = df[df["type_a"] != df["type_b"]]
    if bad.empty:
        return bad.assign(incidents=pd.Series(dtype=int))
    out = bad.value_counts().rename("incidents").reset_index()
    return out.sort_values(["incidents", "category_a", "category_b"], ascending=[False, True, True]).head(top)
