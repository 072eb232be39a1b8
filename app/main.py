"""The app factory: `create_app(settings)` builds engine, embedder and index once, in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles

from app.analytics.routes import router as admin_router
from app.chat.routes import router as chat_router
from app.config import Settings, get_settings
from app.db import ping
from app.errors import install_error_handlers
from app.escalation.routes import router as tickets_router
from app.metrics import Metrics
from app.privacy.logs import install_log_masking
from app.privacy.routes import router as privacy_router
from app.retrieval import Embedder
from app.services import build_services
from app.web.routes import STATIC_DIR
from app.web.routes import api as web_api_router
from app.web.routes import pages as web_pages_router


def create_app(settings: Settings | None = None, *, embedder: Embedder | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread

        install_log_masking()
        services = await anyio.to_thread.run_sync(lambda: build_services(settings, embedder=embedder))
        app.state.services = services
        if settings.run_outbox_worker:
            services.outbox.start(also=[services.tickets.check_sla, services.privacy.retention_due])
        ready, detail = services.index_status()
        logging.getLogger("app").info("Ayuda started: index %s (%s)", "ready" if ready else "NOT ready", detail)
        yield
        services.outbox.stop()
        services.engine.dispose()

    app = FastAPI(
        title="Ayuda",
        version="0.1.0",
        description="Employee help desk assistant: cited answers from HR/IT documents in en/es/pt.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(chat_router)
    app.include_router(tickets_router)
    app.include_router(admin_router)
    app.include_router(privacy_router)
    app.include_router(web_api_router)
    app.include_router(web_pages_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # The chat widget runs on intranet pages of other origins and calls the API with the identity headers.
    app.add_middleware(
        CORSMiddleware, allow_origins=settings.cors_origin_list, allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", "X-Ayuda-User", "X-Ayuda-Groups", "Idempotency-Key"], max_age=600,
    )

    metrics = Metrics()
    app.state.metrics = metrics

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    def prometheus() -> PlainTextResponse:
        """Prometheus metrics: chat turns by outcome/language, latency, tickets opened, index size."""
        index = app.state.services.store.get()
        metrics.index_chunks.set(len(index.chunks) if index else 0)
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    def readyz() -> JSONResponse:
        """200 only when the index and the database are ready; 503 with the reason otherwise."""
        services = app.state.services
        index_ok, index_detail = services.index_status()
        db_ok = ping(services.engine)
        body = {
            "status": "ready" if index_ok and db_ok else "not_ready",
            "index": {"ready": index_ok, "detail": index_detail},
            "database": {"ready": db_ok},
        }
        return JSONResponse(body, status_code=200 if index_ok and db_ok else 503)

    return app
