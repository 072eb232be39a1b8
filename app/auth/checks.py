"""Start-up checks: a non-dev mode never runs with a default secret or a `*` CORS policy, and dev mode
(identity from headers anyone can set) never listens beyond loopback."""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from app.config import Settings


def _weak(value: str) -> bool:
    from app.config import MIN_SECRET_CHARS, WEAK_SECRETS

    return value.strip().lower() in WEAK_SECRETS or len(value.strip()) < MIN_SECRET_CHARS


def parse_networks(spec: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    nets = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"AYUDA_TRUSTED_PROXIES: {part!r} is not an IP address or CIDR "
                             "(e.g. 10.0.0.5, 10.0.0.0/24)") from None
    return nets


def is_loopback_host(host: str) -> bool:
    """True when every address `host` names is a loopback address (127.0.0.0/8, ::1, localhost)."""
    host = host.strip().strip("[]")
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(i[4][0]).split("%")[0]).is_loopback for i in infos)


def check_auth_settings(s: Settings) -> None:
    """Raise ValueError (a settings validation error at start-up) with what to set."""
    parse_networks(s.trusted_proxies)
    origins = s.cors_origin_list
    if s.auth_mode == "dev":
        return
    if "*" in origins:
        raise ValueError(f"AYUDA_CORS_ORIGINS=* is refused in {s.auth_mode} mode: any web site could call the "
                         "API as the signed-in user. List the intranet origins, e.g. https://intranet.example.com")
    if s.auth_mode == "proxy" and _weak(s.proxy_secret):
        raise ValueError("AYUDA_AUTH_MODE=proxy needs AYUDA_PROXY_SECRET: a random value of 16+ characters "
                         "(e.g. `openssl rand -hex 32`) that your SSO proxy sends as X-Ayuda-Proxy-Secret")
    if s.auth_mode == "oidc":
        missing = [name for name, value in (("AYUDA_OIDC_ISSUER", s.oidc_issuer),
                                            ("AYUDA_OIDC_CLIENT_ID", s.oidc_client_id),
                                            ("AYUDA_OIDC_REDIRECT_URL", s.oidc_redirect_url)) if not value]
        if missing:
            raise ValueError(f"AYUDA_AUTH_MODE=oidc needs {', '.join(missing)}")
        if _weak(s.oidc_client_secret):
            raise ValueError("AYUDA_AUTH_MODE=oidc needs AYUDA_OIDC_CLIENT_SECRET (the client secret the identity "
                             "provider issued; not a placeholder)")
        if _weak(s.session_secret) or len(s.session_secret) < 32:
            raise ValueError("AYUDA_AUTH_MODE=oidc needs AYUDA_SESSION_SECRET: a random value of 32+ characters "
                             "(e.g. `openssl rand -hex 32`) that signs session cookies")
        if not s.cookie_secure and not is_loopback_host(urlsplit(s.oidc_redirect_url).hostname or ""):
            raise ValueError("AYUDA_COOKIE_SECURE=false is only allowed when AYUDA_OIDC_REDIRECT_URL is on "
                             "loopback (local tests); serve Ayuda over HTTPS")


def check_listen_address(mode: str, host: str) -> str | None:
    """Why `ayuda serve --host host` must not start in this mode, or None."""
    if mode == "dev" and not is_loopback_host(host):
        return (f"AYUDA_AUTH_MODE=dev takes the user from X-Ayuda-User headers that anyone can set, so it only "
                f"listens on loopback (127.0.0.1, ::1, localhost), not {host!r}. To serve other machines, put "
                "Ayuda behind your SSO proxy with AYUDA_AUTH_MODE=proxy and AYUDA_PROXY_SECRET, or sign in with "
                "your identity provider with AYUDA_AUTH_MODE=oidc (see README, \"Deploying safely\").")
    return None
