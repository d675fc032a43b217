"""Request bodies. Limits match the database columns, so an over-long value is a 422, not a 500."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from saferhub.api.schemas import plain
from saferhub.hub import osara_content
from saferhub.hub.security import valid_email
from saferhub.hub.models import (
    AGENCY_KINDS,
    CASE_KINDS,
    PERSON_ROLES,
    REFERRAL_KINDS,
    ROLES,
)


def _no_nul(v: str) -> str:
    """NUL, control characters other than line breaks and tabs, broken Unicode: `plain.check`, the
    rule the web forms use too."""
    return plain.check(v, multiline=True)


def _sane_date(v):
    if v is None:
        return v
    year = v.year
    if not 1900 <= year <= 2200:
        raise ValueError("dates must be between 1900 and 2200")
    return v


def Text(max_length: int, min_length: int = 1):  # noqa: N802 - a type factory
    # the pattern documents `plain`'s rule in /openapi.json (so clients and fuzzers know it); the
    # validator enforces it with a plain-words message
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
                     AfterValidator(_no_nul), WithJsonSchema({"type": "string", "minLength": min_length,
                                                              "maxLength": max_length, "pattern": plain.PATTERN})]


Date = Annotated[dt.date, AfterValidator(_sane_date)]
DateTime = Annotated[dt.datetime, AfterValidator(_sane_date)]
Id = Annotated[int, Field(ge=1, le=2_147_483_647)]

CaseKind = Literal[CASE_KINDS]  # type: ignore[valid-type]
Risk = Literal["standard", "medium", "high"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Login(Strict):
    email: Text(200)
    password: Annotated[str, Field(min_length=1, max_length=1000)]


class AgencyIn(Strict):
    code: Text(40)
    name: Text(200)
    kind: Literal[AGENCY_KINDS]  # type: ignore[valid-type]
    contact_email: Text(200) | None = None


class UserIn(Strict):
    email: Annotated[Text(200), AfterValidator(valid_email)]  # the same check as services.add_user
    name: Text(200)
    agency_id: Id
    role: Literal[ROLES]  # type: ignore[valid-type]
    password: Annotated[str, Field(min_length=12, max_length=1000)]


class LocationIn(Strict):
    """A place: give a UPRN, coordinates (WGS84; BNG x/y are derived) or both."""

    uprn: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,12}$")] | None = None
    description: Text(300) | None = None
    lon: Annotated[float, Field(ge=-8.7, le=1.8)] | None = None   # Great Britain's extent
    lat: Annotated[float, Field(ge=49.8, le=60.9)] | None = None
    lsoa: Annotated[str, StringConstraints(pattern=r"^[EW]0[0-9]{7}$")] | None = None
    ward: Text(100) | None = None
    beat: Text(50) | None = None


class IncidentIn(Strict):
    """A partner-recorded incident. Caller and victim are pseudonymous keys (e.g. a person id or a
    keyed hash of a phone number), never names: the rules only need to know "the same caller"."""

    occurred_at: DateTime | None = None
    month: Date | None = None
    category: Text(60)
    event_id: Text(300) | None = None
    location_key: Text(120) | None = None
    location_text: Text(200) | None = None
    lsoa: Annotated[str, StringConstraints(pattern=r"^[EW]0[0-9]{7}$")] | None = None
    caller_ref: Text(64) | None = None
    caller_is_child: bool = False
    victim_ref: Text(64) | None = None


class IncidentsIn(Strict):
    incidents: Annotated[list[IncidentIn], Field(min_length=1, max_length=10000)]


class IncidentLinks(Strict):
    incident_ids: Annotated[list[Id], Field(min_length=1, max_length=10000)]


class UserPatch(Strict):
    active: bool | None = None
    role: Literal[ROLES] | None = None  # type: ignore[valid-type]
    agency_id: Id | None = None


class CaseIn(Strict):
    kind: CaseKind
    title: Text(200)
    summary: Text(20000) | None = None
    risk: Risk = "standard"
    locked: bool = False
    review_on: Date | None = None
    owner_id: Id | None = None
    location_id: Id | None = None


class CasePatch(Strict):
    version: Annotated[int, Field(ge=1, le=2_147_483_647)]
    title: Text(200) | None = None
    summary: Text(20000) | None = None
    risk: Risk | None = None
    status: Literal["open", "closed"] | None = None
    review_on: Date | None = None
    locked: bool | None = None
    kind: CaseKind | None = None


class ShareIn(Strict):
    agency_id: Id


class MemberIn(Strict):
    user_id: Id


class CasePersonIn(Strict):
    role: Literal[PERSON_ROLES]  # type: ignore[valid-type]
    person_id: Id | None = None
    given_name: Text(100) | None = None
    family_name: Text(100) | None = None
    date_of_birth: Date | None = None


class NoteIn(Strict):
    person_id: Id
    kind: Literal["fact", "opinion"]
    text: Text(20000)


class ReferralIn(Strict):
    to_agency_id: Id
    kind: Literal[REFERRAL_KINDS]  # type: ignore[valid-type]
    reason: Text(5000)
    legal_gateway: Text(200)


class ReferralResponse(Strict):
    accept: bool
    reason: Text(5000) | None = None


class ActionIn(Strict):
    title: Text(300)
    assignee_id: Id | None = None
    due_on: Date | None = None


class ActionPatch(Strict):
    version: Annotated[int, Field(ge=1, le=2_147_483_647)]
    title: Text(300) | None = None
    status: Literal["open", "done", "cancelled"] | None = None
    outcome: Text(5000) | None = None
    due_on: Date | None = None


class RiskIn(Strict):
    questionnaire: Text(60) = "asb-victim-risk"
    version: Annotated[int, Field(ge=1, le=1000)] | None = None
    answers: dict[Annotated[str, StringConstraints(max_length=60)], bool]
    person_id: Id | None = None


class PowerIn(Strict):
    power: Literal["cpw", "cpn", "fpn", "dispersal", "closure_notice", "closure_order", "pspo"]
    issued_at: DateTime
    expires_at: DateTime | None = None
    grounds: Text(5000)
    person_id: Id | None = None
    recipient_age: Annotated[int, Field(ge=0, le=130)] | None = None
    amount_gbp: Annotated[int, Field(ge=0, le=100000)] | None = None
    authorised_by: Text(200) | None = None
    extends_id: Id | None = None


class CaseReviewIn(Strict):
    applicant_ref: Text(64)
    received_on: Date
    case_id: Id | None = None


class CaseReviewDecision(Strict):
    recommendations: Text(20000) | None = None
    decided_on: Date | None = None


class RuleOverride(Strict):
    threshold: Annotated[int, Field(ge=1, le=100000)] | None = None
    window: Annotated[int, Field(ge=1, le=1200)] | None = None


class RulesRun(Strict):
    overrides: dict[Annotated[str, StringConstraints(max_length=60)], RuleOverride] = {}


class PlanIn(Strict):
    title: Text(200)
    objective: Text(5000)
    case_id: Id | None = None
    areas: list[Text(120)] = []


class PlanEvaluation(Strict):
    """Take the assessment's figures from a stored evaluation run (`saferhub evaluate`)."""

    version: Annotated[int, Field(ge=1, le=2_147_483_647)]
    run_id: Annotated[str, Field(pattern=r"^EV-[0-9A-Za-z]{4,64}$")]


class _Stage(Strict):
    version: Annotated[int, Field(ge=1, le=2_147_483_647)]


class ScanningStage(_Stage):
    stage: Literal["scanning"]
    content: osara_content.Scanning


class AnalysisStage(_Stage):
    stage: Literal["analysis"]
    content: osara_content.Analysis


class ResponseStage(_Stage):
    stage: Literal["response"]
    content: osara_content.Response


class AssessmentStage(_Stage):
    stage: Literal["assessment"]
    content: osara_content.Assessment


# Content for one OSARA stage, typed per stage (saferhub.hub.osara_content: bounded text and lists).
PlanStage = Annotated[Union[ScanningStage, AnalysisStage, ResponseStage, AssessmentStage],
                      Field(discriminator="stage")]


class PlanPublic(Strict):
    """Publish a plan as "you said, we did" (coordinators only): the approved public wording.
    `public: false` withdraws it (the texts may then be empty)."""

    version: Annotated[int, Field(ge=1, le=2_147_483_647)]
    public: bool
    title: Text(200, 0) = ""
    done: Text(1000, 0) = ""
    outcome: Text(1000, 0) = ""
