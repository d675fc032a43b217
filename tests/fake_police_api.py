"""A local stand-in for the data.police.uk API, for tests (there is no internet here).

It serves the endpoints `saferhub fetch` uses from in-memory neighbourhoods and crimes, and
misbehaves like the real service on request: 503 when a polygon holds more than `threshold`
crimes (the real cap is 10,000), 429 with Retry-After when requests come faster than
`rate_limit` per second or for the first `throttle_first` requests, 500 for chosen requests,
slow answers (timeouts), and 404 for unknown forces. Every request is logged with its arrival
time so tests can check the client's rate.

Polygon membership is strict (points on the boundary are outside), the harshest reading of the
API, so the fetcher's border handling is really tested.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
import shapely
from shapely.geometry import Polygon, box

SLUGS = ["anti-social-behaviour", "bicycle-theft", "burglary", "criminal-damage-arson", "drugs",
         "other-crime", "other-theft", "possession-of-weapons", "public-order", "robbery",
         "shoplifting", "theft-from-the-person", "vehicle-crime", "violent-crime"]
OUTCOMES = ["Investigation complete; no suspect identified", "Under investigation",
            "Unable to prosecute suspect", "Offender given a caution", None]


@dataclass
class Logged:
    t: float
    method: str
    path: str
    status: int


@dataclass
class FakePoliceAPI:
    """neighbourhoods: {force: {hood_id: [(lon, lat), ...]}}; crimes: {month: [API crime dicts]}
    (located and no-location; a no-location crime carries `_force`)."""

    neighbourhoods: dict
    crimes: dict
    threshold: int = 40
    rate_limit: float | None = 15.0
    throttle_first: int = 0
    retry_after: str | None = "1"
    fail_500: set = field(default_factory=set)     # 1-based request numbers answered 500
    down: int | None = None                        # answer every request with this status
    slow: set = field(default_factory=set)         # 1-based request numbers that sleep `slow_s` first
    slow_s: float = 0.5
    broken_month: str | None = None                # every request for this month answers 500
    last_updated: str = "2024-01-31"
    # {force: {hood: {"info": {...}, "people": [...], "priorities": [...], "events": [...]}}}; a part
    # left out answers 404. None: every neighbourhood gets `details_for(hood)`.
    details: dict | None = None
    log: list = field(default_factory=list)
    too_fast: int = 0
    listed_forces: list | None = None              # what /forces lists (default: the forces with neighbourhoods)

    def __post_init__(self):
        self._lock = threading.Lock()
        self._n = 0
        self._arrivals: list[float] = []
        self._index = {}
        for month, rows in self.crimes.items():
            located = [c for c in rows if c.get("location")]
            lon = np.array([float(c["location"]["longitude"]) for c in located])
            lat = np.array([float(c["location"]["latitude"]) for c in located])
            self._index[month] = (located, lon, lat)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> str:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):   # quiet
                pass

            def do_GET(self):
                api._handle(self, "GET")

            def do_POST(self):
                api._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/api"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- answers ---------------------------------------------------------------------------------

    def paths(self, prefix: str = "") -> list[Logged]:
        return [r for r in self.log if r.path.startswith(prefix)]

    def max_per_second(self) -> int:
        """Most requests that arrived within any 1-second window."""
        t = np.sort(np.array([r.t for r in self.log]))
        if t.size == 0:
            return 0
        return int((np.searchsorted(t, t + 1.0, side="left") - np.arange(t.size)).max())

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        now = time.monotonic()
        url = urlsplit(h.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        if method == "POST":
            length = int(h.headers.get("Content-Length") or 0)
            params.update({k: v[0] for k, v in parse_qs(h.rfile.read(length).decode()).items()})
        with self._lock:
            self._n += 1
            n = self._n
            recent = [t for t in self._arrivals if t > now - 1.0]
            self._arrivals = recent + [now]
            too_fast = self.rate_limit is not None and len(recent) >= self.rate_limit
            if too_fast:
                self.too_fast += 1
        if n in self.slow:
            time.sleep(self.slow_s)
        status, body, headers = self._route(url.path, params, n, too_fast)
        with self._lock:
            self.log.append(Logged(now, method, url.path, status))
        data = json.dumps(body).encode() if body is not None else b""
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):   # the client timed out and left
            pass

    def _route(self, path: str, params: dict, n: int, too_fast: bool):
        if self.down is not None:
            return self.down, None, {}
        if n <= self.throttle_first or too_fast:
            return 429, None, ({"Retry-After": self.retry_after} if self.retry_after is not None else {})
        if n in self.fail_500 or (self.broken_month and params.get("date") == self.broken_month):
            return 500, {"error": "internal"}, {}
        parts = path.removeprefix("/api").strip("/").split("/")
        if parts == ["crimes-street-dates"]:
            return 200, [{"date": m, "stop-and-search": []} for m in sorted(self.crimes, reverse=True)], {}
        if parts == ["forces"]:
            listed = self.listed_forces if self.listed_forces is not None else sorted(self.neighbourhoods)
            return 200, [{"id": f, "name": f"{f.replace('-', ' ').title()} Police"} for f in listed], {}
        if parts == ["crime-last-updated"]:
            return 200, {"date": self.last_updated}, {}
        if parts == ["crimes-street", "all-crime"]:
            return self._street(params)
        if parts == ["crimes-no-location"]:
            rows = [c for c in self.crimes.get(params.get("date"), [])
                    if not c.get("location") and c.get("_force") == params.get("force")]
            return 200, [{k: v for k, v in c.items() if k != "_force"} for c in rows], {}
        if len(parts) == 2 and parts[1] == "neighbourhoods" and parts[0] in self.neighbourhoods:
            return 200, [{"id": k, "name": f"Neighbourhood {k}"} for k in self.neighbourhoods[parts[0]]], {}
        if len(parts) == 3 and parts[2] == "boundary" and parts[1] in self.neighbourhoods.get(parts[0], {}):
            ring = self.neighbourhoods[parts[0]][parts[1]]
            return 200, [{"latitude": f"{lat}", "longitude": f"{lon}"} for lon, lat in ring], {}
        if len(parts) in (2, 3) and parts[1] in self.neighbourhoods.get(parts[0], {}):
            about = (self.details.get(parts[0], {}).get(parts[1], {}) if self.details is not None
                     else details_for(parts[1]))
            part = "info" if len(parts) == 2 else parts[2]
            if part in about:
                return 200, about[part], {}
        return 404, None, {}

    def _street(self, params: dict):
        month = params.get("date")
        if month not in self._index or "poly" not in params:
            return 404, None, {}
        pts = [p.split(",") for p in params["poly"].split(":")]
        poly = Polygon([(float(lng), float(lat)) for lat, lng in pts])
        located, lon, lat = self._index[month]
        inside = np.flatnonzero(shapely.contains_xy(poly, lon, lat)) if lon.size else []
        if len(inside) > self.threshold:
            return 503, None, {}
        return 200, [located[i] for i in inside], {}


def details_for(hood: str) -> dict:
    """A neighbourhood's police.uk details in the API's own shapes (data.police.uk/docs/method/
    neighbourhood, -team, -priorities, -events), HTML in the text fields as the real API has."""
    return {
        "info": {"id": hood, "name": f"Neighbourhood {hood}", "welsh_name": None, "population": "0",
                 "url_force": f"https://www.merseyside.police.uk/area/your-area/{hood.lower()}/",
                 "description": f"<p>Neighbourhood {hood} covers the streets around the <b>waterfront</b>.</p>",
                 "contact_details": {"telephone": "101", "email": f"{hood.lower()}.team@merseyside.police.invalid",
                                     "twitter": "https://twitter.com/MerPolCC"},
                 "links": [{"url": "https://www.merseyside.police.uk/", "title": "Merseyside Police", "description": None}],
                 "centre": {"latitude": "53.40", "longitude": "-2.98"}, "locations": [], "url_boundary": ""},
        "people": [
            {"name": f"Sarah Quayle-{hood}", "rank": "Sergeant", "bio": "<p>Sarah leads the team.</p>",
             "contact_details": {"email": f"sarah.quayle.{hood.lower()}@merseyside.police.invalid",
                                 "telephone": "0151 777 0101"}},
            {"name": f"Tom Ashby-{hood}", "rank": "PCSO", "bio": None, "contact_details": {}},
        ],
        "priorities": [
            {"issue": "<p>Off-road bikes on Dale Street at night.</p>", "issue-date": "2026-09-01T00:00:00",
             "action": "<p>Patrols and two bikes seized.</p>", "action-date": "2026-10-15T00:00:00"},
            {"issue": "<p>Drug dealing near the park.</p>", "issue-date": "2026-11-01T00:00:00",
             "action": None, "action-date": None},
        ],
        "events": [
            {"title": "Beat surgery", "description": "Come and meet your local team.", "type": "meeting",
             "address": "Central Library, William Brown Street", "start_date": "2026-12-20T10:00:00",
             "end_date": "2026-12-20T12:00:00", "contact_details": {"telephone": "0151 777 0102"}},
            {"title": "Bike marking", "description": None, "type": "other", "address": "Hope Street",
             "start_date": "2026-11-02T10:00:00", "end_date": "2026-11-02T12:00:00", "contact_details": {}},
        ],
    }


# ---------------------------------------------------------------------------------------------
# A synthetic world near Liverpool city centre


CELL = 0.02
ORIGIN = (-3.00, 53.39)   # lon, lat: Liverpool waterfront


def _cell(i: int, j: int):
    x0, y0 = ORIGIN[0] + i * CELL, ORIGIN[1] + j * CELL
    return box(x0, y0, x0 + CELL, y0 + CELL)


def _wiggly_cell(i: int, j: int, n: int = 300, amp: float = 0.0004) -> Polygon:
    """Cell (i, j) with its top and right edges (which no other cell shares here) replaced by
    zig-zags of n vertices each: a real-looking, many-vertex boundary whose query must be a POST."""
    x0, y0 = ORIGIN[0] + i * CELL, ORIGIN[1] + j * CELL
    x1, y1 = x0 + CELL, y0 + CELL
    t = np.arange(n) / n
    zig = amp * (np.arange(n) % 2)
    right = [(x1 - z, y0 + CELL * k) for k, z in zip(t, zig)]
    top = [(x1 - CELL * k, y1 - z) for k, z in zip(t, zig)]
    return Polygon([(x0, y0)] + right + top + [(x0, y1)])


def world(months=("2023-01", "2023-02"), seed: int = 7, dense: int = 150, sparse: int = 20,
          unlocated: int = 4, force: str = "merseyside") -> tuple[dict, dict, dict]:
    """Neighbourhoods, crimes and the expected result.

    A: an L-shaped (concave) area over cells (0,0), (1,0), (0,1); B: cell (1,1), dense (splits
    needed); C: cell (2,0); D: cell (2,1) with a 600-vertex zig-zag boundary (so its query is a POST).
    Each month also has crimes exactly on shared borders and on B's first cut line, crimes
    outside every neighbourhood (another force's: never returned), one BTP crime (left out),
    one crime with an unknown category (quarantined) and `unlocated` no-location crimes.
    Returns (neighbourhoods, crimes, expected) with expected[month] = {"event_ids": set,
    "unlocated": int, "quarantined": int, "btp": int}.
    """
    rng = random.Random(seed)
    a = shapely.union_all([_cell(0, 0), _cell(1, 0), _cell(0, 1)])
    areas = {"A": a, "B": _cell(1, 1), "C": _cell(2, 0), "D": _wiggly_cell(2, 1)}
    rings = {k: [(round(x, 9), round(y, 9)) for x, y in list(p.exterior.coords)[:-1]] for k, p in areas.items()}
    hoods = {force: rings}
    next_id = [100_000_000]
    crimes, expected = {}, {}

    def crime(month, lon, lat, slug=None, location_type="Force"):
        next_id[0] += rng.randint(1, 50)
        slug = slug or rng.choice(SLUGS)
        outcome = None if slug == "anti-social-behaviour" else rng.choice(OUTCOMES)
        return {
            "category": slug, "location_type": location_type,
            "location": None if lon is None else {
                "latitude": f"{lat:.6f}", "longitude": f"{lon:.6f}",
                "street": {"id": rng.randint(1, 10**7), "name": f"On or near {rng.choice(['Bold', 'Hope', 'Duke', 'Dale'])} Street"}},
            "context": "", "outcome_status": None if outcome is None else {"category": outcome, "date": month},
            "persistent_id": "" if slug == "anti-social-behaviour" else f"{rng.getrandbits(256):064x}",
            "id": next_id[0], "location_subtype": "", "month": month,
        }

    def inside(poly, k):
        minx, miny, maxx, maxy = poly.bounds
        pts = []
        while len(pts) < k:
            x, y = round(rng.uniform(minx, maxx), 6), round(rng.uniform(miny, maxy), 6)
            if poly.contains(shapely.Point(x, y)):
                pts.append((x, y))
        return pts

    x1, y1 = ORIGIN[0] + CELL, ORIGIN[1] + CELL   # the corner where A, B meet
    for month in months:
        rows, keep, quarantined = [], [], 0
        for name, poly in areas.items():
            for x, y in inside(poly, dense if name == "B" else sparse):
                rows.append(crime(month, x, y)); keep.append(rows[-1])
            # snap points repeat in real data: several crimes at one point
            x, y = inside(poly, 1)[0]
            for _ in range(3):
                rows.append(crime(month, x, y)); keep.append(rows[-1])
        # exactly on shared borders (A|B vertical edge, A|B horizontal edge, C|D, B|D) and on B's cut line
        for x, y in [(x1, y1 + 0.0073), (x1 + 0.0041, y1), (ORIGIN[0] + 2 * CELL + 0.011, y1),
                     (ORIGIN[0] + 2 * CELL, y1 + 0.005), (x1 + 0.0123, y1 + CELL / 2),
                     (x1 + CELL / 2, y1 + 0.0031)]:
            rows.append(crime(month, round(x, 6), round(y, 6))); keep.append(rows[-1])
        for x, y in [(-2.90, 53.40), (-3.05, 53.45)]:          # outside every neighbourhood
            rows.append(crime(month, x, y))
        btp = crime(month, *inside(areas["C"], 1)[0], location_type="BTP")
        rows.append(btp)
        odd = crime(month, *inside(areas["A"], 1)[0], slug="unicorn-theft")
        rows.append(odd)
        quarantined += 1
        for _ in range(unlocated):
            c = crime(month, None, None)
            c["location_type"] = None
            c["_force"] = force
            rows.append(c); keep.append(c)
        rng.shuffle(rows)
        crimes[month] = rows
        expected[month] = {
            "event_ids": {c["persistent_id"] or f"api:{c['id']}" for c in keep},
            "rows": len(keep), "unlocated": unlocated, "quarantined": quarantined, "btp": 1,
            "quarantined_ids": {odd["id"]},
        }
    return hoods, crimes, expected
