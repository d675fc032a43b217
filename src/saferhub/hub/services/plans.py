"""OSARA problem-solving plans (stages, gates and export in `saferhub.hub.osara`). Who may open a
plan is `access.plan_for`: through its case, or its lead agency when it has no case."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from saferhub.hub import audit, osara
from saferhub.hub.access import case_for, plan_for, plans_query, require_case_role, require_role
from saferhub.hub.errors import HubError, NotFound
from saferhub.hub.models import Agency, Plan, User
from saferhub.hub.services.common import created, versioned, write_log


def plan_dict(p: Plan) -> dict:
    """The plan as shown: stage content through `osara.view`, so content an older version stored
    in a shape it cannot show is left out and named in `unreadable` (never a failed read)."""
    v = osara.view(p)
    return {"id": p.id, "case_id": p.case_id, "title": p.title, "lead_agency_id": p.lead_agency_id,
            "owner_id": p.owner_id, "stage": p.stage, "objective": p.objective, "scanning": v.scanning,
            "analysis": v.analysis, "responses": v.responses, "assessment": v.assessment, "areas": v.areas,
            "version": p.version, "missing_for_next_stage": osara.missing(p.stage, v), "unreadable": v.unreadable}


def create_plan(db: Session, user: User, *, title: str, objective: str, case_id: int | None = None,
                areas: list[str] | None = None) -> dict:
    require_role(user, "coordinator", "caseworker")
    if case_id is not None:
        case_for(db, user, case_id)
    p = Plan(title=title, objective=objective, case_id=case_id, lead_agency_id=user.agency_id, owner_id=user.id,
             areas=areas or [], scanning={}, analysis={}, responses=[], assessment={})
    created(db, user, p, "plan")
    return plan_dict(p)


def get_plan(db: Session, user: User, plan_id: int, purpose: str | None) -> dict:
    """Plans' analysis may describe offenders and victims: a purpose-logged read."""
    purpose = audit.check_purpose(purpose)
    p = plan_for(db, user, plan_id)
    audit.disclose(db, user, purpose, "plan", [p.id])
    return plan_dict(p)


def list_plans(db: Session, user: User, purpose: str | None, limit: int = 200) -> list[dict]:
    """The newest plans the user may open (`access.plans_query`, the decision `plan_for` makes for
    one plan), purpose-logged like a single read."""
    require_case_role(user, "problem-solving plans")
    purpose = audit.check_purpose(purpose)
    plans = db.scalars(plans_query(user).order_by(Plan.id.desc()).limit(limit)).all()
    audit.disclose(db, user, purpose, "plan", [p.id for p in plans], {"list": True})
    return [plan_dict(p) for p in plans]


def set_plan_stage(db: Session, user: User, plan_id: int, version: int, stage: str, content) -> dict:
    p = plan_for(db, user, plan_id)
    with versioned(db, p, version, f"plan {plan_id}"):
        osara.can_edit(p.stage, stage)
        value = osara.validate_stage(stage, content)
        if stage == "response":
            for r in value:
                if db.get(Agency, r["partner_agency_id"]) is None:
                    raise NotFound(f"no agency {r['partner_agency_id']}")
        setattr(p, "responses" if stage == "response" else stage, value)
    write_log(db, user, "update", "plan", [p.id], None, {"stage": stage})
    return plan_dict(p)


def assess_from_evaluation(db: Session, user: User, plan_id: int, version: int, run_id: str,
                           load_summary) -> dict:
    """The assessment stage from an evaluation run, not hand-typed numbers. `load_summary(run_id)`
    gives the run's figures (the caller passes saferhub.evaluate's reader: the hub never imports
    the analysis packages). Access is checked before the run is read."""
    plan_for(db, user, plan_id)
    figures = dict(load_summary(run_id))
    content = {k: v for k, v in figures.items() if v is not None}
    content["evaluation_ref"] = run_id
    for key, value in (("before", figures.get("events_before")), ("after", figures.get("events_after"))):
        content.pop(key, None)  # the run's periods are kept as before_period / after_period
        if value is not None:
            content[key] = value
    content["before_period"], content["after_period"] = figures.get("before"), figures.get("after")
    return set_plan_stage(db, user, plan_id, version, "assessment", content)


def advance_plan(db: Session, user: User, plan_id: int) -> dict:
    p = plan_for(db, user, plan_id)
    p.stage = osara.next_stage(p)
    db.flush()
    write_log(db, user, "update", "plan", [p.id], None, {"advanced_to": p.stage})
    return plan_dict(p)


def export_plan(db: Session, user: User, plan_id: int, purpose: str | None) -> str:
    purpose = audit.check_purpose(purpose)
    p = plan_for(db, user, plan_id)
    names = {a.id: a.name for a in db.scalars(select(Agency))}
    audit.append(db, user=user, action="export", entity="plan", entity_ids=[p.id], purpose=purpose)
    return osara.export_markdown(p, names)


# ---------------------------------------------------------------- "you said, we did" (public)

PUBLIC_FIELDS = ("title", "done", "outcome")
_PUBLIC_REFUSE = re.compile(r"HUB-\d+|@|\b0\d{3}\s?\d{3}\s?\d{3,4}\b|\b\d{5,}\b")  # case refs, emails, phones, ids


def _screen_public_text(db: Session, p: Plan, texts: dict) -> None:
    """Public text is the coordinator's approved wording, and still refuses what must never be
    published: a case reference, an email address, a phone or reference number, or the name of
    anyone on the plan's case or of any hub user."""
    from saferhub.hub.models import CasePerson, Person

    names = set()
    if p.case_id is not None:
        names |= {n for g, f in db.execute(select(Person.given_name, Person.family_name).join(
            CasePerson, CasePerson.person_id == Person.id).where(CasePerson.case_id == p.case_id)) for n in (g, f, f"{g} {f}")}
    names |= {u.name for u in db.scalars(select(User))}
    for field, text in texts.items():
        if _PUBLIC_REFUSE.search(text):
            raise HubError(f"the public {field} may not hold a case reference, email, phone or reference number")
        low = f" {text.lower()} "
        for n in names:
            if n and len(n) > 2 and re.search(rf"\b{re.escape(n.lower())}\b", low):
                raise HubError(f"the public {field} names a person ({n!r}); describe what was done, not who")


def may_publish(user: User) -> bool:
    """Does this user publish plans to the public pages (set_plan_public's rule)? Pages show the form."""
    return user.role == "coordinator"


def public_summary(db: Session, user: User, plan_id: int) -> dict:
    """The plan's public state for its page: {"public", "title", "done", "outcome", "approved_at"}
    (the plan is read by get_plan, access-checked and logged; this adds only the approved wording)."""
    p = plan_for(db, user, plan_id)
    return public_plan_dict(p) | {"public": bool(p.public)}


def set_plan_public(db: Session, user: User, plan_id: int, version: int, public: bool, title: str = "",
                    done: str = "", outcome: str = "") -> dict:
    """A coordinator publishes (or withdraws) a plan's "you said, we did" summary: the approved
    title, what was done and the outcome, nothing else of the plan."""
    require_role(user, "coordinator")
    p = plan_for(db, user, plan_id)
    texts = {"title": title.strip(), "done": done.strip(), "outcome": outcome.strip()}
    if public:
        empty = [k for k, v in texts.items() if not v]
        if empty:
            raise HubError(f"a public plan needs its approved {', '.join(empty)}")
        _screen_public_text(db, p, texts)
    with versioned(db, p, version, f"plan {plan_id}"):
        p.public = bool(public)
        p.public_summary = (texts | {"approved_by": user.id,
                                     "approved_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
                            ) if public else None
    write_log(db, user, "update", "plan", [p.id], None, {"public": bool(public)})
    return public_plan_dict(p) | {"public": p.public, "version": p.version}


def public_plan_dict(p: Plan) -> dict:
    s = p.public_summary or {}
    return {"id": p.id, "title": s.get("title"), "done": s.get("done"), "outcome": s.get("outcome"),
            "areas": [str(a) for a in (p.areas or [])], "stage": p.stage, "approved_at": s.get("approved_at")}


def public_plans(db: Session) -> list[dict]:
    """Every published plan's approved summary, for the public pages. No user is needed: only
    text a coordinator approved for publication leaves here (no people, cases or analysis)."""
    rows = db.scalars(select(Plan).where(Plan.public.is_(True)).order_by(Plan.id))
    return [public_plan_dict(p) for p in rows if p.public_summary]
