"""oidc mode: the session cookie (a short JWT signed with AYUDA_SESSION_SECRET: user, groups, CSRF token,
expiry), the login-state cookie (state, nonce, PKCE verifier, where to go back), and the CSRF check.

The session cookie is HttpOnly, SameSite=Lax and Secure. Requests that change something (POST, PUT,
PATCH, DELETE) authenticated by the cookie must also send its CSRF token in X-CSRF-Token; pages get the
token from GET /auth/session, which other web sites cannot read (CORS), so a forged cross-site form or
fetch never has it.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import Response

from app.config import Settings
from app.errors import Forbidden
from app.security import User

SESSION_COOKIE = "ayuda_session"
LOGIN_COOKIE = "ayuda_login"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
LOGIN_SECONDS = 600
_SESSION_AUD, _LOGIN_AUD = "ayuda-session", "ayuda-login"


class Sessions:
    def __init__(self, settings: Settings) -> None:
        self.key = settings.session_secret
        self.secure = settings.cookie_secure
        self.seconds = int(settings.session_hours * 3600)

    def _encode(self, claims: dict[str, Any], aud: str, seconds: int) -> str:
        now = int(time.time())
        return jwt.encode(claims | {"aud": aud, "iat": now, "exp": now + seconds}, self.key, algorithm="HS256")

    def _decode(self, token: str | None, aud: str) -> dict[str, Any] | None:
        if not token:
            return None
        try:
            return jwt.decode(token, self.key, algorithms=["HS256"], audience=aud)  # type: ignore[no-any-return]
        except jwt.PyJWTError:
            return None

    def _set(self, response: Response, name: str, value: str, seconds: int) -> None:
        response.set_cookie(name, value, max_age=seconds, path="/", secure=self.secure, httponly=True,
                            samesite="lax")

    # --- the session -------------------------------------------------------------------------------
    def start(self, response: Response, user: User) -> None:
        claims = {"sub": user.id, "groups": sorted(user.groups), "csrf": secrets.token_urlsafe(32)}
        self._set(response, SESSION_COOKIE, self._encode(claims, _SESSION_AUD, self.seconds), self.seconds)

    def end(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/", secure=self.secure, httponly=True, samesite="lax")

    def read(self, request: Request) -> dict[str, Any] | None:
        """The session's claims (sub, groups, csrf), or None without a valid, unexpired cookie."""
        return self._decode(request.cookies.get(SESSION_COOKIE), _SESSION_AUD)

    @staticmethod
    def check_csrf(request: Request, claims: dict[str, Any]) -> None:
        if request.method in SAFE_METHODS:
            return
        sent = request.headers.get(CSRF_HEADER, "").encode()
        if not sent or not hmac.compare_digest(sent, str(claims.get("csrf", "")).encode()):
            raise Forbidden("missing or wrong X-CSRF-Token: send the csrf_token from GET /auth/session with "
                            "requests that change something", code="csrf_failed")

    # --- the login round trip ----------------------------------------------------------------------
    def begin_login(self, response: Response, state: dict[str, str]) -> None:
        self._set(response, LOGIN_COOKIE, self._encode(state, _LOGIN_AUD, LOGIN_SECONDS), LOGIN_SECONDS)

    def login_state(self, request: Request) -> dict[str, Any] | None:
        return self._decode(request.cookies.get(LOGIN_COOKIE), _LOGIN_AUD)

    def finish_login(self, response: Response) -> None:
        response.delete_cookie(LOGIN_COOKIE, path="/", secure=self.secure, httponly=True, samesite="lax")
