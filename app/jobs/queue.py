"""Where background work runs.

- `inprocess` (the default, one machine, SQLite): re-index jobs in a thread of the API process; notifications,
  SLA and retention in its outbox thread.
- `worker` (several replicas, PostgreSQL): procrastinate (a job queue on PostgreSQL) carries re-index jobs from
  any replica to `ayuda worker` processes, which also run the periodic jobs; procrastinate defers each periodic
  run once however many workers run, so the SLA check and retention run once, not once per process. API
  replicas then run no background jobs at all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import procrastinate
from sqlalchemy.engine import make_url

from app.config import Settings
from app.jobs.reindex import BuildContext, run_job

log = logging.getLogger(__name__)
INDEX_QUEUE, JOBS_QUEUE = "index", "jobs"


def conninfo(database_url: str) -> str:
    """libpq connection string for a SQLAlchemy PostgreSQL URL (procrastinate talks psycopg directly)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("AYUDA_JOBS=worker needs PostgreSQL (AYUDA_DATABASE_URL=postgresql+psycopg://…)")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class WorkerJobs:
    """What the periodic tasks call in a worker process."""

    build: BuildContext
    deliver: Callable[[], Any]  # outbox: deliver due notifications
    check_sla: Callable[[], Any]
    retention: Callable[[], Any] | None
    prune: Callable[[], Any]
    mail: Callable[[], Any] | None = None  # the help mailbox's pass, when AYUDA_MAIL_IMAP_HOST is set


_worker: WorkerJobs | None = None  # set by run_worker in the worker process only


def _jobs() -> WorkerJobs:
    if _worker is None:
        raise RuntimeError("this task runs in `ayuda worker` only")
    return _worker


def make_app(settings: Settings) -> procrastinate.App:
    """The procrastinate app with Ayuda's tasks (the API defers `ayuda.reindex`; the worker runs everything)."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(settings.database_url)))
    every = max(1, round(settings.outbox_poll_seconds))

    @app.task(name="ayuda.reindex", queue=INDEX_QUEUE, lock="ayuda-index-build")
    def reindex(job_id: str) -> None:
        run_job(job_id, _jobs().build)

    @app.periodic(cron=f"* * * * * */{every}", periodic_id="outbox")
    @app.task(name="ayuda.outbox", queue=JOBS_QUEUE, queueing_lock="ayuda-outbox")
    def outbox(timestamp: int) -> None:
        _jobs().deliver()

    @app.periodic(cron="* * * * *", periodic_id="sla")
    @app.task(name="ayuda.sla", queue=JOBS_QUEUE, queueing_lock="ayuda-sla")
    def sla(timestamp: int) -> None:
        _jobs().check_sla()

    @app.periodic(cron="17 * * * *", periodic_id="retention")
    @app.task(name="ayuda.retention", queue=JOBS_QUEUE, queueing_lock="ayuda-retention")
    def retention(timestamp: int) -> None:
        job = _jobs().retention
        if job is not None:
            job()

    @app.periodic(cron="* * * * * */10", periodic_id="mail")  # due() keeps to AYUDA_MAIL_POLL_SECONDS
    @app.task(name="ayuda.mail", queue=JOBS_QUEUE, queueing_lock="ayuda-mail")
    def mail(timestamp: int) -> None:
        job = _jobs().mail
        if job is not None:
            job()

    @app.periodic(cron="*/5 * * * *", periodic_id="prune")
    @app.task(name="ayuda.prune", queue=JOBS_QUEUE, queueing_lock="ayuda-prune")
    def prune(timestamp: int) -> None:
        _jobs().prune()

    return app


_SCHEMA_LOCK = threading.Lock()


def ensure_schema(settings: Settings) -> None:
    """Create procrastinate's tables once (under an advisory lock, so replicas starting together don't race)."""
    import psycopg

    with _SCHEMA_LOCK, psycopg.connect(conninfo(settings.database_url), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtextextended('ayuda-procrastinate-schema', 0))")
        try:
            row = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if row is None or row[0] is None:
                with make_app(settings).open() as app:
                    app.schema_manager.apply_schema()
                log.info("created the job queue's tables (procrastinate)")
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtextextended('ayuda-procrastinate-schema', 0))")


class QueueDispatch:
    """Hands re-index jobs to `ayuda worker` through procrastinate (API replicas in worker mode)."""

    def __init__(self, settings: Settings) -> None:
        ensure_schema(settings)
        self.app = make_app(settings)
        self.app.open()

    def __call__(self, job_id: str) -> None:
        self.app.tasks["ayuda.reindex"].defer(job_id=job_id)

    def close(self) -> None:
        self.app.close()


class ThreadDispatch:
    """Runs re-index jobs in a thread of this process, one at a time (one machine, SQLite)."""

    def __init__(self, context: Callable[[], BuildContext]) -> None:
        self.context = context
        self._one = threading.Lock()

    def __call__(self, job_id: str) -> None:
        def work() -> None:
            with self._one:
                run_job(job_id, self.context())

        threading.Thread(target=work, name=f"reindex-{job_id[:8]}", daemon=True).start()

    def close(self) -> None:
        pass


def run_worker(settings: Settings, jobs: WorkerJobs, *, concurrency: int = 2) -> None:
    """`ayuda worker`: run re-index jobs and the periodic jobs until SIGINT/SIGTERM."""
    global _worker
    ensure_schema(settings)
    _worker = jobs
    app = make_app(settings)
    log.info("worker started: queues %s, %s (concurrency %d)", INDEX_QUEUE, JOBS_QUEUE, concurrency)
    app.run_worker(queues=[INDEX_QUEUE, JOBS_QUEUE], concurrency=concurrency, wait=True,
                   install_signal_handlers=True)
