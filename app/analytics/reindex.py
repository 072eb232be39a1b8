"""Re-index jobs started from the admin page: one build at a time, in a background thread, with progress.

Jobs live in the memory of the API process that started them (the last KEEP_JOBS are kept): polling must reach
the same process, and a restart forgets them. A multi-replica deployment would keep jobs in the database and
run builds in a worker (the index is then published to every replica's disk).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.errors import NotFound
from app.retrieval import BuildReport, ChunkerParams, CorpusError, build_index
from app.services import Services, ranking_profile

log = logging.getLogger(__name__)
KEEP_JOBS = 20


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class ReindexJob:
    job_id: str
    full: bool
    status: str = "running"  # running | done | failed
    done: int = 0  # chunks embedded so far
    total: int = 0  # chunks to embed (known once the corpus is read; 0 when nothing changed)
    build_id: str | None = None
    report: dict[str, Any] | None = None
    error: str | None = None
    started_at: str = field(default_factory=_now)
    finished_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "status": self.status, "full": self.full,
                "progress": {"done": self.done, "total": self.total}, "build_id": self.build_id,
                "report": self.report, "error": self.error, "started_at": self.started_at,
                "finished_at": self.finished_at}


class ReindexJobs:
    def __init__(self, build: Callable[..., BuildReport] = build_index) -> None:
        self.build = build  # the index builder (a test can slow it down)
        self._jobs: OrderedDict[str, ReindexJob] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, services: Services, *, full: bool = False) -> tuple[ReindexJob, bool]:
        """(job, started): the running job if there is one (started=False), else a new job in a thread."""
        with self._lock:
            running = next((j for j in self._jobs.values() if j.status == "running"), None)
            if running is not None:
                return running, False
            job = ReindexJob(uuid.uuid4().hex, full)
            self._jobs[job.job_id] = job
            while len(self._jobs) > KEEP_JOBS:
                self._jobs.popitem(last=False)
        threading.Thread(target=self._run, args=(job, services), name=f"reindex-{job.job_id[:8]}",
                         daemon=True).start()
        return job, True

    def get(self, job_id: str) -> ReindexJob:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"re-index job {job_id} does not exist (jobs are kept in memory by the process that ran "
                           "them)")
        return job

    def _run(self, job: ReindexJob, services: Services) -> None:
        settings = services.settings

        def on_start(total: int) -> None:
            job.total = total

        def on_chunks_embedded(count: int) -> None:
            job.done = min(job.total, job.done + count)

        try:
            embedder = services.embedder
            if embedder is None:
                raise RuntimeError(services.model_error or "the embedding model is not loaded")
            report = self.build(settings.corpus_dir, settings.index_dir, embedder.path, lambda: embedder,
                                ChunkerParams(settings.chunk_size, settings.chunk_overlap), full=job.full,
                                on_start=on_start, on_chunks_embedded=on_chunks_embedded,
                                profile=ranking_profile(settings))
            job.build_id = report.build_id
            job.report = {"documents": report.documents, "chunks": report.chunks,
                          "embedded_documents": report.embedded_documents,
                          "reused_documents": report.reused_documents, "deleted_documents": report.deleted_documents,
                          "embedded_chunks": report.embedded_chunks, "errors": report.errors,
                          "seconds": report.seconds, "full": report.full}
            loaded = services.store.load_now()
            if loaded is None or services.store.last_error:
                raise RuntimeError(services.store.last_error or f"build {report.build_id} was written but not loaded")
            job.done, job.finished_at, job.status = job.total, _now(), "done"
        except Exception as e:  # any failure ends the job as failed with its message, never a 500
            if isinstance(e, CorpusError | RuntimeError):
                log.warning("re-index job %s failed: %s", job.job_id, e)
            else:
                log.exception("re-index job %s failed", job.job_id)
            job.error, job.finished_at, job.status = str(e) or e.__class__.__name__, _now(), "failed"
