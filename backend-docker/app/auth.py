"""Better Auth JWT verification (HS256, shared BETTER_AUTH_SECRET)."""

from __future__ import annotations

import logging
import warnings
from typing import Annotated

import jwt
from jwt.warnings import InsecureKeyLengthWarning
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .models import USER_ID_MAX


class AuthError(Exception):
    """Missing, malformed, forged or expired credentials (-> 401)."""


log = logging.getLogger(__name__)


class JWTVerifier:
    def __init__(self, secret: str, leeway_seconds: int = 30) -> None:
        if len(secret.encode()) < 32:
            log.warning("BETTER_AUTH_SECRET is shorter than 32 bytes; use a longer random secret")
        # Said once above; PyJWT would otherwise repeat it on every request.
        warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)
        self._secret = secret
        self._leeway = leeway_seconds  # tolerate small clock skew between auth server and us

    def user_from_header(self, authorization: str | None) -> str:
        if not authorization:
            raise AuthError("missing bearer token")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("missing bearer token")
        return self.user_from_token(token.strip())

    def user_from_token(self, token: str) -> str:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],  # never let the token pick its algorithm
                leeway=self._leeway,
                options={"require": ["sub", "exp"], "verify_aud": False, "verify_iss": False},
            )
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {type(exc).__name__}") from None
        # RFC 7519 NumericDate is a JSON number; PyJWT also takes "exp": "1735689600".
        for claim in ("exp", "nbf", "iat"):
            value = claims.get(claim)
            if claim in claims and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise AuthError(f"invalid token: {claim} is not a number")
        sub = claims.get("sub")
        # A user id the user_id columns cannot hold would fail on PostgreSQL and be stored on
        # SQLite: refuse it here, the same on both.
        if not isinstance(sub, str) or not sub or len(sub) > USER_ID_MAX or "\x00" in sub:
            raise AuthError("invalid token: bad sub")
        return sub


_bearer = HTTPBearer(auto_error=False, description="Better Auth JWT (HS256)")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def current_user(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    verifier: JWTVerifier = request.app.state.verifier
    if creds is None:
        raise _unauthorized("not authenticated")
    try:
        return verifier.user_from_token(creds.credentials)
    except AuthError:
        raise _unauthorized("invalid or expired token") from None


def path_user(user_id: str, token_user: Annotated[str, Depends(current_user)]) -> str:
    """The `{user_id}` path segment, allowed only when it is the token's own user."""
    if user_id != token_user:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="forbidden")
    return user_id


AuthorizedUser = Annotated[str, Depends(path_user)]
