"""The JSON API: one module per resource, each route validates its body (`schemas`), calls one
service, commits, and declares its response model (so /openapi.json documents every answer)."""

from __future__ import annotations

from fastapi import APIRouter

from saferhub.api.routes import (
    actions, auth, cases, directory, people, places, plans, powers, referrals, rules, service)
from saferhub.api.routes import missing  # noqa: E402
from saferhub.api.schemas import ERRORS

router = APIRouter(responses=ERRORS)
for module in (auth, directory, cases, places, people, referrals, actions, powers, rules, plans, service):
    router.include_router(module.router)
router.include_router(missing.router)  # children missing from home or care (issue 25)
