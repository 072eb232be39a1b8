"""Property-based API test: schemathesis generates requests from the OpenAPI schema (valid and invalid ones)
against the whole app on a loopback uvicorn (real model, real index, SQLite and PostgreSQL), with dev-mode identity
headers of a user in every group. No response may be a 5xx or differ from the documented schema."""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.conftest import CORPUS, make_settings

pytestmark = pytest.mark.integration
IDENTITY = {"X-Ayuda-User": "fuzz.tester@brightwave.example",
            "X-Ayuda-Groups": "admins,it-agents,hr-agents,hr-confidential,payroll-agents,facilities-agents,"
                              "general-agents"}
# Per operation (~26 operations): ~25 s per database on 2 idle cores; the time is printed, never asserted.
EXAMPLES = {"positive": 10, "negative": 5}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fuzz_server(request, tmp_path_factory, sample_index, embedder) -> Iterator[str]:  # type: ignore[no-untyped-def]
    import uvicorn

    from app.main import create_app
    from tests.escalation.conftest import _reset_postgres
    from tests.web.conftest import free_port

    base = tmp_path_factory.mktemp("fuzz")
    corpus, index = base / "corpus", base / "index"  # private copies: admin and FAQ routes write to them
    shutil.copytree(CORPUS, corpus)
    shutil.copytree(sample_index, index)
    settings = make_settings(base, index, embedder, corpus_dir=corpus, run_outbox_worker=False)
    if request.param == "postgres":
        settings = settings.model_copy(update={"database_url": _reset_postgres()})
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, embedder=embedder), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-fuzz", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fuzz server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_generated_requests_get_no_server_error_and_match_the_documented_schema(fuzz_server):
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    schema = schemathesis.openapi.from_url(f"{fuzz_server}/openapi.json")
    failures: list[str] = []
    operations = 0
    statuses: Counter[int] = Counter()
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode, examples in EXAMPLES.items():

            @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=GenerationMode(mode)))
            def check(case) -> None:  # type: ignore[no-untyped-def]
                response = case.call_and_validate(headers=IDENTITY, timeout=60,
                                                  checks=[not_a_server_error, response_schema_conformance])
                statuses[response.status_code] += 1

            try:
                check()
            except Unsatisfiable:  # nothing invalid to send (e.g. no parameters): nothing to test in this mode
                continue
            except Exception as e:  # collect every operation's failure, then report them together
                failures.append(f"{operation.label} ({mode}): {e}")
    elapsed = time.monotonic() - started
    print(f"schemathesis: {operations} operations, {sum(statuses.values())} requests in {elapsed:.0f} s, "
          f"statuses {dict(sorted(statuses.items()))}")
    assert not failures, "\n\n".join(failures)
    assert operations >= 20 and statuses[200] > 20 and sum(v for k, v in statuses.items() if 400 <= k < 500) > 20


def test_nul_characters_in_ids_get_a_4xx_not_a_database_error(fuzz_server):
    import httpx

    with httpx.Client(base_url=fuzz_server, headers=IDENTITY, timeout=60) as http:
        r = http.get("/api/v1/tickets/abc%00def")
        assert r.status_code == 400 and "NUL" in r.json()["error"]["message"]
        assert http.get("/api/v1/search", params={"q": "vpn\x00"}).status_code == 400
        r = http.post("/api/v1/chat", json={"message": "Hello", "conversation_id": "abc\x00"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
        r = http.post("/api/v1/agent/tickets/x/assign", json={"assignee": "bob\x00"})
        assert r.status_code == 422
        r = http.post("/api/v1/messages/x/feedback", json={"helpful": True, "comment": "ok\x00"})
        assert r.status_code == 404  # the comment was cleaned; the message just doesn't exist
