"""Every route of the app against the role it must need, in every auth mode. A route missing from ROLES
fails: a new route has to be classified here (and in README "Deploying safely") before it ships."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from tests.auth.conftest import PROXY_SECRET, auth_settings
from tests.conftest import CORPUS

pytestmark = pytest.mark.integration

# (method, path) → role. public: anyone; employee: anyone signed in; agent: a queue's group; admin: group
# admins; page:*: an HTML page (public shell in dev mode, the role in proxy/oidc); metrics: public in dev
# mode, else admins or the AYUDA_METRICS_TOKEN bearer; slack: Slack's request signature only, never user
# credentials (401 without it, whoever the caller is).
ROLES = {
    ("GET", "/healthz"): "public", ("GET", "/readyz"): "public", ("GET", "/static"): "public",
    ("GET", "/widget.js"): "public",
    ("GET", "/auth/session"): "public", ("GET", "/auth/login"): "public", ("GET", "/auth/callback"): "public",
    ("POST", "/auth/logout"): "public",
    ("GET", "/metrics"): "metrics",
    ("GET", "/openapi.json"): "employee", ("GET", "/docs"): "employee",
    ("POST", "/api/v1/chat"): "employee", ("POST", "/api/v1/chat/stream"): "employee",
    ("POST", "/api/v1/messages/{message_id}/feedback"): "employee",
    ("GET", "/api/v1/search"): "employee", ("GET", "/api/v1/tickets"): "employee",
    ("GET", "/api/v1/tickets/{ticket_id}"): "employee", ("POST", "/api/v1/tickets/{ticket_id}/messages"): "employee",
    ("POST", "/api/v1/tickets/{ticket_id}/csat"): "employee", ("GET", "/api/v1/docs"): "employee",
    ("GET", "/api/v1/docs/{doc_id:path}"): "employee", ("GET", "/api/v1/queues"): "employee",
    ("GET", "/api/v1/agent/tickets"): "agent", ("GET", "/api/v1/agent/tickets/{ticket_id}"): "agent",
    ("POST", "/api/v1/agent/tickets/{ticket_id}/assign"): "agent",
    ("GET", "/api/v1/agent/tickets/{ticket_id}/attachments/{attachment_id}"): "agent",
    ("POST", "/api/v1/agent/tickets/{ticket_id}/reply"): "agent",
    ("POST", "/api/v1/agent/tickets/{ticket_id}/note"): "agent",
    ("POST", "/api/v1/agent/tickets/{ticket_id}/status"): "agent",
    ("POST", "/api/v1/agent/tickets/{ticket_id}/publish-faq"): "agent",
    ("POST", "/api/v1/agent/tickets/{ticket_id}/publish-faq/confirm"): "agent",
    ("GET", "/api/v1/admin/analytics"): "admin", ("GET", "/api/v1/admin/analytics.csv"): "admin",
    ("POST", "/api/v1/admin/content-gaps/{gap_id}/draft"): "admin", ("POST", "/api/v1/admin/reindex"): "admin",
    ("GET", "/api/v1/admin/reindex/{job_id}"): "admin",
    ("GET", "/api/v1/admin/privacy/users/{user}/export"): "admin",
    ("POST", "/api/v1/admin/privacy/users/{user}/erase"): "admin",
    ("POST", "/api/v1/slack/events"): "slack", ("POST", "/api/v1/slack/interactions"): "slack",
    ("GET", "/"): "page:employee", ("GET", "/help"): "page:employee",
    ("GET", "/help/doc/{doc_id:path}"): "page:employee", ("GET", "/help/faq/{slug}"): "page:employee",
    ("GET", "/demo/intranet"): "page:employee", ("GET", "/agent"): "page:agent", ("GET", "/admin"): "page:admin",
}
CONCRETE = {"/static": "/static/css/app.css", "{doc_id:path}": "it/vpn.md", "{ticket_id}": "no-such-ticket",
            "{message_id}": "no-such-message", "{gap_id}": "no-such-gap", "{job_id}": "no-such-job",
            "{slug}": "no-such-faq", "{user}": "no.such.user@brightwave.example"}
# Bodies that fail validation (422) once access is granted, so no handler changes anything.
BODY = {"/api/v1/admin/reindex": {"full": "not-a-boolean"}}
WHO = {"anonymous": None, "employee": "managers", "agent": "it-agents", "admin": "admins"}
MODES = ("dev", "proxy", "oidc")
METRICS_TOKEN = "scraper-token-0123456789abcdef"


def route_keys(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    keys = set()
    for rc in iter_route_contexts(app.routes):
        for method in sorted(rc.methods or {"GET"}):
            if method != "HEAD":
                keys.add((method, rc.path))
    return keys


def url_for(path: str) -> str:
    for key, value in CONCRETE.items():
        path = path.replace(key, value)
    return path


def expected(role: str, mode: str, who: str) -> str:
    """allow | 401 | 403 | login (oidc pages send the browser to /auth/login)."""
    if role == "slack":
        return "401"
    if role == "public" or (mode == "dev" and role in ("metrics",) or mode == "dev" and role.startswith("page:")):
        return "allow"
    need = role.removeprefix("page:").replace("metrics", "admin")
    if who == "anonymous" and mode != "dev":
        return "login" if role.startswith("page:") and mode == "oidc" else "401"
    if need == "employee" or need == who:
        return "allow"
    return "403"


@pytest.fixture(scope="module", params=MODES)
def mode_client(request, tmp_path_factory, sample_index, embedder) -> Iterator:  # type: ignore[no-untyped-def]
    from app.main import create_app

    base = tmp_path_factory.mktemp(f"roles-{request.param}")
    corpus, index = base / "corpus", base / "index"
    shutil.copytree(CORPUS, corpus)
    shutil.copytree(sample_index, index)
    settings = auth_settings(request.param, base, corpus_dir=corpus, index_dir=index,
                             embedding_model=embedder.path, index_check_seconds=0.0, metrics_token=METRICS_TOKEN,
                             slack_signing_secret="8f742231b10e8888abcd99yyyzzz85a5",
                             slack_bot_token="xoxb-0000-roles", slack_api_url="http://127.0.0.1:9/api/")
    with TestClient(create_app(settings, embedder=embedder), raise_server_exceptions=False) as c:
        yield request.param, c


def credentials(mode: str, who: str, app) -> dict:  # type: ignore[no-untyped-def]
    groups = WHO[who]
    if groups is None:
        return {}
    user = f"{who}@brightwave.example"
    if mode == "dev":
        return {"headers": {"X-Ayuda-User": user, "X-Ayuda-Groups": groups}}
    if mode == "proxy":
        return {"headers": {"X-Ayuda-Proxy-Secret": PROXY_SECRET, "X-Forwarded-Email": user,
                            "X-Forwarded-Groups": groups}}
    from starlette.responses import Response

    from app.auth.session import SESSION_COOKIE
    from app.security import make_user

    response = Response()
    app.state.auth.sessions.start(response, make_user(user, [groups]))
    cookie = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    csrf = app.state.auth.sessions._decode(cookie, "ayuda-session")["csrf"]
    return {"cookies": {SESSION_COOKIE: cookie}, "headers": {"X-CSRF-Token": csrf}}


def test_every_route_is_classified(mode_client):
    _, c = mode_client
    missing = route_keys(c.app) - set(ROLES)
    assert not missing, f"routes without a role in ROLES (classify them): {sorted(missing)}"
    gone = set(ROLES) - route_keys(c.app)
    assert not gone, f"ROLES names routes that no longer exist: {sorted(gone)}"


@pytest.mark.parametrize("who", list(WHO))
def test_every_route_needs_its_role(mode_client, who):
    mode, c = mode_client
    wrong = []
    for (method, path), role in sorted(ROLES.items()):
        if path in ("/auth/login", "/auth/callback"):
            continue  # public by construction; they talk to the identity provider (tests/auth/test_oidc.py)
        kw = credentials(mode, who, c.app)
        c.cookies.clear()
        body = BODY.get(path, {}) if method == "POST" else None
        r = c.request(method, url_for(path), json=body, follow_redirects=False, cookies=kw.get("cookies"),
                      headers=kw.get("headers"))
        want = expected(role, mode, who)
        got = r.status_code
        ok = {"allow": got not in (401, 403) and got < 500, "401": got == 401, "403": got == 403,
              "login": got == 303 and r.headers["location"].startswith("/auth/login?next=")}[want]
        if not ok:
            wrong.append(f"{method} {path} as {who}: want {want}, got {got} {r.text[:120]}")
    assert not wrong, "\n".join(wrong)


def test_metrics_token_lets_a_scraper_in(mode_client):
    mode, c = mode_client
    if mode == "dev":
        pytest.skip("/metrics is public in dev mode")
    assert c.get("/metrics", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
    r = c.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200 and "ayuda_" in r.text
