"""The hub's tables (SQLAlchemy 2). Fields follow ../shared/docs/DOMAIN.md ("The multi-agency hub").

Few columns are mandatory on purpose (incumbents' users complain of too many required fields).
People's roles in a case (victim / witness / suspect / offender) live in `case_people`, one row per
role, so the DPA 2018 s38 categories are never blended into one field. Notes about a person are
marked fact or opinion. Mutable records that two users may edit together carry a `version` column
(SQLAlchemy `version_id_col`): a stale update fails instead of silently overwriting."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("admin", "coordinator", "caseworker", "analyst")
AGENCY_KINDS = ("police", "council", "fire", "youth", "early_help", "health", "housing", "probation", "other")
CASE_KINDS = (
    "asb", "frequent_caller", "repeat_victim", "repeat_location", "missing_episode",
    "licensed_premises", "iom", "problem_solving",
)
CASE_STATUSES = ("open", "closed")
RISK_LEVELS = ("standard", "medium", "high")
PERSON_ROLES = ("victim", "witness", "suspect", "offender", "subject")
NOTE_KINDS = ("fact", "opinion")
REFERRAL_KINDS = (
    "youth_intervention", "early_help", "iom", "missing_persons", "licensing", "designing_out_crime",
    "other",
)
REFERRAL_STATUSES = ("pending", "accepted", "declined")
ACTION_STATUSES = ("open", "done", "cancelled")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: DateTime(timezone=True)}


class Agency(Base):
    __tablename__ = "agencies"
    __table_args__ = (CheckConstraint(_in("kind", AGENCY_KINDS), name="ck_agency_kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    contact_email: Mapped[str | None] = mapped_column(String(200))


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="ck_user_role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    agency: Mapped[Agency] = relationship(lazy="joined")


class ApiToken(Base):
    """Bearer tokens; only their SHA-256 is stored, so a copy of the table cannot log anyone in."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]


class LoginAttempt(Base):
    """Sign-in outcomes per (normalised e-mail, source), kept in the database so throttling holds
    across server processes: failures for an hour, the last success per pair for 90 days
    (see `saferhub.hub.security`)."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_at", "email", "at"),
                      Index("ix_login_attempts_source_at", "source", "at"),
                      Index("ix_login_attempts_at", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    source: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Location(Base):
    __tablename__ = "locations"
    id: Mapped[int] = mapped_column(primary_key=True)
    uprn: Mapped[str | None] = mapped_column(String(12), index=True)
    description: Mapped[str | None] = mapped_column(String(300))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    x: Mapped[float | None] = mapped_column(Float)
    y: Mapped[float | None] = mapped_column(Float)
    lsoa: Mapped[str | None] = mapped_column(String(9), index=True)
    ward: Mapped[str | None] = mapped_column(String(100))
    beat: Mapped[str | None] = mapped_column(String(50))
    # who recorded the place: need-to-know for a location on no case (access.location_for)
    created_by_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))


class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    created_by_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PersonNote(Base):
    __tablename__ = "person_notes"
    __table_args__ = (CheckConstraint(_in("kind", NOTE_KINDS), name="ck_note_kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Incident(Base):
    """One incident: a police.uk row linked by `event_id` to the event store, or a partner report.

    `caller_ref` / `victim_ref` are pseudonymous keys (e.g. a person id or a hashed phone number);
    `location_key` is the place the repeat-location rule groups by (UPRN, or police.uk snap point)."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_month", "month"),
                      Index("ix_incidents_occurred_at", "occurred_at"))  # the briefing's time windows
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str | None] = mapped_column(Text, unique=True)  # event store ids embed the location
    source: Mapped[str] = mapped_column(String(20), default="incident")
    month: Mapped[dt.date] = mapped_column(Date)
    occurred_at: Mapped[dt.datetime | None]
    category: Mapped[str] = mapped_column(String(60))
    location_key: Mapped[str | None] = mapped_column(String(120), index=True)
    location_text: Mapped[str | None] = mapped_column(String(200))
    lsoa: Mapped[str | None] = mapped_column(String(9))
    x: Mapped[float | None] = mapped_column(Float)
    y: Mapped[float | None] = mapped_column(Float)
    caller_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    caller_is_child: Mapped[bool] = mapped_column(Boolean, default=False)
    victim_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(_in("kind", CASE_KINDS), name="ck_case_kind"),
        CheckConstraint(_in("status", CASE_STATUSES), name="ck_case_status"),
        CheckConstraint(_in("risk", RISK_LEVELS), name="ck_case_risk"),
        Index("ix_cases_lead_status", "lead_agency_id", "status"),
        Index("ix_cases_review", "status", "risk", "review_on"),  # the briefing's reviews due
        Index("ix_cases_owner", "owner_id", "id"),  # "my cases", newest first
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(Text)
    lead_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    risk: Mapped[str] = mapped_column(String(10), default="standard")
    status: Mapped[str] = mapped_column(String(10), default="open")
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    opened_on: Mapped[dt.date] = mapped_column(Date, default=lambda: utcnow().date())
    review_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": version}

    lead_agency: Mapped[Agency] = relationship(lazy="joined")
    owner: Mapped[User] = relationship(lazy="joined")


class CaseAgency(Base):
    """Agencies working a case (the lead agency is always one). Membership gives need-to-know."""

    __tablename__ = "case_agencies"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), primary_key=True, index=True)


class CaseMember(Base):
    """Named users on a case: the only people who see a locked case in full."""

    __tablename__ = "case_members"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)


class CasePerson(Base):
    __tablename__ = "case_people"
    __table_args__ = (
        UniqueConstraint("case_id", "person_id", "role", name="uq_case_person_role"),
        CheckConstraint(_in("role", PERSON_ROLES), name="ck_case_person_role"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[str] = mapped_column(String(10))


class CaseIncident(Base):
    __tablename__ = "case_incidents"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True, index=True)


class Referral(Base):
    __tablename__ = "referrals"
    __table_args__ = (
        CheckConstraint(_in("kind", REFERRAL_KINDS), name="ck_referral_kind"),
        CheckConstraint(_in("status", REFERRAL_STATUSES), name="ck_referral_status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    from_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    to_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    legal_gateway: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    decline_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    responded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    responded_at: Mapped[dt.datetime | None]


class Action(Base):
    __tablename__ = "actions"
    __table_args__ = (CheckConstraint(_in("status", ACTION_STATUSES), name="ck_action_status"),
                      Index("ix_actions_status_due", "status", "due_on"))  # the briefing's overdue list
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")
    outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None]
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": version}


class RiskAssessment(Base):
    __tablename__ = "risk_assessments"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    questionnaire: Mapped[str] = mapped_column(String(60))
    questionnaire_version: Mapped[int] = mapped_column(Integer)
    answers: Mapped[dict] = mapped_column(JSON)
    score: Mapped[int] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(String(10))
    next_review_on: Mapped[dt.date] = mapped_column(Date)
    assessed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assessed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AsbPower(Base):
    """One use of an ASB, Crime and Policing Act 2014 power on a case (CPW, CPN, FPN, dispersal,
    closure notice/order, PSPO) with its statutory clock (`expires_at`)."""

    __tablename__ = "asb_powers"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    power: Mapped[str] = mapped_column(String(20))
    issued_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None] = mapped_column(index=True)  # the briefing's expiring powers
    recipient_age: Mapped[int | None] = mapped_column(Integer)
    grounds: Mapped[str] = mapped_column(Text)
    authorised_by: Mapped[str | None] = mapped_column(String(200))
    amount_gbp: Mapped[int | None] = mapped_column(Integer)
    extends_id: Mapped[int | None] = mapped_column(ForeignKey("asb_powers.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class CaseReviewApplication(Base):
    """An ASB Case Review (formerly Community Trigger) application and its outcome."""

    __tablename__ = "case_review_applications"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    applicant_ref: Mapped[str] = mapped_column(String(64))
    received_on: Mapped[dt.date] = mapped_column(Date, index=True)
    reports_in_window: Mapped[int] = mapped_column(Integer)
    threshold_met: Mapped[bool] = mapped_column(Boolean)
    threshold_rule: Mapped[str] = mapped_column(String(80))
    decision: Mapped[str] = mapped_column(String(30), default="pending")
    recommendations: Mapped[str | None] = mapped_column(Text)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)


class RuleFlag(Base):
    __tablename__ = "rule_flags"
    __table_args__ = (Index("ix_rule_flags_subject", "rule", "subject_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(60))
    rule_version: Mapped[int] = mapped_column(Integer)
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_key: Mapped[str] = mapped_column(String(120))
    first_triggered: Mapped[dt.date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict] = mapped_column(JSON)
    evaluated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Plan(Base):
    """A problem-solving plan (OSARA: Objective, Scanning, Analysis, Response, Assessment)."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    lead_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    stage: Mapped[str] = mapped_column(String(12), default="objective")
    objective: Mapped[str | None] = mapped_column(Text)
    scanning: Mapped[dict] = mapped_column(JSON, default=dict)
    analysis: Mapped[dict] = mapped_column(JSON, default=dict)
    responses: Mapped[list] = mapped_column(JSON, default=list)
    assessment: Mapped[dict] = mapped_column(JSON, default=dict)
    areas: Mapped[list] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    # "You said, we did": a coordinator may publish a plan. Only `public_summary` (title, what was
    # done, outcome, approved by/at: text a coordinator approved for publication) ever reaches the
    # public pages, never the plan's own fields (services.plans.public_plans).
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), nullable=False)
    public_summary: Mapped[dict | None] = mapped_column(JSON)
    __mapper_args__ = {"version_id_col": version}


class AuditEvent(Base):
    """Append-only, hash-chained (see `saferhub.hub.audit`). Triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_events"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(Integer)
    agency_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    entity: Mapped[str] = mapped_column(String(40))
    entity_ids: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(40))  # which audit key made `mac` (None: before keying)
    mac: Mapped[str | None] = mapped_column(String(64))  # HMAC-SHA256(key, key_id + hash): needs the key


class AuditHead(Base):
    """One row: the chain's last sequence number and hash. Locking it serialises appends."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64))  # HMAC of (seq, hash) under the last row's key (0005)


# The missing-from-care tables live in their own module (one job each); importing them here keeps
# `from saferhub.hub.models import MissingEpisode` working and registers them on Base.metadata.
from saferhub.hub.missing_models import (  # noqa: E402,F401
    HOME_KINDS,
    MISSING_RISK,
    MissingAlert,
    MissingEpisode,
    MissingFound,
    MissingHome,
    MissingHomeStaff,
    MissingPerson,
    MissingProfile,
    MissingProfileHolder,
)
