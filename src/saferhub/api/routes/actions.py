"""Actions on cases."""

from fastapi import APIRouter

from saferhub.api import schemas as S
from saferhub.api.deps import DB, CurrentUser, Id, Purpose, done
from saferhub.hub import services

router = APIRouter(tags=["actions"])


@router.post("/cases/{case_id}/actions", status_code=201, response_model=S.ActionOut)
def create_action(case_id: Id, body: S.ActionIn, db: DB, user: CurrentUser) -> dict:
    return done(db, services.create_action(db, user, case_id, **body.model_dump()))


@router.get("/cases/{case_id}/actions", response_model=list[S.ActionOut])
def list_actions(case_id: Id, db: DB, user: CurrentUser, purpose: Purpose = None) -> list[dict]:
    return done(db, services.list_actions(db, user, case_id, purpose))


@router.patch("/actions/{action_id}", response_model=S.ActionOut)
def update_action(action_id: Id, body: S.ActionPatch, db: DB, user: CurrentUser) -> dict:
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version")
    return done(db, services.update_action(db, user, action_id, version, changes))


@router.get("/actions/overdue", response_model=list[S.ActionOut])
def overdue(db: DB, user: CurrentUser, purpose: Purpose = None) -> list[dict]:
    return done(db, services.overdue_actions(db, user, purpose))
