"""A documented generator of SIMULATED missing episodes for tests and the demo hub.

No real missing-person data is public, so the demo's episodes are simulated, and say so wherever
a person sees them: people are named "Simulated child 007" / "Simulated adult 003", homes
"Simulated care home 2 (Liverpool City Council)", found places "Simulated: near <police.uk map
point>", interviewers "Simulated return-interview service"; every row has `simulated = true`.

What it draws (a month by default, deterministic for a seed and `now`):
- homes at the demo hub's case locations (real police.uk map points, so on the map they sit in
  real neighbourhoods): care homes (2-6 places, half run by a simulated care provider, half by
  the council of the place), foster homes (1-3 places) and family homes (one child each);
- people: children placed in the care and foster homes, children at family homes, and adults,
  in numbers chosen so that about 73% of those who go missing are under 18 and about half are
  from care (the shares the prevention strategy quotes);
- episodes: each person's rate is gamma-distributed (a few children go missing very often, most
  once or never: the repeat pattern the care-home PCSOs work on) times a base rate by home kind;
  reported mostly in the evening; time to return log-normal (median about 9 hours, a tail of
  several days; some still missing at `now`); the force's risk grading; where found (at home,
  at a friend's address, or at one of a child's two usual public places: so the "found twice at
  the same place" rule has something to find); return interviews done within 72 hours for most,
  late, declined or not done for the rest.
Then the missing-episode rules run, so the briefing has alerts and the inboxes referrals.
A second run adds nothing."""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saferhub.errors import SaferhubError
from saferhub.hub import services
from saferhub.hub.models import Agency, Case, Location, MissingEpisode, User
from saferhub.hub.security import generate_password
from saferhub.hub.services import missing
from saferhub.hub.services.missing_alerts import run_missing_rules

PROVIDER = ("sim-care-provider", "Simulated care provider (demo)")
INTERVIEWER = "Simulated return-interview service"
# episodes per person per 30 days, by where they live (before the gamma spread, mean 1)
BASE_RATE = {"care_home": 0.9, "foster_home": 0.35, "family_home": 0.25, "adult": 0.3}
RISK = (("no_apparent_risk", 0.05), ("low", 0.5), ("medium", 0.38), ("high", 0.07))


def _user(db: Session, code: str, role: str) -> User:
    u = db.scalar(select(User).join(Agency, Agency.id == User.agency_id).where(Agency.code == code, User.role == role))
    if u is None:
        raise SaferhubError(f"the demo hub has no {role} in {code}; run `saferhub hub seed-demo` first")
    return u


def _provider(db: Session) -> tuple[Agency, list[dict]]:
    """The simulated care provider and its two demo accounts (passwords returned once)."""
    a = db.scalar(select(Agency).where(Agency.code == PROVIDER[0]))
    if a is None:
        a = Agency(code=PROVIDER[0], name=PROVIDER[1], kind="other", contact_email=f"hub@{PROVIDER[0]}.demo.invalid")
        db.add(a)
        db.flush()
    accounts = []
    for role in ("coordinator", "caseworker"):
        email = f"{role}.{PROVIDER[0]}@demo.saferhub.invalid"
        if db.scalar(select(User.id).where(User.email == email)) is None:
            pw = generate_password()
            services.add_user(db, email, f"Demo {role} ({PROVIDER[1]})", a.id, role, pw)
            accounts.append({"email": email, "role": role, "agency": PROVIDER[1], "password": pw})
    return a, accounts


def simulate_missing(db: Session, *, now: dt.datetime | None = None, days: int = 30, seed: int = 25,
                     n_care_homes: int = 10, n_foster_homes: int = 16, n_family: int = 60, n_adults: int = 60) -> dict:
    now = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    if db.scalar(select(func.count()).select_from(MissingEpisode).where(MissingEpisode.simulated)):
        return {"homes": 0, "people": 0, "episodes": 0, "users": [], "note": "already simulated"}
    rng = np.random.default_rng(seed)
    police = _user(db, "merseyside-police", "caseworker")
    anchors = db.execute(select(Location, Case.lead_agency_id).join(Case, Case.location_id == Location.id)
                         .where(Location.lon.is_not(None), Case.kind == "repeat_location").order_by(Case.id)).all()
    if len(anchors) < 4:
        raise SaferhubError("the demo hub has too few placed cases to put simulated homes near; "
                            "run `saferhub hub seed-demo` first")
    kinds = {a.id: a for a in db.scalars(select(Agency))}
    provider, accounts = _provider(db)
    homes = []  # (home dict, kind)

    def place(i):
        loc, lead = anchors[i % len(anchors)]
        jitter = rng.normal(0, 0.002, 2)  # ~150-200 m from the map point: not a real address
        council = lead if kinds[lead].kind == "council" else None
        return loc, council, float(loc.lon + jitter[0]), float(loc.lat + jitter[1])

    for i in range(n_care_homes):
        loc, council, lon, lat = place(i)
        operator = provider.id if i % 2 == 0 or council is None else council
        who = kinds[council].name if council else "Merseyside"
        homes.append((missing.create_home(db, police, kind="care_home", name=f"Simulated care home {i + 1} ({who})",
                                          places=int(rng.integers(2, 7)), operator_agency_id=operator,
                                          council_agency_id=council, address=f"Simulated: near {loc.description}"[:300],
                                          lsoa=loc.lsoa, lon=lon, lat=lat, simulated=True), "care_home"))
    for i in range(n_foster_homes):
        loc, council, lon, lat = place(i + n_care_homes)
        homes.append((missing.create_home(db, police, kind="foster_home", name=f"Simulated foster home {i + 1}",
                                          places=int(rng.integers(1, 4)), council_agency_id=council,
                                          lsoa=loc.lsoa, simulated=True), "foster_home"))
    coord = _user(db, PROVIDER[0], "coordinator")
    staff = _user(db, PROVIDER[0], "caseworker")
    for h, _ in homes[:4]:
        if h["operator_agency_id"] == provider.id:
            missing.add_home_staff(db, coord, h["id"], staff.id)
            break

    people = []  # (missing person id, rate kind, home id, haunts)
    haunt_pool = [(f"Simulated: near {loc.description}"[:300], float(loc.lon), float(loc.lat)) for loc, _ in anchors]

    def person(label, i, age, home, in_care, rate_kind):
        dob = (now - dt.timedelta(days=int(age * 365.25 + rng.integers(0, 365)))).date()
        mp = missing.create_missing_person(db, police, given_name="Simulated", family_name=f"{label} {i:03d}",
                                           date_of_birth=dob, council_agency_id=home["council_agency_id"],
                                           home_id=home["id"], in_care=in_care, simulated=True)
        haunts = [haunt_pool[j] for j in rng.choice(len(haunt_pool), size=2, replace=False)]
        people.append((mp["id"], rate_kind, home["id"], haunts))

    n = 0
    for h, kind in homes:
        for _ in range(max(1, int(round(h["places"] * 0.85)))):
            n += 1
            person("child", n, int(rng.integers(11, 18)), h, True, kind)
    for i in range(n_family):
        loc, council, lon, lat = place(i)
        h = missing.create_home(db, police, kind="family_home", name=f"Simulated family home {i + 1}",
                                council_agency_id=council, lsoa=loc.lsoa, simulated=True)
        homes.append((h, "family_home"))
        n += 1
        person("child", n, int(rng.integers(10, 18)), h, False, "family_home")
    for i in range(n_adults):
        loc, council, lon, lat = place(i + 7)
        h = missing.create_home(db, police, kind="other", name=f"Simulated adult's home {i + 1}",
                                council_agency_id=council, lsoa=loc.lsoa, simulated=True)
        person("adult", i + 1, int(rng.integers(18, 70)), h, False, "adult")

    episodes = 0
    for mp_id, kind, home_id, haunts in people:
        rate = BASE_RATE[kind] * rng.gamma(0.6, 1 / 0.6) * days / 30
        for _ in range(int(rng.poisson(rate))):
            episodes += _episode(db, police, rng, now, days, mp_id, home_id, kind, haunts)
    rules = run_missing_rules(db, None, now)
    return {"homes": len(homes), "people": len(people), "episodes": episodes, "users": accounts,
            "alerts": rules["new_alerts"], "referrals": rules["referrals"]}


def _episode(db, police, rng, now, days, mp_id, home_id, kind, haunts) -> int:
    hour = rng.choice(24, p=_EVENING)
    day = now - dt.timedelta(days=float(rng.uniform(0, days)))
    reported = min(now, day.replace(hour=int(hour), minute=int(rng.integers(0, 60)), second=0))
    hours = float(rng.lognormal(np.log(9), 1.1))
    returned = reported + dt.timedelta(hours=hours)
    returned = None if returned > now else returned
    kw = {"risk": str(rng.choice([r for r, _ in RISK], p=[p for _, p in RISK]))}
    if returned is not None:
        where = rng.random()
        if where < 0.45:
            kw["found"] = {"description": "Simulated: returned home", "at_home": True}
        elif where < 0.65:
            kw["found"] = {"description": f"Simulated: a friend's address (person {mp_id})"}
        else:
            d, lon, lat = haunts[int(rng.random() < 0.35)]
            kw["found"] = {"description": d, "lon": lon, "lat": lat}
        outcome = rng.random()
        due = returned + dt.timedelta(hours=72)
        if outcome < 0.65:
            done = returned + dt.timedelta(hours=float(rng.uniform(4, 71)))
            kw |= {"interview_offered_at": returned + dt.timedelta(hours=2), "interview_by": INTERVIEWER}
            kw["interview_done_at"] = done if done <= now else None
        elif outcome < 0.8:
            late = due + dt.timedelta(hours=float(rng.uniform(1, 96)))
            kw |= {"interview_offered_at": returned + dt.timedelta(hours=30), "interview_by": INTERVIEWER,
                   "interview_done_at": late if late <= now else None}
        elif outcome < 0.88:
            kw |= {"interview_offered_at": returned + dt.timedelta(hours=6), "interview_declined": True}
    kw = {k: v for k, v in kw.items() if not (k.endswith("_at") and v is not None and v > now)}  # not yet
    missing.record_episode(db, police, mp_id, home_id=home_id, reported_at=reported, returned_at=returned,
                           simulated=True, **kw)
    return 1


# hour of day a child is reported missing: mostly after school and in the evening
_HOURLY = np.array([3, 2, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 6, 8, 9, 10, 11, 11, 10, 8, 5], dtype=float)
_EVENING = _HOURLY / _HOURLY.sum()
