"""What the API answers when a service or the database refuses: one mapping, used by the app's
exception handlers and by the fast lane (`fastlane.py`), so both answer a refusal alike."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from saferhub.errors import SaferhubError
from saferhub.hub.errors import HubError


def answer(exc: BaseException) -> JSONResponse | None:
    """The response for a refusal, or None for an exception that is a bug (a 500)."""
    if isinstance(exc, HubError):
        retry = getattr(exc, "retry_after", None)
        return JSONResponse({"detail": str(exc)}, status_code=exc.status,
                            headers={"Retry-After": str(retry)} if retry else None)
    if isinstance(exc, SaferhubError):
        return JSONResponse({"detail": str(exc)}, status_code=400)
    if isinstance(exc, IntegrityError):
        return JSONResponse({"detail": "that conflicts with an existing record or refers to a missing one"},
                            status_code=409)
    if isinstance(exc, DataError):
        return JSONResponse({"detail": "a value is out of range for the database"}, status_code=400)
    if isinstance(exc, (OperationalError, PoolTimeout)):  # every pooled connection busy for 30 s: overload
        return JSONResponse({"detail": "the database is busy; try again"}, status_code=503,
                            headers={"Retry-After": "1"})
    return None


REFUSALS = (HubError, SaferhubError, IntegrityError, DataError, OperationalError, PoolTimeout)


def install(app: FastAPI) -> None:
    async def refused(request: Request, exc: Exception):
        return answer(exc)

    for exc_class in REFUSALS:
        app.add_exception_handler(exc_class, refused)
