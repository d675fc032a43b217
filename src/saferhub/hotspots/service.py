"""The hotspot verbs: one function per analysis, in the style of sfhotspot and geopandas.

    from saferhub.data import events
    from saferhub.hotspots import gistar
    hot = gistar(events(months="2020-01:2020-12", categories="grip"))

Each verb takes events (a pyarrow Table / DataFrame / GeoDataFrame with x, y, month, category and
optionally harm_weight, location, lsoa, lsoa_name, as `saferhub.data.events` returns) or, with
`events=None`, a store query: `query=EventQuery(store, force, months, categories, weights)`, and
the units to count into: `spec=UnitSpec(units="grid"|"hex"|"lsoa"|"segments", cell_size=None,
area=None (a file, a polygon or a resolved StudyArea), hull, drop_strays, boundaries, network,
snap, id_column, geo_dir)` (saferhub.query). The same fields as keyword arguments are a
convenience that builds them (`gistar(months="2020-01:2020-12", cell_size=150)`); keywords given
beside a query or spec override its fields. Defaults are chosen from the data and said (logged,
and listed in params["notes"]).

Each returns a GeoDataFrame in EPSG:27700, one row per unit: `unit_id`, `geometry`, `count`,
`harm` (when harm-weighted), the verb's own columns, and place context (`street`, `lsoa`,
`lsoa_name`, `ward`, `share_of_crime`). `gdf.attrs["params"]` holds the parameters actually used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from saferhub.errors import SaferhubError
from saferhub.hotspots import analyse
from saferhub.hotspots.prepare import month_span, months_text, prepare, read, say
from saferhub.hotspots.words import HOT_LABELS
from saferhub.query import EventQuery, UnitSpec, split_options

def _start(events, query: EventQuery, spec: UnitSpec, other=None, what: str = ""):
    """Read the events and prepare the study area and units. `other` is a second set of events
    (what = "before" or "versus"): events, or a spec read from the store — a months spec for
    "before" (same categories), a categories spec for "versus" (same months). Returns
    (Prepared, the other events inside the study area or None)."""
    df = read(events, query)
    dfo = None
    if other is not None:
        if not isinstance(other, str):
            dfo = read(other, EventQuery(weights=query.weights))
        else:
            if what == "before":
                oq = query.replace(months=other, categories=query.categories or sorted(df["category"].unique()))
            else:
                months = np.unique(df["month"].to_numpy()).astype("datetime64[M]").astype(str).tolist()
                oq = query.replace(categories=other, months=query.month_list or months)
            try:
                dfo = read(None, oq)
            except SaferhubError as exc:
                raise SaferhubError(f"the {what} events: {exc}") from None
    pts = None if dfo is None else (np.r_[df["x"].to_numpy(), dfo["x"].to_numpy()],
                                     np.r_[df["y"].to_numpy(), dfo["y"].to_numpy()])
    prep = prepare(df, query, spec, points=pts, from_store=events is None)
    if dfo is not None:
        dfo = prep.inside(dfo)
        if len(dfo) == 0:
            raise SaferhubError(f"no {what} events in the study area")
    return prep, dfo


def _finish(gdf, prep, method: str, measure: str, extra: dict, geo_dir=None):
    """Count, harm, place context and the parameters used."""
    from saferhub.config import settings
    from saferhub.geo.places import add_context

    U, df = prep.units, prep.df
    if "count" not in gdf:
        gdf["count"] = analyse.unit_values(U, prep.x, prep.y)
    if measure == "harm" and "harm" not in gdf:
        gdf["harm"] = analyse.unit_values(U, prep.x, prep.y, df["harm"].to_numpy())
    gdf = add_context(gdf, U, df, settings(geo_dir=geo_dir).geo_dir)
    cats = _ordered(df["category"].unique(), extra.get("categories"))
    params = {"method": method, "categories": cats, "categories_asked": _asked(extra.pop("categories", None)),
              "months": months_text(df), "measure": measure, "events": len(df), **prep.params,
              "harm_weights": (extra.pop("weights", None) or "default") if measure == "harm" else None,
              **extra, "notes": prep.notes}
    gdf.attrs["params"] = params
    gdf.attrs["area"] = prep.area.geometry  # for maps; not written to GIS files
    return gdf


def _ordered(present, asked) -> list[str]:
    """The categories analysed, in the order asked, else Grip's (violence, robbery, weapons, ASB)
    then alphabetical."""
    from saferhub.categories import GROUPS, parse_categories

    order = parse_categories(asked) or list(GROUPS["grip"])
    return [c for c in order if c in set(present)] + sorted(set(present) - set(order))


def _asked(categories):
    from saferhub.categories import parse_categories

    cats = parse_categories(categories)
    return "all" if cats is None else ", ".join(cats)


def counts(events=None, *, harm: bool = False, population=None,
        query: EventQuery | None = None, spec: UnitSpec | None = None, **where):
    """Crime and harm per unit (harm=True makes harm the measure mapped and ranked);
    `population` (unit_id -> residents, or a CSV of LSOA residents) adds `rate_per_1000`."""
    q, u = split_options(where, query, spec, "counts")
    prep, _ = _start(events, q, u)
    pop = read_population(population) if isinstance(population, (str, bytes)) or hasattr(population, "suffix") \
        else population
    gdf = analyse.counts_frame(prep.units, prep.x, prep.y, harm=prep.df["harm"].to_numpy(), population=pop)
    return _finish(gdf, prep, "count", "harm" if harm else "count", _keep(q, u), u.geo_dir)


def kde(events=None, *, bandwidth: float | None = None, kernel: str = "quartic", adaptive_k: int | None = None,
        harm: bool = False, before=None, versus=None,
        query: EventQuery | None = None, spec: UnitSpec | None = None, **where):
    """Kernel density (per km²) on grid cells; `before` (a months spec or events) or `versus`
    (categories or events, same months) gives a dual KDE: density_a/b_km2, difference, ratio."""
    q, u = split_options(where, query, spec, "kde")
    if before is not None and versus is not None:
        raise SaferhubError("a dual KDE compares with --before OR --versus, not both")
    if (before is not None or versus is not None) and (adaptive_k or harm):
        raise SaferhubError("a dual KDE (--before/--versus) uses a fixed bandwidth and counts; drop --adaptive-k/--harm")
    if u.units != "grid":
        raise SaferhubError("KDE is computed on a square grid (--units grid)")
    prep, other = _start(events, q, u, *((before, "before") if before is not None else (versus, "versus")))
    bw = float(bandwidth or 3 * prep.cell_size)
    if bandwidth is None and not adaptive_k:
        say(prep.notes, f"default bandwidth {bw:g} m: three cells (override with --bandwidth)")
    extra = {"kernel": kernel, "bandwidth_m": None if adaptive_k else bw, "adaptive_k": adaptive_k}
    if other is None:
        w = prep.df["harm"].to_numpy() if harm else None
        gdf = analyse.kde_frame(prep.units, prep.x, prep.y, bw, kernel, adaptive_k, w)
        return _finish(gdf, prep, "kde", "harm" if harm else "count", {**_keep(q, u), **extra}, u.geo_dir)
    scale = 1.0
    if before is not None:
        n_a, n_b = month_span(prep.df)[1], month_span(other)[1]
        scale = n_a / n_b
        extra.update(before=months_text(other), before_scale=f"{n_a}/{n_b} months")
    else:
        extra["versus"] = ", ".join(sorted(other["category"].unique()))
    gdf = analyse.dual_kde_frame(prep.units, prep.x, prep.y, other["x"].to_numpy(), other["y"].to_numpy(),
                                 bw, kernel, scale_b=scale)
    return _finish(gdf, prep, "kde", "count", {**_keep(q, u), **extra}, u.geo_dir)


def gistar(events=None, *, harm: bool = False, distance: float | None = None, rings: int = 1,
           correction: str = "fdr", permutations: int = 0, seed: int | None = None,
        query: EventQuery | None = None, spec: UnitSpec | None = None, **where):
    """Getis-Ord Gi* per unit: `z`, `p`, `p_adj` (corrected), `gi_bin` (-3..3, ArcGIS 99/95/90%),
    `hot_class` in plain words, and `n_neighbours`. Hot cells that hold no crime themselves
    (significant because of their neighbours) are named so in `hot_class`."""
    q, u = split_options(where, query, spec, "gistar")
    prep, _ = _start(events, q, u)
    w = prep.df["harm"].to_numpy() if harm else None
    vals = analyse.unit_values(prep.units, prep.x, prep.y, w)
    g = analyse.gistar_units(prep.units, vals, distance=distance, rings=rings, correction=correction,
                             permutations=permutations, seed=seed)
    gdf = prep.units.gdf.copy()
    gdf["count"] = analyse.unit_values(prep.units, prep.x, prep.y)
    if harm:
        gdf["harm"] = vals
    gdf["n_neighbours"] = g.n_neighbours
    gdf["z"], gdf["p"], gdf["p_adj"], gdf["gi_bin"] = g.z, g.p, g.p_adjusted, g.cls
    if g.p_sim is not None:
        gdf["p_sim"] = g.p_sim
    gdf["hot_class"] = hot_words(g.cls, gdf["count"].to_numpy())
    extra = {"neighbours": analyse.neighbours_description(prep.units, distance, rings), "correction": correction,
             "permutations": permutations or None, "seed": seed}
    return _finish(gdf, prep, "gistar", "harm" if harm else "count", {**_keep(q, u), **extra}, u.geo_dir)


def hot_words(gi_bin, count) -> np.ndarray:
    """Plain-words classes; a significant cell with no crime of its own says so."""
    words = np.array([HOT_LABELS[int(b)] for b in np.asarray(gi_bin)], dtype=object)
    empty_hot = (np.asarray(gi_bin) > 0) & (np.asarray(count) == 0)
    words[empty_hot] = [w.replace("Hot spot", "Beside a hot spot (no crime in the cell)") for w in words[empty_hot]]
    return words


def emerging(events=None, *, harm: bool = False, time_lags: int = 1, distance: float | None = None,
             rings: int = 1, correction: str = "fdr", alpha: float = 0.05,
        query: EventQuery | None = None, spec: UnitSpec | None = None, **where):
    """Emerging hot spots over monthly slices (ArcGIS categories, simple classes, Mann-Kendall
    trend). With harm=True the space-time cube holds harm, not counts."""
    q, u = split_options(where, query, spec, "emerging")
    if time_lags < 0:
        raise SaferhubError("--time-lags must be 0 or more")
    prep, _ = _start(events, q, u)
    first, n_t = month_span(prep.df)
    if n_t < 3:
        raise SaferhubError("emerging hot spots need at least 3 months (--months)")
    w = prep.df["harm"].to_numpy() if harm else None
    gdf, cube = analyse.emerging_frame(prep.units, prep.x, prep.y, prep.df["month_index"].to_numpy() - first, n_t,
                                       distance=distance, rings=rings, correction=correction, alpha=alpha,
                                       time_lags=time_lags, weights=w)
    if harm:
        gdf["harm"] = gdf.pop("count")
    from saferhub.hotspots.emerging import trend_sparkline_data

    trends = trend_sparkline_data(cube, gdf["category"].to_numpy())
    extra = {"neighbours": analyse.neighbours_description(prep.units, distance, rings), "correction": correction,
             "time_lags": time_lags, "first_month": str(np.datetime64(first, "M")),
             "trends": {k: np.asarray(v).tolist() for k, v in trends.items()}}
    return _finish(gdf, prep, "emerging", "harm" if harm else "count", {**_keep(q, u), **extra}, u.geo_dir)


def change(events=None, *, before, harm: bool = False, correction: str = "fdr", alpha: float = 0.05,
        query: EventQuery | None = None, spec: UnitSpec | None = None, **where):
    """Change per unit from `before` (a months spec, or events) to the events' period: before,
    after, difference, ratio, z, p, p_adj, direction (+1 rise / -1 fall / 0). Counts use the exact
    conditional Poisson test; harm the compound-Poisson normal test (variance = sum of squared weights)."""
    q, u = split_options(where, query, spec, "change")
    if before is None:
        raise SaferhubError("--method change needs --before PERIOD (and --months for the after period)")
    prep, dfb = _start(events, q, u, before, "before")
    n_after, n_before = month_span(prep.df)[1], month_span(dfb)[1]
    wa = prep.df["harm"].to_numpy() if harm else None
    wb = dfb["harm"].to_numpy() if harm else None
    gdf = analyse.change_frame(prep.units, dfb["x"].to_numpy(), dfb["y"].to_numpy(), prep.x, prep.y,
                               length_ratio=n_after / n_before, correction=correction, alpha=alpha,
                               weights_a=wb, weights_b=wa)
    if harm:
        gdf["harm"] = gdf["after"]
    extra = {"before": months_text(dfb), "before_events": len(dfb), "correction": correction,
             "length_ratio": f"{n_after}/{n_before} months"}
    return _finish(gdf, prep, "change", "harm" if harm else "count", {**_keep(q, u), **extra}, u.geo_dir)


def concentration(events=None,
        query: EventQuery | None = None, spec: UnitSpec | None = None, **where):
    """Crime and harm per unit, with the concentration measures (Gini, generalized Gini, units
    holding 25% / 50%) in attrs["summary"] and the Lorenz curves in attrs["lorenz"]."""
    q, u = split_options(where, query, spec, "concentration")
    from saferhub.hotspots.concentration import lorenz, summarise

    prep, _ = _start(events, q, u)
    gdf = analyse.counts_frame(prep.units, prep.x, prep.y, harm=prep.df["harm"].to_numpy())
    c, h = gdf["count"].to_numpy(), gdf["harm"].to_numpy()
    summary = summarise(c, counts=True).as_frame("crime").merge(
        summarise(h, counts=False).as_frame("harm"), on="measure")
    gdf = _finish(gdf, prep, "concentration", "harm", _keep(q, u), u.geo_dir)
    gdf.attrs["summary"] = summary
    gdf.attrs["lorenz"] = {"crime": [a.tolist() for a in lorenz(c)],
                           "harm": [a.tolist() for a in lorenz(h)]}
    return gdf


def near_repeat(events=None, *, space_bands="0,100,200,300,400", time_bands="0,1,2,3", time_unit: str = "months",
                permutations: int = 99, seed: int | None = None, drop_strays: bool = False,
        query: EventQuery | None = None, spec: UnitSpec | None = None, **where):
    """Knox test: are events close in space also close in time? Returns the Knox table (space,
    time, observed, expected, knox_ratio, p) with attrs["params"] and attrs["knox"] (the result)."""
    q, u = split_options(where, query, spec, "near_repeat")
    from saferhub.geo.strays import check_strays, find_strays
    from saferhub.hotspots.load import event_labels
    from saferhub.hotspots.nearrepeat import knox

    if time_unit not in ("months", "days", "hours"):
        raise SaferhubError("--time-unit must be months, days or hours")
    if permutations < 1:
        raise SaferhubError("--permutations must be at least 1")
    df = read(events, q)
    notes: list[str] = []
    x, y = df["x"].to_numpy(), df["y"].to_numpy()
    df = df[check_strays(x, y, event_labels(df, find_strays(x, y)), drop=drop_strays, warn=lambda m: say(notes, m))]
    if time_unit == "months":
        t = df["month_index"].to_numpy()
    else:
        ts = pd.to_datetime(df["occurred_at"], utc=True) if "occurred_at" in df else None
        if ts is None or ts.isna().all():
            raise SaferhubError(f"--time-unit {time_unit} needs timestamped events (police.uk rows only have months)")
        if ts.isna().any():
            say(notes, f"leaving out {int(ts.isna().sum()):,} events without a timestamp")
        df, ts = df[ts.notna()], ts[ts.notna()]
        step = pd.Timedelta(days=1) if time_unit == "days" else pd.Timedelta(hours=1)
        t = ((ts - pd.Timestamp(0, tz="UTC")) // step).to_numpy().astype(np.int64)  # whole units since 1970
    k = knox(df["x"].to_numpy(), df["y"].to_numpy(), np.asarray(t), space_bands, time_bands, permutations, seed,
             time_unit=time_unit)
    table = k.table()
    table.attrs["params"] = {"method": "near repeat (Knox test)", "categories": _ordered(df["category"].unique(), q.categories),
                             "categories_asked": _asked(q.categories), "months": months_text(df),
                             "events": k.n_events, "space_bands_m": space_bands, "time_bands": time_bands,
                             "time_unit": time_unit, "permutations": permutations, "seed": seed, "notes": notes}
    table.attrs["knox"] = k
    return table


def _keep(query: EventQuery, spec: UnitSpec) -> dict:
    """The caller's own options worth recording (months and force are recorded from the data)."""
    return {"categories": query.categories, "weights": query.weights, "drop_strays": spec.drop_strays}


def read_population(path) -> dict:
    """unit_id -> residents from a CSV with an LSOA code column and a population column."""
    from saferhub.errors import BadFileError

    try:
        t = pd.read_csv(path, thousands=",", encoding="utf-8-sig")
    except (OSError, ValueError, UnicodeDecodeError) as exc:  # pandas' parser errors are ValueErrors
        raise BadFileError(path, f"not a readable CSV ({exc})") from None
    code = next((c for c in t.columns if "code" in c.lower() and "lsoa" in c.lower()), None)
    pop = next((c for c in t.columns if "population" in c.lower() or c.lower() in ("persons", "residents")), None)
    if code is None or pop is None:
        raise BadFileError(path, "need an LSOA code column and a population column")
    return dict(zip(t[code].astype(str), pd.to_numeric(t[pop], errors="coerce")))
