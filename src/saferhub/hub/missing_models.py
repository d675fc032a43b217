"""The hub's tables for children missing from home or care (issue 25): homes and their named staff,
missing people, episodes, where found (police-only), Philomena profiles and the rules' alerts.
Access is decided in `saferhub.hub.access` ("Missing episodes"); services in services/missing*.py.
Kept apart from `models.py` (the case tables) by job; `models` re-exports these names."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from saferhub.hub.models import Base, _in, utcnow


HOME_KINDS = ("care_home", "foster_home", "family_home", "other")
MISSING_RISK = ("no_apparent_risk", "low", "medium", "high")  # the force's grading (APP Missing persons)


class MissingHome(Base):
    """A home people go missing from: a children's (care) home, a foster home, a family home.
    `places` is the number of children it can hold (registered places; 1 for a family home): the
    denominator of "episodes per resident". `operator_agency_id` runs it (a care provider, or the
    council); `council_agency_id` is the local authority it lies in."""

    __tablename__ = "missing_homes"
    __table_args__ = (CheckConstraint(_in("kind", HOME_KINDS), name="ck_missing_home_kind"),
                      CheckConstraint("places >= 1", name="ck_missing_home_places"))
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    places: Mapped[int] = mapped_column(Integer, default=1)
    operator_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    council_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    created_by_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)


class MissingHomeStaff(Base):
    """The named staff of a home: they see the episodes from that home, and no other home's."""

    __tablename__ = "missing_home_staff"
    home_id: Mapped[int] = mapped_column(ForeignKey("missing_homes.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)


class MissingPerson(Base):
    """Someone reported missing (mostly children): a hub person, the council responsible for them
    (a looked-after child's local authority, or where a child lives), their current home, and the
    hub case (kind missing_episode) that referrals from the rules hang off."""

    __tablename__ = "missing_people"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    council_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    home_id: Mapped[int | None] = mapped_column(ForeignKey("missing_homes.id"), index=True)
    in_care: Mapped[bool] = mapped_column(Boolean, default=False)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    created_by_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)


class MissingEpisode(Base):
    """One episode: reported missing from a home, returned (or not yet), the force's risk grading,
    and the return interview the statutory guidance asks for within 72 hours of the return.
    Where the person was found is police-only (`MissingFound`, its own table)."""

    __tablename__ = "missing_episodes"
    __table_args__ = (CheckConstraint(_in("risk", MISSING_RISK), name="ck_missing_episode_risk"),
                      Index("ix_missing_episodes_person_reported", "missing_person_id", "reported_at"),
                      Index("ix_missing_episodes_home_reported", "home_id", "reported_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    missing_person_id: Mapped[int] = mapped_column(ForeignKey("missing_people.id", ondelete="CASCADE"))
    home_id: Mapped[int] = mapped_column(ForeignKey("missing_homes.id"))
    reported_at: Mapped[dt.datetime]
    returned_at: Mapped[dt.datetime | None]
    risk: Mapped[str | None] = mapped_column(String(20))  # None until the force grades it
    interview_offered_at: Mapped[dt.datetime | None]
    interview_done_at: Mapped[dt.datetime | None]
    interview_by: Mapped[str | None] = mapped_column(String(200))
    interview_declined: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": version}


class MissingFound(Base):
    """Where a missing person was found: police-only (exploitation and county-lines risk). `place_key`
    groups the same place (a UPRN, else ~10 m rounded coordinates, else the description)."""

    __tablename__ = "missing_found"
    episode_id: Mapped[int] = mapped_column(ForeignKey("missing_episodes.id", ondelete="CASCADE"), primary_key=True)
    description: Mapped[str | None] = mapped_column(String(300))
    uprn: Mapped[str | None] = mapped_column(String(12))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    at_home: Mapped[bool] = mapped_column(Boolean, default=False)
    place_key: Mapped[str | None] = mapped_column(String(120), index=True)


class MissingProfile(Base):
    """A Philomena Protocol profile: prepared in advance for a child in care so police can find
    them quickly. Held by named agencies only (`MissingProfileHolder`)."""

    __tablename__ = "missing_profiles"
    id: Mapped[int] = mapped_column(primary_key=True)
    missing_person_id: Mapped[int] = mapped_column(ForeignKey("missing_people.id", ondelete="CASCADE"), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    likely_places: Mapped[str | None] = mapped_column(Text)
    associates: Mapped[str | None] = mapped_column(Text)
    health: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": version}


class MissingProfileHolder(Base):
    __tablename__ = "missing_profile_holders"
    profile_id: Mapped[int] = mapped_column(ForeignKey("missing_profiles.id", ondelete="CASCADE"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), primary_key=True, index=True)


class MissingAlert(Base):
    """A missing-episode rule's hit and the referral it raised: one row per (rule, person, key), so
    re-running the rules adds nothing. Shown to the sending and receiving agencies' briefings."""

    __tablename__ = "missing_alerts"
    __table_args__ = (UniqueConstraint("rule", "missing_person_id", "key", name="uq_missing_alert"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(60))
    rule_version: Mapped[int] = mapped_column(Integer)
    missing_person_id: Mapped[int] = mapped_column(ForeignKey("missing_people.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(120))
    triggered_at: Mapped[dt.datetime]
    detail: Mapped[str] = mapped_column(String(300))
    from_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    to_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
