"""Admin analytics end to end: data made through the real chat and ticket APIs, numbers checked exactly."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from tests.analytics.conftest import ADMIN, FAC_AGENT, IT_AGENT, ask, shift, user
from tests.conftest import CORPUS, make_settings

pytestmark = pytest.mark.integration

DOCK_EN = "My docking station makes a buzzing noise"
DOCK_DESK = "the dock on my desk is buzzing"
DOCK_ES = "Mi docking station hace un ruido de zumbido"
DOG = "Can I bring my dog to the office?"


@pytest.fixture(scope="module")
def scenario(db_url, embedder, sample_index, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Four employees, eleven questions, four tickets; some conversations moved 8–10 days into the past."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    tmp = tmp_path_factory.mktemp("analytics")
    corpus = tmp / "corpus"
    shutil.copytree(CORPUS, corpus)
    # The scenario fixes the confidence gate, so its outcomes don't move when the thresholds are re-tuned
    # (0.553 / 0.491 before the confidence model was refitted on the golden dev split; the gate that ships
    # since then, 0.48 / 0.40, keeps every outcome below).
    settings = make_settings(tmp, sample_index, embedder, corpus_dir=corpus, run_outbox_worker=False,
                             database_url=db_url, answer_threshold=0.48, offer_human_threshold=0.40)
    with TestClient(create_app(settings, embedder=embedder)) as client:
        ana, bob, carla, dan = user("ana"), user("bob"), user("carla"), user("dan")

        def turn(message, who, outcome, days_ago=0.0):  # type: ignore[no-untyped-def]
            body = ask(client, message, who)
            assert body["outcome"] == outcome, (message, body["outcome"], body["confidence"])
            if days_ago:
                shift(client, body["conversation_id"], days_ago)
            return body

        payslips = turn("Can I see my payslips online?", ana, "answered")  # 👍: confirmed
        turn("How many days of annual leave do I get?", ana, "answered", days_ago=10)  # durable
        turn("How do I reset my password?", bob, "answered", days_ago=10)  # asked again 1 day later: unknown
        turn("I forgot my password, how can I reset it?", bob, "answered", days_ago=9)  # durable
        turn("How do I connect to the VPN?", carla, "answered", days_ago=10)  # a ticket 2 days later: unknown
        person = turn("I want to talk to someone about my laptop", carla, "escalated", days_ago=8)
        turn("How do I book a meeting room?", dan, "answered")  # too recent to tell: unknown
        desk = turn(DOCK_DESK, dan, "answered")  # 👎: unknown, and a content gap
        dock = turn(DOCK_EN, ana, "escalated")
        turn(DOCK_ES, bob, "escalated")
        dog = turn(DOG, carla, "escalated")
        turn("Hello!", ana, "smalltalk")

        for answer, helpful, comment in [(payslips, True, None), (desk, False, "This is about laptops, not docks")]:
            r = client.post(f"/api/v1/messages/{answer['message_id']}/feedback",
                            json={"helpful": helpful, "comment": comment}, headers=ana if helpful else dan)
            assert r.status_code == 204
        for ticket, agent, employee, score in [(dock["ticket"], IT_AGENT, ana, 4), (dog["ticket"], FAC_AGENT, carla, 5)]:
            assert client.post(f"/api/v1/agent/tickets/{ticket['id']}/reply", json={"body": "On it."},
                               headers=agent).status_code == 200
            assert client.post(f"/api/v1/agent/tickets/{ticket['id']}/status", json={"status": "resolved"},
                               headers=agent).status_code == 200
            assert client.post(f"/api/v1/tickets/{ticket['id']}/csat", json={"score": score},
                               headers=employee).status_code == 200
        yield {"client": client, "corpus": corpus, "desk": desk, "person": person, "dock": dock, "dog": dog}


@pytest.fixture(scope="module")
def report(scenario):  # type: ignore[no-untyped-def]
    r = scenario["client"].get("/api/v1/admin/analytics", params={"days": 30}, headers=ADMIN)
    assert r.status_code == 200, r.text
    return r.json()


def test_period_conversations_per_day_and_outcomes(report):
    period = report["period"]
    assert period["days"] == 30
    days = report["conversations_per_day"]
    assert len(days) == 31 and days[0]["date"] == period["from"] and days[-1]["date"] == period["to"]
    assert sum(d["conversations"] for d in days) == 12 and sum(d["questions"] for d in days) == 11
    today = days[-1]
    assert today == {"date": period["to"], "conversations": 7, "questions": 6}
    assert report["outcomes"] == {"answered": 7, "answered_offer_human": 0, "escalated": 4, "clarify": 0,
                                  "smalltalk": 1, "declined": 0, "off_topic": 0, "not_ready": 0}


def test_deflection_is_split_honestly(report):
    d = report["deflection"]
    assert (d["answered"], d["confirmed"], d["durable"], d["unknown"]) == (7, 1, 2, 4)
    assert set(d["definitions"]) == {"confirmed", "durable", "unknown"}
    assert "less than 7 days old" in d["definitions"]["unknown"] and "0.9" in d["definitions"]["durable"]


def test_escalation_by_queue_sla_and_csat(report):
    by_queue = {r["queue"]: r for r in report["escalation_by_queue"]}
    assert by_queue["it"] == {"queue": "it", "name": "IT", "tickets": 3, "share_of_questions": round(3 / 11, 4)}
    assert by_queue["facilities"]["tickets"] == 1 and by_queue["hr"]["tickets"] == 0
    assert report["escalation_by_queue"][0]["queue"] == "it"

    sla = {r["queue"]: r for r in report["sla"]}
    assert set(sla) == {"it", "facilities"}
    it = sla["it"]  # answered+resolved now; open and not yet due; 8 days old and never answered
    assert it["tickets"] == 3
    assert {k: it["first_response"][k] for k in ("met", "breached", "open")} == {"met": 1, "breached": 1, "open": 1}
    assert {k: it["resolution"][k] for k in ("met", "breached", "open")} == {"met": 1, "breached": 1, "open": 1}
    assert 0 <= it["first_response"]["median_hours"] < 0.1 and it["resolution"]["median_hours"] < 0.1
    fac = sla["facilities"]
    assert (fac["first_response"]["met"], fac["resolution"]["met"], fac["resolution"]["open"]) == (1, 1, 0)

    assert report["csat"] == {"bot": {"helpful": 1, "not_helpful": 1, "rate": 0.5},
                              "human": {"count": 2, "average": 4.5}}


def test_negative_feedback_lists_the_thumbs_down_answer(report, scenario):
    [row] = report["negative_feedback"]
    assert row["message_id"] == scenario["desk"]["message_id"]
    assert row["question"] == DOCK_DESK and row["answer"] == scenario["desk"]["answer"]
    assert row["comment"] == "This is about laptops, not docks" and row["language"] == "en"
    assert row["created_at"][:10] == report["period"]["to"]


def test_content_gaps_cluster_paraphrases_across_languages(report):
    gaps = report["content_gaps"]
    assert [g["count"] for g in gaps] == [3, 1]
    dock, dog = gaps
    assert sorted(dock["examples"]) == sorted([DOCK_EN, DOCK_DESK, DOCK_ES])
    assert dock["languages"] == ["en", "es"] and dock["queue"] == "it"
    assert "dock" in dock["label"] and "buzzing" in dock["label"]
    assert dog["examples"] == [DOG] and dog["queue"] == "facilities" and dog["id"] != dock["id"]
    # Asking for a person is not a gap in the documents.
    assert all("talk to someone" not in e for g in gaps for e in g["examples"])


def test_shorter_period_leaves_old_turns_out(scenario):
    r = scenario["client"].get("/api/v1/admin/analytics", params={"days": 5}, headers=ADMIN).json()
    assert r["outcomes"]["answered"] == 3 and r["outcomes"]["escalated"] == 3
    assert r["deflection"] | {"definitions": None} == {"answered": 3, "confirmed": 1, "durable": 0, "unknown": 2,
                                                       "definitions": None}
    assert {q["queue"]: q["tickets"] for q in r["escalation_by_queue"]}["it"] == 2
    assert len(r["conversations_per_day"]) == 6


def rows(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return list(csv.reader(io.StringIO(response.text)))


def test_csv_export(scenario, report):
    client = scenario["client"]
    r = client.get("/api/v1/admin/analytics.csv", params={"section": "outcomes"}, headers=ADMIN)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="ayuda-outcomes-')
    assert rows(r) == [["outcome", "count"], ["answered", "7"], ["answered_offer_human", "0"], ["escalated", "4"],
                       ["clarify", "0"], ["smalltalk", "1"], ["declined", "0"], ["off_topic", "0"],
                       ["not_ready", "0"]]

    r = client.get("/api/v1/admin/analytics.csv", params={"section": "escalation_by_queue"}, headers=ADMIN)
    table = rows(r)
    assert table[0] == ["queue", "name", "tickets", "share_of_questions"] and table[1] == ["it", "IT", "3", "0.2727"]

    table = rows(client.get("/api/v1/admin/analytics.csv", params={"section": "sla"}, headers=ADMIN))
    assert table[0][:4] == ["queue", "tickets", "first_response_met", "first_response_breached"]
    assert table[1][:5] == ["it", "3", "1", "1", "1"]

    table = rows(client.get("/api/v1/admin/analytics.csv", params={"section": "content_gaps"}, headers=ADMIN))
    assert table[0] == ["id", "label", "count", "queue", "languages", "examples"]
    assert table[1][2:5] == ["3", "it", "en es"] and DOCK_ES in table[1][5]

    table = rows(client.get("/api/v1/admin/analytics.csv", params={"section": "negative_feedback"}, headers=ADMIN))
    assert table[0] == ["message_id", "created_at", "language", "question", "answer", "comment"]
    assert table[1][3] == DOCK_DESK and table[1][5] == "This is about laptops, not docks"

    table = rows(client.get("/api/v1/admin/analytics.csv", params={"section": "conversations_per_day"},
                            headers=ADMIN))
    assert table[0] == ["date", "conversations", "questions"] and table[-1] == [report["period"]["to"], "7", "6"]

    bad = client.get("/api/v1/admin/analytics.csv", params={"section": "salaries"}, headers=ADMIN)
    assert bad.status_code == 422 and "section" in bad.json()["error"]["message"]
    assert "outcomes" in bad.json()["error"]["message"]


def test_draft_an_article_from_a_gap(scenario, report):
    client, corpus = scenario["client"], scenario["corpus"]
    dock = report["content_gaps"][0]
    r = client.post(f"/api/v1/admin/content-gaps/{dock['id']}/draft", params={"days": 30}, headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    path = Path(body["path"])
    assert path.parent == corpus / "faq" and path.name.endswith(".md.draft") and "dock" in path.name
    content = path.read_text(encoding="utf-8")
    assert content == body["content"]
    assert "department: it\n" in content and "language: en\n" in content and "owner: olga.admin@" in content
    assert f"source_gap: {dock['id']}" in content
    questions = content.split("## Questions employees asked", 1)[1].split("## Answer", 1)[0]
    assert all(f"- {q}" in questions for q in (DOCK_EN, DOCK_DESK, DOCK_ES))
    assert content.rstrip().endswith("## Answer\n\nTODO: write the answer")

    import frontmatter

    assert frontmatter.loads(content).metadata["title"]  # valid front matter the loaders can read
    path.write_text(content + "\nedited\n", encoding="utf-8")  # a second click keeps the admin's edits
    again = client.post(f"/api/v1/admin/content-gaps/{dock['id']}/draft", headers=ADMIN).json()
    assert again["path"] == body["path"] and again["content"].endswith("edited\n")

    missing = client.post("/api/v1/admin/content-gaps/gap-nope/draft", headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("headers", [user("ana"), IT_AGENT, {}])
def test_admin_endpoints_need_the_admins_group(scenario, headers):
    client = scenario["client"]
    for method, url in [("get", "/api/v1/admin/analytics"), ("get", "/api/v1/admin/analytics.csv?section=sla"),
                        ("post", "/api/v1/admin/content-gaps/gap-1/draft"), ("post", "/api/v1/admin/reindex"),
                        ("get", "/api/v1/admin/reindex/some-job")]:
        r = getattr(client, method)(url, headers=headers)
        assert r.status_code == 403, (url, r.text)
        assert r.json()["error"]["code"] == "forbidden" and "admins" in r.json()["error"]["message"]
