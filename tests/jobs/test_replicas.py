"""Two `ayuda serve` replicas and one `ayuda worker` on one PostgreSQL and one Redis behave as one service:
tickets numbered without collisions, rate limits shared, each notification delivered once, and a build started
on one replica is made by the worker and served by both."""

from __future__ import annotations

import concurrent.futures
import json
import time
from collections import Counter

import httpx
import pytest
import redis
from sqlalchemy import create_engine, select

from tests.analytics.conftest import ADMIN
from tests.analytics.test_reindex import DOCKING_ARTICLE
from tests.conftest import RELAXED_LIMITS
from tests.escalation.test_outbox import Receiver, free_port
from tests.support.pg import fresh_database
from tests.support.processes import Process, serve, wait_ready

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
REDIS_URL = "redis://127.0.0.1:6379/9"
PERSON = "I want to talk to a person about my laptop"


def test_two_replicas_and_a_worker_are_one_service(tmp_path, index_copy, corpus_copy, embedder):
    redis.Redis.from_url(REDIS_URL).flushdb()
    hook = Receiver(free_port())
    processes: list[Process] = []
    with fresh_database("ayuda_replicas") as db:
        env = {"AYUDA_DATABASE_URL": db, "AYUDA_JOBS": "worker", "AYUDA_REDIS_URL": REDIS_URL,
               "AYUDA_INDEX_DIR": str(index_copy), "AYUDA_CORPUS_DIR": str(corpus_copy),
               "AYUDA_EMBEDDING_MODEL": str(embedder.path), "AYUDA_INDEX_CHECK_SECONDS": "0.5",
               "AYUDA_WEBHOOK_URL": f"http://127.0.0.1:{hook.port}/hook", "AYUDA_WEBHOOK_SECRET": "s",
               "AYUDA_OUTBOX_POLL_SECONDS": "1"} \
            | {f"AYUDA_{k.upper()}": str(v) for k, v in RELAXED_LIMITS.items()} \
            | {"AYUDA_CHAT_RATE_PER_USER": "6/minute"}
        ports = [free_port(), free_port()]
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        try:
            processes += [serve(p, env, tmp_path / f"replica-{n}.log") for n, p in enumerate(ports)]
            worker = Process(["worker"], env, tmp_path / "worker.log")
            processes.append(worker)
            for process, url in zip(processes, urls, strict=False):
                wait_ready(process, url)

            # Tickets: 10 employees escalate at once through both replicas; one queue, ten distinct numbers.
            def escalate(n: int) -> dict:
                r = httpx.post(f"{urls[n % 2]}/api/v1/chat", json={"message": PERSON}, timeout=120,
                               headers={"X-Ayuda-User": f"user{n}@brightwave.example"})
                assert r.status_code == 200, r.text
                return r.json()["ticket"]

            with concurrent.futures.ThreadPoolExecutor(10) as pool:
                tickets = list(pool.map(escalate, range(10)))
            numbers = [t["number"] for t in tickets]
            assert len(set(numbers)) == 10 and all(n.startswith("IT-") for n in numbers), numbers

            # Rate limits are shared: 6 turns a minute for one employee, whichever replica answers.
            codes = [httpx.post(f"{urls[n % 2]}/api/v1/chat", json={"message": "hello"}, timeout=60,
                                headers={"X-Ayuda-User": "eager@brightwave.example"}).status_code for n in range(8)]
            assert Counter(codes) == {200: 6, 429: 2}, codes

            # Each notification once: every ticket's creation reaches the webhook, no delivery id twice.
            wanted = {t["id"] for t in tickets}
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                created = [json.loads(body)["ticket"]["id"] for _, _, body in list(hook.requests)
                           if json.loads(body)["event"] == "ticket.created"]
                if wanted <= set(created):
                    break
                time.sleep(0.5)
            time.sleep(3)  # a second delivery, if any process delivered twice, would arrive by now
            deliveries = [headers["X-Ayuda-Delivery"] for _, headers, _ in list(hook.requests)]
            created = [json.loads(body)["ticket"]["id"] for _, _, body in list(hook.requests)
                       if json.loads(body)["event"] == "ticket.created"]
            assert sorted(created) == sorted(wanted) and len(deliveries) == len(set(deliveries))

            # A new build: asked on replica 0, built by the worker, served by both.
            (corpus_copy / "it" / "docking-stations.md").write_text(DOCKING_ARTICLE, encoding="utf-8")
            job = httpx.post(f"{urls[0]}/api/v1/admin/reindex", headers=ADMIN, timeout=30).json()
            deadline = time.monotonic() + 600
            while job["status"] in ("queued", "running") and time.monotonic() < deadline:
                time.sleep(1)
                job = httpx.get(f"{urls[1]}/api/v1/admin/reindex/{job['job_id']}", headers=ADMIN, timeout=30).json()
            assert job["status"] == "done", f"{job}\n{worker.tail()}"
            assert job["report"]["embedded_documents"] == 1
            for url in urls:
                deadline = time.monotonic() + 30
                while job["build_id"] not in httpx.get(f"{url}/readyz", timeout=30).json()["index"]["detail"]:
                    assert time.monotonic() < deadline, f"{url} does not serve {job['build_id']}"
                    time.sleep(0.5)
                turn = httpx.post(f"{url}/api/v1/chat", json={"message": "My docking station makes a buzzing noise"},
                                  headers={"X-Ayuda-User": "dock@brightwave.example"}, timeout=60).json()
                assert turn["citations"][0]["doc_id"] == "it/docking-stations.md", turn

            from app.jobs.models import IndexJob

            engine = create_engine(db)
            with engine.connect() as conn:
                runner = conn.scalar(select(IndexJob.runner).where(IndexJob.id == job["job_id"]))
            engine.dispose()
            assert runner is not None and runner.endswith(f":{worker.proc.pid}")  # the worker built it
        finally:
            for process in processes:
                process.stop()
            hook.stop()
