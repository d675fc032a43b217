"""The data.police.uk crime categories: canonical names, slugs, and parsing of user choices.

Slugs are the police.uk API's own (`violent-crime` is "Violence and sexual offences"), so rows
from the CSV archive and from the API share one vocabulary.
"""

from __future__ import annotations

import re

from saferhub.errors import SaferhubError

# name -> slug, the 14 current categories (data.police.uk, since May 2013).
CATEGORIES: dict[str, str] = {
    "Anti-social behaviour": "anti-social-behaviour",
    "Bicycle theft": "bicycle-theft",
    "Burglary": "burglary",
    "Criminal damage and arson": "criminal-damage-arson",
    "Drugs": "drugs",
    "Other crime": "other-crime",
    "Other theft": "other-theft",
    "Possession of weapons": "possession-of-weapons",
    "Public order": "public-order",
    "Robbery": "robbery",
    "Shoplifting": "shoplifting",
    "Theft from the person": "theft-from-the-person",
    "Vehicle crime": "vehicle-crime",
    "Violence and sexual offences": "violent-crime",
}
# Categories used before May 2013. "Violent crime" became "Violence and sexual offences" (same API
# slug); "Public disorder and weapons" was split in two and cannot be mapped, so it stays itself.
LEGACY: dict[str, str] = {
    "Violent crime": "Violence and sexual offences",
    "Public disorder and weapons": "Public disorder and weapons",
}
LEGACY_SLUGS = {"Public disorder and weapons": "public-disorder-weapons"}

# The Home Office "Grip" hotspot-policing focus: serious violence and ASB (DOMAIN.md, Patrols).
GROUPS: dict[str, tuple[str, ...]] = {
    "grip": ("Violence and sexual offences", "Robbery", "Possession of weapons", "Anti-social behaviour"),
    "violence": ("Violence and sexual offences", "Robbery", "Possession of weapons"),
    "acquisitive": ("Burglary", "Robbery", "Vehicle crime", "Bicycle theft", "Theft from the person",
                    "Other theft", "Shoplifting"),
    "all": tuple(CATEGORIES),
}

ALL_NAMES = {**CATEGORIES, **LEGACY_SLUGS}


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


_LOOKUP: dict[str, str] = {}
for _name, _slug in CATEGORIES.items():
    _LOOKUP[_key(_name)] = _name
    _LOOKUP[_key(_slug)] = _name
for _old, _new in LEGACY.items():
    _LOOKUP[_key(_old)] = _new
_LOOKUP[_key("public-disorder-weapons")] = "Public disorder and weapons"
_LOOKUP[_key("asb")] = "Anti-social behaviour"


def canonical(text: str) -> str | None:
    """The canonical category name for a CSV name, API slug or near spelling; None if unknown."""
    if text is None:
        return None
    return _LOOKUP.get(_key(str(text)))


def slug(name: str) -> str:
    return ALL_NAMES[name]


def parse_categories(spec: str | list[str] | tuple[str, ...] | None) -> list[str] | None:
    """Turn a user's `--categories` into canonical names. None / "" / "all" means every category.

    Accepts names, slugs, group names (grip, violence, acquisitive), comma-separated or as a list.
    """
    if spec is None:
        return None
    parts = spec.split(",") if isinstance(spec, str) else [p for s in spec for p in str(s).split(",")]
    parts = [p.strip() for p in parts if p.strip()]
    if not parts or [p.lower() for p in parts] == ["all"]:
        return None
    out: list[str] = []
    for p in parts:
        if p.lower() in GROUPS:
            names = list(GROUPS[p.lower()])
        else:
            name = canonical(p)
            if name is None:
                known = ", ".join(sorted(CATEGORIES)) + "; groups: " + ", ".join(GROUPS)
                raise SaferhubError(f"unknown crime category {p!r} (known: {known})")
            names = [name]
        out.extend(n for n in names if n not in out)
    return out
