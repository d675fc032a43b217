"""Request plumbing: a database session per request, the signed-in user, the stated purpose."""

from __future__ import annotations

from typing import Annotated, Iterator

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from saferhub.api.hygiene import header_text
from saferhub.hub.models import User
from saferhub.hub.security import user_for_token

bearer = HTTPBearer(auto_error=False, description="a token from POST /auth/login")


def get_db(request: Request) -> Iterator[Session]:
    db = request.app.state.sessions()
    try:
        yield db
    finally:
        db.close()  # rolls back anything the endpoint did not commit


DB = Annotated[Session, Depends(get_db)]


def current_user(request: Request, db: DB,
                 creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> User:
    if creds is None or creds.scheme.lower() != "bearer":
        raise HTTPException(401, "sign in first: send Authorization: Bearer <token> from POST /auth/login",
                            headers={"WWW-Authenticate": "Bearer"})
    user = user_for_token(db, creds.credentials)
    if user is None:
        raise HTTPException(401, "the token is unknown or expired; sign in again",
                            headers={"WWW-Authenticate": "Bearer"})
    request.state.token = creds.credentials  # logout revokes exactly the token that was accepted
    return user


CurrentUser = Annotated[User, Depends(current_user)]
def purpose_header(x_purpose: Annotated[str | None, Header(
        alias="X-Purpose", max_length=4000,
        description="Why you need this personal data (logged in the audit trail, DPA 2018 s62). Required. "
                    "Non-ASCII text: send UTF-8, or the RFC 8187 form UTF-8''<percent-encoded>.")] = None) -> str | None:
    return header_text(x_purpose)  # the service checks it (at most 300 characters once decoded)


Purpose = Annotated[str | None, Depends(purpose_header)]
