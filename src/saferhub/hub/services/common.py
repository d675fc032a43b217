"""What every hub service shares: times, case references and stubs, write logging, versioned edits."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from saferhub.hub import audit
from saferhub.hub.errors import Conflict, HubError
from saferhub.hub.models import Case, User


def aware(t: dt.datetime | None) -> dt.datetime | None:
    if t is not None and t.tzinfo is None:  # SQLite returns naive UTC
        return t.replace(tzinfo=dt.timezone.utc)
    return t


def case_ref(case_id: int) -> str:
    return f"HUB-{case_id:06d}"


def stub(case: Case) -> dict:
    return stub_of(case.id, case.owner.name, case.owner.email, case.lead_agency.name)


def stub_of(case_id: int, owner_name: str, owner_email: str, agency_name: str) -> dict:
    """A locked case's stub: that it exists and whom to contact."""
    return {"id": case_id, "ref": case_ref(case_id), "access": "stub", "locked": True,
            "contact": {"name": owner_name, "agency": agency_name, "email": owner_email}}


def write_log(db: Session, user: User, action: str, entity: str, ids, purpose: str | None,
              detail: dict | None = None) -> None:
    """Writes of personal data are logged like reads (purpose optional: the write is its own reason)."""
    audit.append(db, user=user, action=action, entity=entity, entity_ids=ids,
                 purpose=(purpose or "").strip()[:300] or f"{action} {entity}", detail=detail)


def created(db: Session, user: User, obj, entity: str, detail: dict | None = None):
    """Add a new record, flush it (so it has its id) and log its creation."""
    db.add(obj)
    db.flush()
    write_log(db, user, "create", entity, [obj.id], None, detail)
    return obj


def set_fields(obj, changes: dict, allowed: tuple[str, ...], required: tuple[str, ...]) -> None:
    for k, v in changes.items():
        if k not in allowed:
            raise HubError(f"{k} cannot be changed here")
        if v is None and k in required:
            raise HubError(f"{k} cannot be empty")
        setattr(obj, k, v)


@contextmanager
def versioned(db: Session, obj, version: int, label: str):
    """An edit of a record read at `version`: refused if it changed since (409), and flushed with
    SQLAlchemy's `version_id_col` check, so a concurrent writer of the same version loses too.
    The session is left for the caller to roll back."""
    if obj.version != version:
        raise Conflict(f"{label} changed since you read it (version {version}, now {obj.version}); "
                       "reload and try again")
    yield obj
    try:
        db.flush()
    except StaleDataError:
        raise Conflict(f"{label} was changed by someone else just now; reload and try again") from None
