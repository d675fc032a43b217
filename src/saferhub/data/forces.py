"""Police force names <-> the ids data.police.uk uses in file names and API paths ('merseyside')."""

from __future__ import annotations

import re

# Ids and names as data.police.uk publishes them (/api/forces), plus the names in CSV columns.
FORCES: dict[str, str] = {
    "avon-and-somerset": "Avon and Somerset Constabulary",
    "bedfordshire": "Bedfordshire Police",
    "btp": "British Transport Police",
    "cambridgeshire": "Cambridgeshire Constabulary",
    "cheshire": "Cheshire Constabulary",
    "city-of-london": "City of London Police",
    "cleveland": "Cleveland Police",
    "cumbria": "Cumbria Constabulary",
    "derbyshire": "Derbyshire Constabulary",
    "devon-and-cornwall": "Devon & Cornwall Police",
    "dorset": "Dorset Police",
    "durham": "Durham Constabulary",
    "dyfed-powys": "Dyfed-Powys Police",
    "essex": "Essex Police",
    "gloucestershire": "Gloucestershire Constabulary",
    "greater-manchester": "Greater Manchester Police",
    "gwent": "Gwent Police",
    "hampshire": "Hampshire Constabulary",
    "hertfordshire": "Hertfordshire Constabulary",
    "humberside": "Humberside Police",
    "kent": "Kent Police",
    "lancashire": "Lancashire Constabulary",
    "leicestershire": "Leicestershire Police",
    "lincolnshire": "Lincolnshire Police",
    "merseyside": "Merseyside Police",
    "metropolitan": "Metropolitan Police Service",
    "norfolk": "Norfolk Constabulary",
    "north-wales": "North Wales Police",
    "north-yorkshire": "North Yorkshire Police",
    "northamptonshire": "Northamptonshire Police",
    "northern-ireland": "Police Service of Northern Ireland",
    "northumbria": "Northumbria Police",
    "nottinghamshire": "Nottinghamshire Police",
    "south-wales": "South Wales Police",
    "south-yorkshire": "South Yorkshire Police",
    "staffordshire": "Staffordshire Police",
    "suffolk": "Suffolk Constabulary",
    "surrey": "Surrey Police",
    "sussex": "Sussex Police",
    "thames-valley": "Thames Valley Police",
    "warwickshire": "Warwickshire Police",
    "west-mercia": "West Mercia Police",
    "west-midlands": "West Midlands Police",
    "west-yorkshire": "West Yorkshire Police",
    "wiltshire": "Wiltshire Police",
}

# Forces whose area is not one contiguous patch: no "far outside the force area" check applies.
NATIONAL = {"btp"}

_SUFFIXES = re.compile(r"\b(police service|police|constabulary|service)\b")


def slugify(text: str) -> str:
    text = str(text).lower().replace("&", " and ")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _key(text: str) -> str:
    text = _SUFFIXES.sub(" ", str(text).lower().replace("&", " and ").replace("police service of", " "))
    return slugify(text)


_BY_KEY = {_key(name): fid for fid, name in FORCES.items()}
_BY_KEY.update({fid: fid for fid in FORCES})
_BY_KEY["british-transport"] = "btp"


def force_id(name: str) -> str:
    """'Merseyside Police' / 'merseyside' / 'Devon & Cornwall Police' -> the data.police.uk id.

    Unknown names (another country's forces, a partner agency) become a plain slug, so any force
    works; the table only makes the well-known ones line up with police.uk's ids.
    """
    text = str(name).strip()
    if text in FORCES:
        return text
    return _BY_KEY.get(_key(text)) or _BY_KEY.get(slugify(text)) or _key(text) or slugify(text)


def force_name(fid: str) -> str:
    return FORCES.get(fid, fid)
