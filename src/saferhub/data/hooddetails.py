"""A police.uk neighbourhood's public details: description and contact, team, priorities, events.

`saferhub fetch` asks `/{force}/{id}`, `/{force}/{id}/people`, `/{force}/{id}/priorities` and
`/{force}/{id}/events` for every neighbourhood (through the same rate-limited, retrying client as
everything else) and keeps the cleaned answers in `<store>/boundaries/<force>-neighbourhood-details.json`
beside the neighbourhoods file, written atomically. The public pages show them.

Cleaning is done here, once: police.uk text fields hold HTML (priorities, descriptions, bios), so
they become plain text (tags dropped, script/style bodies dropped, entities decoded); every field
is optional; officers' own e-mail addresses and phone numbers are never kept, only the
neighbourhood's public contact details.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from saferhub.fsutil import write_atomic
from saferhub.geo.boundary import BOUNDARY_DIR

MAX_TEXT = 4000          # a priority or description longer than this is cut (a page, not a book)
CONTACT_KEYS = ("telephone", "email", "web", "twitter", "facebook", "youtube", "myspace", "bebo", "flickr")


class _Text(HTMLParser):
    """Collects the text of an HTML fragment; <script>/<style> bodies are not text."""

    SKIP = {"script", "style"}
    BREAK = {"p", "br", "li", "div", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BREAK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BREAK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def plain(value) -> str:
    """An API text field (maybe HTML, maybe null) -> plain text: paragraphs kept as blank-line breaks."""
    if value is None:
        return ""
    p = _Text()
    p.feed(str(value))
    p.close()
    text = "".join(p.parts).replace("\xa0", " ")   # the parser has decoded entities (once)
    paras = [re.sub(r"\s+", " ", s).strip() for s in text.split("\n")]
    out = "\n\n".join(s for s in paras if s)
    return out if len(out) <= MAX_TEXT else out[:MAX_TEXT].rsplit(" ", 1)[0] + " ..."


def _date(value) -> str | None:
    """'2024-03-05T18:30:00' -> the same ISO text, or None when absent or unreadable."""
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(str(value).strip().replace("Z", "")).isoformat(timespec="minutes")
    except (TypeError, ValueError):
        return None


def _url(value) -> str | None:
    value = str(value or "").strip()
    return value if re.match(r"https?://[^\s\"'<>]+$", value) else None   # no javascript: links


def clean_info(info) -> dict:
    info = info if isinstance(info, dict) else {}
    contact = info.get("contact_details") if isinstance(info.get("contact_details"), dict) else {}
    links = [{"title": plain(x.get("title")) or _url(x.get("url")), "url": _url(x.get("url"))}
             for x in info.get("links") or [] if isinstance(x, dict) and _url(x.get("url"))]
    return {"description": plain(info.get("description")),
            "contact": {k: plain(contact[k]) for k in CONTACT_KEYS if plain(contact.get(k))},
            "links": links, "url_force": _url(info.get("url_force"))}


def clean_team(people) -> list[dict]:
    """Name, rank, bio; the API's per-officer contact_details are dropped on purpose."""
    return [{"name": plain(p.get("name")), "rank": plain(p.get("rank")), "bio": plain(p.get("bio"))}
            for p in people or [] if isinstance(p, dict) and plain(p.get("name"))]


def clean_priorities(rows) -> list[dict]:
    out = [{"issue": plain(r.get("issue")), "issue_date": _date(r.get("issue-date")),
            "action": plain(r.get("action")), "action_date": _date(r.get("action-date"))}
           for r in rows or [] if isinstance(r, dict) and plain(r.get("issue"))]
    return sorted(out, key=lambda r: r["issue_date"] or "", reverse=True)


def clean_events(rows) -> list[dict]:
    out = [{"title": plain(r.get("title")), "description": plain(r.get("description")), "type": plain(r.get("type")),
            "address": plain(r.get("address")), "start": _date(r.get("start_date")), "end": _date(r.get("end_date"))}
           for r in rows or [] if isinstance(r, dict) and plain(r.get("title")) and _date(r.get("start_date"))]
    return sorted(out, key=lambda r: r["start"])


def fetch_details(api, force: str, hood: dict) -> dict:
    """One neighbourhood's details. A 404 on any of the four calls (a neighbourhood listed but
    gone, or with nothing published) leaves that part empty and is noted in `missing`."""
    from saferhub.data.policeapi import NotFound

    hid = str(hood["id"])
    got, missing = {}, []
    for part, path in (("info", f"{force}/{hid}"), ("people", f"{force}/{hid}/people"),
                       ("priorities", f"{force}/{hid}/priorities"), ("events", f"{force}/{hid}/events")):
        try:
            got[part] = api.request(path)
        except NotFound:
            got[part] = None
            missing.append(part)
    return {"id": hid, **clean_info(got["info"]), "team": clean_team(_list(got["people"])),
            "priorities": clean_priorities(_list(got["priorities"])), "events": clean_events(_list(got["events"])),
            "missing": missing}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def details_path(store_root, force: str) -> Path:
    return Path(store_root) / BOUNDARY_DIR / f"{force}-neighbourhood-details.json"


def cache_details(store_root, force: str, names: list[str], details: list[dict], fetched: str) -> Path:
    """Write every neighbourhood's details (with its page name, as in the neighbourhoods file)."""
    doc = {"force": force, "source": "police.uk API /{force}/{id}, /people, /priorities, /events",
           "fetched": fetched, "neighbourhoods": [{"name": n, **d} for n, d in zip(names, details)]}
    path = details_path(store_root, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, json.dumps(doc, ensure_ascii=False))


def read_details(store_root, force: str) -> dict[str, dict]:
    """{page name: details} from the store, {} when `saferhub fetch` has not stored any."""
    path = details_path(store_root, force)
    if not path.exists():
        return {}
    return {d["name"]: d for d in json.loads(path.read_text(encoding="utf-8")).get("neighbourhoods", [])}
