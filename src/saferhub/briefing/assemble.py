"""The daily briefing: what a partnership's morning meeting goes through, for one user.

Sections:
- the last 24 hours' incidents by area: the incidents the user may read (the incident rule of
  `access.readable_incidents`), and the partnership's total as one aggregate figure;
- active hotspots (the published Gi* layer) and yesterday's patrol dosage (published by patrol);
- new and overdue referrals to the user's agency; new and overdue actions on cases they see;
- high-risk cases due for review in the next 7 days;
- ASB Case Review applications whose threshold was met and await a review;
- ASB powers and orders that expired in the last 24 hours or expire in the next 7 days;
- children missing from care: the rule hits of the last 7 days whose referral the agency sent or received.

Every hub read is a service call (`saferhub.hub.services.briefing`): it decides access and logs
with the stated purpose. This module only groups, sorts and reads the published product files."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from saferhub.data.products import read_product
from saferhub.hub import services
from saferhub.hub.models import User
from saferhub.hub.services import briefing as hub_briefing
from saferhub.hub.services import placenames
from saferhub.hub.services.common import aware

AREA_ROWS = 15         # places listed under "last 24 hours"; the rest are summed in one line


@dataclass
class Briefing:
    user: dict
    now: dt.datetime
    incidents: list[dict] = field(default_factory=list)   # by area
    incidents_total: int = 0                              # incidents the user may read
    incidents_recorded: int = 0                           # all recorded in the partnership (aggregate)
    incidents_simulated: int = 0
    incidents_truncated: bool = False
    incidents_other_places: int = 0                       # places beyond AREA_ROWS
    incidents_other_total: int = 0
    hotspots: list[dict] = field(default_factory=list)
    hotspot_layer: dict | None = None
    dosage: list[dict] | None = None                      # None: no patrol plan yet
    referrals_new: list[dict] = field(default_factory=list)
    referrals_waiting: list[dict] = field(default_factory=list)   # 1 to 5 days
    referrals_overdue: list[dict] = field(default_factory=list)   # more than 5 days
    actions_new: list[dict] = field(default_factory=list)
    actions_overdue: list[dict] = field(default_factory=list)
    reviews_due: list[dict] = field(default_factory=list)
    case_reviews: list[dict] = field(default_factory=list)
    powers: list[dict] = field(default_factory=list)
    missing_alerts: list[dict] = field(default_factory=list)  # children missing from care: rule hits, 7 days
    sees_cases: bool = False
    usual: dict | None = None                             # the same 24 hours in earlier weeks (aggregate)
    dosage_quiet: int = 0                                 # patrol areas with nothing planned or done, hidden
    dosage_span: tuple | None = None                      # first and last day the dosage product covers
    hotspot_age: str | None = None                        # "5 years 11 months" when the layer is old
    summary: list[dict] = field(default_factory=list)     # the numbers that decide the morning


def by_place(rows: list[dict], lsoa_names: dict[str, str]) -> list[dict]:
    """Incidents counted by place (police.uk street or partner place text, and LSOA) with their
    categories, recording agencies and a point (the first incident's), busiest first."""
    areas: dict[tuple, dict] = {}
    for r in rows:
        sim = r["source"] == "simulated"
        key = (r["lsoa"] or "", (r["place"] or "").removeprefix("Simulated: "))
        a = areas.setdefault(key, {"lsoa": lsoa_names.get(r["lsoa"], r["lsoa"]), "place": key[1], "total": 0,
                                   "categories": {}, "simulated": 0, "agencies": set(),
                                   "lsoa_name": lsoa_names.get(r["lsoa"], ""), "x": None, "y": None})
        if a["x"] is None and r.get("x") is not None:  # a police.uk snap point: one place, one point
            a["x"], a["y"] = r["x"], r["y"]
        a["total"] += 1
        a["simulated"] += sim
        a["categories"][r["category"]] = a["categories"].get(r["category"], 0) + 1
        a["agencies"].add(r["agency"])
    out = sorted(areas.values(), key=lambda a: (-a["total"], a["place"]))
    for a in out:
        a["categories"] = ", ".join(f"{k} {v}" for k, v in sorted(a["categories"].items(), key=lambda kv: -kv[1]))
        a["agencies"] = ", ".join(sorted(a["agencies"]))
    return out


def active_hotspots(store, limit: int = 10) -> tuple[list[dict], dict | None]:
    """The hottest published Gi* cells (grip crimes by preference), with their places."""
    cat = read_product("map-layers", store) or {"layers": []}
    gi = [x for x in cat["layers"] if x.get("method") == "gistar"]
    gi.sort(key=lambda x: (x.get("categories") != "grip", x["name"]))
    if not gi:
        return [], None
    top = read_product(f"{gi[0]['name']}-top", store) or []  # written with the layer (layers.py)
    return top[:limit], gi[0]


def patrol_dosage(store, day: dt.date) -> list[dict] | None:
    """Yesterday's patrol dosage per area from the published `patrol-dosage` product."""
    rows = read_product("patrol-dosage", store)
    if rows is None:
        return None
    names = {f["properties"]["area_id"]: f["properties"]["name"]
             for f in (read_product("patrol-areas", store) or {"features": []})["features"]}
    out = []
    for r in rows:
        if str(r.get("date"))[:10] == day.isoformat():
            planned = r.get("planned_minutes") or 0
            out.append(r | {"name": names.get(r["area_id"], r["area_id"]),
                            "compliance_pct": round(100 * (r.get("minutes_min") or 0) / planned) if planned else None})
    return sorted(out, key=lambda r: (r.get("compliance_pct") is None, r.get("compliance_pct") or 0))


def how_old(last: dt.date, now: dt.datetime) -> str | None:
    """How long before `now` the data ends, in years and months; None within two months (current)."""
    months = (now.year - last.year) * 12 + now.month - last.month
    if months <= 2:
        return None
    years, months = divmod(months, 12)
    return " ".join(p for p in ([f"{years} year{'s' * (years != 1)}"] if years else [])
                    + ([f"{months} month{'s' * (months != 1)}"] if months else []))


def month_name(text: str) -> str:
    """'2020-10' -> 'October 2020'."""
    return dt.date.fromisoformat(str(text)[:7] + "-01").strftime("%B %Y")


def quiet(row: dict) -> bool:
    """A patrol area with nothing planned and nothing done that day."""
    return not (row.get("visits") or row.get("minutes_max") or row.get("minutes_min") or row.get("planned_minutes"))


def dosage_span(store) -> tuple | None:
    rows = read_product("patrol-dosage", store) or []
    days = sorted(str(r.get("date"))[:10] for r in rows if r.get("date"))
    return (dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[-1])) if days else None


def summarise(b: Briefing) -> list[dict]:
    """The figures at the top of the briefing, each with the section it links to. Lists are capped
    at LIST_LIMIT rows, so a full list reads "50 or more"."""
    def many(rows):
        return f"{len(rows)} or more" if len(rows) >= hub_briefing.LIST_LIMIT else str(len(rows))

    out = []
    usual = b.usual or {}
    if usual.get("recorded_any"):
        note = f"usual for a {b.now:%A}: about {usual['mean']:.0f} (same hours, last {len(usual['weeks'])} weeks)"
    else:
        note = f"no incidents recorded in the same hours of the last {len(usual.get('weeks', [])) or 4} weeks to compare"
    out.append({"label": "Incidents in the last 24 hours", "value": f"{b.incidents_recorded:,}", "note": note,
                "href": "#incidents"})
    if b.sees_cases:
        out.append({"label": "Referrals waiting for your agency", "href": "#referrals",
                    "value": str(len(b.referrals_new) + len(b.referrals_waiting) + len(b.referrals_overdue)),
                    "note": f"{len(b.referrals_overdue)} overdue (more than 5 days)",
                    "alert": bool(b.referrals_overdue)})
        out.append({"label": "Actions overdue", "value": many(b.actions_overdue), "href": "#actions",
                    "note": f"{many(b.actions_new)} new in the last 24 hours", "alert": bool(b.actions_overdue)})
        out.append({"label": "High-risk cases due for review", "value": many(b.reviews_due), "href": "#reviews",
                    "note": f"{sum(c['overdue'] for c in b.reviews_due)} past their review date",
                    "alert": any(c["overdue"] for c in b.reviews_due)})
    if b.dosage:
        planned = sum(r.get("planned_minutes") or 0 for r in b.dosage)
        done = sum(r.get("minutes_min") or 0 for r in b.dosage)
        visits = sum(r.get("visits") or 0 for r in b.dosage)
        pv = sum(r.get("planned_visits") or 0 for r in b.dosage)
        value = f"{visits} of {pv}" if pv else str(visits)
        note = (f"{done:,.0f} of {planned:,.0f} planned minutes" if planned else "no minutes were planned")
        out.append({"label": "Patrol visits yesterday" + (" (delivered of planned)" if pv else ""),
                    "value": value, "note": note, "href": "#dosage"})
    else:
        out.append({"label": "Patrol visits yesterday", "value": "None", "href": "#dosage",
                    "note": "no patrol plan published yet" if b.dosage is None else "no patrol data for yesterday"})
    return out


def assemble(db: Session, user: User, purpose: str | None, *, now: dt.datetime | None = None, store=None) -> Briefing:
    """The briefing for `user` at `now`. Sections with personal data need `purpose` (logged);
    audit.MissingPurpose when it is missing and the user's briefing holds any."""
    now = aware(now) or dt.datetime.now(dt.timezone.utc)
    since, today = now - dt.timedelta(hours=24), now.date()
    b = Briefing(user=services.user_dict(user), now=now, sees_cases=hub_briefing.sees_casework(user))
    recent = hub_briefing.recent_incidents(db, user, purpose, since)
    areas = by_place(recent["readable"], read_product("lsoa-names", store) or {})
    b.incidents_recorded, b.incidents_truncated = recent["recorded"], recent["truncated"]
    b.incidents_total = len(recent["readable"])
    b.incidents_simulated = sum(r["source"] == "simulated" for r in recent["readable"])
    if not b.sees_cases:  # aggregate only: the partnership's count, simulated ones included
        b.incidents_simulated = recent["recorded_simulated"]
    gaz = placenames.gazetteer(store)
    b.incidents = placenames.name_places(areas[:AREA_ROWS], street_key="place", gaz=gaz)  # street, ward, map link
    b.incidents_other_places = len(areas) - len(b.incidents)
    b.incidents_other_total = sum(a["total"] for a in areas[AREA_ROWS:])
    b.hotspots, b.hotspot_layer = active_hotspots(store)
    b.hotspots = placenames.name_places(b.hotspots, gaz=gaz)
    if b.hotspot_layer and b.hotspot_layer.get("months"):
        b.hotspot_age = how_old(dt.date.fromisoformat(str(b.hotspot_layer["months"][-1])[:7] + "-01"), now)
    dosage = patrol_dosage(store, today - dt.timedelta(days=1))
    if dosage is not None:
        b.dosage = [r for r in dosage if not quiet(r)]
        b.dosage_quiet = len(dosage) - len(b.dosage)
        b.dosage_span = dosage_span(store)
    b.usual = hub_briefing.weekday_usual(db, now)
    work = hub_briefing.casework(db, user, purpose, now)
    for name, rows in (work or {}).items():
        setattr(b, name, rows)
    b.summary = summarise(b)
    return b
