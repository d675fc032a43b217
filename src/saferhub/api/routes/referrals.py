"""Referrals between agencies."""

from typing import Literal

from fastapi import APIRouter, Request

from saferhub.api import schemas as S
from saferhub.api.deps import DB, CurrentUser, Id, Purpose, Token, done, read
from saferhub.hub import services

router = APIRouter(tags=["referrals"])


@router.post("/cases/{case_id}/referrals", status_code=201, response_model=S.ReferralOut)
def create_referral(case_id: Id, body: S.ReferralIn, db: DB, user: CurrentUser) -> dict:
    return done(db, services.create_referral(db, user, case_id, **body.model_dump()))


@router.get("/referrals", response_model=list[S.ReferralOut])
async def list_referrals(request: Request, token: Token, purpose: Purpose = None,
                         box: Literal["in", "out"] = "in") -> list[dict]:
    return await read(request, token, services.list_referrals, purpose, box)


@router.post("/referrals/{referral_id}/response", response_model=S.ReferralOut)
def respond(referral_id: Id, body: S.ReferralResponse, db: DB, user: CurrentUser) -> dict:
    return done(db, services.respond_referral(db, user, referral_id, body.accept, body.reason))
