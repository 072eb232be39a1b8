"""Admin routes (/api/v1/admin): analytics JSON and CSV, FAQ drafts from content gaps, re-index jobs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from app.analytics import service
from app.analytics.data import load
from app.analytics.export import Section, section_csv
from app.analytics.gaps import content_gaps, draft_article, find_gap
from app.analytics.schemas import AnalyticsOut, DraftOut, ReindexIn, ReindexJobOut
from app.analytics.similarity import encoder_for
from app.db import session_scope
from app.deps import CurrentAdmin, ServicesDep
from app.errors import ERROR_RESPONSES, NotFound

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=ERROR_RESPONSES | {
    403: ERROR_RESPONSES[400] | {"description": "Admins only"}})
Days = Annotated[int, Query(ge=1, le=365, description="The period: the last N days (UTC dates) up to now.")]

@router.get("/analytics", response_model=AnalyticsOut)
def analytics(admin: CurrentAdmin, services: ServicesDep, days: Days = 30) -> dict[str, Any]:
    """Conversations per day, outcome mix, deflection (confirmed / durable / unknown), escalation by queue,
    SLA, CSAT, 👎 answers to review and content gaps, over the last `days` days."""
    with session_scope(services.sessions) as s:
        return service.analytics(s, services.settings, encoder_for(services.embedder), days,
                                 groups=admin.visible_groups)


@router.get("/analytics.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "The section as CSV (UTF-8)."}})
def analytics_csv(section: Annotated[Section, Query(description="Which section to export.")],
                  admin: CurrentAdmin, services: ServicesDep, days: Days = 30) -> Response:
    """One section of the analytics as a CSV download."""
    with session_scope(services.sessions) as s:
        filename, text = section_csv(s, services.settings, encoder_for(services.embedder), section, days,
                                     groups=admin.visible_groups)
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("/content-gaps/{gap_id}/draft", response_model=DraftOut)
def draft(gap_id: str, admin: CurrentAdmin, services: ServicesDep, days: Days = 30) -> DraftOut:
    """Write a draft FAQ article (`corpus/faq/<slug>.md.draft`) listing a gap's questions, to be answered and
    published. Use the same `days` as the analytics request the gap id came from."""
    with session_scope(services.sessions) as s:
        ds = load(s, days)
    gap = find_gap(content_gaps(ds, services.settings, encoder_for(services.embedder)), gap_id)
    if gap is None:
        raise NotFound(f"content gap {gap_id} does not exist in the last {days} days (reload the analytics)")
    path, content = draft_article(services.settings, gap, admin.id)
    return DraftOut(path=path, content=content)


@router.post("/reindex", response_model=ReindexJobOut, status_code=202,
             responses={200: {"model": ReindexJobOut, "description": "A re-index is already running: that job."}})
def reindex(response: Response, admin: CurrentAdmin, services: ServicesDep,
            body: Annotated[ReindexIn | None, Body()] = None) -> dict[str, Any]:
    """Queue an (incremental unless `full`) index build, run by this process or by `ayuda worker`; poll
    GET /reindex/{job_id} from any replica."""
    job, started = services.jobs.start(full=bool(body and body.full), requested_by=admin.id)
    if not started:
        response.status_code = 200
    return job


@router.get("/reindex/{job_id}", response_model=ReindexJobOut)
def reindex_status(job_id: str, admin: CurrentAdmin, services: ServicesDep) -> dict[str, Any]:
    """Progress of a re-index job: chunks embedded out of the total, then the build id and its report."""
    return services.jobs.get(job_id)
