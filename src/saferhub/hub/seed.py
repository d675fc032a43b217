"""`saferhub hub seed-demo`: a realistic partnership built on the real event store, for the force
whose data was ingested (Merseyside's real partnership; for another force, its name, its districts'
councils where the geo folder's LSOA lookup knows them, generic partner names otherwise).

Agencies are the partnership's members; users are role accounts with generated passwords
(printed once or written to a 0600 file). Incidents are the store's ASB events (police.uk rows,
snapped locations, month only); the repeat-location rule picks the snap points with the most ASB,
and each becomes a repeat-location case led by its district's council (police where the point
falls outside the five districts), with the incidents linked. No people are invented: police.uk
data has none, so demo cases have none until users add them."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from saferhub.errors import SaferhubError
from saferhub.hub import audit, services
from saferhub.hub.models import (
    Agency,
    Case,
    CaseAgency,
    CaseIncident,
    CaseMember,
    Incident,
    Location,
    Plan,
    User,
)
from saferhub.hub.security import generate_password

ASB = "Anti-social behaviour"
AGENCIES = [
    ("hub", "Merseyside Community Safety Partnership hub", "other"),
    ("merseyside-police", "Merseyside Police", "police"),
    ("liverpool-cc", "Liverpool City Council", "council"),
    ("wirral-council", "Wirral Council", "council"),
    ("knowsley-council", "Knowsley Council", "council"),
    ("sefton-council", "Sefton Council", "council"),
    ("st-helens-council", "St Helens Borough Council", "council"),
    ("merseyside-fire", "Merseyside Fire & Rescue Service", "fire"),
    ("youth-justice", "Liverpool Youth Justice Service", "youth"),
    ("early-help", "Liverpool Early Help", "early_help"),
    ("probation-nw", "Probation Service North West", "probation"),
]
# LSOA names start with the district (ONS naming): which council leads a place there.
DISTRICT_COUNCIL = {"Liverpool": "liverpool-cc", "Wirral": "wirral-council", "Knowsley": "knowsley-council",
                    "Sefton": "sefton-council", "St. Helens": "st-helens-council", "St Helens": "st-helens-council"}
ROLE_ACCOUNTS = [
    ("hub", "admin"), ("hub", "coordinator"), ("hub", "analyst"),
    ("merseyside-police", "coordinator"), ("merseyside-police", "caseworker"), ("merseyside-police", "analyst"),
    ("liverpool-cc", "caseworker"), ("wirral-council", "caseworker"), ("knowsley-council", "caseworker"),
    ("sefton-council", "caseworker"), ("st-helens-council", "caseworker"), ("merseyside-fire", "caseworker"),
    ("youth-justice", "caseworker"), ("early-help", "caseworker"), ("probation-nw", "caseworker"),
]
COLUMNS = ["event_id", "month", "category", "lon", "lat", "x", "y", "lsoa", "lsoa_name", "location"]


def partnership(force: str = "merseyside", geo_dir=None) -> tuple[list, dict, list]:
    """(agencies, district -> council code, role accounts) for the force whose data was ingested:
    Merseyside's real partnership; for another force its name, a council for each district the
    geo folder's LSOA lookup gives it (else one generic council), and generic partner names."""
    if force == "merseyside":
        return AGENCIES, DISTRICT_COUNCIL, ROLE_ACCOUNTS
    from saferhub.data.forces import force_name, slugify
    from saferhub.geo.forcearea import force_districts

    name = force_name(force)
    area = name
    for suffix in (" Constabulary", " Police", " Police Service"):
        area = area.removesuffix(suffix)
    area = area.replace("-", " ").title() if area == force else area
    police = f"{force}-police"
    districts = force_districts(force, geo_dir)
    councils = [(f"{slugify(d)}-council", f"{d} Council", "council") for d in districts] or \
        [(f"{force}-council", f"{area} Council (a demo partner: no district list for this force)", "council")]
    agencies = [("hub", f"{area} Community Safety Partnership hub", "other"), (police, name, "police"), *councils,
                (f"{force}-fire", f"{area} Fire and Rescue Service", "fire"),
                ("youth-justice", f"{area} Youth Justice Service", "youth"),
                ("early-help", f"{area} Early Help", "early_help"), ("probation", "Probation Service", "probation")]
    district_council = {d: code for d, (code, _, _) in zip(districts, councils)}
    roles = [("hub", "admin"), ("hub", "coordinator"), ("hub", "analyst"), (police, "coordinator"),
             (police, "caseworker"), (police, "analyst")]
    roles += [(code, "caseworker") for code, _, kind in agencies[2:]]
    return agencies, district_council, roles


def store_force(store=None) -> str:
    """The force with the most events in the store (the demo partnership is built for it)."""
    from saferhub.config import resolve_store
    from saferhub.data.store import Catalog

    rows: dict[str, int] = {}
    for key, rec in Catalog.load(resolve_store(store)).partitions.items():
        ds, force, _ = key.split("/")
        if ds == "events":
            rows[force] = rows.get(force, 0) + int(rec.get("rows", 1) or 1)
    return max(sorted(rows), key=rows.get) if rows else "merseyside"


def load_asb_events(store=None) -> pd.DataFrame:
    """The store's ASB events as a DataFrame; a clear error when there are none."""
    from saferhub.config import resolve_store
    from saferhub.data import events

    folder = resolve_store(store)
    table = events(store=folder, categories=ASB, located_only=True, columns=COLUMNS)
    if table.num_rows == 0:
        raise SaferhubError(f"the event store {folder} has no located anti-social behaviour events; "
                            "run `saferhub ingest PATH...` with police.uk street CSVs first")
    return table.select(COLUMNS).to_pandas()


def _location_key(df: pd.DataFrame) -> pd.Series:
    """police.uk snap points: the same (lon, lat) is the same anonymised map point."""
    return df["lon"].round(6).astype(str) + "," + df["lat"].round(6).astype(str)


def seed_demo(db: Session, events: pd.DataFrame, n_cases: int = 40, force: str = "merseyside",
              geo_dir=None) -> dict:
    """The demo partnership for `force` (see `partnership`) with cases at its busiest ASB points."""
    agency_list, district_council, role_accounts = partnership(force, geo_dir)
    police_code = "merseyside-police" if force == "merseyside" else f"{force}-police"
    missing = set(COLUMNS) - set(events.columns)
    if missing:
        raise SaferhubError(f"events lack columns {sorted(missing)}")
    events = events[events["category"] == ASB].dropna(subset=["lon", "lat"])
    if events.empty:
        raise SaferhubError("no located anti-social behaviour events; run `saferhub ingest` first")
    if db.scalar(select(func.count()).select_from(Case)):
        raise SaferhubError("the hub database already has cases; seed a fresh database (use --db)")

    agencies = {}
    for code, name, kind in agency_list:
        a = db.scalar(select(Agency).where(Agency.code == code))
        if a is None:
            a = Agency(code=code, name=name, kind=kind, contact_email=f"hub@{code}.demo.invalid")
            db.add(a)
            db.flush()
        agencies[code] = a
    users, accounts = {}, []
    for code, role in role_accounts:
        email = f"{role}.{code}@demo.saferhub.invalid"
        existing = db.scalar(select(User).where(User.email == email))
        if existing is not None:
            users[(code, role)] = existing
            continue
        password = generate_password()
        u = services.add_user(db, email, f"Demo {role} ({agencies[code].name})", agencies[code].id, role, password)
        users[(code, role)] = u
        accounts.append({"email": email, "role": role, "agency": agencies[code].name, "password": password})

    # Incidents: the real ASB events, keyed by snap point.
    ev = events.copy()
    ev["location_key"] = _location_key(ev)
    month = pd.to_datetime(ev["month"]).dt.date
    police = agencies[police_code].id
    recs = pd.DataFrame({
        "event_id": ev["event_id"].astype(str), "source": "street", "month": month, "category": ev["category"],
        "location_key": ev["location_key"], "location_text": ev["location"].astype(str).str.slice(0, 200),
        "lsoa": ev["lsoa"], "x": ev["x"], "y": ev["y"], "caller_is_child": False, "agency_id": police,
    }).replace({np.nan: None})
    db.execute(insert(Incident), recs.to_dict("records"))
    ids = pd.DataFrame(db.execute(select(Incident.id, Incident.event_id)).all(), columns=["incident_id", "event_id"])
    ev = ev.assign(event_id=ev["event_id"].astype(str)).merge(ids, on="event_id")

    rule_result = services.run_rules(db, None)

    # Cases: the snap points with the most ASB reports (all of them meet the repeat-location rule).
    per_point = ev.groupby("location_key").agg(
        n=("incident_id", "size"), lon=("lon", "first"), lat=("lat", "first"), x=("x", "first"), y=("y", "first"),
        lsoa=("lsoa", "first"), lsoa_name=("lsoa_name", "first"), location=("location", "first"),
        first=("month", "min"), last=("month", "max"),
    ).sort_values(["n", "location_key"], ascending=[False, True]).head(n_cases)
    peak = (ev[ev["location_key"].isin(per_point.index)].groupby(["location_key", "month"]).size()
            .rename("k").reset_index().sort_values(["location_key", "k", "month"], ascending=[True, False, True])
            .drop_duplicates("location_key").set_index("location_key"))
    coordinator = users[(police_code, "coordinator")]
    case_links, opened = [], []  # opened: (location_key, case) in order, busiest first
    for i, (key, row) in enumerate(per_point.iterrows()):  # n_cases rows, not incidents
        district = str(row["lsoa_name"] or "").rsplit(" ", 1)[0]
        lead_code = district_council.get(district, police_code)
        owner = users[(lead_code, "caseworker")]
        loc = Location(description=str(row["location"])[:300], lon=float(row["lon"]), lat=float(row["lat"]),
                       created_by_agency_id=agencies[lead_code].id,
                       x=float(row["x"]), y=float(row["y"]), lsoa=row["lsoa"])
        db.add(loc)
        db.flush()
        pk = peak.loc[key]
        first, last = pd.Timestamp(row["first"]), pd.Timestamp(row["last"])
        locked = i == 0  # the busiest point: a live police operation, so the record is locked
        case = Case(
            kind="repeat_location", lead_agency_id=agencies[lead_code].id, owner_id=owner.id,
            title=f"Repeat ASB location: {row['location']} ({row['lsoa_name']})"[:200],
            summary=(f"{int(row['n'])} ASB reports at this police.uk map point, {first:%Y-%m} to {last:%Y-%m}; "
                     f"peak {int(pk['k'])} in {pd.Timestamp(pk['month']):%Y-%m}. Source: data.police.uk (OGL v3)."
                     + (" Locked: live police operation; contact the owner." if locked else "")),
            risk="high" if i < max(1, n_cases // 10) else "medium", locked=locked, location_id=loc.id,
            opened_on=last.date(),
        )
        if locked:
            case.lead_agency_id, case.owner_id = police, users[(police_code, "caseworker")].id
        db.add(case)
        db.flush()
        for code in {lead_code, police_code}:
            db.add(CaseAgency(case_id=case.id, agency_id=agencies[code].id))
        db.add(CaseMember(case_id=case.id, user_id=case.owner_id))
        if not locked:
            db.add(CaseMember(case_id=case.id, user_id=coordinator.id))
        opened.append((key, case))
        case_links.append(pd.DataFrame({"case_id": case.id,
                                        "incident_id": ev.loc[ev["location_key"] == key, "incident_id"].to_numpy()}))
    links = pd.concat(case_links, ignore_index=True)
    db.execute(insert(CaseIncident), links.astype(int).to_dict("records"))

    # One problem-solving plan on the busiest unlocked case, scanning baseline from the real counts.
    unlocked = [(k, c) for k, c in opened if not c.locked]
    if unlocked:
        plan_key, plan_case = unlocked[0]
        pts = ev[ev["location_key"] == plan_key]
        last_month = pd.Timestamp(pts["month"].max())
        year = pts[pd.to_datetime(pts["month"]) > last_month - pd.DateOffset(months=12)]
        db.add(Plan(case_id=plan_case.id, title=f"Reduce ASB at {per_point.loc[plan_key, 'location']}"[:200],
                    lead_agency_id=plan_case.lead_agency_id, owner_id=plan_case.owner_id, stage="scanning",
                    objective="Reduce ASB reports at this location by a third within 12 months, without displacement.",
                    scanning={"problem": "Persistent ASB reports at one police.uk map point.",
                              "baseline": {"count": int(len(year)),
                                           "period": f"{(last_month - pd.DateOffset(months=11)):%Y-%m}:{last_month:%Y-%m}",
                                           "source": "data.police.uk street-level ASB"}},
                    analysis={}, responses=[], assessment={}, areas=[str(plan_key)]))
    audit.append(db, user=None, action="create", entity="seed", entity_ids=[], purpose="hub seed-demo",
                 detail={"cases": int(len(per_point)), "incidents": int(len(ev))})
    db.flush()
    return {"agencies": len(agencies), "users": accounts, "cases": int(len(per_point)),
            "incidents": int(len(ev)), "flags": rule_result["flags"]}
