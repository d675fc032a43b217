"""The JSON API routes: each validates its body (schemas), calls one service, commits."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response

from saferhub.api import schemas as S
from saferhub.api.deps import DB, CurrentUser, Purpose
from saferhub.hub import audit, security, services
from saferhub.hub.services import require_role

router = APIRouter()
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]


# ------------------------------------------------------------------ auth


@router.post("/auth/login", tags=["auth"])
def login(body: S.Login, request: Request, db: DB) -> dict:
    """Exchange e-mail and password for a bearer token (429 with Retry-After while throttled)."""
    result = security.attempt_login(db, body.email, body.password, security.client_address(request),
                                    limit=request.app.state.login_limit)
    if not result.throttle.allowed:
        raise HTTPException(429, result.throttle.reason + "; try again later",
                            headers={"Retry-After": str(result.throttle.retry_after)})
    user = result.user
    if user is None:
        db.commit()
        raise HTTPException(401, "wrong e-mail or password")
    token = security.issue_token(db, user)
    audit.append(db, user=user, action="login", entity="user", entity_ids=[user.id], purpose="sign in")
    db.commit()
    return {"token": token, "token_type": "bearer", "user": services.user_dict(user)}


@router.post("/auth/logout", tags=["auth"], status_code=204)
def logout(request: Request, db: DB, user: CurrentUser) -> Response:
    # the token exactly as `current_user` parsed and accepted it, however the header was spaced
    if not security.revoke_token(db, request.state.token):
        raise HTTPException(401, "the token is unknown or expired; sign in again")
    db.commit()
    return Response(status_code=204)


@router.get("/me", tags=["auth"])
def me(user: CurrentUser) -> dict:
    return services.user_dict(user)


# ------------------------------------------------------------------ agencies, users


@router.get("/agencies", tags=["admin"])
def agencies(db: DB, user: CurrentUser) -> list[dict]:
    return services.list_agencies(db)


@router.post("/agencies", tags=["admin"], status_code=201)
def create_agency(body: S.AgencyIn, db: DB, user: CurrentUser) -> dict:
    out = services.create_agency(db, user, body.code, body.name, body.kind, body.contact_email)
    db.commit()
    return out


@router.get("/users", tags=["admin"])
def users(db: DB, user: CurrentUser) -> list[dict]:
    out = services.list_users(db, user)
    db.commit()
    return out


@router.post("/users", tags=["admin"], status_code=201)
def create_user(body: S.UserIn, db: DB, user: CurrentUser) -> dict:
    out = services.create_user(db, user, **body.model_dump())
    db.commit()
    return out


@router.patch("/users/{user_id}", tags=["admin"])
def update_user(user_id: Id, body: S.UserPatch, db: DB, user: CurrentUser) -> dict:
    out = services.update_user(db, user, user_id, body.model_dump(exclude_unset=True))
    db.commit()
    return out


# ------------------------------------------------------------------ cases


@router.get("/cases", tags=["cases"])
def list_cases(db: DB, user: CurrentUser, purpose: Purpose = None,
               status: Literal["open", "closed"] | None = None, kind: S.CaseKind | None = None,
               mine: bool = False, limit: Annotated[int, Query(ge=1, le=500)] = 50,
               offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list[dict]:
    out = services.list_cases(db, user, purpose, status=status, kind=kind, mine=mine, limit=limit, offset=offset)
    db.commit()
    return out


@router.post("/cases", tags=["cases"], status_code=201)
def create_case(body: S.CaseIn, db: DB, user: CurrentUser) -> dict:
    d = body.model_dump()
    out = services.create_case(db, user, kind=d["kind"], title=d["title"], summary=d["summary"],
                               risk_level=d["risk"], locked=d["locked"], review_on=d["review_on"],
                               owner_id=d["owner_id"], location_id=d["location_id"])
    db.commit()
    return out


@router.get("/cases/{case_id}", tags=["cases"])
def get_case(case_id: Id, db: DB, user: CurrentUser, purpose: Purpose = None) -> dict:
    out = services.get_case(db, user, case_id, purpose)
    db.commit()
    return out


@router.patch("/cases/{case_id}", tags=["cases"])
def update_case(case_id: Id, body: S.CasePatch, db: DB, user: CurrentUser, purpose: Purpose = None) -> dict:
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version")
    out = services.update_case(db, user, case_id, version, changes, purpose)
    db.commit()
    return out


@router.post("/cases/{case_id}/agencies", tags=["cases"], status_code=201)
def share_case(case_id: Id, body: S.ShareIn, db: DB, user: CurrentUser) -> dict:
    out = services.add_case_agency(db, user, case_id, body.agency_id)
    db.commit()
    return out


@router.post("/cases/{case_id}/members", tags=["cases"], status_code=201)
def add_member(case_id: Id, body: S.MemberIn, db: DB, user: CurrentUser) -> dict:
    out = services.add_case_member(db, user, case_id, body.user_id)
    db.commit()
    return out


@router.post("/incidents", tags=["incidents"], status_code=201)
def record_incidents(body: S.IncidentsIn, db: DB, user: CurrentUser) -> dict:
    """Record partner incidents (up to 10,000 per call) for the rules; caller/victim keys are pseudonymous."""
    out = services.record_incidents(db, user, [i.model_dump() for i in body.incidents])
    db.commit()
    return out


@router.post("/cases/{case_id}/incidents", tags=["cases"])
def link_incidents(case_id: Id, body: S.IncidentLinks, db: DB, user: CurrentUser) -> dict:
    out = services.link_incidents(db, user, case_id, body.incident_ids)
    db.commit()
    return out


@router.get("/cases/{case_id}/incidents", tags=["cases"])
def case_incidents(case_id: Id, db: DB, user: CurrentUser, purpose: Purpose = None,
                   limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[dict]:
    out = services.case_incidents(db, user, case_id, purpose, limit)
    db.commit()
    return out


# ------------------------------------------------------------------ locations


@router.post("/locations", tags=["locations"], status_code=201)
def create_location(body: S.LocationIn, db: DB, user: CurrentUser) -> dict:
    out = services.create_location(db, user, **body.model_dump())
    db.commit()
    return out


@router.get("/locations/{location_id}", tags=["locations"])
def get_location(location_id: Id, db: DB, user: CurrentUser) -> dict:
    return services.get_location(db, user, location_id)


# ------------------------------------------------------------------ people


@router.post("/cases/{case_id}/people", tags=["people"], status_code=201)
def add_person(case_id: Id, body: S.CasePersonIn, db: DB, user: CurrentUser) -> dict:
    out = services.add_person_to_case(db, user, case_id, body.role, person_id=body.person_id,
                                      given_name=body.given_name, family_name=body.family_name,
                                      date_of_birth=body.date_of_birth)
    db.commit()
    return out


@router.post("/cases/{case_id}/notes", tags=["people"], status_code=201)
def add_note(case_id: Id, body: S.NoteIn, db: DB, user: CurrentUser) -> dict:
    out = services.add_note(db, user, case_id, body.person_id, body.kind, body.text)
    db.commit()
    return out


@router.get("/people/{person_id}", tags=["people"])
def get_person(person_id: Id, db: DB, user: CurrentUser, purpose: Purpose = None) -> dict:
    out = services.get_person(db, user, person_id, purpose)
    db.commit()
    return out


# ------------------------------------------------------------------ referrals


@router.post("/cases/{case_id}/referrals", tags=["referrals"], status_code=201)
def create_referral(case_id: Id, body: S.ReferralIn, db: DB, user: CurrentUser) -> dict:
    out = services.create_referral(db, user, case_id, **body.model_dump())
    db.commit()
    return out


@router.get("/referrals", tags=["referrals"])
def list_referrals(db: DB, user: CurrentUser, purpose: Purpose = None,
                   box: Literal["in", "out"] = "in") -> list[dict]:
    out = services.list_referrals(db, user, purpose, box)
    db.commit()
    return out


@router.post("/referrals/{referral_id}/response", tags=["referrals"])
def respond(referral_id: Id, body: S.ReferralResponse, db: DB, user: CurrentUser) -> dict:
    out = services.respond_referral(db, user, referral_id, body.accept, body.reason)
    db.commit()
    return out


# ------------------------------------------------------------------ actions


@router.post("/cases/{case_id}/actions", tags=["actions"], status_code=201)
def create_action(case_id: Id, body: S.ActionIn, db: DB, user: CurrentUser) -> dict:
    out = services.create_action(db, user, case_id, **body.model_dump())
    db.commit()
    return out


@router.get("/cases/{case_id}/actions", tags=["actions"])
def list_actions(case_id: Id, db: DB, user: CurrentUser, purpose: Purpose = None) -> list[dict]:
    out = services.list_actions(db, user, case_id, purpose)
    db.commit()
    return out


@router.patch("/actions/{action_id}", tags=["actions"])
def update_action(action_id: Id, body: S.ActionPatch, db: DB, user: CurrentUser) -> dict:
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version")
    out = services.update_action(db, user, action_id, version, changes)
    db.commit()
    return out


@router.get("/actions/overdue", tags=["actions"])
def overdue(db: DB, user: CurrentUser, purpose: Purpose = None) -> list[dict]:
    out = services.overdue_actions(db, user, purpose)
    db.commit()
    return out


# ------------------------------------------------------------------ risk


@router.get("/risk/questionnaires", tags=["risk"])
def questionnaires(user: CurrentUser) -> list[dict]:
    from saferhub.hub.risk import QUESTIONNAIRES

    return [{"name": q.name, "version": q.version,
             "questions": [{"key": x.key, "text": x.text, "weight": x.weight} for x in q.questions],
             "bands": [{"min_score": m, "band": b, "review_days": d} for m, b, d in q.bands]}
            for q in QUESTIONNAIRES.values()]


@router.post("/cases/{case_id}/risk-assessments", tags=["risk"], status_code=201)
def assess(case_id: Id, body: S.RiskIn, db: DB, user: CurrentUser) -> dict:
    out = services.assess_risk(db, user, case_id, questionnaire=body.questionnaire, answers=body.answers,
                               version=body.version, person_id=body.person_id)
    db.commit()
    return out


# ------------------------------------------------------------------ ASB workflow


@router.post("/cases/{case_id}/asb-powers", tags=["asb"], status_code=201)
def use_power(case_id: Id, body: S.PowerIn, db: DB, user: CurrentUser) -> dict:
    out = services.use_power(db, user, case_id, **body.model_dump())
    db.commit()
    return out


@router.get("/asb/alerts", tags=["asb"])
def alerts(db: DB, user: CurrentUser, purpose: Purpose = None,
           horizon_hours: Annotated[float, Query(ge=0, le=24 * 366)] = 72) -> list[dict]:
    out = services.asb_alerts(db, user, purpose, horizon_hours)
    db.commit()
    return out


@router.post("/asb/case-reviews", tags=["asb"], status_code=201)
def case_review(body: S.CaseReviewIn, db: DB, user: CurrentUser) -> dict:
    out = services.apply_case_review(db, user, **body.model_dump())
    db.commit()
    return out


@router.post("/asb/case-reviews/{app_id}/decision", tags=["asb"])
def case_review_decision(app_id: Id, body: S.CaseReviewDecision, db: DB, user: CurrentUser) -> dict:
    out = services.decide_case_review(db, user, app_id, recommendations=body.recommendations, on=body.decided_on)
    db.commit()
    return out


@router.get("/asb/case-reviews/publication", tags=["asb"])
def publication(db: DB, user: CurrentUser, year: Annotated[int, Query(ge=2014, le=2200)]) -> dict:
    """The yearly figures the Act requires to be published (aggregate; no personal data)."""
    return services.case_review_publication(db, user, year)


# ------------------------------------------------------------------ rules


@router.post("/rules/run", tags=["rules"])
def run_rules(body: S.RulesRun, db: DB, user: CurrentUser) -> dict:
    overrides = {k: v.model_dump(exclude_none=True) for k, v in body.overrides.items()}
    out = services.run_rules(db, user, overrides)
    db.commit()
    return out


@router.get("/rules/flags", tags=["rules"])
def flags(db: DB, user: CurrentUser, purpose: Purpose = None,
          rule: Annotated[str | None, Query(max_length=60)] = None,
          limit: Annotated[int, Query(ge=1, le=5000)] = 200) -> list[dict]:
    out = services.list_flags(db, user, purpose, rule, limit)
    db.commit()
    return out


# ------------------------------------------------------------------ OSARA plans


@router.post("/plans", tags=["plans"], status_code=201)
def create_plan(body: S.PlanIn, db: DB, user: CurrentUser) -> dict:
    out = services.create_plan(db, user, **body.model_dump())
    db.commit()
    return out


@router.get("/plans/{plan_id}", tags=["plans"])
def get_plan(plan_id: Id, db: DB, user: CurrentUser, purpose: Purpose = None) -> dict:
    out = services.get_plan(db, user, plan_id, purpose)
    db.commit()
    return out


@router.put("/plans/{plan_id}/stage", tags=["plans"])
def set_stage(plan_id: Id, body: S.PlanStage, db: DB, user: CurrentUser) -> dict:
    out = services.set_plan_stage(db, user, plan_id, body.version, body.stage, body.content)
    db.commit()
    return out


@router.post("/plans/{plan_id}/advance", tags=["plans"])
def advance(plan_id: Id, db: DB, user: CurrentUser) -> dict:
    out = services.advance_plan(db, user, plan_id)
    db.commit()
    return out


@router.get("/plans/{plan_id}/export", tags=["plans"], response_class=PlainTextResponse)
def export_plan(plan_id: Id, db: DB, user: CurrentUser, purpose: Purpose = None) -> str:
    out = services.export_plan(db, user, plan_id, purpose)
    db.commit()
    return out


# ------------------------------------------------------------------ audit


@router.get("/audit/verify", tags=["audit"])
def audit_verify(db: DB, user: CurrentUser) -> dict:
    require_role(user, "admin")
    v = audit.verify(db)
    return {"ok": v.ok, "rows": v.rows, "first_bad_seq": v.first_bad_seq, "problem": v.problem}


@router.get("/audit/export", tags=["audit"])
def audit_export(db: DB, user: CurrentUser, format: Literal["csv", "json"] = "csv") -> Response:
    require_role(user, "admin")
    text = audit.export(db, format)
    audit.append(db, user=user, action="export", entity="audit", entity_ids=[], purpose="audit export")
    db.commit()
    media = "application/json" if format == "json" else "text/csv"
    return Response(text, media_type=media)


@router.get("/health", tags=["service"])
def health() -> dict:
    return {"ok": True, "time": dt.datetime.now(dt.timezone.utc).isoformat()}
