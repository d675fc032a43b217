"""Children missing from home or care: homes, missing people, episodes, Philomena profiles,
patterns, the rules that raise referrals, and each agency's alerts. Reads need X-Purpose."""

from typing import Annotated

from fastapi import APIRouter, Query

from saferhub.api import schemas as S
from saferhub.api.deps import DB, CurrentUser, Id, Purpose, done
from saferhub.hub.services import missing, missing_alerts, missing_figures

router = APIRouter(tags=["missing"])


@router.post("/missing/homes", status_code=201, response_model=S.HomeOut)
def create_home(body: S.HomeIn, db: DB, user: CurrentUser) -> dict:
    """Register a home (police and council case roles)."""
    return done(db, missing.create_home(db, user, **body.model_dump()))


@router.get("/missing/homes", response_model=list[S.HomeOut])
def list_homes(db: DB, user: CurrentUser, purpose: Purpose = None) -> list[dict]:
    """Homes you may see: police all; a council the homes in its area; staff their own."""
    return done(db, missing.list_homes(db, user, purpose))


@router.post("/missing/homes/{home_id}/staff", status_code=201, response_model=S.StaffOut)
def add_staff(home_id: Id, body: S.StaffIn, db: DB, user: CurrentUser) -> dict:
    """Name a member of the home's staff (a coordinator of the agency that runs it)."""
    return done(db, missing.add_home_staff(db, user, home_id, body.user_id))


@router.get("/missing/homes/{home_id}/pattern", response_model=S.HomePatternOut)
def home_pattern(home_id: Id, db: DB, user: CurrentUser, purpose: Purpose = None) -> dict:
    """The home's last 12 months against comparable homes, with exact intervals."""
    return done(db, missing.home_pattern(db, user, home_id, purpose))


@router.post("/missing/people", status_code=201, response_model=S.MissingPersonOut)
def create_person(body: S.MissingPersonIn, db: DB, user: CurrentUser) -> dict:
    return done(db, missing.create_missing_person(db, user, **body.model_dump()))


@router.get("/missing/people", response_model=list[S.MissingPersonOut])
def list_people(db: DB, user: CurrentUser, purpose: Purpose = None,
                limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[dict]:
    return done(db, missing.list_missing_people(db, user, purpose, limit))


@router.get("/missing/people/{missing_person_id}", response_model=S.MissingPersonDetail)
def get_person(missing_person_id: Id, db: DB, user: CurrentUser, purpose: Purpose = None) -> dict:
    """The person, the episodes you may see and their pattern; where found for the police only."""
    return done(db, missing.get_missing_person(db, user, missing_person_id, purpose))


@router.post("/missing/people/{missing_person_id}/episodes", status_code=201, response_model=S.EpisodeOut)
def record_episode(missing_person_id: Id, body: S.EpisodeIn, db: DB, user: CurrentUser) -> dict:
    data = body.model_dump()
    return done(db, missing.record_episode(db, user, missing_person_id, **data))


@router.patch("/missing/episodes/{episode_id}", response_model=S.EpisodeOut)
def update_episode(episode_id: Id, body: S.EpisodePatch, db: DB, user: CurrentUser) -> dict:
    """Return, return interview; risk grading and where found (police). Send the `version` you read."""
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version")
    return done(db, missing.update_episode(db, user, episode_id, version, changes))


@router.put("/missing/people/{missing_person_id}/profile", response_model=S.ProfileOut)
def put_profile(missing_person_id: Id, body: S.ProfileIn, db: DB, user: CurrentUser) -> dict:
    """Prepare or update the Philomena profile (the holding agencies only, once it exists)."""
    data = body.model_dump(exclude_unset=True)
    holders, version = data.pop("holders", []), data.pop("version", None)
    return done(db, missing.put_profile(db, user, missing_person_id, data, holders, version))


@router.get("/missing/people/{missing_person_id}/profile", response_model=S.ProfileOut)
def get_profile(missing_person_id: Id, db: DB, user: CurrentUser, purpose: Purpose = None) -> dict:
    return done(db, missing.get_profile(db, user, missing_person_id, purpose))


@router.get("/missing/shares", response_model=S.SharesOut)
def shares(db: DB, user: CurrentUser) -> dict:
    """Under-18s and from-care shares over the last 12 months, Wilson intervals (aggregates)."""
    return done(db, missing_figures.partnership_shares(db, user))


@router.get("/missing/found-places", response_model=list[S.FoundPlaceOut])
def found_places(db: DB, user: CurrentUser, purpose: Purpose = None,
                 days: Annotated[int, Query(ge=1, le=3650)] = 365) -> list[dict]:
    """Where missing people were found away from home, by place (police only)."""
    return done(db, missing_figures.found_places(db, user, purpose, days=days))


@router.post("/missing/rules/run", response_model=S.MissingRulesRunOut)
def run_rules(db: DB, user: CurrentUser) -> dict:
    """Evaluate the missing-episode rules; new hits raise referrals (coordinators)."""
    return done(db, missing_alerts.run_missing_rules(db, user))


@router.get("/missing/alerts", response_model=list[S.MissingAlertOut])
def alerts(db: DB, user: CurrentUser, purpose: Purpose = None) -> list[dict]:
    """Your agency's rule hits of the last 30 days (sent or received referrals)."""
    return done(db, missing_alerts.missing_alerts(db, user, purpose))
