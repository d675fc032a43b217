"""The audit trail as administrators browse it (`/web/admin/audit`): newest first, a page at a
time, optionally one entity. Administrators only (`access.require_role`); browsing is itself
logged (entity "audit", the rows shown), like the export."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from saferhub.hub import audit
from saferhub.hub.access import require_role
from saferhub.hub.models import AuditEvent, User

PAGE = 100


def kinds_of(text: str) -> list[str]:
    """'case, referral action' -> ['case', 'referral', 'action'] (at most 20 kinds)."""
    return [k for k in text.replace(",", " ").split() if k][:20]


def audit_trail(db: Session, user: User, *, before: int | None = None, entity: str = "",
                limit: int = PAGE) -> list[AuditEvent]:
    require_role(user, "admin")
    q = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
    if before:
        q = q.where(AuditEvent.seq < before)
    kinds = kinds_of(entity)
    if kinds:  # one record kind, or several: "case, referral" (issue 20)
        q = q.where(AuditEvent.entity.in_(kinds))
    rows = list(db.scalars(q))
    detail = {"entity": entity} if entity else {}
    if rows:
        detail |= {"from_seq": rows[-1].seq, "to_seq": rows[0].seq}
    audit.append(db, user=user, action="read", entity="audit", entity_ids=[], purpose="audit trail review",
                 detail=detail)
    return rows
