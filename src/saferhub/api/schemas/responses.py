"""What the API returns: one model per JSON answer, so /openapi.json documents every output and
clients (the dashboard included) have a contract. Field names follow the services' dicts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Union

from pydantic import BaseModel, Field


class Out(BaseModel):
    pass


class Ref(Out):
    id: int
    name: str


class UserOut(Out):
    id: int
    email: str
    name: str
    agency_id: int
    agency: str | None
    role: str
    active: bool


class TokenOut(Out):
    token: str
    token_type: Literal["bearer"]
    user: UserOut


class AgencyOut(Out):
    id: int
    code: str
    name: str
    kind: str
    contact_email: str | None


class CaseOut(Out):
    id: int
    ref: str
    access: Literal["full"]
    kind: str
    title: str
    summary: str | None
    lead_agency: Ref
    owner: Ref
    risk: str
    status: str
    locked: bool
    location_id: int | None
    opened_on: dt.date
    review_on: dt.date | None
    closed_on: dt.date | None
    version: int
    agencies: list[int] | None = None


class CaseDetail(CaseOut):
    people: dict[str, list[Ref]]
    open_actions: int


class Contact(Out):
    name: str
    agency: str
    email: str


class CaseStub(Out):
    """A locked case the user's agency works: that it exists, and whom to ask."""

    id: int
    ref: str
    access: Literal["stub"]
    locked: Literal[True]
    contact: Contact


CaseListItem = Annotated[Union[CaseOut, CaseStub], Field(discriminator="access")]
CaseRead = Annotated[Union[CaseDetail, CaseStub], Field(discriminator="access")]


class ShareOut(Out):
    case_id: int
    agency_id: int


class MemberOut(Out):
    case_id: int
    user_id: int


class IncidentsRecorded(Out):
    recorded: int
    first_id: int
    last_id: int


class LinkOut(Out):
    case_id: int
    linked: int
    already_linked: int


class IncidentOut(Out):
    id: int
    event_id: str | None
    source: str
    month: dt.date
    occurred_at: dt.datetime | None
    category: str
    location: str | None
    lsoa: str | None
    x: float | None
    y: float | None


class LocationOut(Out):
    id: int
    uprn: str | None
    description: str | None
    lon: float | None
    lat: float | None
    x: float | None
    y: float | None
    lsoa: str | None
    ward: str | None
    beat: str | None


class CasePersonOut(Out):
    case_id: int
    person_id: int
    role: str


class NoteOut(Out):
    id: int
    case_id: int
    text: str
    author_id: int
    at: dt.datetime
    kind: Literal["fact", "opinion"] | None = None


class PersonRole(Out):
    case_id: int
    role: str


class PersonOut(Out):
    id: int
    given_name: str
    family_name: str
    date_of_birth: dt.date | None
    roles: list[PersonRole]
    facts: list[NoteOut]
    opinions: list[NoteOut]


class ReferralOut(Out):
    id: int
    case_id: int
    case_ref: str
    kind: str
    from_agency_id: int
    to_agency_id: int
    reason: str
    legal_gateway: str
    status: str
    decline_reason: str | None
    created_at: dt.datetime
    responded_at: dt.datetime | None
    hours_to_respond: float | None


class ActionOut(Out):
    id: int
    case_id: int
    title: str
    assignee_id: int | None
    due_on: dt.date | None
    status: str
    outcome: str | None
    version: int
    overdue: bool


class Question(Out):
    key: str
    text: str
    weight: int


class Band(Out):
    min_score: int
    band: str
    review_days: int


class QuestionnaireOut(Out):
    name: str
    version: int
    questions: list[Question]
    bands: list[Band]


class RiskOut(Out):
    id: int
    case_id: int
    questionnaire: str
    version: int
    score: int
    band: str
    next_review_on: dt.date


class PowerOut(Out):
    id: int
    case_id: int
    power: str
    issued_at: dt.datetime
    expires_at: dt.datetime | None
    person_id: int | None


class AlertOut(Out):
    power_id: int
    power: str
    expires_at: dt.datetime
    expired: bool
    hours_left: float
    case_id: int
    case_ref: str


class ReviewOut(Out):
    id: int
    case_id: int | None
    received_on: dt.date
    reports_in_window: int
    threshold_met: bool
    threshold_rule: str
    decision: str
    recommendations: str | None
    decided_on: dt.date | None


class PublicationOut(Out):
    period: str
    applications: int
    threshold_not_met: int
    reviews_carried_out: int
    reviews_with_recommendations: int


class RuleOut(Out):
    name: str
    version: int
    threshold: int
    window: int
    unit: str
    categories: list[str] | None
    child: bool | None


class RulesRunOut(Out):
    incidents: int
    flags: dict[str, int]
    rules: list[RuleOut]


class FlagOut(Out):
    id: int
    rule: str
    rule_version: int
    subject_kind: str
    subject_key: str
    first_triggered: dt.date
    count: int
    params: dict


class PlanOut(Out):
    id: int
    case_id: int | None
    title: str
    lead_agency_id: int
    owner_id: int
    stage: str
    objective: str | None
    scanning: dict
    analysis: dict
    responses: list[dict]
    assessment: dict
    areas: list[str]
    version: int
    missing_for_next_stage: list[str]
    unreadable: list[str] = Field(default=[], description="stage content stored by an older version in a form that "
                                                          "cannot be shown (left out of the fields above)")


class AuditCheck(Out):
    ok: bool
    rows: int
    first_bad_seq: int | None
    problem: str | None


class Health(Out):
    ok: bool
    time: dt.datetime


class Problem(Out):
    """Every refusal and error: a plain sentence."""

    detail: str | list


_REFUSALS = ((400, "a mistake in the request"), (401, "not signed in"), (403, "not allowed for your role or this case"),
             (404, "no such record, or not one you may know of"), (409, "conflicts with the record's current state"),
             (413, "request body too large"), (422, "the body or a parameter is not valid"),
             (429, "too many attempts"), (503, "the database is busy; retry"))
# The refusals every route may give, all as {"detail": "..."} in JSON.
ERRORS = {code: {"model": Problem, "description": text} for code, text in _REFUSALS}
# The same for routes whose success is not JSON (FastAPI would file the errors under that type).
ERRORS_AS_JSON = {code: {"description": text, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/Problem"}}}} for code, text in _REFUSALS}


class PublicPlanOut(Out):
    """A plan's public "you said, we did" summary: only the approved wording, never the plan."""

    id: int
    public: bool
    version: int
    title: str | None
    done: str | None
    outcome: str | None
    areas: list[str]
    stage: str
    approved_at: str | None
