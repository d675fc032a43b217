"""Cases: list, open, read, edit, share."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from saferhub.api import schemas as S
from saferhub.api.deps import DB, CurrentUser, Id, Purpose, Token, done, read
from saferhub.hub import services

router = APIRouter(tags=["cases"])


@router.get("/cases", response_model=list[S.CaseListItem])
async def list_cases(request: Request, token: Token, purpose: Purpose = None,
                     status: Literal["open", "closed"] | None = None, kind: S.CaseKind | None = None,
                     mine: bool = False, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                     offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list[dict] | Response:
    out = await read(request, token, services.list_cases_json, purpose, status=status, kind=kind, mine=mine,
                     limit=limit, offset=offset)
    # JSON written by PostgreSQL in the response model's shape goes out as it is (tests compare it
    # with the validated rows); the rows of any other database are validated as before
    return Response(out, media_type="application/json") if isinstance(out, bytes) else out


@router.post("/cases", status_code=201, response_model=S.CaseOut)
def create_case(body: S.CaseIn, db: DB, user: CurrentUser) -> dict:
    d = body.model_dump()
    d["risk_level"] = d.pop("risk")
    return done(db, services.create_case(db, user, **d))


@router.get("/cases/{case_id}", response_model=S.CaseRead)
async def get_case(case_id: Id, request: Request, token: Token, purpose: Purpose = None) -> dict:
    """The case in full, or (a locked case your agency works) a stub naming whom to contact."""
    return await read(request, token, services.get_case, case_id, purpose)


@router.patch("/cases/{case_id}", response_model=S.CaseOut)
def update_case(case_id: Id, body: S.CasePatch, db: DB, user: CurrentUser, purpose: Purpose = None) -> dict:
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version")
    return done(db, services.update_case(db, user, case_id, version, changes, purpose))


@router.post("/cases/{case_id}/agencies", status_code=201, response_model=S.ShareOut)
def share_case(case_id: Id, body: S.ShareIn, db: DB, user: CurrentUser) -> dict:
    return done(db, services.add_case_agency(db, user, case_id, body.agency_id))


@router.post("/cases/{case_id}/members", status_code=201, response_model=S.MemberOut)
def add_member(case_id: Id, body: S.MemberIn, db: DB, user: CurrentUser) -> dict:
    return done(db, services.add_case_member(db, user, case_id, body.user_id))
