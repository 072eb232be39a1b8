"""AYUDA_AUTH_MODE: dev headers only on loopback, proxy headers only with the secret, normalised identity,
duplicate identity headers refused, unsafe settings refused at start-up."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from tests.auth.conftest import PROXY_SECRET, auth_settings

VIA_PROXY = {"X-Ayuda-Proxy-Secret": PROXY_SECRET, "X-Forwarded-User": "ana",
             "X-Forwarded-Email": "Ana.Garcia@Brightwave.example", "X-Forwarded-Groups": "Managers, IT-Agents"}


def test_dev_mode_takes_the_user_from_ayuda_headers(app_in):
    c = app_in("dev")
    me = c.get("/auth/session", headers={"X-Ayuda-User": "ana@x.example", "X-Ayuda-Groups": "admins"}).json()
    assert (me["mode"], me["user"], me["groups"]) == ("dev", "ana@x.example", ["admins"])
    assert c.get("/auth/session").json()["user"] == "demo.employee@brightwave.example"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "ayuda.example.com"])
def test_serve_refuses_a_non_loopback_address_in_dev_mode(host, monkeypatch, tmp_path):
    from app.cli import app as cli

    monkeypatch.setenv("AYUDA_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.delenv("AYUDA_AUTH_MODE", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--host", host, "--port", "8999"])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "only listens on loopback" in text and "AYUDA_AUTH_MODE=proxy" in text and "oidc" in text


def test_loopback_check_accepts_loopback_names():
    from app.auth.checks import check_listen_address

    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        assert check_listen_address("dev", host) is None
    assert check_listen_address("proxy", "0.0.0.0") is None
    assert check_listen_address("oidc", "0.0.0.0") is None


def test_proxy_mode_trusts_forwarded_headers_only_with_the_secret(app_in):
    c = app_in("proxy")
    me = c.get("/auth/session", headers=VIA_PROXY).json()
    assert me["user"] == "ana.garcia@brightwave.example"  # the email, lowercased
    assert me["groups"] == ["it-agents", "managers"]
    assert c.get("/api/v1/queues", headers=VIA_PROXY | {"X-Ayuda-Proxy-Secret": "wrong"}).status_code == 401
    no_secret = {k: v for k, v in VIA_PROXY.items() if k != "X-Ayuda-Proxy-Secret"}
    r = c.get("/api/v1/queues", headers=no_secret)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


def test_proxy_mode_ignores_dev_headers(app_in):
    c = app_in("proxy")
    assert c.get("/api/v1/queues", headers={"X-Ayuda-User": "ana", "X-Ayuda-Groups": "admins"}).status_code == 401
    me = c.get("/auth/session", headers=VIA_PROXY | {"X-Ayuda-User": "boss", "X-Ayuda-Groups": "admins"}).json()
    assert me["user"] == "ana.garcia@brightwave.example" and "admins" not in me["groups"]


def test_proxy_mode_checks_the_client_address_when_trusted_proxies_are_set(app_in):
    inside = app_in("proxy", client=("10.1.2.3", 4000), trusted_proxies="10.1.0.0/16, 192.0.2.7")
    assert inside.get("/auth/session", headers=VIA_PROXY).json()["authenticated"] is True
    outside = app_in("proxy", client=("203.0.113.9", 4000), trusted_proxies="10.1.0.0/16, 192.0.2.7")
    assert outside.get("/api/v1/queues", headers=VIA_PROXY).status_code == 401
    assert outside.get("/auth/session", headers=VIA_PROXY).json()["authenticated"] is False


def test_proxy_without_a_user_header_is_401(app_in):
    r = app_in("proxy").get("/api/v1/queues", headers={"X-Ayuda-Proxy-Secret": PROXY_SECRET})
    assert r.status_code == 401 and "X-Forwarded-User" in r.json()["error"]["message"]


@pytest.mark.parametrize("mode", ["dev", "proxy", "oidc"])
@pytest.mark.parametrize("header", ["X-Ayuda-User", "X-Ayuda-Groups", "X-Forwarded-User", "X-Forwarded-Email",
                                    "X-Forwarded-Groups", "X-Ayuda-Proxy-Secret", "Authorization"])
def test_a_repeated_identity_header_is_refused_in_every_mode(app_in, mode, header):
    c = app_in(mode)
    r = c.get("/auth/session", headers=[(header, "first"), (header, "second")])
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "duplicate_identity_header" and header.lower() in r.json()["error"]["message"]


def test_identity_values_are_normalised_nfkc_and_lowercase(app_in):
    c = app_in("dev")
    # Fullwidth letters (NFKC folds them) and mixed case name the same user and groups.
    # Headers travel as bytes: UTF-8, as SSO proxies send them.
    me = c.get("/auth/session", headers={"X-Ayuda-User": "Ａna.Garcia@Brightwave.example".encode(),
                                         "X-Ayuda-Groups": " ＩＴ-Agents ,ADMINS,, ".encode()}).json()
    assert me["user"] == "ana.garcia@brightwave.example"
    assert me["groups"] == ["admins", "it-agents"]


@pytest.mark.parametrize(("mode", "extra", "says"), [
    ("proxy", {"proxy_secret": ""}, "AYUDA_PROXY_SECRET"),
    ("proxy", {"proxy_secret": "changeme"}, "AYUDA_PROXY_SECRET"),
    ("oidc", {"oidc_client_secret": ""}, "AYUDA_OIDC_CLIENT_SECRET"),
    ("oidc", {"session_secret": "short"}, "AYUDA_SESSION_SECRET"),
    ("oidc", {"oidc_issuer": ""}, "AYUDA_OIDC_ISSUER"),
    ("proxy", {"cors_origins": "*"}, "AYUDA_CORS_ORIGINS=* is refused"),
    ("oidc", {"cors_origins": "https://intranet.example, *"}, "AYUDA_CORS_ORIGINS=* is refused"),
    ("oidc", {"cookie_secure": False, "oidc_redirect_url": "http://ayuda.example/auth/callback"},
     "AYUDA_COOKIE_SECURE"),
    ("proxy", {"trusted_proxies": "10.0.0.0/33"}, "AYUDA_TRUSTED_PROXIES"),
])
def test_unsafe_settings_refuse_to_start(tmp_path, mode, extra, says):
    with pytest.raises(ValidationError, match=re.escape(says)):
        auth_settings(mode, tmp_path, **extra)


def test_dev_mode_needs_no_secrets(tmp_path):
    assert auth_settings("dev", tmp_path).auth_mode == "dev"


def test_proxy_identity_is_normalised_too(app_in):
    me = app_in("proxy").get("/auth/session", headers=VIA_PROXY | {
        "X-Forwarded-Email": "ＪOSÉ@Brightwave.example".encode(), "X-Forwarded-Groups": "ＨＲ-Agents".encode()}).json()
    assert me["user"] == "josé@brightwave.example" and me["groups"] == ["hr-agents"]


def test_pages_tell_the_script_the_mode_and_only_dev_pages_have_no_server_identity(app_in):
    dev = app_in("dev").get("/", headers={"X-Ayuda-User": "ana@x.example"}).text
    assert '<meta name="ayuda-auth" content="dev">' in dev and "data-user" not in dev
    page = app_in("proxy").get("/", headers=VIA_PROXY | {"X-Forwarded-Groups": 'x"><script>alert(1)</script>'})
    assert page.status_code == 200
    assert '<meta name="ayuda-auth" content="proxy" data-user="ana.garcia@brightwave.example"' in page.text
    assert "<script>alert" not in page.text and "&quot;&gt;&lt;script&gt;" in page.text

