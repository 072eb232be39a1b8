"""Apps in each auth mode. Most checks only need the auth layer, so they run without the lifespan (no
index, no model); tests of real routes use the shared `settings` fixture."""

from __future__ import annotations

from pathlib import Path

import pytest

PROXY_SECRET = "s3cr3t-proxy-value-0123456789abcdef"
SESSION_SECRET = "session-secret-0123456789abcdef-0123456789abcdef"
CLIENT_SECRET = "oidc-client-secret-0123456789abcdef"


def auth_settings(mode: str, tmp_path: Path, **extra):  # type: ignore[no-untyped-def]
    from app.config import Settings

    base = {"database_url": f"sqlite:///{tmp_path / 'auth.db'}", "run_outbox_worker": False}
    if mode == "proxy":
        base |= {"proxy_secret": PROXY_SECRET}
    if mode == "oidc":
        base |= {"oidc_issuer": "http://127.0.0.1:9/issuer", "oidc_client_id": "ayuda",
                 "oidc_client_secret": CLIENT_SECRET, "oidc_redirect_url": "http://127.0.0.1:8000/auth/callback",
                 "session_secret": SESSION_SECRET, "cookie_secure": False}
    return Settings(auth_mode=mode, **(base | extra))


@pytest.fixture
def app_in(tmp_path):  # type: ignore[no-untyped-def]
    """app_in(mode, **settings) → a TestClient on an app built in that mode (no lifespan)."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    def make(mode: str, client=("testclient", 50000), **extra):  # type: ignore[no-untyped-def]
        return TestClient(create_app(auth_settings(mode, tmp_path, **extra)), client=client)

    return make
