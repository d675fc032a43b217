"""Sign in and out (bearer tokens), and who am I."""

from fastapi import APIRouter, HTTPException, Request, Response

from saferhub.api import schemas as S
from saferhub.api.deps import DB, CurrentUser, Token, client_ip, done
from saferhub.hub import services

router = APIRouter(tags=["auth"])


@router.post("/auth/login", response_model=S.TokenOut)
def login(body: S.Login, request: Request, db: DB) -> dict:
    """Exchange e-mail and password for a bearer token (429 after repeated failures)."""
    attempt = services.auth.sign_in(db, body.email, body.password, client_ip(request),
                                    throttle=request.app.state.login_limit)
    done(db, attempt).check()
    return {"token": attempt.token, "token_type": "bearer", "user": services.user_dict(attempt.user)}


@router.post("/auth/logout", status_code=204, response_class=Response)
def logout(db: DB, user: CurrentUser, token: Token) -> Response:
    if not done(db, services.auth.sign_out(db, token)):
        raise HTTPException(401, "the token is unknown or expired; sign in again")
    return Response(status_code=204)


@router.get("/me", response_model=S.UserOut)
def me(user: CurrentUser) -> dict:
    return services.user_dict(user)
