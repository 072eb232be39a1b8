"""The app factory: `create_app(settings)` builds engine, embedder and index once, in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles

from app.analytics.routes import router as admin_router
from app.auth.request import Authenticator, DuplicateIdentityHeaders
from app.auth.routes import install_sign_in_redirect
from app.auth.routes import router as auth_router
from app.channels.slack.routes import router as slack_router
from app.chat.routes import router as chat_router
from app.config import Settings, get_settings
from app.db import ping
from app.deps import CurrentUser, MetricsReader
from app.errors import install_error_handlers
from app.escalation.routes import router as tickets_router
from app.limits import install_limits
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
        if services.mail is not None:  # mails answered by this process (not by `ayuda worker`) are counted
            services.mail.intake.metrics = app.state.metrics
        if settings.run_outbox_worker and settings.jobs == "inprocess":  # else `ayuda worker` runs them
            jobs = [services.tickets.check_sla, services.privacy.retention_due]
            jobs += [services.mail.due] if services.mail else []  # the mailbox, every AYUDA_MAIL_POLL_SECONDS
            services.outbox.start(also=jobs)
        if services.slack is not None:  # Slack events left behind by a crash, or waiting for a retry
            services.slack.limits, services.slack.metrics = app.state.rate_limits, app.state.metrics
            services.slack.start()
        ready, detail = services.index_status()
        logging.getLogger("app").info("Ayuda started: index %s (%s)", "ready" if ready else "NOT ready", detail)
        yield
        services.outbox.stop()
        if services.slack is not None:
            services.slack.close()
        services.close()

    app = FastAPI(
        title="Ayuda",
        version="0.1.0",
        description="Employee help desk assistant: cited answers from HR/IT documents in en/es/pt.",
        lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,  # added below, behind sign-in
    )
    app.state.settings = settings
    app.state.auth = Authenticator(settings)
    install_error_handlers(app)
    install_sign_in_redirect(app)
    app.include_router(auth_router)
    app.include_router(chat_router)
    app.include_router(tickets_router)
    app.include_router(admin_router)
    app.include_router(privacy_router)
    app.include_router(slack_router)
    app.include_router(web_api_router)
    app.include_router(web_pages_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_limits(app, settings)  # body size, chat load shedding (inside CORS, so errors carry CORS headers)
    _add_cors(app, settings)
    app.add_middleware(DuplicateIdentityHeaders)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(user: CurrentUser) -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs(user: CurrentUser) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Ayuda API")

    metrics = Metrics()
    app.state.metrics = metrics

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    def prometheus(reader: MetricsReader) -> PlainTextResponse:
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
        """200 only when the index and the database are ready and chat turns are not being shed; 503 with the
        reason otherwise (status not_ready or overloaded)."""
        services, shedder = app.state.services, app.state.shedder
        index_ok, index_detail = services.index_status()
        db_ok = ping(services.engine)
        overloaded = shedder.overloaded
        status = "not_ready" if not (index_ok and db_ok) else "overloaded" if overloaded else "ready"
        body = {
            "status": status,
            "index": {"ready": index_ok, "detail": index_detail},
            "database": {"ready": db_ok},
            "chat_queue": {"in_flight": shedder.in_flight, "max": shedder.max_queue, "overloaded": overloaded},
        }
        return JSONResponse(body, status_code=200 if status == "ready" else 503)

    return app


def _add_cors(app: FastAPI, settings: Settings) -> None:
    """Only AYUDA_CORS_ORIGINS may call the API from a browser (the intranet pages embedding /widget.js);
    none configured: same origin only, no CORS headers at all. `*` (dev mode only) never carries cookies."""
    origins = settings.cors_origin_list
    if not origins:
        return
    identity = {"dev": ["X-Ayuda-User", "X-Ayuda-Groups"], "proxy": [],
                "oidc": ["Authorization", "X-CSRF-Token"]}[settings.auth_mode]
    app.add_middleware(
        CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
        allow_credentials=settings.auth_mode != "dev" and "*" not in origins,
        allow_headers=["Content-Type", "Idempotency-Key", *identity], max_age=600,
    )
