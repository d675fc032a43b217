"""Rules over incidents: evaluate every rule and store its flags; list flags (purpose-logged:
a flag names a pseudonymous caller, victim or place key)."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from saferhub.hub import audit
from saferhub.hub import rules as rules_mod
from saferhub.hub.access import require_role
from saferhub.hub.errors import HubError
from saferhub.hub.models import RuleFlag, User, utcnow
from saferhub.hub.services.common import write_log
from saferhub.hub.services.places import incidents_frame


def run_rules(db: Session, user: User | None, overrides: dict[str, dict] | None = None) -> dict:
    """Evaluate every rule over all incidents and replace the stored flags (`user` None: the CLI,
    which logs the run itself)."""
    if user is not None:
        require_role(user, "coordinator", "analyst", "admin")
    unknown = set(overrides or {}) - {r.name for r in rules_mod.DEFAULT_RULES}
    if unknown:
        raise HubError(f"unknown rules {sorted(unknown)}")
    chosen = []
    for r in rules_mod.DEFAULT_RULES:
        ch = (overrides or {}).get(r.name)
        chosen.append(rules_mod.rule_with(r, **ch) if ch else r)
    df = incidents_frame(db)
    flags = rules_mod.evaluate(df, chosen)
    db.execute(delete(RuleFlag))
    params = {r.name: r.params() for r in chosen}
    now = utcnow()
    if len(flags):
        recs = flags.drop(columns=["incidents_total"]).assign(
            params=[params[n] for n in flags["rule"]], evaluated_at=now,
            count=flags["count"].astype(int), rule_version=flags["rule_version"].astype(int),
        ).to_dict("records")
        db.execute(insert(RuleFlag), recs)
    if user is not None:
        write_log(db, user, "evaluate", "rules", [], None, {"flags": int(len(flags))})
    return {"incidents": int(len(df)), "flags": flags.groupby("rule").size().astype(int).to_dict() if len(flags) else {},
            "rules": [{"name": r.name, "version": r.version} | r.params() for r in chosen]}


def list_flags(db: Session, user: User, purpose: str | None, rule: str | None = None, limit: int = 200) -> list[dict]:
    """Flags name a pseudonymous caller / victim key: personal data, so purpose-logged."""
    require_role(user, "coordinator", "analyst")
    purpose = audit.check_purpose(purpose)
    q = select(RuleFlag).order_by(RuleFlag.first_triggered.desc(), RuleFlag.id).limit(limit)
    if rule:
        q = q.where(RuleFlag.rule == rule)
    rows = db.scalars(q).all()
    audit.disclose(db, user, purpose, "rule_flag", [r.id for r in rows])
    return [{"id": r.id, "rule": r.rule, "rule_version": r.rule_version, "subject_kind": r.subject_kind,
             "subject_key": r.subject_key, "first_triggered": r.first_triggered, "count": r.count,
             "params": r.params} for r in rows]
