"""`ayuda worker`: the process that builds indexes and runs the periodic jobs (outbox, SLA, retention, pruning)
for API replicas started with AYUDA_JOBS=worker. It loads the embedding model but serves no requests."""

from __future__ import annotations

import logging

from app.config import Settings
from app.db import make_engine, make_session_factory, upgrade
from app.escalation.notify import OutboxWorker
from app.escalation.service import TicketService
from app.jobs.builds import BuildRegistry
from app.jobs.queue import WorkerJobs, run_worker
from app.jobs.reindex import BuildContext
from app.privacy.service import PrivacyService
from app.retrieval import ModelNotFound, embedder_for

log = logging.getLogger(__name__)


def worker_jobs(settings: Settings) -> WorkerJobs:
    if settings.mail_enabled:  # answering mails needs the whole chat pipeline, as in a server
        from app.services import build_services

        services = build_services(settings)
        return WorkerJobs(build=BuildContext(settings, services.sessions, services.embedder, services.registry,
                                             services.model_error),
                          deliver=services.outbox.run_once, check_sla=services.tickets.check_sla,
                          retention=services.privacy.retention_due, prune=services.registry.prune,
                          mail=services.mail.due if services.mail else None)
    engine = make_engine(settings.database_url)
    if settings.auto_migrate:
        upgrade(settings.database_url)
    sessions = make_session_factory(engine)
    model_error = None
    try:
        embedder = embedder_for(settings)
    except ModelNotFound as e:  # builds fail with this message; notifications still go out
        embedder, model_error = None, str(e)
        log.error(model_error)
    registry = BuildRegistry(sessions, settings.index_dir, heartbeat_seconds=settings.index_heartbeat_seconds)
    outbox = OutboxWorker(settings, sessions)
    return WorkerJobs(build=BuildContext(settings, sessions, embedder, registry, model_error),
                      deliver=outbox.run_once, check_sla=TicketService(settings, sessions).check_sla,
                      retention=PrivacyService(settings, sessions).retention_due, prune=registry.prune)


def main(settings: Settings, *, concurrency: int = 2) -> None:
    run_worker(settings, worker_jobs(settings), concurrency=concurrency)
