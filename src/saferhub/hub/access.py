"""Need-to-know: who may see what (DPA 2018 Part 3; DOMAIN.md "Data protection").

Roles
- admin: runs the service (agencies, users, audit). Sees no case content: separation of duties.
- coordinator (hub coordinator): every unlocked case in the partnership.
- caseworker: cases their agency works (lead or participating agency) or they are named on.
- analyst: rules and aggregate figures only; no case or person records.

Locked cases: only named members and the owner see them in full; a coordinator or a caseworker
whose agency works the case sees a stub (the record exists, who to contact). Anyone else gets a
404, so a case's existence does not leak either.

The rules are expressed once, as SQL conditions (`full_clause`, `listed_clause`), so a case list is
one query and a single case is checked in the same query that fetches it; the authorisation-matrix
test (tests/hub/test_hub_matrix.py) checks every role x endpoint x case against the table above."""

from __future__ import annotations

from enum import Enum

from sqlalchemy import false, or_, select, true

from saferhub.hub.models import Case, CaseAgency, CaseMember, User


class Level(str, Enum):
    NONE = "none"
    STUB = "stub"
    FULL = "full"


CASE_ROLES = ("coordinator", "caseworker")


def _probe(stmt):
    """A correlated scalar subquery, evaluated per case row by a primary-key probe. (Written as
    EXISTS, PostgreSQL hashes the agency's whole case list on every request: 50 ms instead of 1 ms
    for a 50-case page out of 100k cases.)"""
    return stmt.limit(1).scalar_subquery().is_not(None)


def _agency_works(user: User):
    return _probe(select(CaseAgency.case_id).where(CaseAgency.case_id == Case.id,
                                                   CaseAgency.agency_id == user.agency_id))


def _named(user: User):
    return or_(Case.owner_id == user.id,
               _probe(select(CaseMember.case_id).where(CaseMember.case_id == Case.id, CaseMember.user_id == user.id)))


def full_clause(user: User):
    """SQL condition: `user` may read the case in full."""
    if user.role not in CASE_ROLES:
        return false()
    named = _named(user)
    if user.role == "coordinator":
        return or_(Case.locked.is_(False), named)
    return or_(named, (Case.locked.is_(False)) & _agency_works(user))


def listed_clause(user: User):
    """SQL condition: the case appears to `user` at all (in full or as a locked stub)."""
    if user.role not in CASE_ROLES:
        return false()
    if user.role == "coordinator":
        return true()
    return or_(_named(user), _agency_works(user))


def can_read_cases(user: User) -> bool:
    return user.role in CASE_ROLES
