"""The audit trail as administrators browse it (`/web/admin/audit`): newest first, a page at a
time, optionally one entity. Administrators only (`access.require_role`); browsing is itself
logged (entity "audit", the rows shown), like the export.

Records are named for a person (issue 20): "case 12 (ASB, Central ward)",
"referral 4 to Merseyside Fire", "action 9 on case 12", "user 3 (Ann Lee, Wirral Council)",
"person 7". Administrators read no case records, so a name carries only what is not personal: a
case's kind and the ward its location is in (never its title, summary or address), a referral's
receiving agency, staff names (administrators manage users). People, places, plans and the rest
are named by kind and id only."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from saferhub.hub import audit
from saferhub.hub.access import require_role
from saferhub.hub.models import Action, Agency, AuditEvent, Case, Location, Referral, User

PAGE = 100
NAMED = 5  # ids named per row; the rest are counted ("and 40 more")
KIND_WORDS = {"case_stub": "case (locked summary)", "asb_power": "ASB power", "case_review": "ASB Case Review application",
              "missing_person": "missing person", "missing_home": "home", "missing_episode": "missing episode",
              "missing_profile": "missing person profile", "report_file": "report file", "rule_flag": "rule flag",
              "case_person": "person", "person_note": "note about person", "audit": "the audit trail"}


def _ids(row: AuditEvent) -> list[int]:
    return [int(t) for t in (row.entity_ids or "").split(",") if t.strip().isdigit()]


def record_names(db: Session, user: User, rows: list[AuditEvent]) -> dict[int, str]:
    """{seq: "case 12 (ASB, Central ward)"} for the rows shown: non-personal
    descriptors only (see the module's docstring). Administrators only, like the trail."""
    require_role(user, "admin")
    want: dict[str, set[int]] = {}
    for r in rows:
        want.setdefault(r.entity, set()).update(_ids(r)[:NAMED])
    agencies = {a.id: a.name for a in db.scalars(select(Agency))}
    cases, refs, acts, users = {}, {}, {}, {}
    if want.get("case") or want.get("case_stub"):
        ids = sorted(want.get("case", set()) | want.get("case_stub", set()))
        for cid, kind, ward in db.execute(select(Case.id, Case.kind, Location.ward)
                                          .outerjoin(Location, Location.id == Case.location_id).where(Case.id.in_(ids))):
            word = kind.upper() if kind in ("asb", "iom") else kind.replace("_", " ")
            cases[cid] = word + (f", {ward} ward" if ward else "")
    if want.get("referral"):
        refs = {i: agencies.get(a, "another agency") for i, a in
                db.execute(select(Referral.id, Referral.to_agency_id).where(Referral.id.in_(sorted(want["referral"]))))}
    if want.get("action"):
        acts = dict(db.execute(select(Action.id, Action.case_id).where(Action.id.in_(sorted(want["action"])))).all())
    if want.get("user"):
        users = {i: f"{n}, {agencies.get(a, '')}".rstrip(", ") for i, n, a in
                 db.execute(select(User.id, User.name, User.agency_id).where(User.id.in_(sorted(want["user"]))))}

    def one(entity: str, i: int) -> str:
        word = KIND_WORDS.get(entity, entity.replace("_", " "))
        if entity in ("case", "case_stub") and i in cases:
            return f"{word} {i} ({cases[i]})"
        if entity == "referral" and i in refs:
            return f"referral {i} to {refs[i]}"
        if entity == "action" and i in acts:
            return f"action {i} on case {acts[i]}"
        if entity == "user" and i in users:
            return f"user {i} ({users[i]})"
        if entity == "agency" and i in agencies:
            return f"agency {i} ({agencies[i]})"
        return f"{word} {i}"

    out = {}
    for r in rows:
        ids = _ids(r)
        if not ids:  # a read that found nothing (an empty inbox), or the trail itself
            word = KIND_WORDS.get(r.entity, r.entity.replace("_", " "))
            out[r.seq] = word if r.entity == "audit" else f"{word} records: none"
            continue
        text = "; ".join(one(r.entity, i) for i in ids[:NAMED])
        out[r.seq] = text + (f"; and {len(ids) - NAMED:,} more" if len(ids) > NAMED else "")
    return out


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
