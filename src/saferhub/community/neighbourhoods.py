"""Neighbourhood figures (pure apart from reading the geo folder): the wards and what we know
about them, and each ward's crime, ASB and patrol figures after disclosure control.

Wards are the ONS 2013 electoral wards in the geo folder (uk-geojson/wards_by_lad). An LSOA
belongs to the ward its population-weighted centroid falls in (the nearest ward for the few
coastal centroids the generalised boundaries miss); events come to wards through their LSOA
(`lsoa11`), the same join IMD and population use. Population is the IoD 2019 mid-2015 estimate.

"Most similar wards": the k wards nearest in (mean IMD 2019 rank of the ward's LSOAs, weighted by
population; log population), each scaled by its spread across all wards. Deprivation and size are
the two things police.uk's "similar areas" also lean on and that the geo folder holds for every
ward; crime itself is not used, so a ward is not compared only with wards that already look like it.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd

from saferhub.community import disclosure as D
from saferhub.errors import SaferhubError

WARD_FOLDER = Path("uk-geojson") / "wards_by_lad"
DISTRICTS = "merseyside_lad_2011_derived_from_lsoa.geojson.gz"
CENTROIDS = "lsoa2011_centroids_ew.csv.gz"
SIMILAR_K = 5
NEAREST_M = 500.0  # an LSOA centroid outside every ward joins the nearest one within this (a user's areas: none)
ASB = "Anti-social behaviour"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _read_json_gz(path: Path):
    import geopandas as gpd

    with (gzip.open(path) if path.suffix == ".gz" else open(path, "rb")) as fh:
        return gpd.read_file(fh)


def _geo_wards(folder: Path | None):
    import geopandas as gpd

    files = sorted((folder / WARD_FOLDER).glob("*.json*")) if folder and (folder / WARD_FOLDER).is_dir() else []
    if not files:
        raise SaferhubError(f"{folder}: no ward boundaries ({WARD_FOLDER}/*.json.gz); set --geo-dir")
    lad_names = {}
    if (folder / DISTRICTS).exists():
        lads = _read_json_gz(folder / DISTRICTS)
        lad_names = dict(zip(lads["LAD11CD"], lads["LAD11NM"]))
    parts = []
    for f in files:
        g = _read_json_gz(f).to_crs(27700)
        lad = f.name.split(".")[0]
        parts.append(gpd.GeoDataFrame({"code": g["WD13CD"].astype(str), "name": g["WD13NM"].astype(str),
                                       "district": lad_names.get(lad, lad)}, geometry=g.geometry.make_valid(),
                                      crs=27700))
    return pd.concat(parts, ignore_index=True)


def _user_areas(path, name_column: str | None):
    """A user's own neighbourhood boundaries (GeoJSON/GeoPackage): one page per polygon, named by
    `name_column` (else a column called name/NAME/neighbourhood), grouped under the file's name."""
    import geopandas as gpd

    from saferhub.geo.units import read_layers

    g = read_layers([path])
    col = name_column or next((c for c in ("name", "NAME", "Name", "neighbourhood", "ward") if c in g.columns), None)
    if col not in g.columns:
        raise SaferhubError(f"{path}: say which column names the areas (--name-column; have: "
                            f"{', '.join(c for c in g.columns if c != 'geometry')})")
    names = g[col].astype(str).str.strip()
    if names.duplicated().any() or (names == "").any():
        raise SaferhubError(f"{path}: every area needs its own name in {col!r} (repeated or empty: "
                            f"{(names[names.duplicated() | (names == '')].iloc[0])!r})")
    label = Path(path).name.split(".")[0].replace("_", " ").replace("-", " ").title()
    return gpd.GeoDataFrame({"code": [slug(n) for n in names], "name": names, "district": label},
                            geometry=g.geometry.make_valid(), crs=27700)


def ward_table(geo_dir, areas=None, name_column: str | None = None) -> pd.DataFrame:
    """One row per ward (or per area of a user's boundary file `areas`): code, name, district,
    slug, population, imd_rank (population-weighted mean over its LSOAs, 1 = most deprived in
    England), most_deprived_pct (share of residents in the most deprived 10% of LSOAs), lsoas
    (list), geometry (EPSG:27700). LSOA centroids, IMD and population come from the geo folder."""
    import shapely

    from saferhub.forecast.covariates import load_lsoa_table
    from saferhub.geo.project import to_bng

    folder = Path(geo_dir) if geo_dir else None
    if folder is None or not (folder / CENTROIDS).exists():
        raise SaferhubError(f"{folder}: no LSOA centroids ({CENTROIDS}); set --geo-dir to the geo folder")
    wards = _user_areas(areas, name_column) if areas else _geo_wards(folder)
    wards["slug"] = [slug(f"{d} {n}") for d, n in zip(wards["district"], wards["name"])]

    cent = pd.read_csv(folder / CENTROIDS)
    lsoa_files = sorted((folder / "uk-geojson" / "lsoa_by_lad").glob("*.json*"))
    if lsoa_files:  # only the force's own LSOAs, not the whole of England
        codes = pd.concat([_read_json_gz(p)["LSOA11CD"] for p in lsoa_files])
        cent = cent[cent["lsoa11cd"].isin(set(codes))]
    x, y = to_bng(cent["lon"].to_numpy(), cent["lat"].to_numpy())
    pts = shapely.points(x, y)
    tree = shapely.STRtree(wards.geometry.values)
    where = np.full(len(cent), -1)
    p_idx, w_idx = tree.query(pts, predicate="intersects")
    first = np.unique(p_idx, return_index=True)[1]
    where[p_idx[first]] = w_idx[first]
    missing = np.flatnonzero(where < 0)
    if missing.size and not areas:  # wards tile the force: a centroid just off a generalised coast joins the nearest
        got, near = tree.query_nearest(pts[missing], max_distance=NEAREST_M, return_distance=False)
        where[missing[got]] = near
    cent = cent[where >= 0].assign(ward=wards["code"].to_numpy()[where[where >= 0]])

    table = load_lsoa_table(folder)
    cent = cent.join(table, on="lsoa11cd")
    cent["population"] = cent["population"].fillna(0)
    cent["deprived"] = (cent["imd_decile"] == 1) * cent["population"]
    cent["weighted_rank"] = cent["imd_rank"] * cent["population"]
    agg = cent.groupby("ward").agg(population=("population", "sum"), weighted_rank=("weighted_rank", "sum"),
                                   deprived=("deprived", "sum"), lsoas=("lsoa11cd", list))
    wards = wards.join(agg, on="code")
    wards["population"] = wards["population"].fillna(0).astype(int)
    wards["imd_rank"] = (wards["weighted_rank"] / wards["population"].where(wards["population"] > 0)).round(0)
    wards["most_deprived_pct"] = (100 * wards["deprived"] / wards["population"].where(wards["population"] > 0)).round(0)
    wards["lsoas"] = wards["lsoas"].apply(lambda v: v if isinstance(v, list) else [])
    return wards.drop(columns=["weighted_rank", "deprived"])


def similar_wards(wards: pd.DataFrame, k: int = SIMILAR_K) -> dict[str, list[str]]:
    """Each ward's k most similar wards (see the module note), nearest first."""
    ok = wards[(wards["population"] > 0) & wards["imd_rank"].notna()]
    k = min(k, len(ok) - 1)
    if k < 1:
        return {}
    feats = np.column_stack([ok["imd_rank"].to_numpy(float), np.log(ok["population"].to_numpy(float))])
    spread = feats.std(0)
    z = (feats - feats.mean(0)) / np.where(spread > 0, spread, 1.0)
    d = np.sqrt(((z[:, None, :] - z[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    codes = ok["code"].to_numpy()
    return {codes[i]: [codes[j] for j in np.argsort(d[i], kind="stable")[:k]] for i in range(len(codes))}


SIMILAR_HOW = ("the {k} wards closest in deprivation (IMD 2019 rank of their neighbourhoods, weighted by "
               "population) and in population, each measured against its spread across Merseyside's wards")


def ward_counts(ev: pd.DataFrame, lsoa_to_ward: dict, key_column: str | None = None) -> pd.DataFrame:
    """Events (lsoa11, month, category[, record key]) -> ward, month, group ('crime' | 'asb'),
    count (and key: the sum of record keys, for cell-key perturbation)."""
    ward = ev["lsoa11"].map(lsoa_to_ward)
    d = pd.DataFrame({"ward": ward, "month": pd.to_datetime(ev["month"]).dt.strftime("%Y-%m"),
                      "group": np.where(ev["category"] == ASB, "asb", "crime")})
    d["key"] = ev[key_column].to_numpy() if key_column else 0
    d = d[d["ward"].notna()]
    return d.groupby(["ward", "month", "group"], as_index=False).agg(count=("key", "size"), key=("key", "sum"))


def periods(last_month: str, months_shown: int = 36) -> dict:
    """The months a page shows: the trend (up to `months_shown` months to the last), the last 12
    months, this year to date and the same months a year earlier."""
    last = pd.Period(last_month, "M")
    ytd = [str(last - i) for i in range(last.month - 1, -1, -1)]
    return {"last": str(last), "trend": [str(last - i) for i in range(months_shown - 1, -1, -1)],
            "year": [str(last - i) for i in range(11, -1, -1)], "ytd": ytd,
            "ytd_before": [str(pd.Period(m, "M") - 12) for m in ytd]}


def protected_series(counts: dict[str, int], keys: dict[str, int], per: dict, rule) -> dict:
    """A ward's monthly counts of one group plus its period totals, published with `rule` and
    checked against differencing across them (secondary suppression where needed)."""
    months = per["trend"]
    cells = {m: [m] for m in months}
    cells |= {"year": per["year"], "ytd": per["ytd"], "ytd_before": per["ytd_before"]}
    true = {c: int(sum(counts.get(m, 0) for m in ms)) for c, ms in cells.items()}
    cell_keys = {c: int(sum(keys.get(m, 0) for m in ms)) for c, ms in cells.items()}
    pub, secondary = D.protect(cells, true, rule, keys=cell_keys)
    return {"months": months, "monthly": [pub[m] for m in months], "year": pub["year"], "ytd": pub["ytd"],
            "ytd_before": pub["ytd_before"], "withheld_to_protect": sorted(secondary)}


def dispersion(before_months, after_months) -> float:
    """Quasi-Poisson dispersion of monthly counts about each period's own mean (Pearson chi-square
    over its degrees of freedom), at least 1. Real crime counts vary more than Poisson allows (the
    evaluation package found plain Poisson tests call ~60% of do-nothing programmes significant),
    so the year-on-year interval is widened by its square root. Months not shown are left out."""
    chi2, df = 0.0, 0
    for months in (before_months, after_months):
        v = np.array([m for m in months if m is not None], float)
        if v.size >= 3 and v.mean() > 0:
            chi2 += float(((v - v.mean()) ** 2 / v.mean()).sum())
            df += v.size - 1
    return max(1.0, chi2 / df) if df else float("nan")


def year_on_year(after: int | None, before: int | None, months: int, phi: float = 1.0) -> dict:
    """This year to date against the same months last year, on the published totals: the
    evaluation package's rate ratio and C-test, and the interval widened for overdispersion
    (`phi`, from `dispersion`). A "change" only when the C-test p < 0.05 AND the widened 95%
    interval excludes no change; a dispersion that cannot be estimated (too few months shown)
    gives "too few to tell"."""
    from saferhub.evaluate.yoy import DEFAULT_MIN_EVENTS, c_test, rate_ratio

    if after is None or before is None or after + before < DEFAULT_MIN_EVENTS or before == 0 or after == 0 \
            or not np.isfinite(phi):
        return {"result": "too few to tell", "months": months}
    rr, lo, hi = rate_ratio(after, before)
    p = c_test(after, before)
    half = 1.959964 * np.sqrt(phi * (1 / after + 1 / before))
    lo_w, hi_w = min(lo, rr * np.exp(-half)), max(hi, rr * np.exp(half))
    significant = p < 0.05 and (lo_w > 1 or hi_w < 1)
    change = ("up" if rr > 1 else "down") if significant else "no clear change"
    return {"result": change, "months": months, "change_pct": round(100 * (rr - 1)), "low_pct": round(100 * (lo_w - 1)),
            "high_pct": round(100 * (hi_w - 1)), "p": round(p, 4), "dispersion": round(phi, 2)}


def rate_per_1000(count: int | None, population: int) -> float | None:
    if count is None or not population:
        return None
    return round(1000 * count / population, 1)


def patrol_by_ward(dosage: pd.DataFrame, areas, wards: pd.DataFrame, today, rule, secret: str = "") -> dict:
    """Foot patrol work per ward and week, from the dosage product (one row per patrol area and
    day): visits and hours (the lower bound of time spent), weeks starting Monday, days up to
    `today` only. Never a location finer than the ward, an officer, or a planned (future) time:
    the planned columns are dropped here, before anything is counted."""
    import geopandas as gpd
    import shapely

    if dosage is None or len(dosage) == 0 or areas is None or len(areas) == 0:
        return {}
    d = dosage[["area_id", "date", "visits", "minutes_min"]].copy()
    simulated = bool(dosage["simulated"].astype(bool).any()) if "simulated" in dosage else False
    d = d[pd.to_datetime(d["date"]).dt.date <= pd.Timestamp(today).date()]
    a = areas if isinstance(areas, gpd.GeoDataFrame) else gpd.GeoDataFrame.from_features(areas, crs=4326)
    a = a.to_crs(27700)
    cent = shapely.centroid(a.geometry.values)
    tree = shapely.STRtree(wards.geometry.values)
    idx = tree.query_nearest(cent, return_distance=False)  # the ward holding (or nearest to) each area
    area_ward = dict(zip(a["area_id"].astype(str).to_numpy()[idx[0]], wards["code"].to_numpy()[idx[1]]))
    d["ward"] = d["area_id"].astype(str).map(area_ward)
    dates = pd.to_datetime(d["date"])
    d["week"] = (dates - pd.to_timedelta(dates.dt.dayofweek, unit="D")).dt.strftime("%Y-%m-%d")
    weeks = sorted(d["week"].unique())
    since = str(dates.min().date()) if len(d) else None
    out, total_keys, withheld_2nd = {}, 0, set()
    for ward, g in d.groupby("ward"):
        per = g.groupby("week").agg(visits=("visits", "sum"), minutes=("minutes_min", "sum"))
        counts = {w: int(per["visits"].get(w, 0)) for w in weeks} | {"total": int(per["visits"].sum())}
        keys = None
        if secret:  # visits carry no ids: key each by (area, day, n-th visit), stable across runs
            keys = {}
            for w in weeks:
                rows = g[g["week"] == w]
                ids = [f"{r.area_id}|{r.date}|{i}" for r in rows.itertuples() for i in range(int(r.visits))]
                keys[w] = int(D.record_keys(ids, secret).sum()) if ids else 0
            keys["total"] = sum(keys.values())
        cells = {w: [w] for w in weeks} | {"total": weeks}
        pub, secondary = D.protect(cells, counts, rule, keys=keys)
        hours = [None if pub[w] is None else int(round(per["minutes"].get(w, 0) / 60)) for w in weeks]
        out[ward] = {"weeks": weeks, "visits": [pub[w] for w in weeks], "hours": hours, "total_visits": pub["total"],
                     "total_hours": None if pub["total"] is None else int(round(per["minutes"].sum() / 60)),
                     "since": since, "simulated": simulated, "areas": int(g["area_id"].nunique()),
                     # the week a post reports: the last one that has ended (else the current one)
                     "post_week": max([i for i, w in enumerate(weeks) if pd.Timestamp(w) + pd.Timedelta(days=6)
                                       <= pd.Timestamp(today)] or [len(weeks) - 1])}
        total_keys += (keys or {}).get("total", 0)
        withheld_2nd |= {ward} if "total" in secondary else set()
    if out:
        out["_all"] = _force_total(out, d, rule, total_keys, withheld_2nd, since, simulated)
    return out


def _force_total(out: dict, d: pd.DataFrame, rule, key: int, secondary: set, since, simulated) -> dict:
    """All wards' visits together ("1,234 foot patrol visits in hotspot areas since ..."), withheld
    if, with the published ward totals, it would give a withheld ward's total away."""
    wards = [w for w in out if w != "_all"]
    true = int(d.loc[d["ward"].isin(wards), "visits"].sum())
    value = rule.publish(true, key if isinstance(rule, D.CellKey) else None)
    cells = {w: [w] for w in wards} | {"all": wards}
    published = {w: out[w]["total_visits"] for w in wards} | {"all": value}
    if isinstance(rule, D.Rounding) and value is not None and D.check_differencing(cells, published, rule,
                                                                                    secondary=secondary):
        value = None
    hours = int(round(d.loc[d["ward"].isin(wards), "minutes_min"].sum() / 60))
    return {"total_visits": value, "total_hours": None if value is None else hours, "since": since,
            "simulated": simulated, "wards": len(wards)}
