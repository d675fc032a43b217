"""The places service: every `saferhub places ...` verb is a function here; the CLI is a shell.

Register: `build_facility_register` (police.uk facility snap points), `import_register` (a partner
register + mapping), `simulate_premises`, `read_register`. Attribution and ranking: `attribute`,
`rank`, `rank_report`, `publish_rank`. Hub: `place_plan` (a one-step OSARA plan through the hub's
plan service). Measures, ASB agreement and designing-out-crime actions: `prevention.py`.

Call `events(...)` and other services with keyword arguments only (their signatures may become
typed queries)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from saferhub.errors import SaferhubError
from saferhub.fsutil import replacing, write_atomic
from saferhub.places import attribute as attr
from saferhub.places import facilities, register, risky

POLICE_UK = "police.uk"
ASB = "Anti-social behaviour"


def _store(store) -> Path:
    from saferhub.config import resolve_store

    return resolve_store(store)


def register_path(store=None) -> Path:
    return _store(store) / "places" / "register.parquet"


def read_register(store=None) -> pd.DataFrame:
    """The places register (register.COLUMNS), sorted by place_id; empty when none was built."""
    path = register_path(store)
    if not path.exists():
        return register.empty_register()
    return pd.read_parquet(path)


def _write_register(df: pd.DataFrame, store=None) -> Path:
    path = register_path(store)
    with replacing(path) as tmp:
        df[register.COLUMNS].to_parquet(tmp, index=False)
    return path


def _events(store, columns, **kw) -> pd.DataFrame:
    from saferhub.data.store import events

    return events(store=store, columns=columns, located_only=True, **kw).to_pandas()


def _street_points(store, force=None, months=None) -> pd.DataFrame:
    ev = _events(store, ["location", "x", "y"], force=force, months=months, sources="street")
    return facilities.street_points(ev["location"], ev["x"], ev["y"])


def _wards(x, y, geo_dir) -> np.ndarray:
    from saferhub.config import settings
    from saferhub.geo.places import names_at

    geo_dir = geo_dir or settings().geo_dir
    return names_at(x, y, geo_dir, "ward")


def build_facility_register(store=None, force=None, months=None, geo_dir=None) -> dict:
    """(Re)build the police.uk part of the register from the store's crimes: one place per facility
    snap point, with type, point, nearest street and ward. Idempotent: rebuilt from the same data
    it is the same file."""
    ev = _events(store, ["location", "x", "y", "lon", "lat"], force=force, months=months, sources="street")
    if ev.empty:
        raise SaferhubError("no located police.uk crimes in the store for these months; ingest data first")
    pts = facilities.facility_points(ev["location"], ev["x"], ev["y"], ev["lon"], ev["lat"])
    streets = facilities.street_points(ev["location"], ev["x"], ev["y"])
    pts["street"] = facilities.nearest_street(pts["x"], pts["y"], streets)
    pts["ward"] = _wards(pts["x"].to_numpy(), pts["y"].to_numpy(), geo_dir)
    new = pd.DataFrame({
        "place_id": pts["place_id"], "source": POLICE_UK, "source_id": pts["place_id"],
        "name": pts["type"] + " near " + pts["street"].where(pts["street"] != "", "an unnamed street"),
        "type": pts["type"], "x": pts["x"], "y": pts["y"], "lon": pts["lon"], "lat": pts["lat"],
        "street": pts["street"], "ward": pts["ward"], "licence_type": "", "hours": "", "late_night": False,
        "label": facilities.LABEL, "simulated": False})
    merged = register.merge(read_register(store), new, replace_source=True)
    path = _write_register(merged, store)
    by_type = new["type"].value_counts().to_dict()
    return {"register": str(path), "facility_points": int(len(new)), "by_type": by_type,
            "places_in_register": int(len(merged))}


def import_register(path, mapping, store=None, geo_dir=None) -> dict:
    """Import a partner's register (licensed premises, care homes, schools ...) with its mapping.
    Bad rows go to `<store>/places/quarantine/<file name>.csv`; good ones are upserted."""
    spec = register.load_mapping(mapping)
    places, quarantine = register.parse_register(path, spec)
    if len(places):
        try:
            streets = _street_points(store)
        except SaferhubError:
            streets = pd.DataFrame(columns=["name", "x", "y"])
        places["street"] = facilities.nearest_street(places["x"], places["y"], streets)
        places["ward"] = _wards(places["x"].to_numpy(), places["y"].to_numpy(), geo_dir)
    merged = register.merge(read_register(store), places, replace_source=False)
    reg = _write_register(merged, store)
    qpath = _store(store) / "places" / "quarantine" / f"{Path(path).name}.csv"
    if quarantine.num_rows:
        write_atomic(qpath, quarantine.to_pandas().to_csv(index=False))
    else:
        qpath.unlink(missing_ok=True)
    return {"register": str(reg), "imported": int(len(places)), "quarantined": int(quarantine.num_rows),
            "quarantine_file": str(qpath) if quarantine.num_rows else None, "source": register.force_id(spec.agency),
            "simulated": spec.simulated, "places_in_register": int(len(merged))}


def simulate_premises(out_dir, n: int = 300, seed: int = 1, store=None, force=None) -> dict:
    """Write a SIMULATED premises register (CSV + mapping) placed at the store's street points."""
    streets = _street_points(store, force=force)
    frame, mapping = register.simulate_register(streets, n=n, seed=seed)
    out_dir = Path(out_dir)
    csv_path, map_path = out_dir / "simulated-premises.csv", out_dir / "simulated-premises.yaml"
    write_atomic(csv_path, frame.to_csv(index=False))
    write_atomic(map_path, mapping)
    return {"csv": str(csv_path), "mapping": str(map_path), "premises": int(len(frame)), "seed": seed}


@dataclass
class Attribution:
    """Events attributed to places: per place (register order) and month, crimes (not ASB), ASB
    incidents and harm (CCHI days); `by_hour` counts timestamped partner incidents by hour of week."""

    places: pd.DataFrame
    months: list[str]
    crimes: np.ndarray
    asb: np.ndarray
    harm: np.ndarray
    by_hour: np.ndarray
    radius: float
    events_total: int
    events_attributed: int
    params: dict = field(default_factory=dict)


def attribute(store=None, places: pd.DataFrame | None = None, radius: float = 0.0, months=None, force=None,
              categories=None, types=None) -> Attribution:
    """Attribute the store's located events (police.uk and partner incidents) to the register's
    places: each event to the nearest place within `radius` metres (0: at its own snap point)."""
    if radius < 0:
        raise SaferhubError("--radius: give a distance in metres, 0 or more")
    places = read_register(store) if places is None else places
    if types:
        places = places[places["type"].isin(types)]
    if places.empty:
        raise SaferhubError("the places register is empty: run `saferhub places build` or `saferhub places import`")
    places = places.sort_values("place_id").reset_index(drop=True)
    ev = _events(store, ["x", "y", "month", "category", "source", "occurred_at", "harm_weight"],
                 months=months, force=force, categories=categories)
    if ev.empty:
        raise SaferhubError("no located events in the store for these months and categories")
    month = pd.to_datetime(ev["month"]).dt.strftime("%Y-%m")
    labels = sorted(month.unique())
    m_idx = pd.Index(labels).get_indexer(month)
    idx, _ = attr.nearest_place(ev["x"].to_numpy(), ev["y"].to_numpy(), places["x"].to_numpy(float),
                                places["y"].to_numpy(float), radius)
    is_asb = (ev["category"] == ASB).to_numpy()
    n, t = len(places), len(labels)
    crimes = attr.month_counts(np.where(is_asb, -1, idx), m_idx, n, t)
    asb = attr.month_counts(np.where(is_asb, idx, -1), m_idx, n, t)
    harm = attr.month_counts(idx, m_idx, n, t, weights=ev["harm_weight"].fillna(0.0).to_numpy())
    timed = (ev["source"] == "incident").to_numpy() & ev["occurred_at"].notna().to_numpy()
    how = np.full(len(ev), -1, dtype=np.int64)
    if timed.any():
        how[timed] = attr.hour_of_week(ev["occurred_at"][timed])
    by_hour = attr.hour_of_week_counts(np.where(timed, idx, -1), how, n)
    return Attribution(places, labels, crimes.astype(int), asb.astype(int), harm, by_hour.astype(int), float(radius),
                       int(len(ev)), int((idx >= 0).sum()),
                       {"radius_m": float(radius), "months": f"{labels[0]}:{labels[-1]}", "categories": categories,
                        "force": force, "tie_rule": "nearest; exact ties go to the lowest place_id"})


def rank(store=None, months=None, radius: float = 0.0, force=None, categories=None, types=None,
         fdr: float = risky.FDR, attribution: Attribution | None = None) -> pd.DataFrame:
    """Every place with its crimes, ASB, harm, its rate against its class (ratio with interval,
    NB-aware p, BH-adjusted), flag, trend and one line in plain words; most significant first.
    attrs: 'classes' (per class: places, crimes, share held by the busiest 10%, curve) and 'params'."""
    a = attribution or attribute(store=store, radius=radius, months=months, force=force,
                                 categories=categories, types=types)
    p = a.places.copy()
    p["crimes"], p["asb"], p["harm"] = a.crimes.sum(1), a.asb.sum(1), a.harm.sum(1)
    p["events"] = p["crimes"] + p["asb"]
    comp = risky.class_comparison(p["events"].to_numpy(), p["type"].to_numpy(), fdr=fdr)
    p = pd.concat([p, comp, risky.trend(a.crimes + a.asb)], axis=1)
    p["late_night_share"] = np.where(a.by_hour.sum(1) > 0,
                                     _late_share(a.by_hour) , np.nan)
    p["words"] = [risky.plain_words(r) for r in p.to_dict("records")]
    p = p.sort_values(["flagged", "p_adj", "events"], ascending=[False, True, False], na_position="last")
    p = p.reset_index(drop=True)
    p.insert(0, "rank", np.arange(1, len(p) + 1))
    classes = {}
    for t, g in p.groupby("type"):
        curve = risky.concentration_curve(g["events"])
        classes[t] = {"places": int(len(g)), "events": int(g["events"].sum()),
                      "top10_share": risky.share_held(g["events"], 0.10),
                      "flagged": int(g["flagged"].sum()), "curve": curve}
    p.attrs["classes"] = classes
    p.attrs["params"] = a.params | {"fdr": fdr, "months_list": a.months, "events_total": a.events_total,
                                    "events_attributed": a.events_attributed,
                                    "test": "negative binomial tail against the class's other places "
                                            "(method-of-moments dispersion), Benjamini-Hochberg FDR"}
    p.attrs["monthly"] = dict(zip(a.places["place_id"], (a.crimes + a.asb).tolist()))
    return p


def _late_share(by_hour: np.ndarray) -> np.ndarray:
    """Share of timestamped incidents between 22:00 and 05:59 (the late-night economy)."""
    hours = np.arange(168) % 24
    late = (hours >= 22) | (hours < 6)
    tot = by_hour.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return by_hour[:, late].sum(1) / tot


LAYER = "places-problem-premises"


def rank_layer(ranked: pd.DataFrame, top: int = 200):
    """The ranked places as a point layer (EPSG:27700) with plain-words properties: flagged places
    and the busiest others, up to `top`."""
    import geopandas as gpd

    show = ranked[ranked["flagged"] | (ranked["rank"] <= top)].head(max(top, int(ranked["flagged"].sum())))
    cols = ["rank", "place_id", "name", "type", "street", "ward", "crimes", "asb", "events", "ratio",
            "ratio_low", "ratio_high", "p_adj", "flagged", "trend", "label", "simulated", "words"]
    g = gpd.GeoDataFrame(show[cols].copy(), geometry=gpd.points_from_xy(show["x"], show["y"]), crs=27700)
    g["harm"] = show["harm"].round(1).to_numpy()
    g.attrs["meta"] = {k: v for k, v in ranked.attrs["params"].items() if k != "months_list"}
    return g


def publish_rank(ranked: pd.DataFrame, store=None, top: int = 200) -> dict:
    """Publish the ranking as map layer `places-problem-premises` and list it in the map catalogue
    (the same `map-layers` product the web map reads; entry shape as briefing.layers writes it)."""
    import datetime as dt

    from saferhub.data.products import read_product, write_product

    layer = rank_layer(ranked, top)
    write_product(LAYER, layer, store)
    cat = read_product("map-layers", store) or {"layers": []}
    entry = {"name": LAYER, "group": "places", "method": "risky-facilities", "features": int(len(layer)),
             "months": ranked.attrs["params"].get("months"),
             "simulated": bool(layer["simulated"].astype(bool).any()),
             "published": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    layers = [x for x in cat["layers"] if x["name"] != LAYER] + [entry]
    write_product("map-layers", {"layers": sorted(layers, key=lambda x: (x["group"], x["name"]))}, store)
    return entry


def rank_report(ranked: pd.DataFrame, out, top: int = 30) -> Path:
    from saferhub.places import report

    return write_atomic(out, report.rank_html(ranked, top=top))


def place_plan(db, user, place_id: str, store=None, months=None, radius: float = 0.0, ranked=None) -> dict:
    """A one-step OSARA plan for one place through the hub's plan service: created with an
    objective, and its scanning stage filled from the figures (crimes, ASB, class comparison)."""
    from saferhub.hub import services

    ranked = rank(store=store, months=months, radius=radius) if ranked is None else ranked
    row = ranked[ranked["place_id"] == place_id]
    if row.empty:
        raise SaferhubError(f"no place {place_id!r} in the register (see `saferhub places rank`)")
    r = row.iloc[0]
    params = ranked.attrs["params"]
    objective = f"Reduce crime and ASB at {r['name']} ({r['type']}, {r['street']}) towards its class's typical level"
    plan = services.create_plan(db, user, title=f"Problem premises: {r['name']}", objective=objective,
                                areas=[place_id])
    problem = risky.plain_words(r.to_dict()) + f" over {params['months']}."
    if np.isfinite(r["p_adj"]):
        problem += (f" Against the other {int(r['class_size']) - 1} places of its class it is "
                    + ("significantly above them" if r["flagged"] else "not significantly above them")
                    + f" (adjusted p = {r['p_adj']:.3g}).")
    # the hub's scanning stage holds a count, a period and a source (hub/osara_content.py): the
    # place's other figures go into the source line, in words
    ratio = f"{float(r['ratio']):.1f} times its class's typical" if np.isfinite(r["ratio"]) else "no class to compare"
    source = (f"saferhub places rank: {int(r['crimes'])} crimes and {int(r['asb'])} ASB incidents within "
              f"{params['radius_m']:g} m of {place_id}, harm {float(r['harm']):.1f} days; {ratio}")
    scanning = {"problem": problem,
                "baseline": {"count": int(r["events"]), "period": str(params["months"])[:300], "source": source[:300]},
                "data_sources": [f"{r['label']}"[:300], "police.uk street-level crime and ASB", "saferhub places rank"]}
    plan = services.advance_plan(db, user, plan["id"])      # the objective is complete: on to scanning
    return services.set_plan_stage(db, user, plan["id"], plan["version"], "scanning", scanning)


class hub_session:
    """`with hub_session(db, email) as (session, user):` the hub database and an active user, for
    CLI verbs that write through the hub services (the caller commits)."""

    def __init__(self, db, email: str):
        self.db, self.email = db, email

    def __enter__(self):
        from sqlalchemy import inspect

        from saferhub.hub import services
        from saferhub.hub.db import make_engine, resolve_db_url, session_factory

        self.engine = make_engine(resolve_db_url(self.db))
        self.session = session_factory(self.engine)()
        if not inspect(self.engine).has_table("audit_head"):
            self.__exit__(None, None, None)
            raise SaferhubError("the hub database has no schema yet; run `saferhub hub init` first")
        user = services.active_user(self.session, self.email)  # the hub's own look-up, as sign-in does
        if user is None:
            self.__exit__(None, None, None)
            raise SaferhubError(f"no active hub user {self.email}")
        return self.session, user

    def __exit__(self, *exc):
        self.session.close()
        self.engine.dispose()
        return False
