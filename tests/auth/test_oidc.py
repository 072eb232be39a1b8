"""oidc mode end to end against a real OpenID Connect provider on loopback (oidc-provider from npm):
bearer JWTs checked against its JWKS, and a browser signing in through its login page."""

from __future__ import annotations

import base64
import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.auth.oidc_support import (  # noqa: F401
    AUDIENCE,
    SERVICE,
    ayuda,
    ayuda_port,
    intranet_port,
    oidc_intranet,
    provider,
)

pytestmark = pytest.mark.integration


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_bearer_jwt_from_the_provider_is_accepted(provider, ayuda):  # noqa: F811
    token = provider.token(AUDIENCE)
    me = httpx.get(f"{ayuda.url}/auth/session", headers=bearer(token)).json()
    assert me == {"mode": "oidc", "authenticated": True, "user": SERVICE["email"], "groups": ["admins"],
                  "csrf_token": None, "login_url": "/auth/login"}
    r = httpx.get(f"{ayuda.url}/api/v1/admin/analytics?days=7", headers=bearer(token), timeout=60)
    assert r.status_code == 200 and "conversations_per_day" in r.json()
    # A bearer request needs no CSRF token: it carries no ambient credential.
    chat = httpx.post(f"{ayuda.url}/api/v1/chat", headers=bearer(token), timeout=60,
                      json={"message": "How do I reset my password?"})
    assert chat.status_code == 200 and chat.json()["citations"]


def test_bearer_jwt_for_another_audience_is_refused(provider, ayuda):  # noqa: F811
    r = httpx.get(f"{ayuda.url}/api/v1/tickets", headers=bearer(provider.token("https://other-app.test/api")))
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
    assert "audience" in r.json()["error"]["message"].lower()


def test_expired_bearer_jwt_is_refused(provider, ayuda):  # noqa: F811
    token = provider.token(AUDIENCE + "/short-lived")  # the provider gives it 1 second
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == AUDIENCE
    time.sleep(2.5)
    r = httpx.get(f"{ayuda.url}/api/v1/tickets", headers=bearer(token))
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"


def test_bearer_jwt_with_a_bad_signature_is_refused(provider, ayuda):  # noqa: F811
    token = provider.token(AUDIENCE)
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["email"] = "boss@brightwave.example"  # tampered claims, the provider's signature kept
    forged = ".".join([head, base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode(), sig])
    assert httpx.get(f"{ayuda.url}/api/v1/tickets", headers=bearer(forged)).status_code == 401
    # Signed by another key that claims the provider's key id.
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = jwt.get_unverified_header(token)["kid"]
    fake = jwt.encode(claims, other, algorithm="RS256", headers={"kid": kid})
    r = httpx.get(f"{ayuda.url}/api/v1/tickets", headers=bearer(fake))
    assert r.status_code == 401 and "signature" in r.json()["error"]["message"].lower()
    # An HMAC token keyed with something public (the classic algorithm confusion) is refused too.
    hs = jwt.encode(claims, "x" * 32, algorithm="HS256", headers={"kid": kid})
    assert httpx.get(f"{ayuda.url}/api/v1/tickets", headers=bearer(hs)).status_code == 401


def test_browser_signs_in_at_the_provider_and_chats_as_that_user(browser, provider, ayuda):  # noqa: F811
    context = browser.new_context(locale="en-US")
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{ayuda.url}/")
    # Ayuda sent the browser to the provider's login page.
    assert page.url.startswith(provider.issuer), page.url
    page.fill("input[name=login]", "ana")
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{ayuda.url}/")
    # Signed in as the provider's user (normalised), no development identity switcher.
    page.locator("#identity .id-user").wait_for()
    assert page.locator("#identity .id-user").inner_text() == "ana.garcia@brightwave.example"
    assert page.locator("#ay-id-user").count() == 0
    cookie = next(c for c in context.cookies() if c["name"] == "ayuda_session")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"
    # The chat works as that user.
    page.get_by_label("Your question").fill("How do I request annual leave?")
    page.get_by_label("Your question").press("Enter")
    page.locator(".ay-bot .ay-cite").first.wait_for()
    session = page.evaluate("fetch('/auth/session').then(r => r.json())")
    assert session["user"] == "ana.garcia@brightwave.example" and session["groups"] == ["managers"]
    # CSRF: the same cookie without the token is refused; with it, accepted.
    post = """async (token) => {
        const headers = {'Content-Type': 'application/json'};
        if (token) headers['X-CSRF-Token'] = token;
        const r = await fetch('/api/v1/chat', {method: 'POST', headers, body: JSON.stringify({message: 'hola'})});
        return [r.status, await r.json()];
    }"""
    status, body = page.evaluate(post, None)
    assert status == 403 and body["error"]["code"] == "csrf_failed"
    status, body = page.evaluate(post, "not-the-token")
    assert status == 403
    status, body = page.evaluate(post, session["csrf_token"])
    assert status == 200 and body["conversation_id"]
    # Signing out ends the session: the API no longer knows the browser.
    page.locator(".id-signout").click()
    page.locator(".id-signin").wait_for()
    assert page.evaluate("fetch('/api/v1/tickets').then(r => r.status)") == 401
    assert not [c for c in context.cookies() if c["name"] == "ayuda_session"]
    assert not errors, errors
    context.close()


def sign_in_at_provider(page, login: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")


def test_widget_on_another_origin_signs_in_and_chats(browser, provider, ayuda, oidc_intranet):  # noqa: F811
    context = browser.new_context(locale="en-US")
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(oidc_intranet)
    page.locator(".ay-launcher").click()
    # No session yet: the widget offers to sign in (its first API call got 401).
    link = page.locator(".ay-signin")
    link.wait_for()
    link.click()
    assert page.url.startswith(provider.issuer), page.url
    sign_in_at_provider(page, "gina")
    page.wait_for_url(oidc_intranet)  # back on the intranet page
    box = page.get_by_label("Your question")
    if not box.is_visible():
        page.locator(".ay-launcher").click()
    box.fill("My laptop VPN does not connect")
    box.press("Enter")
    page.locator(".ay-bot .ay-cite").first.wait_for()
    assert page.locator(".ay-signin").count() == 0
    # The conversation belongs to the provider's user (Ayuda's own record, read with a bearer-free session).
    tickets = page.evaluate(f"fetch('{ayuda.url}/auth/session', {{credentials: 'include'}}).then(r => r.json())")
    assert tickets["user"] == "gina.agent@brightwave.example" and tickets["groups"] == ["it-agents"]
    assert not errors, errors
    context.close()
