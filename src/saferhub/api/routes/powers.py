"""Risk assessments and the ASB workflow (powers, alerts, Case Reviews)."""

from typing import Annotated

from fastapi import APIRouter, Query

from saferhub.api import schemas as S
from saferhub.api.deps import DB, CurrentUser, Id, Purpose, done
from saferhub.hub import services

router = APIRouter()


@router.get("/risk/questionnaires", tags=["risk"], response_model=list[S.QuestionnaireOut])
def questionnaires(user: CurrentUser) -> list[dict]:
    return services.questionnaires()


@router.post("/cases/{case_id}/risk-assessments", tags=["risk"], status_code=201, response_model=S.RiskOut)
def assess(case_id: Id, body: S.RiskIn, db: DB, user: CurrentUser) -> dict:
    return done(db, services.assess_risk(db, user, case_id, **body.model_dump()))


@router.post("/cases/{case_id}/asb-powers", tags=["asb"], status_code=201, response_model=S.PowerOut)
def use_power(case_id: Id, body: S.PowerIn, db: DB, user: CurrentUser) -> dict:
    return done(db, services.use_power(db, user, case_id, **body.model_dump()))


@router.get("/asb/alerts", tags=["asb"], response_model=list[S.AlertOut])
def alerts(db: DB, user: CurrentUser, purpose: Purpose = None,
           horizon_hours: Annotated[float, Query(ge=0, le=24 * 366)] = 72) -> list[dict]:
    return done(db, services.asb_alerts(db, user, purpose, horizon_hours))


@router.post("/asb/case-reviews", tags=["asb"], status_code=201, response_model=S.ReviewOut)
def case_review(body: S.CaseReviewIn, db: DB, user: CurrentUser) -> dict:
    return done(db, services.apply_case_review(db, user, **body.model_dump()))


@router.post("/asb/case-reviews/{app_id}/decision", tags=["asb"], response_model=S.ReviewOut)
def case_review_decision(app_id: Id, body: S.CaseReviewDecision, db: DB, user: CurrentUser) -> dict:
    return done(db, services.decide_case_review(db, user, app_id, recommendations=body.recommendations,
                                                on=body.decided_on))


@router.get("/asb/case-reviews/publication", tags=["asb"], response_model=S.PublicationOut)
def publication(db: DB, user: CurrentUser, year: Annotated[int, Query(ge=2014, le=2200)]) -> dict:
    """The yearly figures the Act requires to be published (aggregate; no personal data)."""
    return services.case_review_publication(db, user, year)
