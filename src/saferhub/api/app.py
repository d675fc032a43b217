"""The FastAPI application factory: one app per hub database, built from explicit settings."""

from __future__ import annotations

import secrets

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from saferhub.config import Settings, settings
from saferhub.hub.db import make_engine, resolve_db_url, session_factory


def create_app(db: str | None = None, *, engine=None, secret: str | None = None,
               config: Settings | None = None, fast_lane: bool = True) -> FastAPI:
    """The hub app for `engine`, else the database `db` (as for `resolve_db_url`), else the one in
    `config` (default: `settings()`). The schema must exist (`saferhub hub init`). `secret` signs
    the web forms' CSRF tokens: every server process must share it (default: the settings', else a
    random one for this process). `fast_lane`: on PostgreSQL, plain case lists are answered in
    front of the router (`fastlane.py`; False: by the route, as on other databases)."""
    from saferhub import __version__
    from saferhub.api import failures, fastlane, headers, hygiene, pages, routes, web
    from saferhub.api.pages import errors as web_errors

    config = config or settings()
    app = FastAPI(
        title="saferhub hub",
        version=__version__,
        description="The multi-agency hub: cases, people, referrals, actions, risk, the ASB workflow, "
                    "rules and OSARA plans, with need-to-know access and a hash-chained audit log. "
                    "Personal-data endpoints need an X-Purpose header.",
        docs_url=None, redoc_url=None,  # /docs below: vendored Swagger UI, nothing from other sites
    )
    app.state.engine = engine if engine is not None else make_engine(resolve_db_url(db or config.hub_db))
    app.state.sessions = session_factory(app.state.engine)
    app.state.secret = secret or config.secret or secrets.token_hex(32)
    app.state.login_limit = True

    if fast_lane and app.state.engine.dialect.name == "postgresql":
        app.add_middleware(fastlane.FastLane, state=app.state)  # innermost: after hygiene
    failures.install(app)  # refusals of services and the database: one mapping (failures.answer)
    hygiene.install(app, config.max_request_bytes,  # size limits, strict JSON, clipped 422s
                    {("POST", "/incidents"): max(config.max_incidents_request_bytes, config.max_request_bytes)})
    web_errors.install(app)  # errors under /web/ answer as HTML pages (after hygiene: wraps its 422)
    app.add_middleware(headers.SecurityHeaders, tile_url=config.tile_url)  # outermost: every response

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE)

    app.include_router(routes.router)
    app.include_router(web.router)
    app.include_router(pages.router)
    return app


# Swagger UI from web/static/vendor/swagger-ui (see its SOURCE.txt), started by web/static/docs.js:
# no inline script, so the page works under the same Content-Security-Policy as every other.
DOCS_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>saferhub hub API</title>
<link rel="stylesheet" href="/web/static/vendor/swagger-ui/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/web/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/web/static/docs.js"></script></body></html>"""


def from_settings() -> FastAPI:
    """The app for `settings()` (the environment): what each worker process builds when
    `saferhub serve --workers N` runs `uvicorn saferhub.api.app:from_settings --factory`."""
    return create_app(config=settings())
