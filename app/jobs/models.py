"""Tables of the background work: re-index jobs, index builds (which one is active) and the replicas serving them."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, now


class IndexJob(Base):
    """One re-index request: queued → running → done | failed, with progress in chunks."""

    __tablename__ = "index_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: uuid.uuid4().hex)
    status: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    build_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    runner: Mapped[str | None] = mapped_column(String(200), nullable=True)  # host:pid that ran it
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class IndexBuild(Base):
    """A build written to the index folder; the one activated last is the one every replica serves."""

    __tablename__ = "index_builds"

    build_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)
    activated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    pruned_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Replica(Base):
    """A serving process and the build it has loaded, refreshed while it runs (pruning spares its build)."""

    __tablename__ = "index_replicas"

    replica_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    build_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
