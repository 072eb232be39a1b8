"""CORS: only AYUDA_CORS_ORIGINS may call the API from a browser; by default no CORS headers at all."""

from __future__ import annotations

import pytest

EVIL = "https://evil.example"
INTRANET = "https://intranet.brightwave.example"


def preflight(c, origin: str, headers: str = "content-type"):  # type: ignore[no-untyped-def]
    return c.options("/api/v1/chat", headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                              "Access-Control-Request-Headers": headers})


@pytest.mark.parametrize("mode", ["dev", "proxy", "oidc"])
def test_by_default_no_origin_gets_cors_headers(app_in, mode):
    c = app_in(mode)
    for origin in (EVIL, INTRANET):
        r = c.get("/auth/session", headers={"Origin": origin})
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
        assert "access-control-allow-origin" not in preflight(c, origin).headers


@pytest.mark.parametrize("mode", ["dev", "proxy", "oidc"])
def test_evil_origin_gets_nothing_and_the_configured_origin_is_allowed(app_in, mode):
    c = app_in(mode, cors_origins=INTRANET)
    assert "access-control-allow-origin" not in c.get("/auth/session", headers={"Origin": EVIL}).headers
    assert "access-control-allow-origin" not in preflight(c, EVIL).headers
    ok = c.get("/auth/session", headers={"Origin": INTRANET})
    assert ok.headers["access-control-allow-origin"] == INTRANET
    r = preflight(c, INTRANET)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == INTRANET


def test_identity_headers_allowed_cross_origin_only_in_dev_mode(app_in):
    dev = preflight(app_in("dev", cors_origins=INTRANET), INTRANET, "x-ayuda-user,x-ayuda-groups")
    assert dev.status_code == 200 and "x-ayuda-user" in dev.headers["access-control-allow-headers"].lower()
    proxy = preflight(app_in("proxy", cors_origins=INTRANET), INTRANET, "x-ayuda-user")
    assert proxy.status_code == 400  # the browser will not send it
    oidc = preflight(app_in("oidc", cors_origins=INTRANET), INTRANET, "x-csrf-token")
    assert oidc.status_code == 200 and oidc.headers["access-control-allow-credentials"] == "true"


def test_wildcard_in_dev_mode_never_carries_credentials(app_in):
    c = app_in("dev", cors_origins="*")
    r = c.get("/auth/session", headers={"Origin": EVIL})
    assert r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers
