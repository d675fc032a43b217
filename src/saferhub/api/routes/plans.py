"""OSARA problem-solving plans."""

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from saferhub.api import schemas as S
from saferhub.api.deps import DB, CurrentUser, Id, Purpose, done
from saferhub.hub import services
from saferhub.hub.errors import HubError

router = APIRouter(tags=["plans"])


@router.post("/plans", status_code=201, response_model=S.PlanOut)
def create_plan(body: S.PlanIn, db: DB, user: CurrentUser) -> dict:
    return done(db, services.create_plan(db, user, **body.model_dump()))


@router.get("/plans/{plan_id}", response_model=S.PlanOut)
def get_plan(plan_id: Id, db: DB, user: CurrentUser, purpose: Purpose = None) -> dict:
    return done(db, services.get_plan(db, user, plan_id, purpose))


@router.put("/plans/{plan_id}/stage", response_model=S.PlanOut)
def set_stage(plan_id: Id, body: S.PlanStage, db: DB, user: CurrentUser) -> dict:
    return done(db, services.set_plan_stage(db, user, plan_id, body.version, body.stage, body.content))


@router.put("/plans/{plan_id}/assessment/evaluation", response_model=S.PlanOut)
def assess_from_evaluation(plan_id: Id, body: S.PlanEvaluation, db: DB, user: CurrentUser) -> dict:
    """Fill the assessment stage from an evaluation run's stored figures (by its id)."""
    from saferhub.evaluate.service import list_runs, load_run, summary_for_assessment

    def summary(run_id: str) -> dict:
        if run_id not in list_runs():  # named by id only: the store's folder is not the caller's business
            raise HubError(f"no evaluation run {run_id!r}")
        return summary_for_assessment(load_run(run_id))

    return done(db, services.assess_from_evaluation(db, user, plan_id, body.version, body.run_id, summary))


@router.post("/plans/{plan_id}/advance", response_model=S.PlanOut)
def advance(plan_id: Id, db: DB, user: CurrentUser) -> dict:
    return done(db, services.advance_plan(db, user, plan_id))


@router.get("/plans/{plan_id}/export", response_class=PlainTextResponse,
            responses=S.ERRORS_AS_JSON | {200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                                                "description": "the plan as Markdown (award-entry structure)"}})
def export_plan(plan_id: Id, db: DB, user: CurrentUser, purpose: Purpose = None) -> str:
    return done(db, services.export_plan(db, user, plan_id, purpose))


@router.put("/plans/{plan_id}/public", response_model=S.PublicPlanOut)
def set_public(plan_id: Id, body: S.PlanPublic, db: DB, user: CurrentUser) -> dict:
    """Publish (or withdraw) the plan's approved "you said, we did" summary on the public pages."""
    return done(db, services.set_plan_public(db, user, plan_id, body.version, body.public, body.title, body.done,
                                             body.outcome))
