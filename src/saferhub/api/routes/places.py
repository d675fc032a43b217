"""Locations and incidents (both personal data: reads need X-Purpose)."""

from typing import Annotated

from fastapi import APIRouter, Query

from saferhub.api import schemas as S
from saferhub.api.deps import DB, CurrentUser, Id, Purpose, done
from saferhub.hub import services

router = APIRouter()


@router.post("/locations", tags=["locations"], status_code=201, response_model=S.LocationOut)
def create_location(body: S.LocationIn, db: DB, user: CurrentUser) -> dict:
    return done(db, services.create_location(db, user, **body.model_dump()))


@router.get("/locations/{location_id}", tags=["locations"], response_model=S.LocationOut)
def get_location(location_id: Id, db: DB, user: CurrentUser, purpose: Purpose = None) -> dict:
    """A place your agency recorded, or where a case you read is placed."""
    return done(db, services.get_location(db, user, location_id, purpose))


@router.post("/incidents", tags=["incidents"], status_code=201, response_model=S.IncidentsRecorded)
def record_incidents(body: S.IncidentsIn, db: DB, user: CurrentUser) -> dict:
    """Record partner incidents (up to 10,000 per call) for the rules; caller/victim keys are pseudonymous."""
    return done(db, services.record_incidents(db, user, [i.model_dump() for i in body.incidents]))


@router.post("/cases/{case_id}/incidents", tags=["incidents"], response_model=S.LinkOut)
def link_incidents(case_id: Id, body: S.IncidentLinks, db: DB, user: CurrentUser) -> dict:
    """Link incidents you may already read (your agency's, or on your cases) to a case."""
    return done(db, services.link_incidents(db, user, case_id, body.incident_ids))


@router.get("/cases/{case_id}/incidents", tags=["incidents"], response_model=list[S.IncidentOut])
def case_incidents(case_id: Id, db: DB, user: CurrentUser, purpose: Purpose = None,
                   limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[dict]:
    return done(db, services.case_incidents(db, user, case_id, purpose, limit))
