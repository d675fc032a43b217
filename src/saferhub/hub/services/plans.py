"""OSARA problem-solving plans (stages, gates and export in `saferhub.hub.osara`). Who may open a
plan is `access.plan_for`: through its case, or its lead agency when it has no case."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from saferhub.hub import audit, osara
from saferhub.hub.access import case_for, plan_for, plans_query, require_case_role, require_role
from saferhub.hub.errors import NotFound
from saferhub.hub.models import Agency, Plan, User
from saferhub.hub.services.common import created, versioned, write_log


def plan_dict(p: Plan) -> dict:
    return {"id": p.id, "case_id": p.case_id, "title": p.title, "lead_agency_id": p.lead_agency_id,
            "owner_id": p.owner_id, "stage": p.stage, "objective": p.objective, "scanning": p.scanning,
            "analysis": p.analysis, "responses": p.responses, "assessment": p.assessment, "areas": p.areas,
            "version": p.version, "missing_for_next_stage": osara.missing(p.stage, p)}


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
