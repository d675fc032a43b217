"""Rules over incidents and their flags."""

from typing import Annotated

from fastapi import APIRouter, Query

from saferhub.api import schemas as S
from saferhub.api.deps import DB, CurrentUser, Purpose, done
from saferhub.hub import services

router = APIRouter(tags=["rules"])


@router.post("/rules/run", response_model=S.RulesRunOut)
def run_rules(body: S.RulesRun, db: DB, user: CurrentUser) -> dict:
    overrides = {k: v.model_dump(exclude_none=True) for k, v in body.overrides.items()}
    return done(db, services.run_rules(db, user, overrides))


@router.get("/rules/flags", response_model=list[S.FlagOut])
def flags(db: DB, user: CurrentUser, purpose: Purpose = None,
          rule: Annotated[str | None, Query(max_length=60)] = None,
          limit: Annotated[int, Query(ge=1, le=5000)] = 200) -> list[dict]:
    return done(db, services.list_flags(db, user, purpose, rule, limit))
