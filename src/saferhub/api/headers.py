"""Browser hardening headers on every response (API, pages, files), set in one place.

* Content-Security-Policy: scripts and styles only from this origin, no inline script or event
  handlers, no inline style attributes or blocks (pages keep their CSS and JS in web/static; the
  map's Leaflet sets element.style from script, which CSP allows), nothing from other sites, and no
  framing (`frame-ancestors 'none'`). Published report documents under /web/reports/ carry their
  styles inline (they are made to open offline as single files): they get a policy with no script
  at all, inline styles only, and a sandbox.
* X-Frame-Options DENY (older browsers), X-Content-Type-Options nosniff, Referrer-Policy
  no-referrer (ids in our URLs never leak to another site).
* Cache-Control no-store on everything except the vendored static assets and the published map
  layers (aggregates; their routes set their own caching): pages, API answers and report files may
  show personal data, and a shared or back-button cache must not keep them."""

from __future__ import annotations

from urllib.parse import urlsplit

CACHEABLE = ("/web/static/", "/web/layers/")  # no personal data: the route's own Cache-Control stands
REPORTS = "/web/reports/"


def _origin(url: str | None) -> str:
    """scheme://host[:port] of a tile URL template (the map's only other image source), or ''."""
    if not url:
        return ""
    parts = urlsplit(url.replace("{s}", "subdomain"))  # Leaflet's {s}: a, b, c... -> any subdomain
    host = parts.netloc.rsplit("@", 1)[-1]
    if parts.scheme not in ("http", "https") or not host or "{" in host:
        return ""
    return f"{parts.scheme}://{host.replace('subdomain', '*', 1) if '{s}' in url else host}"


def policies(tile_url: str | None = None) -> tuple[str, str]:
    """(the pages' and API's policy, the report documents' policy)."""
    images = " ".join(x for x in ("'self'", "data:", _origin(tile_url)) if x)
    page = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src " + images + "; "
            "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    report = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'none'; "
              "frame-ancestors 'none'; base-uri 'none'; sandbox")
    return page, report


class SecurityHeaders:
    """Pure ASGI middleware: adds the headers above to every HTTP response."""

    def __init__(self, app, tile_url: str | None = None):
        self.app = app
        page, report = policies(tile_url)
        common = [(b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
                  (b"referrer-policy", b"no-referrer")]
        self.page = common + [(b"content-security-policy", page.encode())]
        self.report = common + [(b"content-security-policy", report.encode())]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        extra = self.report if path.startswith(REPORTS) else self.page
        cacheable = path.startswith(CACHEABLE)
        ours = {k for k, _ in extra} | ({b"cache-control"} if not cacheable else set())

        async def with_headers(message):
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in ours]
                added = extra if cacheable else extra + [(b"cache-control", b"no-store")]
                message = {**message, "headers": kept + added}
            await send(message)

        await self.app(scope, receive, with_headers)
