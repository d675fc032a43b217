"""Agencies and user accounts (administrators)."""

from fastapi import APIRouter

from saferhub.api import schemas as S
from saferhub.api.deps import DB, CurrentUser, Id, done
from saferhub.hub import services

router = APIRouter(tags=["admin"])


@router.get("/agencies", response_model=list[S.AgencyOut])
def agencies(db: DB, user: CurrentUser) -> list[dict]:
    return services.list_agencies(db)


@router.post("/agencies", status_code=201, response_model=S.AgencyOut)
def create_agency(body: S.AgencyIn, db: DB, user: CurrentUser) -> dict:
    return done(db, services.create_agency(db, user, body.code, body.name, body.kind, body.contact_email))


@router.get("/users", response_model=list[S.UserOut])
def users(db: DB, user: CurrentUser) -> list[dict]:
    return done(db, services.list_users(db, user))


@router.post("/users", status_code=201, response_model=S.UserOut)
def create_user(body: S.UserIn, db: DB, user: CurrentUser) -> dict:
    return done(db, services.create_user(db, user, **body.model_dump()))


@router.patch("/users/{user_id}", response_model=S.UserOut)
def update_user(user_id: Id, body: S.UserPatch, db: DB, user: CurrentUser) -> dict:
    return done(db, services.update_user(db, user, user_id, body.model_dump(exclude_unset=True)))
