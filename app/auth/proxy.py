"""proxy mode: an SSO proxy (oauth2-proxy, Pomerium, …) in front of Ayuda signs users in and passes who
they are in X-Forwarded-User / -Email / -Groups. Those headers are believed only when the request carries
the shared secret (X-Ayuda-Proxy-Secret) and, when AYUDA_TRUSTED_PROXIES is set, comes from one of its
addresses; anything else is 401. X-Ayuda-User / -Groups are ignored in this mode."""

from __future__ import annotations

import hmac
import ipaddress

from starlette.requests import Request

from app.auth.checks import parse_networks
from app.config import Settings
from app.errors import Unauthorized
from app.security import User, header_text, make_user, split_groups


class ProxyAuth:
    def __init__(self, settings: Settings) -> None:
        self.secret = settings.proxy_secret.encode()
        self.networks = parse_networks(settings.trusted_proxies)

    def _from_trusted_address(self, request: Request) -> bool:
        if not self.networks:
            return True
        host = request.client.host if request.client else ""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in net for net in self.networks)

    def user(self, request: Request) -> User | None:
        """The proxy's user; None when the request did not come through the proxy."""
        sent = request.headers.get("x-ayuda-proxy-secret", "").encode()
        if not hmac.compare_digest(sent, self.secret) or not self._from_trusted_address(request):
            return None
        user_id = (header_text(request.headers, "x-forwarded-user") or "").strip()
        email = (header_text(request.headers, "x-forwarded-email") or "").strip()
        if not (user_id or email):
            raise Unauthorized("the proxy sent no X-Forwarded-User or X-Forwarded-Email: sign in through it")
        return make_user(email or user_id, split_groups(header_text(request.headers, "x-forwarded-groups")),
                         source="X-Forwarded-Email" if email else "X-Forwarded-User")
