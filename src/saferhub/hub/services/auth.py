"""Signing in and out: the one flow behind POST /auth/login and the web sign-in form.

Password checks, e-mail normalisation and the throttle are `saferhub.hub.security`'s; this module
only strings them together, so the API and the web page cannot drift apart again."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from saferhub.hub import audit, security
from saferhub.hub.errors import HubError
from saferhub.hub.models import User


class WrongCredentials(HubError):
    status = 401


class TooManyAttempts(HubError):
    status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class SignIn:
    """The outcome of one attempt. Commit it whatever it is (a failure is counted by the
    throttle), then call `check()`: `attempt = sign_in(...); db.commit(); attempt.check()`."""

    user: User | None
    token: str | None

    def check(self) -> SignIn:
        if self.user is None:
            raise WrongCredentials("wrong e-mail or password")
        return self


def sign_in(db: Session, email: str, password: str, source_ip: str, *, throttle: bool = True,
            channel: str = "api") -> SignIn:
    """A bearer token for this e-mail and password, or a failed attempt (see `SignIn`).
    Raises TooManyAttempts (429, with `retry_after` seconds) when the throttle refuses without
    trying the password (security.attempt_login: per (account, source) backoff, ceilings)."""
    result = security.attempt_login(db, email, password, source_ip, limit=throttle)
    if not result.throttle.allowed:
        raise TooManyAttempts(result.throttle.reason + "; try again later", result.throttle.retry_after)
    if result.user is None:
        return SignIn(None, None)
    user = result.user
    token = security.issue_token(db, user)
    audit.append(db, user=user, action="login", entity="user", entity_ids=[user.id],
                 purpose="sign in" if channel == "api" else f"sign in ({channel})")
    return SignIn(user, token)


def sign_out(db: Session, token: str) -> bool:
    """Revoke exactly this token; False when it was not live (the caller answers 401)."""
    return security.revoke_token(db, token)
