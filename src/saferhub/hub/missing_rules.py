"""Rules over missing episodes that should prevent the next one: pure functions over plain
episode records, each hit naming its rule, version, the person, a stable key (so re-running adds
nothing) and the referral it asks for.

- `missing_third_in_90_days` v1: a third episode reported within 90 days of the first of the
  three (exactly 90 x 24 h counts; a minute later does not). Episodes counted in a hit do not
  count again, so a fourth and fifth episode soon after do not raise new referrals; three new ones do.
  Referral: a child from care -> the police care-home PCSOs (Missing Persons Unit); from a family
  home -> Early Help.
- `return_interview_overdue_72h` v1: the statutory guidance on children who run away or go
  missing from home or care asks for an independent return interview within 72 hours of the
  return. A hit when 72 hours have passed and no interview was done by then (done at exactly 72 h
  is on time), unless the child declined one offered in time. Referral: Early Help.
- `found_twice_same_place` v1: found twice at the same place that is not a home (a UPRN, ~10 m
  point, or the same description): a sign of exploitation or county lines. Referral: the Youth
  Intervention Unit (youth justice), with the police.

Changing what a rule means must bump its version."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

GATEWAY_SAFEGUARD = ("Children Act 2004 s10-11 (co-operation, safeguarding); DfE statutory guidance on children "
                     "who run away or go missing from home or care (2014)")
GATEWAY_YOUTH = "Crime and Disorder Act 1998 s115; Children Act 2004 s11 (child exploitation)"


@dataclass(frozen=True)
class MissingRule:
    name: str
    version: int
    window: dt.timedelta
    threshold: int
    description: str


THIRD_IN_90 = MissingRule("missing_third_in_90_days", 1, dt.timedelta(days=90), 3,
                          "a third missing episode within 90 days")
INTERVIEW_72H = MissingRule("return_interview_overdue_72h", 1, dt.timedelta(hours=72), 1,
                            "return interview not done within 72 hours of the return")
FOUND_TWICE = MissingRule("found_twice_same_place", 1, dt.timedelta(days=3650), 2,
                          "found twice at the same place that is not a home")
RULES = (THIRD_IN_90, INTERVIEW_72H, FOUND_TWICE)


@dataclass(frozen=True)
class Episode:
    id: int
    person: int
    reported_at: dt.datetime
    returned_at: dt.datetime | None = None
    from_care: bool = False
    interview_offered_at: dt.datetime | None = None
    interview_done_at: dt.datetime | None = None
    interview_declined: bool = False
    found_key: str | None = None
    found_at_home: bool = False


@dataclass(frozen=True)
class Hit:
    rule: str
    version: int
    person: int
    key: str
    triggered_at: dt.datetime
    detail: str
    refer_to: str          # an agency kind: police | early_help | youth
    referral_kind: str     # a hub referral kind
    legal_gateway: str


def third_in_90(episodes: list[Episode], rule: MissingRule = THIRD_IN_90) -> list[Hit]:
    hits = []
    by_person: dict[int, list[Episode]] = {}
    for e in episodes:
        by_person.setdefault(e.person, []).append(e)
    for person, eps in by_person.items():
        eps.sort(key=lambda e: (e.reported_at, e.id))
        start = 0  # episodes already counted in a hit do not count again: a new referral needs new episodes
        for i in range(rule.threshold - 1, len(eps)):
            if i - rule.threshold + 1 < start:
                continue
            first, this = eps[i - rule.threshold + 1], eps[i]
            if this.reported_at - first.reported_at > rule.window:
                continue
            start = i + 1
            care = any(e.from_care for e in eps[i - rule.threshold + 1:i + 1])
            hits.append(Hit(rule.name, rule.version, person, f"episode:{this.id}", this.reported_at,
                            f"{rule.threshold} missing episodes between {first.reported_at:%d %b %Y} and "
                            f"{this.reported_at:%d %b %Y}" + (" (from care)" if care else ""),
                            "police" if care else "early_help", "missing_persons" if care else "early_help",
                            GATEWAY_SAFEGUARD))
    return hits


def interview_due(e: Episode, rule: MissingRule = INTERVIEW_72H) -> dt.datetime | None:
    return None if e.returned_at is None else e.returned_at + rule.window


def interview_overdue(episodes: list[Episode], now: dt.datetime, rule: MissingRule = INTERVIEW_72H) -> list[Hit]:
    hits = []
    for e in episodes:
        due = interview_due(e, rule)
        if due is None or now <= due:
            continue  # not back yet, or still within the 72 hours
        if e.interview_done_at is not None and e.interview_done_at <= due:
            continue
        if e.interview_declined and e.interview_offered_at is not None and e.interview_offered_at <= due:
            continue  # offered in time and declined: the duty to offer was met
        hits.append(Hit(rule.name, rule.version, e.person, f"episode:{e.id}", due,
                        f"returned {e.returned_at:%d %b %Y %H:%M}; no return interview by {due:%d %b %Y %H:%M}",
                        "early_help", "early_help", GATEWAY_SAFEGUARD))
    return hits


def found_twice(episodes: list[Episode], rule: MissingRule = FOUND_TWICE) -> list[Hit]:
    seen: dict[tuple[int, str], list[Episode]] = {}
    for e in sorted(episodes, key=lambda e: (e.reported_at, e.id)):
        if e.found_key and not e.found_at_home:
            seen.setdefault((e.person, e.found_key), []).append(e)
    hits = []
    for (person, key), eps in seen.items():
        if len(eps) >= rule.threshold:
            second = eps[rule.threshold - 1]
            hits.append(Hit(rule.name, rule.version, person, f"place:{key}"[:120],
                            second.returned_at or second.reported_at,
                            f"found {len(eps)} times at the same place (not a home); the place is on the police record",
                            "youth", "youth_intervention", GATEWAY_YOUTH))
    return hits


def evaluate(episodes: list[Episode], now: dt.datetime) -> list[Hit]:
    """Every rule's hits, in a stable order."""
    hits = third_in_90(episodes) + interview_overdue(episodes, now) + found_twice(episodes)
    return sorted(hits, key=lambda h: (h.triggered_at, h.rule, h.person, h.key))
