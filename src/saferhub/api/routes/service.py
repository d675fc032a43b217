"""The service itself: audit trail checks and exports (administrators), health."""

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Response

from saferhub.api import schemas as S
from saferhub.api.deps import DB, CurrentUser, done
from saferhub.hub import audit
from saferhub.hub.access import require_role

router = APIRouter()


@router.get("/audit/verify", tags=["audit"], response_model=S.AuditCheck)
def audit_verify(db: DB, user: CurrentUser) -> dict:
    require_role(user, "admin")
    v = audit.verify(db)
    return {"ok": v.ok, "rows": v.rows, "first_bad_seq": v.first_bad_seq, "problem": v.problem}


@router.get("/audit/export", tags=["audit"], response_class=Response,
            responses=S.ERRORS_AS_JSON | {200: {
                "content": {"text/csv": {"schema": {"type": "string"}},
                            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}}},
                "description": "the whole audit trail with its hashes"}})
def audit_export(db: DB, user: CurrentUser, format: Literal["csv", "json"] = "csv") -> Response:
    require_role(user, "admin")
    text = audit.export(db, format)
    audit.append(db, user=user, action="export", entity="audit", entity_ids=[], purpose="audit export")
    media = "application/json" if format == "json" else "text/csv"
    return done(db, Response(text, media_type=media))


@router.get("/health", tags=["service"], response_model=S.Health)
def health() -> dict:
    return {"ok": True, "time": dt.datetime.now(dt.timezone.utc)}
