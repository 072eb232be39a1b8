"""Re-index jobs: requested from any replica, recorded in the database (status and progress survive restarts and
show on every replica), run one at a time by a runner: a thread of this process (in-process) or `ayuda worker`."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import rowcount, session_scope
from app.errors import NotFound
from app.jobs.builds import BuildRegistry
from app.jobs.models import IndexJob, now
from app.ranking import ranking_profile
from app.retrieval import BuildReport, ChunkerParams, CorpusError, Embedder, build_index

log = logging.getLogger(__name__)
STALE = dt.timedelta(minutes=2)  # a running job whose runner has not reported for this long was interrupted
_START_LOCK = threading.Lock()


def as_dict(job: IndexJob) -> dict[str, Any]:
    def iso(t: dt.datetime | None) -> str | None:
        return t.astimezone(dt.UTC).isoformat(timespec="seconds") if t else None

    return {"job_id": job.id, "status": job.status, "full": job.full,
            "progress": {"done": job.done, "total": job.total}, "build_id": job.build_id, "report": job.report,
            "error": job.error, "started_at": iso(job.started_at or job.created_at),
            "finished_at": iso(job.finished_at)}


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    return t.replace(tzinfo=dt.UTC) if t is not None and t.tzinfo is None else t  # SQLite drops the zone


class ReindexJobs:
    """Start, look up and run re-index jobs. `dispatch(job_id)` hands a queued job to its runner."""

    def __init__(self, sessions: sessionmaker[Session], dispatch: Callable[[str], None]) -> None:
        self.sessions, self.dispatch = sessions, dispatch

    def start(self, *, full: bool = False, requested_by: str | None = None,
              changed_since_running: bool = False) -> tuple[dict[str, Any], bool]:
        """(job, started): the queued or running job if there is one (started=False), else a new queued job.
        `changed_since_running`: the corpus changed after a running job may have read it, so only a queued job
        is joined; a new one is queued to run after the running one."""
        with _START_LOCK, session_scope(self.sessions) as s:
            if s.get_bind().dialect.name == "postgresql":  # one start at a time across replicas
                s.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('ayuda-reindex-start', 0))"))
            self._fail_stale(s)
            joinable = ("queued",) if changed_since_running else ("queued", "running")
            active = s.scalar(select(IndexJob).where(IndexJob.status.in_(joinable))
                              .order_by(IndexJob.created_at).limit(1))
            if active is not None:
                return as_dict(active), False
            job = IndexJob(full=full, requested_by=requested_by, created_at=now())
            s.add(job)
            s.flush()
            out = as_dict(job)
        self.dispatch(out["job_id"])
        return out, True

    def get(self, job_id: str) -> dict[str, Any]:
        with session_scope(self.sessions) as s:
            self._fail_stale(s)
            job = s.get(IndexJob, job_id)
            if job is None:
                raise NotFound(f"re-index job {job_id} does not exist")
            return as_dict(job)

    @staticmethod
    def _fail_stale(s: Session) -> None:
        for job in s.scalars(select(IndexJob).where(IndexJob.status == "running")):
            seen = _aware(job.heartbeat_at or job.started_at)
            if seen is not None and now() - seen > STALE:
                job.status, job.finished_at = "failed", now()
                job.error = f"interrupted: {job.runner or 'the process running it'} stopped; start it again"


@dataclass
class BuildContext:
    """What a runner needs to build: settings, database, the loaded model and the build registry."""

    settings: Settings
    sessions: sessionmaker[Session]
    embedder: Embedder | None
    registry: BuildRegistry
    model_error: str | None = None
    after_build: Callable[[str], None] | None = None  # e.g. load the build in this process before `done`
    build: Callable[..., BuildReport] = build_index  # the index builder (a test can slow it down or break it)


def run_job(job_id: str, ctx: BuildContext) -> str:
    """Claim a queued job and build; the job ends `done` with the build activated, or `failed` with the reason.
    Returns the final status ("skipped" when another runner had claimed it)."""
    runner = f"{socket.gethostname()}:{os.getpid()}"
    with session_scope(ctx.sessions) as s:
        claimed = rowcount(s.execute(update(IndexJob).where(IndexJob.id == job_id, IndexJob.status == "queued")
                                     .values(status="running", started_at=now(), heartbeat_at=now(), runner=runner)))
        job = s.get(IndexJob, job_id)
        full = bool(job.full) if job is not None else False
    if not claimed:
        return "skipped"
    progress = {"done": 0, "total": 0, "saved": 0.0, "saved_done": 0}

    def save(force: bool = False) -> None:
        """Progress to the database every second, or sooner after 5% of the chunks (not on every batch)."""
        step = progress["done"] - progress["saved_done"] >= 0.05 * max(1, progress["total"])
        if not (force or step or time.monotonic() - progress["saved"] >= 1.0):
            return
        progress["saved"], progress["saved_done"] = time.monotonic(), progress["done"]
        with session_scope(ctx.sessions) as s:
            s.execute(update(IndexJob).where(IndexJob.id == job_id).values(
                done=int(progress["done"]), total=int(progress["total"]), heartbeat_at=now()))

    def on_start(total: int) -> None:
        progress["total"] = total
        save(force=True)

    def on_chunks_embedded(count: int) -> None:
        progress["done"] = min(progress["total"], progress["done"] + count)
        save()

    settings = ctx.settings
    try:
        embedder = ctx.embedder
        if embedder is None:
            raise RuntimeError(ctx.model_error or "the embedding model is not loaded")
        report = ctx.build(settings.corpus_dir, settings.index_dir, embedder.path, lambda: embedder,
                           ChunkerParams(settings.chunk_size, settings.chunk_overlap), full=full,
                           on_start=on_start, on_chunks_embedded=on_chunks_embedded,
                           profile=ranking_profile(settings), prune=False)
        ctx.registry.activate(report.build_id, report.chunks)
        if ctx.after_build is not None:
            ctx.after_build(report.build_id)
        summary = {"documents": report.documents, "chunks": report.chunks,
                   "embedded_documents": report.embedded_documents, "reused_documents": report.reused_documents,
                   "deleted_documents": report.deleted_documents, "embedded_chunks": report.embedded_chunks,
                   "errors": report.errors, "seconds": report.seconds, "full": report.full}
        with session_scope(ctx.sessions) as s:
            s.execute(update(IndexJob).where(IndexJob.id == job_id).values(
                status="done", build_id=report.build_id, report=summary, done=progress["total"],
                total=progress["total"], finished_at=now(), heartbeat_at=now()))
        try:
            ctx.registry.prune()
        except Exception:
            log.exception("pruning old index builds failed; they stay on disk")
        return "done"
    except Exception as e:  # any failure ends the job as failed with its message, never a 500
        if isinstance(e, CorpusError | RuntimeError):
            log.warning("re-index job %s failed: %s", job_id, e)
        else:
            log.exception("re-index job %s failed", job_id)
        with session_scope(ctx.sessions) as s:
            s.execute(update(IndexJob).where(IndexJob.id == job_id).values(
                status="failed", error=str(e) or e.__class__.__name__, finished_at=now()))
        return "failed"
