"""A real OpenID Connect provider on loopback (panva/oidc-provider from npm, tests/support/oidc/) and an
Ayuda server in oidc mode that signs in with it."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.auth.conftest import CLIENT_SECRET, SESSION_SECRET, auth_settings
from tests.conftest import CORPUS
from tests.web.conftest import _QuietHandler, free_port

SUPPORT = Path(__file__).resolve().parents[1] / "support" / "oidc"
CLIENT_ID = "ayuda"
AUDIENCE = "https://ayuda.test/api"
# Accounts of the provider's login page: login → email and groups (mixed case: Ayuda normalises).
ACCOUNTS = {"ana": {"email": "Ana.Garcia@Brightwave.example", "groups": ["Managers"]},
            "gina": {"email": "gina.agent@brightwave.example", "groups": ["IT-Agents"]}}
# Who the client_credentials bearer tokens stand for.
SERVICE = {"email": "svc.reports@brightwave.example", "groups": ["admins"]}


def npm_install() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the real OIDC provider (apt-get install nodejs npm)")
    if not (SUPPORT / "node_modules" / "oidc-provider").exists():
        cmd = ["npm", "ci"] if (SUPPORT / "package-lock.json").exists() else ["npm", "install"]
        subprocess.run([*cmd, "--no-audit", "--no-fund"], cwd=SUPPORT, check=True, timeout=300,
                       stdout=subprocess.DEVNULL)


@dataclass
class Provider:
    issuer: str

    def token(self, resource: str, *, scope: str = "api") -> str:
        r = httpx.post(f"{self.issuer}/token", auth=(CLIENT_ID, CLIENT_SECRET), timeout=10,
                       data={"grant_type": "client_credentials", "resource": resource, "scope": scope})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])


@pytest.fixture(scope="module")
def ayuda_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def intranet_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def oidc_intranet(ayuda, intranet_port, tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """An intranet page on another origin (in AYUDA_CORS_ORIGINS) embedding the widget with no identity."""
    root = tmp_path_factory.mktemp("oidc-intranet")
    (root / "index.html").write_text(f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Intranet</title><link rel="icon" href="data:,"></head><body><h1>Intranet</h1>
<script src="{ayuda.url}/widget.js" data-poll-ms="1000" async></script></body></html>""", encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", intranet_port), handler)
    thread = threading.Thread(target=httpd.serve_forever, name="oidc-intranet", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{intranet_port}/index.html"
    httpd.shutdown()


@pytest.fixture(scope="module")
def provider(ayuda_port) -> Iterator[Provider]:  # type: ignore[no-untyped-def]
    npm_install()
    port = free_port()
    env = os.environ | {"PORT": str(port), "CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET,
                        "REDIRECT_URI": f"http://127.0.0.1:{ayuda_port}/auth/callback",
                        "ACCOUNTS": json.dumps(ACCOUNTS), "SERVICE_ACCOUNT": json.dumps(SERVICE)}
    proc = subprocess.Popen(["node", "provider.js"], cwd=SUPPORT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"oidc-provider did not start: {proc.stdout.read() if proc.stdout else ''}")
        time.sleep(0.2)
    yield Provider(issuer)
    proc.terminate()
    proc.wait(timeout=10)


@dataclass
class OidcServer:
    url: str


@pytest.fixture(scope="module")
def ayuda(provider, ayuda_port, intranet_port, tmp_path_factory, sample_index, embedder) -> Iterator[OidcServer]:  # type: ignore[no-untyped-def]
    import uvicorn

    from app.main import create_app

    base = tmp_path_factory.mktemp("oidc")
    index = base / "index"
    shutil.copytree(sample_index, index)
    settings = auth_settings(
        "oidc", base, corpus_dir=CORPUS, index_dir=index, embedding_model=embedder.path, index_check_seconds=0.0,
        oidc_issuer=provider.issuer, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET,
        oidc_redirect_url=f"http://127.0.0.1:{ayuda_port}/auth/callback", oidc_audience=AUDIENCE,
        oidc_scopes="openid email groups", session_secret=SESSION_SECRET, cookie_secure=True,
        cors_origins=f"http://127.0.0.1:{intranet_port}")
    server = uvicorn.Server(uvicorn.Config(create_app(settings, embedder=embedder), host="127.0.0.1",
                                           port=ayuda_port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-oidc-tests", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the oidc-mode test server did not start")
        time.sleep(0.05)
    yield OidcServer(f"http://127.0.0.1:{ayuda_port}")
    server.should_exit = True
    thread.join(timeout=10)
