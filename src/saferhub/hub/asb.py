"""The statutory ASB workflow (Anti-social Behaviour, Crime and Policing Act 2014; DOMAIN.md).

- Community Protection: a written warning (CPW) must come before a notice (CPN), and a fixed
  penalty (FPN, at most £100) only for breaching a CPN; CPNs apply to people aged 16 or over.
- Dispersal directions last at most 48 hours, on an inspector's written authorisation.
- Closure: a notice lasts at most 48 hours; an order at most 3 months, extendable to 6 in total.
- Public Spaces Protection Orders last at most 3 years.
- ASB Case Review: yearly publication of applications, thresholds not met, reviews held, and
  reviews with recommendations (s104 and the statutory guidance).

Pure functions over plain values; the service layer stores what they approve."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from saferhub.errors import SaferhubError

HOUR = dt.timedelta(hours=1)
# Maximum durations from the 2014 Act: s34 (dispersal 48 h), s77 (closure notice 48 h with
# extension), s80/s82 (closure order 3 months, extended to 6 in total), s60 (PSPO 3 years).
MAX_DURATION = {
    "dispersal": 48 * HOUR,
    "closure_notice": 48 * HOUR,
    "closure_order": dt.timedelta(days=92),   # three calendar months at most
    "pspo": dt.timedelta(days=3 * 365 + 1),   # three years, allowing one leap day
}
CLOSURE_ORDER_TOTAL = dt.timedelta(days=184)  # six months in total with extensions
FPN_MAX_GBP = 100                              # s52(7)
MIN_CPN_AGE = 16                               # s43(1)
POWERS = ("cpw", "cpn", "fpn", "dispersal", "closure_notice", "closure_order", "pspo")
# What must already be in force, for the same person on the same case, before a power is used.
REQUIRES = {"cpn": "cpw", "fpn": "cpn"}


class AsbRuleError(SaferhubError):
    """A power used out of order, beyond its statutory limit, or without what it needs."""


@dataclass(frozen=True)
class PriorPower:
    id: int
    power: str
    person_id: int | None
    issued_at: dt.datetime
    expires_at: dt.datetime | None
    extends_id: int | None = None


def check_power(power: str, *, issued_at: dt.datetime, expires_at: dt.datetime | None,
                person_id: int | None, recipient_age: int | None, amount_gbp: int | None,
                authorised_by: str | None, extends_id: int | None,
                prior: list[PriorPower]) -> dt.datetime | None:
    """Validate one use of a power against the Act and the case's history; returns the expiry to
    store (the statutory maximum when none was given for a time-limited power)."""
    if power not in POWERS:
        raise AsbRuleError(f"unknown power {power!r}; use one of {', '.join(POWERS)}")
    if expires_at is not None and expires_at <= issued_at:
        raise AsbRuleError("the expiry must be after the time of issue")
    if power in ("cpw", "cpn", "fpn"):
        if person_id is None:
            raise AsbRuleError(f"a {power.upper()} is issued to a person: give person_id")
        if power in ("cpw", "cpn") and recipient_age is not None and recipient_age < MIN_CPN_AGE:
            raise AsbRuleError(f"a {power.upper()} cannot be issued to someone under {MIN_CPN_AGE}")
        need = REQUIRES.get(power)
        if need and not any(p.power == need and p.person_id == person_id and p.issued_at <= issued_at
                            for p in prior):
            raise AsbRuleError(
                f"a {power.upper()} needs an earlier {need.upper()} to the same person on this case "
                "(order CPW -> CPN -> FPN)")
        if power == "fpn":
            if amount_gbp is None or not 0 < amount_gbp <= FPN_MAX_GBP:
                raise AsbRuleError(f"a fixed penalty is between £1 and £{FPN_MAX_GBP}")
        return expires_at
    if power in ("dispersal", "closure_notice") and not (authorised_by or "").strip():
        raise AsbRuleError(f"a {power.replace('_', ' ')} needs the authorising officer's name (inspector)")
    limit = MAX_DURATION[power]
    if expires_at is None:
        expires_at = issued_at + limit
    if power == "closure_order" and extends_id is not None:
        chain = {p.id: p for p in prior if p.power == "closure_order"}
        if extends_id not in chain:
            raise AsbRuleError("extends_id must name an earlier closure order on this case")
        first = chain[extends_id]
        while first.extends_id is not None and first.extends_id in chain:
            first = chain[first.extends_id]
        if expires_at - first.issued_at > CLOSURE_ORDER_TOTAL:
            raise AsbRuleError("a closure order cannot last more than 6 months in total")
        return expires_at
    if expires_at - issued_at > limit:
        raise AsbRuleError(f"a {power.replace('_', ' ')} lasts at most {_human(limit)}")
    return expires_at


def _human(td: dt.timedelta) -> str:
    if td <= 48 * HOUR:
        return f"{int(td / HOUR)} hours"
    if td.days < 365:
        return "3 months"
    return "3 years"


def expiry_alerts(powers: list[PriorPower], now: dt.datetime, horizon: dt.timedelta) -> list[dict]:
    """Time-limited powers that have expired or expire within `horizon` of `now`, soonest first.
    A closure order that has been extended alerts on the extension, not the original."""
    extended = {p.extends_id for p in powers if p.extends_id is not None}
    out = []
    for p in powers:  # a case's handful of powers; not a hot path
        if p.expires_at is None or p.id in extended:
            continue
        left = p.expires_at - now
        if left <= horizon:
            out.append({"power_id": p.id, "power": p.power, "expires_at": p.expires_at,
                        "expired": left <= dt.timedelta(0), "hours_left": round(left / HOUR, 1)})
    return sorted(out, key=lambda a: a["expires_at"])


def publication_figures(applications: list[dict], year: int) -> dict:
    """The yearly ASB Case Review figures (s104(10)): applications received, threshold not met,
    reviews carried out, reviews resulting in recommendations. `year` is the financial year
    starting 1 April (the Home Office asks for April–March)."""
    start, end = dt.date(year, 4, 1), dt.date(year + 1, 3, 31)
    rows = [a for a in applications if start <= a["received_on"] <= end]
    held = [a for a in rows if a["decision"] == "review_held"]
    return {
        "period": f"{start.isoformat()}..{end.isoformat()}",
        "applications": len(rows),
        "threshold_not_met": sum(not a["threshold_met"] for a in rows),
        "reviews_carried_out": len(held),
        "reviews_with_recommendations": sum(bool((a.get("recommendations") or "").strip()) for a in held),
    }
