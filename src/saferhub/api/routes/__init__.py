"""The JSON API: one module per resource, each route validates its body (`schemas`), calls one
service, commits, and declares its response model (so /openapi.json documents every answer)."""

from __future__ import annotations

from fastapi import APIRouter

from saferhub.api.routes import actions, auth, cases, directory, people, places, plans, powers, referrals, rules, service
from saferhub.api.schemas import Problem

# The refusals every route may give, all as {"detail": "..."}.
ERRORS = {code: {"model": Problem, "description": text} for code, text in (
    (400, "a mistake in the request"), (401, "not signed in"), (403, "not allowed for your role or this case"),
    (404, "no such record, or not one you may know of"), (409, "conflicts with the record's current state"),
    (413, "request body too large"), (422, "the body or a parameter is not valid"),
    (429, "too many attempts"), (503, "the database is busy; retry"))}

router = APIRouter(responses=ERRORS)
for module in (auth, directory, cases, places, people, referrals, actions, powers, rules, plans, service):
    router.include_router(module.router)
