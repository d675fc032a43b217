"""The prevention verbs: the fund's measures and their evaluation, ASB recorded the same way by
every partner (agreement between agencies), and designing-out-crime actions. Register, attribution
and ranking are in `service.py`; the CLI (`commands.py`) is a shell over both.

Call `events(...)` and other services with keyword arguments only."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from saferhub.errors import SaferhubError
from saferhub.fsutil import replacing, write_atomic
from saferhub.geo.cellsize import EVALUATION_CELL_SIZE
from saferhub.places import attribute as attr
from saferhub.places import facilities
from saferhub.places.service import _events, _store, _street_points, read_register

# ---- the prevention fund's measures ---------------------------------------------------------

def measures_path(store=None) -> Path:
    return _store(store) / "places" / "measures.parquet"


def read_measures(store=None) -> pd.DataFrame:
    from saferhub.places import measures

    path = measures_path(store)
    return pd.read_parquet(path) if path.exists() else pd.DataFrame(columns=measures.COLUMNS)


def import_measures(path, store=None) -> dict:
    """Import a measures CSV (docs/prevent.md); rows keyed by measure_id (re-importing replaces)."""
    from saferhub.places import measures

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
                     categories=None, available: list[str] | None = None, cell_size: float = EVALUATION_CELL_SIZE) -> dict:
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
    from saferhub.places import measures

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
    from saferhub.places import asbmap

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
    from saferhub.places import designout

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
    from saferhub.places import designout

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
