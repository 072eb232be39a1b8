"""The web front end in a real browser (Debian's Chromium through Playwright) against a real server.

The journey: an employee asks in Spanish, opens a citation in the help center, says 👎 with a comment, asks for
a person and gets a ticket number; an agent replies in the console and the employee sees it without reloading;
the employee rates the ticket; the admin page counts the conversation. Screenshots of every page, desktop and
phone, go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.web.conftest import DESKTOP, PHONE

pytestmark = pytest.mark.integration

EMPLOYEE = "ana.garcia@brightwave.example"
AGENT = "gina.agent@brightwave.example"
AGENT_GROUPS = "it-agents,hr-agents,payroll-agents,facilities-agents,general-agents"
ADMIN = "admin@brightwave.example"
REPLY = "Hola Ana: te hemos añadido los 2 días que faltaban. ¡Disfruta!"
NOTE = "Internal: checked her balance in PeopleHub"
COMMENT = "No dice cuántos días me quedan"
TIMEOUT = 20_000


def watch(page, errors):  # type: ignore[no-untyped-def]
    page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
    page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.on("dialog", lambda d: errors.append(f"dialog opened: {d.message}"))


def ask(page, question):  # type: ignore[no-untyped-def]
    page.get_by_label("Tu pregunta").fill(question)
    page.get_by_label("Tu pregunta").press("Enter")


def conversations(live_server) -> int:  # type: ignore[no-untyped-def]
    r = live_server.api("GET", "/api/v1/admin/analytics?days=30", ADMIN, "admins")
    assert r.status_code == 200, r.text
    return sum(d["conversations"] for d in r.json()["conversations_per_day"])


def test_employee_agent_and_admin_journey(browser, live_server, intranet, shots):  # type: ignore[no-untyped-def]
    errors: list[str] = []
    before = conversations(live_server)

    # --- the employee asks in Spanish ---------------------------------------------------------------
    employee = browser.new_context(viewport=DESKTOP, locale="es-ES")
    employee.set_default_timeout(TIMEOUT)
    chat = employee.new_page()
    watch(chat, errors)
    chat.goto(f"{live_server.url}/?user={EMPLOYEE}&poll=1000")
    box = chat.get_by_label("Tu pregunta")
    box.fill("¿Cómo solicito las vacaciones?")
    box.press("Enter")
    answer = chat.locator(".ay-bot[lang=es]").last
    cite = answer.locator(".ay-cite").first
    cite.wait_for()
    assert "ay-welcome" not in (answer.get_attribute("class") or "")
    chat.evaluate("window.__notReloaded = true")
    chat.screenshot(path=shots / "chat-answer-desktop.png")

    # --- … clicks a citation: the help center opens at the cited section ---------------------------
    href = cite.get_attribute("href")
    assert re.match(r"^/help/doc/[\w/.-]+\.md#[\w-]+$", href), href
    with employee.expect_page() as opened:
        cite.click()
    doc = opened.value
    watch(doc, errors)
    doc.wait_for_load_state()
    anchor = href.split("#")[1]
    target = doc.locator(f"section#{anchor}")
    target.wait_for()
    assert "is-target" in target.get_attribute("class")
    assert target.is_visible() and doc.locator("h1").inner_text()
    assert doc.get_by_text("Última actualización").first.is_visible()
    doc.screenshot(path=shots / "help-doc-cited-desktop.png")
    doc.close()

    # --- … says 👎 with a comment ----------------------------------------------------------------------
    answer.get_by_role("button", name="No me ha servido").click()
    answer.get_by_label("Cuéntanos más (opcional)").fill(COMMENT)
    answer.get_by_role("button", name="Enviar comentario").click()
    answer.get_by_text("Gracias, hemos recibido tu comentario.").wait_for()
    assert answer.get_by_role("button", name="No me ha servido").get_attribute("aria-pressed") == "true"

    # --- … asks for a person and sees the ticket -----------------------------------------------------
    # the header button (an unsure answer also offers a person inline, with the same name)
    chat.locator("button.ay-human").click()
    card = chat.locator(".ay-ticket").last
    card.locator(".ay-ticket-number").wait_for()
    number = card.locator(".ay-ticket-number").inner_text()
    assert re.fullmatch(r"[A-Z]+-\d{4}", number)
    assert card.locator(".ay-status").inner_text() == "Nuevo"
    assert card.get_by_text("Respuesta prevista antes del").is_visible()
    assert "horas laborables" in card.locator(".ay-next").inner_text()
    chat.screenshot(path=shots / "chat-ticket-desktop.png")

    # --- an agent replies in the console ------------------------------------------------------------
    staff = browser.new_context(viewport=DESKTOP, locale="en-GB")
    staff.set_default_timeout(TIMEOUT)
    console = staff.new_page()
    watch(console, errors)
    console.goto(f"{live_server.url}/agent?user={AGENT}&groups={AGENT_GROUPS}&poll=1000")
    console.locator(".ticket-row", has_text=number).click()
    console.locator("#ticket h2", has_text=number).wait_for()
    assert console.locator(".transcript li.user", has_text="¿Cómo solicito las vacaciones?").count() == 1
    assert console.locator(".ticket-facts div", has_text="Channel").locator("dd").inner_text() == "Web chat"
    assert console.locator(".ticket-row", has_text=number).locator(".channel").inner_text() == "Web chat"
    assert console.locator(".sources li").count() >= 1 and console.locator(".sla").first.inner_text()
    if console.locator("#use-draft").count():
        console.locator("#use-draft").click()
        assert console.locator("#compose").input_value()
    console.locator("#compose").fill(NOTE)
    console.get_by_role("button", name="Add internal note").click()
    console.locator(".timeline li.internal_note", has_text=NOTE).wait_for()
    console.locator("#compose").fill(REPLY)
    console.get_by_role("button", name="Send reply to employee").click()
    console.locator(".timeline li.agent_reply", has_text=REPLY).wait_for()
    console.screenshot(path=shots / "agent-reply-desktop.png", full_page=True)

    # … and the employee sees the reply without reloading.
    card.locator(".ay-ev-agent_reply", has_text=REPLY).wait_for()
    assert card.locator(".ay-status").inner_text() == "Abierto"
    assert chat.evaluate("window.__notReloaded") is True
    assert NOTE not in chat.locator("body").inner_text()

    # --- the agent resolves it; the employee gets the CSAT prompt and rates it ------------------------
    console.locator("#status-select").select_option("resolved")
    console.locator("#set-status").click()
    console.locator("#ticket .pill.status-resolved").wait_for()
    csat = card.locator(".ay-csat-form")
    csat.wait_for()
    assert "¿Qué tal lo hicimos?" in csat.inner_text()
    csat.get_by_label("5 de 5").check()
    csat.get_by_placeholder("Comentario (opcional)").fill("¡Rapidísimo!")
    csat.get_by_role("button", name="Enviar valoración").click()
    card.get_by_text("¡Gracias! Has valorado este ticket con 5/5.").wait_for()
    chat.screenshot(path=shots / "chat-rated-desktop.png")
    console.locator(".timeline li", has_text="Rated 5/5").wait_for()  # the console updates by itself too
    console.get_by_role("button", name="Publish as FAQ").click()
    assert REPLY in console.locator(".faq-preview").inner_text()
    console.locator("#f-status").select_option("new")
    console.get_by_text("No tickets match these filters.").wait_for()
    console.locator("#f-status").select_option("resolved")
    console.locator(".ticket-row", has_text=number).wait_for()
    assert chat.evaluate("window.__notReloaded") is True

    # --- the admin page counts the conversation ----------------------------------------------------------
    admin_ctx = browser.new_context(viewport=DESKTOP, locale="en-GB", accept_downloads=True)
    admin_ctx.set_default_timeout(TIMEOUT)
    admin = admin_ctx.new_page()
    watch(admin, errors)
    admin.goto(f"{live_server.url}/admin?user={ADMIN}&groups=admins")
    kpi = admin.locator(".kpi", has_text="Conversations").locator(".value")
    kpi.wait_for()
    assert int(kpi.inner_text()) == before + 1
    assert admin.locator(".kpi", has_text="Ticket CSAT").locator(".value").inner_text() == "5.0 / 5"
    review = admin.locator("section[aria-labelledby=c-negative]")
    assert review.get_by_text(COMMENT).is_visible()
    assert admin.locator("#deflection .kpi").count() == 3
    channels = admin.locator("section[aria-labelledby=c-channels] tbody tr", has_text="Web")
    assert int(channels.locator("td").nth(1).inner_text()) >= 1  # conversations from the web chat
    assert admin.locator("canvas").count() >= 5
    with admin.expect_download() as download:
        admin.get_by_role("button", name="Export “Conversations per day” as CSV").click()
    assert download.value.path().read_text(encoding="utf-8").splitlines()[0].startswith("date")
    admin.get_by_role("button", name="Re-index documents").click()
    ended = re.compile("Done: build|Failed|unavailable")  # the job's end, or the page's reason for not knowing it
    admin.locator("#reindex-status", has_text=ended).wait_for(timeout=300_000)  # a build; slow on a busy machine
    status = admin.locator("#reindex-status").inner_text()
    assert "Done: build" in status, status
    gaps = admin.get_by_role("button", name="Draft an article")
    if gaps.count():
        gaps.first.click()
        admin.get_by_text("Draft written to").wait_for()
    admin.screenshot(path=shots / "admin-actions-desktop.png", full_page=True)

    # --- the one-tag widget on an intranet page of another origin -------------------------------------
    page = employee.new_page()
    watch(page, errors)
    page.goto(intranet)
    launcher = page.get_by_role("button", name="Abrir el chat de ayuda")
    launcher.click()
    page.get_by_role("tab", name=re.compile("Mis tickets")).click()
    page.locator(".ay-ticket-row", has_text=number).wait_for()
    page.get_by_role("tab", name="Chat").click()
    page.get_by_label("Tu pregunta").fill("¿Cómo restablezco mi contraseña?")
    page.get_by_role("button", name="Enviar").click()
    page.locator(".ay-bot .ay-cite").first.wait_for()
    cite_href = page.locator(".ay-bot .ay-cite").first.get_attribute("href")
    assert cite_href.startswith(f"{live_server.url}/help/doc/") and f"user={EMPLOYEE}".replace("@", "%40") in cite_href
    page.screenshot(path=shots / "widget-intranet-desktop.png")
    page.keyboard.press("Escape")
    assert launcher.get_attribute("aria-expanded") == "false"

    # --- every page at desktop and phone width --------------------------------------------------------
    pages = {
        "chat": f"/?user={EMPLOYEE}",
        "help": f"/help?user={EMPLOYEE}",
        "help-doc": "/help/doc/hr/annual-leave.es.md",
        "agent": f"/agent?user={AGENT}&groups={AGENT_GROUPS}#t=",
        "admin": f"/admin?user={ADMIN}&groups=admins",
    }
    ticket_id = live_server.api("GET", "/api/v1/tickets", EMPLOYEE).json()[0]["id"]
    for size, tag in [(DESKTOP, "desktop"), (PHONE, "phone")]:
        ctx = browser.new_context(viewport=size, locale="es-ES")
        ctx.set_default_timeout(TIMEOUT)
        p = ctx.new_page()
        watch(p, errors)
        for name, path in pages.items():
            p.goto(live_server.url + path + (ticket_id if name == "agent" else ""))
            if name == "chat":  # a new browser: the conversation starts empty
                ask(p, "¿Cuántos días de vacaciones tengo?")
            if name == "help":  # the same hybrid search as the chat
                p.get_by_role("searchbox").fill("VPN desde casa")
                p.get_by_role("button", name="Buscar").click()
                p.locator(".results li a[href*='/help/doc/']").first.wait_for()
            ready = {"chat": ".ay-bot .ay-cite", "help": ".doc-list a", "help-doc": "#doc h1",
                     "agent": "#compose", "admin": "#kpis"}[name]
            p.locator(ready).first.wait_for()
            p.wait_for_timeout(150)
            p.screenshot(path=shots / f"{name}-{tag}.png", full_page=name == "admin" or (name == "agent" and tag == "desktop"))
        p.goto(intranet)
        p.get_by_role("button", name="Abrir el chat de ayuda").click()
        ask(p, "¿Cómo configuro la VPN?")
        p.locator(".ay-bot .ay-cite").first.wait_for()
        p.screenshot(path=shots / f"widget-intranet-{tag}.png")
        ctx.close()

    for ctx in (employee, staff, admin_ctx):
        ctx.close()
    assert not errors, errors


def test_a_message_survives_a_lost_connection_and_is_sent_once_on_retry(browser, live_server, shots):  # type: ignore[no-untyped-def]
    user = "pedro.offline@brightwave.example"
    ctx = browser.new_context(viewport=PHONE, locale="es-ES")
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    page.goto(f"{live_server.url}/?user={user}")
    box = page.get_by_label("Tu pregunta")

    # a draft is kept across a reload
    box.fill("borrador a medio escribir")
    page.reload()
    assert page.get_by_label("Tu pregunta").input_value() == "borrador a medio escribir"

    # the server can't be reached: the message stays, with an error and Retry
    page.route("**/api/v1/chat{,/stream}", lambda route: route.abort("connectionrefused"))  # both ways to ask
    box = page.get_by_label("Tu pregunta")
    box.fill("Quiero hablar con una persona sobre mi portátil")
    box.press("Enter")
    alert = page.get_by_role("alert").filter(has_text="No podemos conectar con Ayuda")
    alert.wait_for()
    assert page.locator(".ay-user.ay-failed", has_text="sobre mi portátil").is_visible()
    assert box.input_value() == ""
    page.screenshot(path=shots / "chat-offline-phone.png")
    page.reload()  # still there after a reload
    page.locator(".ay-user.ay-failed", has_text="sobre mi portátil").wait_for()

    # back online: Retry sends it; sending the same request again (same Idempotency-Key) opens no second ticket
    keys: list[str] = []
    page.unroute("**/api/v1/chat{,/stream}")
    page.on("request", lambda r: keys.append(r.headers.get("idempotency-key", ""))
            if re.search(r"/api/v1/chat(/stream)?$", r.url) else None)
    page.get_by_role("alert").get_by_role("button", name="Reintentar").click()
    page.locator(".ay-ticket-number").wait_for()
    assert page.get_by_role("alert").filter(has_text="No podemos conectar").count() == 0
    assert len(keys) == 1 and re.fullmatch(r"[0-9a-f-]{36}", keys[0])
    r = httpx.post(f"{live_server.url}/api/v1/chat", json={"message": "Quiero hablar con una persona sobre mi portátil"},
                   headers={"X-Ayuda-User": user, "Idempotency-Key": keys[0]}, timeout=60)
    assert r.status_code == 200
    assert len(live_server.api("GET", "/api/v1/tickets", user).json()) == 1
    ctx.close()


def test_answers_and_documents_are_rendered_as_text_never_as_html(browser, live_server):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport=DESKTOP)
    page = ctx.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{live_server.url}/?user=xss.tester@brightwave.example")
    page.wait_for_function("window.Ayuda && window.Ayuda.renderAnswer")
    result = page.evaluate("""() => {
        const answer = 'Read this <img src=x onerror=alert(1)> and <script>alert(2)</script> **now** [1] ' +
                       '[click](javascript:alert(3)) [ok](https://example.com/a) [9]\\n\\n- <b>item</b>';
        const citations = [{n: 1, doc_id: 'hr/annual-leave.md', title: '<i>T</i>', section: 'S',
                            url: 'https://intranet.example/hr#how-to-apply'}];
        const div = document.createElement('div');
        div.appendChild(Ayuda.renderAnswer(answer, citations));
        document.body.appendChild(div);
        return {text: div.textContent, imgs: div.querySelectorAll('img, script, b, i').length,
                links: [...div.querySelectorAll('a')].map(a => a.getAttribute('href')),
                strong: div.querySelector('strong') && div.querySelector('strong').textContent};
    }""")
    page.wait_for_timeout(300)
    assert result["imgs"] == 0 and not dialogs
    assert "<img src=x onerror=alert(1)>" in result["text"] and "<script>alert(2)</script>" in result["text"]
    assert "<b>item</b>" in result["text"] and result["strong"] == "now"
    assert result["links"] == ["/help/doc/hr/annual-leave.md#how-to-apply", "https://example.com/a"]
    assert "[9]" in result["text"] and "click" in result["text"]  # unknown citation and unsafe link stay text
    ctx.close()
