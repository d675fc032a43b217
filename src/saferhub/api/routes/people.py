"""People on cases and notes about them."""

from fastapi import APIRouter

from saferhub.api import schemas as S
from saferhub.api.deps import DB, CurrentUser, Id, Purpose, done
from saferhub.hub import services

router = APIRouter(tags=["people"])


@router.post("/cases/{case_id}/people", status_code=201, response_model=S.CasePersonOut)
def add_person(case_id: Id, body: S.CasePersonIn, db: DB, user: CurrentUser) -> dict:
    d = body.model_dump()
    return done(db, services.add_person_to_case(db, user, case_id, d.pop("role"), **d))


@router.post("/cases/{case_id}/notes", status_code=201, response_model=S.NoteOut)
def add_note(case_id: Id, body: S.NoteIn, db: DB, user: CurrentUser) -> dict:
    return done(db, services.add_note(db, user, case_id, body.person_id, body.kind, body.text))


@router.get("/people/{person_id}", response_model=S.PersonOut)
def get_person(person_id: Id, db: DB, user: CurrentUser, purpose: Purpose = None) -> dict:
    return done(db, services.get_person(db, user, person_id, purpose))
