"""Bodies and answers of the missing-episode routes (children missing from home or care)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from saferhub.api.schemas.bodies import Date, DateTime, Id, Strict, Text
from saferhub.api.schemas.responses import Out
from saferhub.hub.models import HOME_KINDS, MISSING_RISK

HomeKind = Literal[HOME_KINDS]  # type: ignore[valid-type]
MissingRisk = Literal[MISSING_RISK]  # type: ignore[valid-type]
Lsoa = Annotated[str, StringConstraints(pattern=r"^[EW]0[0-9]{7}$")]
Lon = Annotated[float, Field(ge=-8.7, le=1.8)]
Lat = Annotated[float, Field(ge=49.8, le=60.9)]


class HomeIn(Strict):
    kind: HomeKind
    name: Text(200)
    places: Annotated[int, Field(ge=1, le=500)] = 1
    operator_agency_id: Id | None = None
    council_agency_id: Id | None = None
    address: Text(300) | None = None
    lsoa: Lsoa | None = None
    lon: Lon | None = None
    lat: Lat | None = None


class StaffIn(Strict):
    user_id: Id


class MissingPersonIn(Strict):
    person_id: Id | None = None
    given_name: Text(100) | None = None
    family_name: Text(100) | None = None
    date_of_birth: Date | None = None
    council_agency_id: Id | None = None
    home_id: Id | None = None
    in_care: bool = False


class FoundIn(Strict):
    """Where the person was found (police only)."""

    description: Text(300) | None = None
    uprn: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,12}$")] | None = None
    lon: Lon | None = None
    lat: Lat | None = None
    at_home: bool = False


class EpisodeIn(Strict):
    home_id: Id
    reported_at: DateTime
    returned_at: DateTime | None = None
    risk: MissingRisk | None = None
    interview_offered_at: DateTime | None = None
    interview_done_at: DateTime | None = None
    interview_by: Text(200) | None = None
    interview_declined: bool = False
    found: FoundIn | None = None


class EpisodePatch(Strict):
    version: Annotated[int, Field(ge=1, le=2_147_483_647)]
    returned_at: DateTime | None = None
    risk: MissingRisk | None = None
    interview_offered_at: DateTime | None = None
    interview_done_at: DateTime | None = None
    interview_by: Text(200) | None = None
    interview_declined: bool | None = None
    found: FoundIn | None = None


class ProfileIn(Strict):
    """A Philomena Protocol profile. `holders`: agencies to share it with (yours always holds it)."""

    version: Annotated[int, Field(ge=1, le=2_147_483_647)] | None = None
    description: Text(5000) | None = None
    likely_places: Text(5000) | None = None
    associates: Text(5000) | None = None
    health: Text(5000) | None = None
    holders: Annotated[list[Id], Field(max_length=50)] = []


class HomeOut(Out):
    id: int
    kind: str
    name: str
    places: int
    operator_agency_id: int | None
    council_agency_id: int | None
    simulated: bool
    address: str | None
    lsoa: str | None
    lon: float | None
    lat: float | None


class StaffOut(Out):
    home_id: int
    user_id: int


class HomeRef(Out):
    id: int
    name: str
    kind: str


class MissingPersonOut(Out):
    id: int
    ref: str
    person_id: int
    name: str
    date_of_birth: dt.date | None
    council_agency_id: int | None
    in_care: bool
    home: HomeRef | None
    case_id: int | None
    case_ref: str | None
    simulated: bool


class FoundOut(Out):
    description: str | None
    uprn: str | None
    lon: float | None
    lat: float | None
    at_home: bool


class EpisodeOut(Out):
    id: int
    missing_person_id: int
    home: HomeRef
    reported_at: dt.datetime
    returned_at: dt.datetime | None
    risk: str | None
    interview_offered_at: dt.datetime | None
    interview_done_at: dt.datetime | None
    interview_by: str | None
    interview_declined: bool
    interview_due_by: dt.datetime | None
    simulated: bool
    version: int
    found: FoundOut | None = Field(description="police only; null for everyone else")


class PersonPattern(Out):
    last_30_days: int
    last_90_days: int
    last_365_days: int
    nights_missing_365_days: int
    hours_to_return_median: float | None
    hours_to_return_longest: float | None
    missing_now: bool
    episodes_total: int


class MissingPersonDetail(MissingPersonOut):
    episodes: list[EpisodeOut]
    pattern: PersonPattern
    seen_as: str


class ProfileOut(Out):
    missing_person_id: int
    description: str | None
    likely_places: str | None
    associates: str | None
    health: str | None
    holders: list[int]
    updated_at: dt.datetime
    version: int


class Rate(Out):
    episodes: int
    place_years: float
    per_place_year: float
    low: float
    high: float


class Ratio(Out):
    ratio: float | None
    low: float
    high: float | None


class Trend(Ratio):
    last_6_months: int
    previous_6_months: int


class Window(Out):
    start: dt.datetime
    end: dt.datetime


class HomePatternOut(Out):
    home: HomeOut
    window: Window
    residents_with_episodes: int
    home_rate: Rate
    comparable: Rate | None
    comparable_homes: int
    months: list[str]
    home_per_month: list[int]
    comparable_per_place_per_month: list[float] | None
    home_vs_comparable: Ratio | None
    home_trend: Trend
    comparable_trend: Trend | None
    methods: dict[str, str]


class Share(Out):
    count: int
    of: int
    percent: float | None
    low: float | None
    high: float | None


class SharesOut(Out):
    since: dt.datetime
    until: dt.datetime
    episodes: int
    includes_simulated: bool
    people: int
    method: str
    under_18: Share
    from_care: Share


class MissingRuleOut(Out):
    name: str
    version: int
    description: str


class MissingRulesRunOut(Out):
    hits: int
    new_alerts: int
    referrals: int
    rules: list[MissingRuleOut]


class MissingAlertOut(Out):
    id: int
    rule: str
    rule_version: int
    missing_person_ref: str
    case_id: int | None
    case_ref: str | None
    triggered_at: dt.datetime
    detail: str
    direction: Literal["received", "sent"]
    referral_id: int | None
    referral_status: str | None


class FoundPlaceOut(Out):
    place_key: str
    description: str | None
    lon: float | None
    lat: float | None
    episodes: int
    people: int
    last_found: dt.datetime | None
