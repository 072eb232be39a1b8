"""Restricted documents never reach people outside their audience, on any path that shows document text.

A copy of the sample corpus gets a marker phrase in every section of the two restricted documents (the
managers' approval guide and the IT staff's account-unlock runbook); users outside the audience then ask
directly, by paraphrase, in Spanish and Portuguese and in follow-ups, look at tickets as agents of the queue,
and read analytics as admins. No response body may contain a marker, a title, a URL or a phrase that exists
only in those documents. Users inside the audience do get them (positive controls).
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.conftest import CORPUS, make_settings

pytestmark = pytest.mark.integration

MANAGER_DOC, RUNBOOK_DOC = "general/manager-guide-approvals.md", "it/admin-runbook-account-unlock.md"
MANAGER_MARK, RUNBOOK_MARK = "KESTREL-4471", "OSPREY-2290"
MANAGER_TERMS = [MANAGER_MARK, MANAGER_DOC, "Manager Guide to Approvals", "general/manager-guide-approvals",
                 "Talent Acquisition", "Delegate approvals", "€2,000 per report"]
RUNBOOK_TERMS = [RUNBOOK_MARK, RUNBOOK_DOC, "Runbook: Account Unlock", "internal/runbook-account-unlock",
                 "Unlock-ADAccount", "LockoutStatus", "Investigate the lockout source"]
SECRETS = MANAGER_TERMS + RUNBOOK_TERMS

EMPLOYEE = {"X-Ayuda-User": "eva.employee@brightwave.example"}
MANAGER = {"X-Ayuda-User": "mario.manager@brightwave.example", "X-Ayuda-Groups": "managers"}
IT_STAFF = {"X-Ayuda-User": "irene.desk@brightwave.example", "X-Ayuda-Groups": "it-staff"}
ADMIN = {"X-Ayuda-User": "olga.admin@brightwave.example", "X-Ayuda-Groups": "admins"}
ADMIN_MANAGER = {"X-Ayuda-User": "adam.admin@brightwave.example", "X-Ayuda-Groups": "admins,managers"}

OUTSIDER_QUESTIONS = [
    "How do I approve my team's expense claims?",  # direct
    "What is my approval limit as a people manager for expense reports?",  # paraphrase
    "How do I request headcount for a new role in my team?",
    "¿Cómo apruebo las vacaciones de mi equipo como responsable?",  # es
    "Como aprovo as despesas da minha equipe como gestor?",  # pt
    "How does the service desk unlock a locked account in Active Directory?",
    "What verification questions does the service desk ask before unlocking an account?",
    "¿Cómo desbloquea el service desk una cuenta bloqueada en Active Directory?",
    "Como o service desk desbloqueia uma conta bloqueada no Active Directory?",
]
FOLLOW_UPS = [("My account is locked", "how do agents unlock it with PowerShell?"),
              ("Who approves my expenses?", "and what does the manager check before approving?")]


def body_text(response) -> str:  # type: ignore[no-untyped-def]
    """The whole response body as text, JSON decoded so escaped characters (€, accents) compare as typed."""
    try:
        return json.dumps(response.json(), ensure_ascii=False)
    except ValueError:
        return response.text


def shows(response, terms: list[str]) -> bool:  # type: ignore[no-untyped-def]
    text = body_text(response) if not isinstance(response, str) else response
    return any(t.casefold() in text.casefold() for t in terms)


def assert_no_leak(response, terms: list[str] = SECRETS) -> None:  # type: ignore[no-untyped-def]
    text = body_text(response)
    leaked = [t for t in terms if t.casefold() in text.casefold()]
    assert not leaked, f"restricted content {leaked} in {response.request.url}: {text[:600]}"


@pytest.fixture(scope="module")
def marked(tmp_path_factory, sample_index, embedder):  # type: ignore[no-untyped-def]
    """(corpus, index): the sample corpus with a marker after every heading of the restricted documents."""
    from app.retrieval import build_index

    root = tmp_path_factory.mktemp("leaks")
    corpus, index = root / "corpus", root / "index"
    shutil.copytree(CORPUS, corpus)
    shutil.copytree(sample_index, index)
    for doc, sentence in ((MANAGER_DOC, f"Approvals desk reference: {MANAGER_MARK}."),
                          (RUNBOOK_DOC, f"Service Desk bridge code: {RUNBOOK_MARK}.")):
        path = corpus / doc
        text = re.sub(r"^(#{1,3} .+)$", lambda m, s=sentence: f"{m.group(1)}\n\n{s}", path.read_text(encoding="utf-8"),
                      flags=re.MULTILINE)
        path.write_text(text, encoding="utf-8")
    build_index(corpus, index, embedder.path, lambda: embedder)
    return corpus, index


@pytest.fixture
def client(marked, tmp_path, embedder):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from app.main import create_app

    corpus, index = marked
    settings = make_settings(tmp_path, index, embedder, corpus_dir=corpus, run_outbox_worker=False)
    with TestClient(create_app(settings, embedder=embedder)) as c:
        yield c


def chat(client, message: str, headers: dict[str, str], **extra):  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/chat", json={"message": message, **extra}, headers=headers)
    assert r.status_code == 200, r.text
    return r


def agent_of(queue: str, *more: str) -> dict[str, str]:
    from app.queues import DEFAULT_QUEUES

    return {"X-Ayuda-User": f"agent.{queue}@brightwave.example",
            "X-Ayuda-Groups": ",".join([DEFAULT_QUEUES[queue].group, *more])}


def manager_ticket(client):  # type: ignore[no-untyped-def]
    """A manager gets a managers-only answer, then asks for a person: (answer turn, escalated turn)."""
    first = chat(client, "How do I approve my team's expense claims?", MANAGER).json()
    second = chat(client, "I want to talk to a person about approving expense claims for my team", MANAGER,
                  conversation_id=first["conversation_id"]).json()
    assert second["ticket"], second
    return first, second


# --- employees: chat, follow-ups, search, help center --------------------------------------------------------
def test_employee_outside_audience_never_gets_restricted_text_in_any_language(client):
    for question in OUTSIDER_QUESTIONS:
        response = chat(client, question, EMPLOYEE)
        assert_no_leak(response)
        assert all(c["doc_id"] not in (MANAGER_DOC, RUNBOOK_DOC) for c in response.json()["citations"])
        assert_no_leak(client.get("/api/v1/search", params={"q": question, "k": 50}, headers=EMPLOYEE))


def test_follow_ups_never_reach_restricted_documents(client):
    for first, follow_up in FOLLOW_UPS:
        turn = chat(client, first, EMPLOYEE)
        assert_no_leak(turn)
        assert_no_leak(chat(client, follow_up, EMPLOYEE, conversation_id=turn.json()["conversation_id"]))


def test_help_center_hides_restricted_documents_and_says_not_found(client):
    listing = client.get("/api/v1/docs", headers=EMPLOYEE)
    assert listing.status_code == 200
    assert_no_leak(listing)
    for doc, terms in ((MANAGER_DOC, MANAGER_TERMS), (RUNBOOK_DOC, RUNBOOK_TERMS)):
        response = client.get(f"/api/v1/docs/{doc}", headers=EMPLOYEE)
        assert response.status_code == 404  # the same answer as for a document that does not exist
        assert response.json()["error"]["message"] == f"document {doc} does not exist"
        assert_no_leak(response, [t for t in terms if "/" not in t])  # the message echoes the asked path


def test_users_in_the_audience_get_their_restricted_documents(client):
    answer = chat(client, "How do I approve my team's expense claims?", MANAGER)
    assert answer.json()["citations"][0]["doc_id"] == MANAGER_DOC
    assert shows(answer, [MANAGER_MARK, "€2,000 per report", "Talent Acquisition", "Delegate approvals"])
    runbook = chat(client, "What verification questions do I ask before unlocking a caller's account?", IT_STAFF)
    assert RUNBOOK_DOC in [c["doc_id"] for c in runbook.json()["citations"]]
    assert shows(runbook, [RUNBOOK_MARK, "Unlock-ADAccount", "LockoutStatus", "three"])
    assert client.get(f"/api/v1/docs/{MANAGER_DOC}", headers=MANAGER).status_code == 200
    hits = client.get("/api/v1/search", params={"q": "unlock account PowerShell"}, headers=IT_STAFF).json()["hits"]
    assert RUNBOOK_DOC in [h["doc_id"] for h in hits]


# --- agents: tickets, drafts, FAQ drafts -------------------------------------------------------------------
def test_agent_of_the_queue_outside_the_audience_never_sees_restricted_sources_draft_or_answer(client):
    first, second = manager_ticket(client)
    ticket = second["ticket"]
    outsider = client.get(f"/api/v1/agent/tickets/{ticket['id']}", headers=agent_of(ticket["queue"]))
    assert outsider.status_code == 200
    assert_no_leak(outsider, MANAGER_TERMS)
    detail = outsider.json()
    assert any("hidden" in m["content"] for m in detail["transcript"] if m["role"] == "assistant")

    insider = client.get(f"/api/v1/agent/tickets/{ticket['id']}", headers=agent_of(ticket["queue"], "managers"))
    assert MANAGER_DOC in [s["doc_id"] for s in insider.json()["sources"]]
    assert first["answer"] in [m["content"] for m in insider.json()["transcript"]]


def test_agent_of_another_queue_cannot_open_the_ticket(client):
    _, second = manager_ticket(client)
    ticket = second["ticket"]
    other = next(q for q in ("it", "facilities") if q != ticket["queue"])
    response = client.get(f"/api/v1/agent/tickets/{ticket['id']}", headers=agent_of(other))
    assert response.status_code == 404
    assert_no_leak(response)
    listing = client.get("/api/v1/agent/tickets", headers=agent_of(other, "managers"))
    assert ticket["id"] not in [t["id"] for t in listing.json()]


def test_faq_draft_from_a_restricted_answer_keeps_the_documents_audience(client):
    _, second = manager_ticket(client)
    ticket = second["ticket"]
    insider = agent_of(ticket["queue"], "managers")
    client.post(f"/api/v1/agent/tickets/{ticket['id']}/reply", json={"body": "Approve it in Expensa."},
                headers=insider)
    client.post(f"/api/v1/agent/tickets/{ticket['id']}/status", json={"status": "resolved"}, headers=insider)
    draft = client.post(f"/api/v1/agent/tickets/{ticket['id']}/publish-faq", json={}, headers=insider)
    assert draft.status_code == 200, draft.text
    sources = client.get(f"/api/v1/agent/tickets/{ticket['id']}", headers=insider).json()["sources"]
    quoted_manager_doc = any(s["doc_id"] == MANAGER_DOC and s.get("in_draft") for s in sources)
    expected = "audience:\n- managers" if quoted_manager_doc else "audience:\n- everyone"
    assert expected in draft.json()["content"]


def test_confidential_ticket_never_becomes_a_faq(client):
    turn = chat(client, "My manager keeps making sexual comments about me, I want to report harassment", EMPLOYEE)
    ticket = turn.json()["ticket"]
    assert ticket["queue"] == "hr-confidential"
    agent = agent_of("hr-confidential")
    client.post(f"/api/v1/agent/tickets/{ticket['id']}/reply", json={"body": "We will call you."}, headers=agent)
    client.post(f"/api/v1/agent/tickets/{ticket['id']}/status", json={"status": "resolved"}, headers=agent)
    response = client.post(f"/api/v1/agent/tickets/{ticket['id']}/publish-faq", json={}, headers=agent)
    assert response.status_code == 409 and "confidential" in response.json()["error"]["message"]


# --- admins: analytics JSON, CSV, content gaps, gap drafts --------------------------------------------------
def test_admin_outside_the_audience_sees_counts_but_no_restricted_text(client):
    first, _ = manager_ticket(client)
    r = client.post(f"/api/v1/messages/{first['message_id']}/feedback", json={"helpful": False}, headers=MANAGER)
    assert r.status_code == 204
    analytics = client.get("/api/v1/admin/analytics", headers=ADMIN)
    assert analytics.status_code == 200
    assert_no_leak(analytics)
    negative = analytics.json()["negative_feedback"]
    assert [n["message_id"] for n in negative] == [first["message_id"]]  # counted, text hidden
    assert "hidden" in negative[0]["answer"]
    for section in ("negative_feedback", "content_gaps", "outcomes", "escalation_by_queue"):
        csv = client.get("/api/v1/admin/analytics.csv", params={"section": section}, headers=ADMIN)
        assert csv.status_code == 200
        assert_no_leak(csv)
    for gap in analytics.json()["content_gaps"]:
        draft = client.post(f"/api/v1/admin/content-gaps/{gap['id']}/draft", headers=ADMIN)
        assert draft.status_code == 200
        assert_no_leak(draft)

    inside = client.get("/api/v1/admin/analytics", headers=ADMIN_MANAGER).json()["negative_feedback"]
    assert inside[0]["answer"] == first["answer"]
    assert shows(inside[0]["answer"], MANAGER_TERMS)


def test_confidential_conversation_never_feeds_content_gaps_or_reviews(client):
    first = chat(client, "Can I bring my dog to the office on Fridays? BLUEHERON", EMPLOYEE).json()
    client.post(f"/api/v1/messages/{first['message_id']}/feedback", json={"helpful": False}, headers=EMPLOYEE)
    turn = chat(client, "My manager keeps making sexual comments about me, I want to report harassment", EMPLOYEE,
                conversation_id=first["conversation_id"]).json()
    assert turn["ticket"]["queue"] == "hr-confidential"  # never added to an ordinary ticket of the conversation
    other = chat(client, "Can I bring my cat to the office on Fridays? REDKITE", MANAGER).json()
    client.post(f"/api/v1/messages/{other['message_id']}/feedback", json={"helpful": False}, headers=MANAGER)

    analytics = client.get("/api/v1/admin/analytics", headers=ADMIN)
    text = body_text(analytics)
    assert "REDKITE" in text  # the ordinary 👎 is a gap and a review
    assert "BLUEHERON" not in text and "harassment" not in text
    for section in ("negative_feedback", "content_gaps"):
        csv = client.get("/api/v1/admin/analytics.csv", params={"section": section}, headers=ADMIN).text
        assert "BLUEHERON" not in csv and "harassment" not in csv
