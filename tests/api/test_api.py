"""The HTTP API end to end: real model, real index, real SQLite."""

import threading

import pytest

pytestmark = pytest.mark.integration


def test_chat_answers_with_the_documented_shape(client):
    r = client.post("/api/v1/chat", json={"message": "Can I see my payslips online?"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"conversation_id", "message_id", "answer", "language", "citations", "confidence", "outcome"}
    assert body["outcome"] == "answered" and body["language"] == "en"
    cite = body["citations"][0]
    assert cite["n"] == 1 and cite["doc_id"] == "payroll/payslips.md"
    assert set(cite) >= {"doc_id", "title", "section", "url", "snippet"} and cite["url"].startswith("https://")


def test_conversation_is_kept_and_follow_up_works(client):
    first = client.post("/api/v1/chat", json={"message": "How many days of annual leave do I get?"}).json()
    follow = client.post("/api/v1/chat", json={"message": "and for part-time staff?",
                                               "conversation_id": first["conversation_id"]}).json()
    assert follow["conversation_id"] == first["conversation_id"]
    assert follow["citations"][0]["doc_id"] == "hr/annual-leave.md"


def test_feedback_is_recorded(client):
    answer = client.post("/api/v1/chat", json={"message": "How do I reset my password?"}).json()
    r = client.post(f"/api/v1/messages/{answer['message_id']}/feedback", json={"helpful": False, "comment": "old"})
    assert r.status_code == 204
    from app.chat.models import Message

    with client.app.state.services.sessions() as s:
        msg = s.get(Message, answer["message_id"])
        assert (msg.helpful, msg.feedback_comment) == (False, "old")
    other = client.post(f"/api/v1/messages/{answer['message_id']}/feedback", json={"helpful": True},
                        headers={"X-Ayuda-User": "someone.else"})
    assert other.status_code == 404


@pytest.mark.parametrize("payload,status,fragment", [
    ({"message": ""}, 422, "message: must not be empty"),
    ({"message": "x" * 4001}, 422, "message: is too long (4000"),
    ({}, 422, "message: is required"),
    ({"message": "hi", "conversation_id": "does-not-exist"}, 404, "conversation does-not-exist"),
    ({"message": "hi", "language": "fr"}, 422, "language"),
])
def test_bad_input_gets_a_clear_4xx(client, payload, status, fragment):
    r = client.post("/api/v1/chat", json=payload)
    assert r.status_code == status and fragment in r.json()["error"]["message"], r.text


def test_blank_message_and_invalid_json_are_rejected(client):
    empty = client.post("/api/v1/chat", json={"message": ""}).json()["error"]
    for blank in ["   ", "\x00\x00", " \x00\n\t "]:  # the same 422 and error as an empty message
        r = client.post("/api/v1/chat", json={"message": blank})
        assert r.status_code == 422 and r.json()["error"] == empty, r.text
    r = client.post("/api/v1/chat", content=b'{"message": ', headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"


def test_someone_elses_conversation_is_not_found(client):
    conv = client.post("/api/v1/chat", json={"message": "Hello"}).json()["conversation_id"]
    r = client.post("/api/v1/chat", json={"message": "hi", "conversation_id": conv},
                    headers={"X-Ayuda-User": "mallory"})
    assert r.status_code == 404


def test_search_returns_ranked_visible_sections(client):
    r = client.get("/api/v1/search", params={"q": "contraseña bloqueada", "k": 5})
    assert r.status_code == 200
    hits = r.json()["hits"]
    assert len(hits) == 5 and hits[0]["doc_id"].startswith("it/password-reset")
    assert all(h["doc_id"] != "it/admin-runbook-account-unlock.md" for h in hits)
    assert client.get("/api/v1/search", params={"q": ""}).status_code == 422


def test_health_ready_and_openapi(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["index"]["ready"] is True
    assert "/api/v1/chat" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200
    client.post("/api/v1/chat", json={"message": "¿Cómo restablezco mi contraseña?"})
    metrics = client.get("/metrics").text
    assert 'ayuda_chat_turns_total{language="es",outcome="answered"} 1.0' in metrics
    assert "ayuda_index_chunks" in metrics


def test_server_without_an_index_starts_and_says_not_ready(tmp_path, embedder):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, tmp_path / "no-index", embedder)
    with TestClient(create_app(settings, embedder=embedder)) as c:
        ready = c.get("/readyz")
        assert ready.status_code == 503 and "ayuda index" in ready.json()["index"]["detail"]
        r = c.post("/api/v1/chat", json={"message": "¿Cómo restablezco mi contraseña?"})
        assert r.status_code == 200 and r.json()["outcome"] == "not_ready" and r.json()["language"] == "es"
        assert c.get("/api/v1/search", params={"q": "vpn"}).status_code == 503
        assert c.post("/api/v1/chat", json={"message": "Hello"}).json()["outcome"] == "smalltalk"


def test_rebuilding_the_index_while_serving_fails_no_request(tmp_path, corpus_copy, index_copy, embedder):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.retrieval import build_index
    from tests.conftest import make_settings

    index_dir = index_copy
    settings = make_settings(tmp_path, index_dir, embedder)
    questions = ["How do I reset my password?", "¿Puedo ver mis nóminas en línea?", "O dia seguinte ao Natal é feriado?"]
    results: list[tuple[int, str]] = []
    stop = threading.Event()
    with TestClient(create_app(settings, embedder=embedder)) as c:
        def ask() -> None:
            i = 0
            while not stop.is_set():
                r = c.post("/api/v1/chat", json={"message": questions[i % 3]})
                results.append((r.status_code, r.json().get("outcome", "")))
                i += 1

        workers = [threading.Thread(target=ask) for _ in range(2)]
        for w in workers:
            w.start()
        builds = set()
        for round_ in range(3):
            leave = corpus_copy / "hr" / "annual-leave.md"
            leave.write_text(leave.read_text() + f"\n\n## Note {round_}\n\nNothing changes in round {round_}.\n")
            builds.add(build_index(corpus_copy, index_dir, embedder.path, lambda: embedder).build_id)
        import time

        time.sleep(1.0)
        stop.set()
        for w in workers:
            w.join()
        served = c.app.state.services.store.get().build_id
    assert results and all(code == 200 for code, _ in results), results
    assert all(outcome == "answered" for _, outcome in results), results
    assert served in builds
