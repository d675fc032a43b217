"""The prevent service: every `saferhub places ...` verb is a function here; the CLI is a shell.

Register: `build_facility_register` (police.uk facility snap points), `import_register` (a partner
register + mapping), `simulate_premises`, `read_register`. Attribution and ranking: `attribute`,
`rank`, `rank_report`, `publish_rank`. Hub: `place_plan` (a one-step OSARA plan through the hub's
plan service). Measures, ASB agreement and designing-out-crime actions are further down.

Call `events(...)` and other services with keyword arguments only (their signatures may become
typed queries)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from saferhub.errors import SaferhubError
from saferhub.fsutil import replacing, write_atomic
from saferhub.prevent import attribute as attr
from saferhub.prevent import facilities, register, risky

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
    from saferhub.prevent import report

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
    scanning = {"problem": problem,
                "baseline": {"count": int(r["events"]), "crimes": int(r["crimes"]), "asb": int(r["asb"]),
                             "harm_days": round(float(r["harm"]), 1), "period": params["months"],
                             "place_id": place_id, "radius_m": params["radius_m"],
                             "class_ratio": None if not np.isfinite(r["ratio"]) else round(float(r["ratio"]), 2)},
                "data_sources": [f"{r['label']}", "police.uk street-level crime and ASB", "saferhub places rank"]}
    plan = services.advance_plan(db, user, plan["id"])      # the objective is complete: on to scanning
    return services.set_plan_stage(db, user, plan["id"], plan["version"], "scanning", scanning)


class hub_session:
    """`with hub_session(db, email) as (session, user):` the hub database and an active user, for
    CLI verbs that write through the hub services (the caller commits)."""

    def __init__(self, db, email: str):
        self.db, self.email = db, email

    def __enter__(self):
        from sqlalchemy import func, inspect, select

        from saferhub.hub.db import make_engine, resolve_db_url, session_factory
        from saferhub.hub.models import User

        self.engine = make_engine(resolve_db_url(self.db))
        self.session = session_factory(self.engine)()
        if not inspect(self.engine).has_table("audit_head"):
            self.__exit__(None, None, None)
            raise SaferhubError("the hub database has no schema yet; run `saferhub hub init` first")
        user = self.session.scalar(select(User).where(func.lower(User.email) == self.email.lower(),
                                                      User.active.is_(True)))
        if user is None:
            self.__exit__(None, None, None)
            raise SaferhubError(f"no active hub user {self.email}")
        return self.session, user

    def __exit__(self, *exc):
        self.session.close()
        self.engine.dispose()
        return False


# ---- the prevention fund's measures ---------------------------------------------------------

def measures_path(store=None) -> Path:
    return _store(store) / "places" / "measures.parquet"


def read_measures(store=None) -> pd.DataFrame:
    from saferhub.prevent import measures

    path = measures_path(store)
    return pd.read_parquet(path) if path.exists() else pd.DataFrame(columns=measures.COLUMNS)


def import_measures(path, store=None) -> dict:
    """Import a measures CSV (docs/prevent.md); rows keyed by measure_id (re-importing replaces)."""
    from saferhub.prevent import measures

    new, quarantine = measures.parse_measures(path, read_register(store))
    old = read_measures(store)
    old = old[~old["measure_id"].isin(new["measure_id"])]
    merged = pd.concat([f for f in (old, new) if len(f)] or [new], ignore_index=True).sort_values("measure_id")
    target = measures_path(store)
    with replacing(target) as tmp:
        merged[measures.COLUMNS].to_parquet(tmp, index=False)
    qpath = _store(store) / "places" / "quarantine" / f"{Path(path).name}.csv"
    if quarantine.num_rows:
        write_atomic(qpath, quarantine.to_pandas().to_csv(index=False))
    else:
        qpath.unlink(missing_ok=True)
    return {"imported": int(len(new)), "quarantined": int(quarantine.num_rows), "measures": int(len(merged)),
            "quarantine_file": str(qpath) if quarantine.num_rows else None}


def _store_months(store) -> list[str]:
    ev = _events(store, ["month"])
    return sorted(pd.to_datetime(ev["month"]).dt.strftime("%Y-%m").unique())


def evaluate_measure(m: dict, store=None, months_before: int = 12, months_after: int = 12,
                     categories=None, available: list[str] | None = None, cell_size: float = 200.0) -> dict:
    """One measure through saferhub.evaluate: the area within radius_m of its point, the months
    before its start against the months from its start (as many as the store holds, up to
    months_after), matched control places, displacement rings, harm and cost. Returns the
    measure's row with the evaluation's figures (or why there are none)."""
    import geopandas as gpd
    import shapely

    from saferhub.evaluate import service as ev_service

    available = available or _store_months(store)
    start = pd.Period(str(m["start"])[:7], freq="M")
    before = [str(start - k) for k in range(months_before, 0, -1)]
    after = [str(start + k) for k in range(months_after)]
    after = [a for a in after if a in available]
    base = {k: (v.item() if hasattr(v, "item") else v) for k, v in m.items()}
    base["start"] = str(m["start"])
    if not after or before[0] not in available:
        return base | {"result": "too early or too late to tell",
                       "message": f"the store holds {available[0] if available else '-'}..{available[-1] if available else '-'}; "
                                  f"a measure from {start} needs {before[0]} onwards"}
    area = gpd.GeoDataFrame({"area_id": [m["measure_id"]], "name": [m["name"]]},
                            geometry=[shapely.Point(m["x"], m["y"]).buffer(float(m["radius_m"]))], crs=27700)
    run = ev_service.evaluate(areas=area, before=before, after=after, categories=categories, harm=True, store=store,
                              cell_size=cell_size, simulated=bool(m.get("simulated")))
    s = ev_service.summary_for_assessment(run)
    out = base | {"run_id": run["run_id"], "result": s.get("result"), "headline": s.get("headline"),
                  "before": s.get("before"), "after": s.get("after")}
    if s.get("result") != "too few events to tell":
        cost = run.get("cost", {})
        out |= {"events_before": s["events_before"], "events_after": s["events_after"],
                "change_pct": s["did_change_pct"], "change_low_pct": s["did_change_low_pct"],
                "change_high_pct": s["did_change_high_pct"], "p": s["did_p"], "significant": s["significant"],
                "events_avoided_low": cost.get("events_avoided_low"), "events_avoided_high": cost.get("events_avoided_high"),
                "cost_avoided_low": cost.get("low"), "cost_avoided_high": cost.get("high"),
                "wdq": s.get("displacement_wdq")}
        h = run.get("harm") or {}
        if h.get("low") is not None and h.get("high"):
            # harm avoided (CCHI days), from the before/after harm ratio's interval (not matched controls)
            out |= {"harm_before": h["before"], "harm_after": h["after"], "harm_change_pct": h.get("change_pct"),
                    "harm_avoided_low": h["after"] * (1 / h["high"] - 1),
                    "harm_avoided_high": h["after"] * (1 / h["low"] - 1) if h["low"] > 0 else None}
    return out


def evaluate_fund(store=None, allocated: float | None = None, funding_line: str | None = None,
                  months_before: int = 12, months_after: int = 12, categories=None) -> dict:
    """Every registered measure (of one funding line, if given) evaluated, and the fund's view."""
    from saferhub.prevent import measures

    ms = read_measures(store)
    if funding_line:
        ms = ms[ms["funding_line"] == funding_line]
    if ms.empty:
        raise SaferhubError("no measures registered" + (f" on funding line {funding_line!r}" if funding_line else "")
                            + ": run `saferhub places measures import FILE.csv`")
    available = _store_months(store)
    results = [evaluate_measure(m, store=store, months_before=months_before, months_after=months_after,
                                categories=categories, available=available) for m in ms.to_dict("records")]
    fund = measures.fund_view(results, allocated)
    fund["simulated"] = bool(ms["simulated"].astype(bool).any())
    return {"fund": fund, "measures": results, "funding_line": funding_line}


# ---- ASB recorded the same way ---------------------------------------------------------------

def _agency_incidents(store, agency: str, months=None) -> pd.DataFrame:
    from saferhub.data.forces import force_id

    ev = _events(store, ["event_id", "occurred_at", "x", "y", "raw_category", "category", "agency"],
                 force=force_id(agency), months=months, sources="incident")
    ev = ev[ev["occurred_at"].notna()].reset_index(drop=True)
    return ev.rename(columns={"occurred_at": "t"})


def asb_agreement(mapping_a, mapping_b, store=None, months=None, minutes: float = 60.0,
                  metres: float = 100.0, top: int = 10) -> dict:
    """How two agencies record the same ASB incidents: their records matched by time (within
    `minutes`) and place (within `metres`), each side's category mapped to the Home Office type
    and police.uk category by its own versioned mapping, and Cohen's kappa on both; the pairs of
    categories that disagree most."""
    from saferhub.prevent import asbmap

    if minutes <= 0 or metres <= 0:
        raise SaferhubError("--minutes and --metres must be positive")
    ma, mb = asbmap.load(mapping_a), asbmap.load(mapping_b)
    a, b = _agency_incidents(store, ma.agency, months), _agency_incidents(store, mb.agency, months)
    for m, d in ((ma, a), (mb, b)):
        if d.empty:
            raise SaferhubError(f"no timestamped located incidents from {m.agency!r} in the store "
                                f"(import them with `saferhub ingest --kind incidents --mapping {m.source}`)")
    pairs = asbmap.match(a, b, minutes, metres)
    ca = a["raw_category"].to_numpy(dtype=object)[pairs["ia"]]
    cb = b["raw_category"].to_numpy(dtype=object)[pairs["ib"]]
    ta, tb = ma.type_of(ca), mb.type_of(cb)
    pa_, pb_ = ma.police_uk_of(ca), mb.police_uk_of(cb)
    k_type, k_police = asbmap.cohen_kappa(ta, tb), asbmap.cohen_kappa(pa_, pb_)

    def coverage(m, d):
        t = m.type_of(d["raw_category"])
        return {"agency": m.agency, "mapping_version": m.version, "records": int(len(d)),
                "by_type": pd.Series(t).value_counts().to_dict(),
                "unmapped_categories": sorted(set(d["raw_category"].astype(str)) - set(m.types))}

    return {"agencies": [coverage(ma, a), coverage(mb, b)], "matched": int(len(pairs)),
            "tolerance": {"minutes": minutes, "metres": metres},
            "kappa_type": k_type, "kappa_police_uk": k_police,
            "disagreements": asbmap.disagreements(ca, cb, ta, tb, top=top),
            "pairs": pd.DataFrame({"event_a": a["event_id"].to_numpy()[pairs["ia"]],
                                   "event_b": b["event_id"].to_numpy()[pairs["ib"]],
                                   "category_a": ca, "category_b": cb, "type_a": ta, "type_b": tb})}


# ---- designing out crime ---------------------------------------------------------------------

DOC_PURPOSE = "designing out crime: environmental problems and the actions raised for them"


def design_out_problems(store=None, months=None, radius: float = 100.0) -> pd.DataFrame:
    """Environmental problems among partner incidents and patrol notes: one row per record with its
    kind, time, point and the place it is at (the nearest register place within `radius`, else its
    own 100 m grid square, named by the nearest street)."""
    from saferhub.prevent import designout

    ev = _events(store, ["event_id", "month", "occurred_at", "x", "y", "category", "raw_category", "text", "agency",
                         "location"], months=months, sources="incident")
    kind = designout.classify(ev["raw_category"].fillna(ev["category"]), ev["text"])
    ev = ev[kind != ""].assign(kind=kind[kind != ""]).reset_index(drop=True)
    if ev.empty:
        return ev.assign(place_id=pd.Series(dtype=object), place_name=pd.Series(dtype=object))
    reg = read_register(store).sort_values("place_id").reset_index(drop=True)
    idx = np.full(len(ev), -1)
    if len(reg):
        idx, _ = attr.nearest_place(ev["x"].to_numpy(), ev["y"].to_numpy(), reg["x"].to_numpy(float),
                                    reg["y"].to_numpy(float), radius)
    gx, gy = (ev["x"] // 100 * 100).astype(int), (ev["y"] // 100 * 100).astype(int)
    try:
        streets = _street_points(store)
    except SaferhubError:
        streets = pd.DataFrame(columns=["name", "x", "y"])
    near = facilities.nearest_street(gx + 50, gy + 50, streets)
    ev["place_id"] = np.where(idx >= 0, reg["place_id"].to_numpy(dtype=object)[np.maximum(idx, 0)],
                              "SQ-E" + gx.astype(str) + "N" + gy.astype(str))
    ev["place_name"] = np.where(idx >= 0, reg["name"].to_numpy(dtype=object)[np.maximum(idx, 0)],
                                np.where(near != "", "near " + near, "100 m square ") + " (" + ev["place_id"] + ")")
    ev["place_x"] = np.where(idx >= 0, reg["x"].to_numpy(float)[np.maximum(idx, 0)], gx + 50.0)
    ev["place_y"] = np.where(idx >= 0, reg["y"].to_numpy(float)[np.maximum(idx, 0)], gy + 50.0)
    return ev


def raise_design_out_actions(db, user, store=None, responsible: dict | None = None, months=None,
                             radius: float = 100.0, due_days: int = 28, purpose: str = DOC_PURPOSE) -> dict:
    """One hub action per (place, kind of problem), for the agency responsible, on a
    problem-solving case per place ("Designing out crime: <place>"), all through the hub services.
    Idempotent: a place's case and an open or done action for the same problem are found again
    by their tags, not duplicated. responsible: {kind: agency code}; a kind not named goes to the
    first agency of the kind designout.PROBLEMS suggests."""
    import datetime as dt

    from saferhub.hub import services
    from saferhub.prevent import designout

    problems = design_out_problems(store=store, months=months, radius=radius)
    if problems.empty:
        return {"problems": 0, "cases_created": 0, "actions_created": 0, "actions_existing": 0}
    agencies = services.list_agencies(db)
    by_code = {a["code"]: a for a in agencies}
    unknown = sorted({c for c in (responsible or {}).values() if c not in by_code})
    if unknown:
        raise SaferhubError(f"--responsible: no agency with code {', '.join(unknown)} "
                            f"(known: {', '.join(sorted(by_code))})")
    bad_kind = sorted(set(responsible or {}) - set(designout.PROBLEMS))
    if bad_kind:
        raise SaferhubError(f"--responsible: unknown problem kind {', '.join(bad_kind)} "
                            f"(known: {', '.join(designout.PROBLEMS)})")

    def agency_for(kind):
        code = (responsible or {}).get(kind)
        if code:
            return by_code[code]
        want = designout.PROBLEMS[kind][1]
        match = sorted((a for a in agencies if a["kind"] == want), key=lambda a: a["code"])
        return match[0] if match else None

    existing = {c["title"]: c for c in services.list_cases(db, user, purpose, kind="problem_solving", limit=500)
                if c.get("title", "").startswith("Designing out crime: ")}
    made_cases = made = kept = 0
    today = dt.date.today()
    for place_id, g in problems.groupby("place_id", sort=True):
        title = f"Designing out crime: {g['place_name'].iloc[0]}"[:200]
        case = existing.get(title)
        if case is None:
            case = services.create_case(db, user, kind="problem_solving", title=title,
                                        summary=f"Environmental problems reported at {place_id}: "
                                                + ", ".join(sorted(g["kind"].unique())))
            existing[title] = case
            made_cases += 1
        have = {a["title"] for a in services.list_actions(db, user, case["id"], purpose)}
        for kind, k in g.groupby("kind", sort=True):
            tag = designout.key(kind, place_id)
            if any(tag in t for t in have):
                kept += 1
                continue
            agency = agency_for(kind)
            if agency is None:
                raise SaferhubError(f"no agency to give {kind!r} to: pass --responsible {kind}=CODE")
            services.add_case_agency(db, user, case["id"], agency["id"])
            first = pd.to_datetime(k["occurred_at"]).min()
            services.create_action(db, user, case["id"], due_on=today + dt.timedelta(days=due_days),
                                   title=(f"{designout.PROBLEMS[kind][2]} ({len(k)} report(s) since "
                                          f"{first:%Y-%m-%d}; for {agency['name']}) {tag}")[:300])
            made += 1
    return {"problems": int(len(problems)), "places": int(problems["place_id"].nunique()),
            "cases_created": made_cases, "actions_created": made, "actions_existing": kept}


def design_out_status(db, user, store=None, purpose: str = DOC_PURPOSE, months_each_side: int = 6,
                      radius: float = 100.0) -> list[dict]:
    """Every designing-out action with its status, and for done ones the crime and ASB within
    `radius` of its place in the months before and after the month it was done: the rate ratio
    with its exact interval and C-test p (saferhub.evaluate.yoy), or "too few events to tell"."""
    from saferhub.evaluate import yoy
    from saferhub.hub import services

    cases = [c for c in services.list_cases(db, user, purpose, kind="problem_solving", limit=500)
             if c.get("title", "").startswith("Designing out crime: ")]
    rows = []
    ev = None
    for c in cases:
        for a in services.list_actions(db, user, c["id"], purpose):
            m = re.search(r"\[DOC (.+?) @ (.+?)\]", a["title"])
            if not m:
                continue
            row = {"case_id": c["id"], "case": c["title"], "action_id": a["id"], "kind": m[1], "place_id": m[2],
                   "title": a["title"], "status": a["status"], "due_on": a["due_on"], "overdue": a["overdue"],
                   "completed_at": a.get("completed_at")}
            if a["status"] == "done" and a.get("completed_at"):
                if ev is None:
                    ev = _events(store, ["x", "y", "month"])
                    ev["m"] = pd.to_datetime(ev["month"]).dt.to_period("M")
                row |= _before_after(ev, m[2], pd.Timestamp(a["completed_at"]).to_period("M"), months_each_side,
                                     radius, store, yoy)
            rows.append(row)
    return rows


def _before_after(ev, place_id, done, n, radius, store, yoy) -> dict:
    reg = read_register(store).set_index("place_id")
    if place_id in reg.index:
        px, py = float(reg.loc[place_id, "x"]), float(reg.loc[place_id, "y"])
    else:   # SQ-E<x>N<y>: a 100 m square
        mm = re.match(r"SQ-E(\d+)N(\d+)", place_id)
        px, py = float(mm[1]) + 50, float(mm[2]) + 50
    near = np.hypot(ev["x"].to_numpy() - px, ev["y"].to_numpy() - py) <= radius
    before = int((near & (ev["m"] >= done - n) & (ev["m"] < done)).sum())
    after = int((near & (ev["m"] > done) & (ev["m"] <= done + n)).sum())
    out = {"before": before, "after": after, "before_months": f"{done - n}..{done - 1}",
           "after_months": f"{done + 1}..{done + n}"}
    if before + after < yoy.DEFAULT_MIN_EVENTS:
        return out | {"result": yoy.TOO_FEW}
    rr, lo, hi = yoy.rate_ratio(after, before)
    return out | {"result": "estimated", "rate_ratio": rr, "low": lo, "high": hi, "p": yoy.c_test(after, before)}
