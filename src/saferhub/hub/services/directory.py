"""The partnership's directory: agencies and user accounts (administrators only), and the first
administrator of a new hub."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from saferhub.hub import audit
from saferhub.hub.access import require_role
from saferhub.hub.errors import Conflict, HubError, NotFound, Unprocessable
from saferhub.hub.models import Agency, ApiToken, User
from saferhub.hub.security import check_password_strength, hash_password, normalise_email, valid_email
from saferhub.hub.services.common import created, write_log


def agency_dict(a: Agency) -> dict:
    return {"id": a.id, "code": a.code, "name": a.name, "kind": a.kind, "contact_email": a.contact_email}


def user_dict(u: User) -> dict:
    return {"id": u.id, "email": u.email, "name": u.name, "agency_id": u.agency_id,
            "agency": u.agency.name if u.agency else None, "role": u.role, "active": u.active}


def create_agency(db: Session, user: User, code: str, name: str, kind: str, contact_email: str | None) -> dict:
    require_role(user, "admin")
    if db.scalar(select(Agency.id).where(Agency.code == code)) is not None:
        raise Conflict(f"an agency with code {code!r} exists")
    a = Agency(code=code, name=name, kind=kind, contact_email=contact_email)
    created(db, user, a, "agency")
    return agency_dict(a)


def list_agencies(db: Session) -> list[dict]:
    return [agency_dict(a) for a in db.scalars(select(Agency).order_by(Agency.name))]


def add_user(db: Session, email: str, name: str, agency_id: int, role: str, password: str) -> User:
    """Create a user (no audit, no permission check: used by `first_admin`, `create_user`, the seed)."""
    problem = check_password_strength(password)
    if problem:
        raise HubError(problem)
    if db.get(Agency, agency_id) is None:
        raise NotFound(f"no agency {agency_id}")
    try:  # an address, in the one form sign-in looks up (security.normalise_email)
        email = valid_email(email)
    except ValueError as exc:
        raise Unprocessable(str(exc)) from None
    if db.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise Conflict(f"a user with e-mail {email} exists")
    u = User(email=email, name=name, agency_id=agency_id, role=role, password_hash=hash_password(password))
    db.add(u)
    db.flush()
    return u


def first_admin(db: Session, *, email: str, password: str, name: str = "Hub administrator",
                agency_code: str = "hub", agency_name: str = "Community Safety Partnership hub") -> User:
    """The first administrator of a new hub (`saferhub hub init --admin-email`), in an agency made
    for them when `agency_code` does not exist yet. Logged with no acting user."""
    agency = db.scalar(select(Agency).where(Agency.code == agency_code))
    if agency is None:
        agency = Agency(code=agency_code, name=agency_name, kind="other")
        db.add(agency)
        db.flush()
    user = add_user(db, email, name, agency.id, "admin", password)
    audit.append(db, user=None, action="create", entity="user", entity_ids=[user.id],
                 purpose="hub init: first administrator")
    return user


def create_user(db: Session, actor: User, **kw) -> dict:
    require_role(actor, "admin")
    u = add_user(db, **kw)
    write_log(db, actor, "create", "user", [u.id], None, {"role": u.role, "agency_id": u.agency_id})
    return user_dict(u)


def update_user(db: Session, actor: User, user_id: int, changes: dict) -> dict:
    """Offboarding and moves: deactivating a user (or changing their role or agency) revokes their
    tokens at once, so access ends with the change, not when a token expires."""
    require_role(actor, "admin")
    u = db.get(User, user_id)
    if u is None:
        raise NotFound(f"no user {user_id}")
    if u.id == actor.id and (changes.get("active") is False or changes.get("role") not in (None, "admin")):
        raise Conflict("you cannot deactivate or demote yourself; ask another administrator")
    for k, v in changes.items():
        if v is None:
            continue
        if k == "agency_id" and db.get(Agency, v) is None:
            raise NotFound(f"no agency {v}")
        setattr(u, k, v)
    db.execute(delete(ApiToken).where(ApiToken.user_id == u.id))
    db.flush()
    db.refresh(u)
    write_log(db, actor, "update", "user", [u.id], None, {k: v for k, v in changes.items() if v is not None})
    return user_dict(u)


def list_users(db: Session, actor: User) -> list[dict]:
    """Staff records are personal data too: the read is logged."""
    require_role(actor, "admin")
    users = db.scalars(select(User).order_by(User.id)).all()
    audit.append(db, user=actor, action="read", entity="user", entity_ids=[u.id for u in users],
                 purpose="user administration")
    return [user_dict(u) for u in users]


def active_user(db: Session, email: str) -> User | None:
    """The active account with this e-mail (normalised as at sign-in), for commands acting as a user
    (`saferhub briefing pdf --email`); None when there is none."""
    return db.scalar(select(User).where(func.lower(User.email) == normalise_email(email), User.active.is_(True)))
