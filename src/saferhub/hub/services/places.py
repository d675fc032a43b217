"""Locations and incidents: places (addresses, UPRNs, descriptions) and partner-recorded incidents,
both personal data, so reads are purpose-logged and linking needs sight of the record first."""

from __future__ import annotations

import io

import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from saferhub.hub import audit
from saferhub.hub.access import case_for, location_for, readable_incidents, require_role
from saferhub.hub.errors import HubError, NotFound
from saferhub.hub.models import CaseIncident, Incident, Location, User
from saferhub.hub.services.common import aware, created, write_log


def location_dict(loc: Location) -> dict:
    return {"id": loc.id, "uprn": loc.uprn, "description": loc.description, "lon": loc.lon, "lat": loc.lat,
            "x": loc.x, "y": loc.y, "lsoa": loc.lsoa, "ward": loc.ward, "beat": loc.beat}


def create_location(db: Session, user: User, *, uprn=None, description=None, lon=None, lat=None, lsoa=None,
                    ward=None, beat=None) -> dict:
    require_role(user, "coordinator", "caseworker")
    if (lon is None) != (lat is None):
        raise HubError("give both lon and lat, or neither")
    if uprn is None and lon is None and not description:
        raise HubError("a location needs a UPRN, coordinates or a description")
    x = y = None
    if lon is not None:
        from saferhub.geo.project import to_bng

        bx, by = to_bng([lon], [lat])
        x, y = float(bx[0]), float(by[0])
    loc = Location(uprn=uprn, description=description, lon=lon, lat=lat, x=x, y=y, lsoa=lsoa, ward=ward, beat=beat,
                   created_by_agency_id=user.agency_id)
    created(db, user, loc, "location")
    return location_dict(loc)


def get_location(db: Session, user: User, location_id: int, purpose: str | None) -> dict:
    """An address or UPRN tied to a case is personal data: need-to-know and a logged purpose
    (`disclose` refuses without one)."""
    loc = location_for(db, user, location_id)
    audit.disclose(db, user, purpose, "location", [loc.id])
    return location_dict(loc)


def record_incidents(db: Session, user: User, items: list[dict]) -> dict:
    """Partner incidents (calls, reports) for the rules. Police.uk category names are normalised;
    other categories are kept as written. `month` defaults to the month of `occurred_at`."""
    require_role(user, "coordinator", "caseworker")
    from saferhub.categories import canonical

    rows = []
    for i, it in enumerate(items):
        occ = aware(it.get("occurred_at"))
        month = it.get("month") or (occ.date() if occ is not None else None)
        if month is None:
            raise HubError(f"incident {i}: give occurred_at or month")
        if occ is not None and (occ.year, occ.month) != (month.year, month.month):
            raise HubError(f"incident {i}: occurred_at is not in the given month")
        rows.append(it | {"occurred_at": occ, "month": month.replace(day=1), "source": "incident",
                          "category": canonical(it["category"]) or it["category"], "agency_id": user.agency_id})
    ids = list(db.scalars(insert(Incident).returning(Incident.id), rows))
    write_log(db, user, "create", "incident", [min(ids), max(ids)], None, {"count": len(ids)})
    return {"recorded": len(ids), "first_id": min(ids), "last_id": max(ids)}


def link_incidents(db: Session, user: User, case_id: int, incident_ids: list[int]) -> dict:
    """Link incidents to a case. Each must be one the user may already read (ids are sequential:
    otherwise linking another agency's incident to one's own case would be a way to read it)."""
    case, _ = case_for(db, user, case_id)
    ids = sorted(set(incident_ids))
    found = readable_incidents(db, user, ids)
    if len(found) != len(ids):
        raise NotFound(f"no incidents {sorted(set(ids) - found)[:10]}")
    have = set(db.scalars(select(CaseIncident.incident_id).where(CaseIncident.case_id == case.id,
                                                                 CaseIncident.incident_id.in_(ids))))
    new = [i for i in ids if i not in have]
    if new:
        db.execute(insert(CaseIncident), [{"case_id": case.id, "incident_id": i} for i in new])
    write_log(db, user, "update", "case", [case.id], None, {"linked_incidents": len(new)})
    return {"case_id": case.id, "linked": len(new), "already_linked": len(have)}


def case_incidents(db: Session, user: User, case_id: int, purpose: str | None, limit: int = 500) -> list[dict]:
    purpose = audit.check_purpose(purpose)
    case, _ = case_for(db, user, case_id)
    rows = db.scalars(select(Incident).join(CaseIncident, CaseIncident.incident_id == Incident.id)
                      .where(CaseIncident.case_id == case.id).order_by(Incident.month.desc(), Incident.id)
                      .limit(limit)).all()
    audit.disclose(db, user, purpose, "incident", [i.id for i in rows], {"case_id": case.id})
    return [{"id": i.id, "event_id": i.event_id, "source": i.source, "month": i.month,
             "occurred_at": aware(i.occurred_at), "category": i.category, "location": i.location_text,
             "lsoa": i.lsoa, "x": i.x, "y": i.y} for i in rows]


def incidents_frame(db: Session, where=None) -> pd.DataFrame:
    """Incidents as a DataFrame with the columns the rules read. On PostgreSQL the whole table
    streams through COPY into `pandas.read_csv` (about 10x faster than fetching row tuples)."""
    cols = [Incident.id, Incident.month, Incident.occurred_at, Incident.category, Incident.location_key,
            Incident.caller_ref, Incident.caller_is_child, Incident.victim_ref]
    names = [c.key for c in cols]
    q = select(*cols)
    conn = db.connection()
    if where is None and conn.dialect.name == "postgresql":
        sql = str(q.compile(dialect=conn.dialect))
        buf = io.BytesIO()
        with conn.connection.driver_connection.cursor() as cur:
            with cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as cp:
                for chunk in cp:
                    buf.write(chunk)
        buf.seek(0)
        df = pd.read_csv(buf, names=names, header=None, true_values=["t"], false_values=["f"],
                         dtype={"category": str, "location_key": str, "caller_ref": str, "victim_ref": str})
        df["occurred_at"] = pd.to_datetime(df["occurred_at"], utc=True)
        return df
    if where is not None:
        q = q.where(where)
    return pd.DataFrame(conn.execute(q).fetchall(), columns=names)
