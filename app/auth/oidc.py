"""oidc mode, the identity provider side: discovery, the authorization-code + PKCE round trip, and JWT
verification (ID tokens at sign-in, `Authorization: Bearer` JWTs on the API) against the issuer's JWKS.

PyJWT does the cryptography and claim checks (signature, issuer, audience, expiry); PyJWKClient fetches
and caches the issuer's keys and refetches when a token names a key it has not seen (key rotation).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from app.config import Settings
from app.errors import NotReady, Unauthorized
from app.security import User, make_user

# Asymmetric algorithms only: an HS256 token would be signed with a secret the API does not hold, and
# "none" is never accepted.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
USER_CLAIMS = ("email", "preferred_username", "sub")
TIMEOUT = 10.0


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class OidcClient:
    def __init__(self, settings: Settings) -> None:
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret
        self.redirect_url = settings.oidc_redirect_url
        self.audience = settings.oidc_audience or settings.oidc_client_id
        self.groups_claim = settings.oidc_groups_claim
        self.scopes = settings.oidc_scopes
        self._meta: dict[str, Any] | None = None
        self._jwks: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    # --- discovery ---------------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._meta is None:
                url = f"{self.issuer}/.well-known/openid-configuration"
                try:
                    r = httpx.get(url, timeout=TIMEOUT)
                    r.raise_for_status()
                    meta = r.json()
                except (httpx.HTTPError, ValueError) as e:
                    raise NotReady(f"the identity provider's discovery document {url} could not be read: {e}") from e
                if meta.get("issuer", "").rstrip("/") != self.issuer:
                    raise NotReady(f"{url} names issuer {meta.get('issuer')!r}, not AYUDA_OIDC_ISSUER {self.issuer!r}")
                self._meta = meta
                self._jwks = jwt.PyJWKClient(meta["jwks_uri"], cache_keys=True, lifespan=3600, timeout=TIMEOUT)
            return self._meta

    def _key(self, token: str) -> Any:
        try:
            jwt.get_unverified_header(token)
        except jwt.PyJWTError as e:  # not a JWT at all: no need to ask the issuer
            raise Unauthorized(f"the token is not a JWT: {e}", code="invalid_token") from e
        self.metadata()
        assert self._jwks is not None
        try:
            return self._jwks.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as e:
            raise NotReady(f"the identity provider's keys could not be fetched: {e}") from e
        except jwt.PyJWTError as e:
            raise Unauthorized(f"the token's signing key is not one of the issuer's: {e}") from e

    def verify(self, token: str, *, audience: str, nonce: str | None = None) -> dict[str, Any]:
        """The claims of a JWT signed by the issuer for `audience`, unexpired; Unauthorized otherwise."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._key(token), algorithms=ALGORITHMS, audience=audience, issuer=self.metadata()["issuer"],
                options={"require": ["exp", "iss", "aud"]}, leeway=30 if nonce else 0)
        except jwt.ExpiredSignatureError as e:
            raise Unauthorized("the token has expired: get a new one", code="token_expired") from e
        except jwt.PyJWTError as e:
            raise Unauthorized(f"the token was refused: {e}", code="invalid_token") from e
        if nonce is not None and not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise Unauthorized("the ID token's nonce does not match this sign-in: sign in again")
        return claims

    def user_from_claims(self, claims: dict[str, Any]) -> User:
        user_id = next((str(claims[c]) for c in USER_CLAIMS if claims.get(c)), "")
        if not user_id:
            raise Unauthorized("the token names no user (email, preferred_username or sub)")
        groups = claims.get(self.groups_claim) or []
        if isinstance(groups, str):
            groups = groups.split(",")
        return make_user(user_id, [str(g) for g in groups], source="the token's user claim")

    def bearer_user(self, token: str) -> User:
        return self.user_from_claims(self.verify(token, audience=self.audience))

    # --- authorization code + PKCE -----------------------------------------------------------------
    def authorization_url(self, state: str, nonce: str, challenge: str) -> str:
        query = {"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_url,
                 "scope": self.scopes, "state": state, "nonce": nonce, "code_challenge": challenge,
                 "code_challenge_method": "S256"}
        return f"{self.metadata()['authorization_endpoint']}?{urlencode(query)}"

    def exchange(self, code: str, verifier: str, nonce: str) -> User:
        """Trade the code for tokens at the token endpoint and verify the ID token."""
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_url,
                "code_verifier": verifier}
        try:
            r = httpx.post(self.metadata()["token_endpoint"], data=data, timeout=TIMEOUT,
                           auth=(self.client_id, self.client_secret))
        except httpx.HTTPError as e:
            raise NotReady(f"the identity provider's token endpoint could not be reached: {e}") from e
        if r.status_code != 200:
            raise Unauthorized(f"the identity provider refused the sign-in code ({r.status_code}): sign in again")
        id_token = r.json().get("id_token")
        if not id_token:
            raise Unauthorized("the identity provider returned no ID token (is `openid` in AYUDA_OIDC_SCOPES?)")
        return self.user_from_claims(self.verify(id_token, audience=self.client_id, nonce=nonce))
