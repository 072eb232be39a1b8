"""Help-center API (/api/v1/docs), the pages and /widget.js as served, and CORS for the widget."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.retrieval import ChunkerParams, chunk_document
from app.retrieval.chunking import slugify
from app.retrieval.loaders import iter_corpus_files, load_document
from app.web.help import join_overlapping, sections_of
from tests.conftest import CORPUS

RUNBOOK = "it/admin-runbook-account-unlock.md"  # audience: it-staff
MANAGERS = "general/manager-guide-approvals.md"  # audience: managers
EMPLOYEE = {"X-Ayuda-User": "ana.garcia@brightwave.example"}


def listed(client, headers) -> set[str]:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/docs", headers=headers)
    assert r.status_code == 200, r.text
    return {d["doc_id"] for dep in r.json()["departments"] for d in dep["documents"]}


# --- pure logic ------------------------------------------------------------------------------------
def test_overlapping_pieces_are_joined_without_repeating_the_overlap():
    first = "Ask your manager first. Then file the request in PeopleHub"
    second = "file the request in PeopleHub before Friday."
    assert join_overlapping(first, second, 120) == "Ask your manager first. Then file the request in PeopleHub before Friday."
    # a separator kept at the start of the next piece
    assert join_overlapping("gives 20 days (art. 251)", ". 251). Leave can be split.", 120) == \
        "gives 20 days (art. 251). Leave can be split."
    # no overlap: a one-character coincidence (a table pipe) is not taken for one
    assert join_overlapping("| a | b |", "| c | d |", 120) == "| a | b |\n| c | d |"


@pytest.mark.parametrize("size,overlap", [(1000, 120), (300, 60)])
def test_sections_give_back_every_word_of_every_document_once(size, overlap):
    params = ChunkerParams(size, overlap)
    squash = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
    mismatched = []
    for path in iter_corpus_files(CORPUS):
        doc = load_document(path, CORPUS)
        sections = sections_of(doc.title, chunk_document(doc, params), overlap)
        body = "\n".join(line for line in doc.text.splitlines() if not re.match(r"^#{1,4}\s", line))
        if squash("".join(s.text for s in sections)) != squash(body):
            mismatched.append(doc.doc_id)
    # HTML loaders may re-space punctuation; nothing may be lost or repeated anywhere else.
    assert len(mismatched) <= 1, mismatched


def test_outline_has_parent_headings_and_anchors_like_the_chunks():
    doc = load_document(CORPUS / "hr/annual-leave.es.md", CORPUS)
    chunks = chunk_document(doc)
    sections = sections_of(doc.title, chunks, 120)
    assert sections[0].level == 0 and sections[0].heading == doc.title
    anchors = {s.anchor for s in sections}
    assert {c.anchor for c in chunks} <= anchors
    assert "como-solicito-las-vacaciones" in anchors
    assert all(s.anchor == slugify(s.heading) for s in sections)


# --- API -------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_docs_are_listed_by_department_and_filtered_by_audience(client):
    everyone = listed(client, EMPLOYEE)
    assert RUNBOOK not in everyone and MANAGERS not in everyone
    assert {"hr/annual-leave.md", "hr/annual-leave.es.md", "it/vpn-setup.md"} <= everyone
    assert RUNBOOK in listed(client, EMPLOYEE | {"X-Ayuda-Groups": "it-staff"})
    managers = listed(client, EMPLOYEE | {"X-Ayuda-Groups": "managers"})
    assert MANAGERS in managers and RUNBOOK not in managers

    body = client.get("/api/v1/docs", headers=EMPLOYEE).json()
    departments = [d["department"] for d in body["departments"]]
    assert departments == sorted(departments) and {"hr", "it", "payroll", "facilities"} <= set(departments)
    hr = next(d for d in body["departments"] if d["department"] == "hr")["documents"]
    leave = next(d for d in hr if d["doc_id"] == "hr/annual-leave.es.md")
    assert leave["language"] == "es" and leave["owner"] and leave["updated"] == "2026-03-01"


@pytest.mark.integration
def test_a_document_has_its_metadata_and_sections_with_anchors(client):
    r = client.get("/api/v1/docs/hr/annual-leave.es.md", headers=EMPLOYEE)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["title"] == "Política de vacaciones anuales" and doc["department"] == "hr"
    assert doc["language"] == "es" and doc["owner"] == "People Team" and doc["updated"] == "2026-03-01"
    assert doc["url"].startswith("https://intranet.brightwave.example/")
    assert {t["doc_id"] for t in doc["translations"]} == {"hr/annual-leave.md", "hr/annual-leave.pt.md"}
    by_anchor = {s["anchor"]: s for s in doc["sections"]}
    howto = by_anchor["como-solicito-las-vacaciones"]
    assert howto["heading"] == "¿Cómo solicito las vacaciones?" and howto["level"] == 1
    assert "PeopleHub" in howto["text"]


@pytest.mark.integration
@pytest.mark.parametrize("doc_id,groups", [(RUNBOOK, "it-staff"), (MANAGERS, "managers")])
def test_a_restricted_document_is_a_404_for_others_and_readable_for_its_audience(client, doc_id, groups):
    for headers in (EMPLOYEE, EMPLOYEE | {"X-Ayuda-Groups": "hr-agents,admins"}):
        r = client.get(f"/api/v1/docs/{doc_id}", headers=headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    unknown = client.get("/api/v1/docs/it/no-such-doc.md", headers=EMPLOYEE)
    assert unknown.status_code == 404
    assert r.json()["error"]["message"].replace(doc_id, "X") == unknown.json()["error"]["message"].replace(
        "it/no-such-doc.md", "X")  # the same answer: no hint that the document exists
    ok = client.get(f"/api/v1/docs/{doc_id}", headers=EMPLOYEE | {"X-Ayuda-Groups": groups})
    assert ok.status_code == 200 and ok.json()["sections"]


@pytest.mark.integration
def test_a_chat_citation_points_at_a_section_of_its_help_center_page(client):
    turn = client.post("/api/v1/chat", json={"message": "¿Cómo solicito las vacaciones?"}, headers=EMPLOYEE).json()
    assert turn["citations"]
    for c in turn["citations"]:
        anchor = c["url"].split("#")[1]
        doc = client.get(f"/api/v1/docs/{c['doc_id']}", headers=EMPLOYEE).json()
        assert anchor in {s["anchor"] for s in doc["sections"]}


@pytest.mark.integration
def test_pages_and_widget_are_served(client):
    for path in ["/", "/help", "/help/doc/hr/annual-leave.md", "/agent", "/admin", "/demo/intranet"]:
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), path
        assert "script-src 'self'" in r.headers["content-security-policy"]
    js = client.get("/widget.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("application/javascript")
    assert "A.Chat = Chat" in js.text and "document.currentScript" in js.text
    assert client.get("/static/vendor/chart.umd.js").status_code == 200
    assert client.get("/static/css/chat.css").headers["content-type"].startswith("text/css")
    faq = client.get("/help/faq/how-to-reset-it-0007", follow_redirects=False)
    assert faq.status_code == 307 and faq.headers["location"] == "/help/doc/faq/how-to-reset-it-0007.md"
    queues = {q["id"]: q for q in client.get("/api/v1/queues").json()}
    assert queues["hr-confidential"]["confidential"] and queues["it"]["name"] == "IT"


@pytest.mark.integration
def test_cors_lets_a_configured_intranet_page_call_the_api_with_identity_headers(tmp_path, sample_index, embedder):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import make_settings

    intranet = "https://intranet.brightwave.example"
    settings = make_settings(tmp_path, sample_index, embedder, cors_origins=intranet, run_outbox_worker=False)
    with TestClient(create_app(settings, embedder=embedder)) as client:
        r = client.options("/api/v1/chat", headers={
            "Origin": intranet, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-ayuda-user,x-ayuda-groups,idempotency-key"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == intranet
    allowed = r.headers["access-control-allow-headers"].lower()
    assert all(h in allowed for h in ("x-ayuda-user", "x-ayuda-groups", "idempotency-key", "content-type"))


@pytest.mark.integration
def test_cors_origins_can_be_restricted(tmp_path, sample_index, embedder):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, sample_index, embedder, cors_origins="https://intranet.example, https://a.example/",
                             run_outbox_worker=False)
    assert settings.cors_origin_list == ["https://intranet.example", "https://a.example"]
    with TestClient(create_app(settings, embedder=embedder)) as c:
        ok = c.get("/api/v1/queues", headers={"Origin": "https://a.example"})
        assert ok.headers.get("access-control-allow-origin") == "https://a.example"
        other = c.get("/api/v1/queues", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_vendored_chart_js_is_pinned_with_its_licence():
    vendor = Path(__file__).resolve().parents[2] / "app/web/static/vendor"
    head = (vendor / "chart.umd.js").read_text(encoding="utf-8")[:200]
    assert "Chart.js v4.6.1" in head and "MIT" in head
    assert "MIT License" in (vendor / "chart.js.LICENSE.md").read_text(encoding="utf-8")
