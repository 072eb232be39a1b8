"""The active index build lives in the database: every replica loads the build activated last, reports the
build it serves, and a build is deleted from the shared index folder only when no live replica serves it."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import socket
import time
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db import session_scope
from app.jobs.models import IndexBuild, Replica, now

log = logging.getLogger(__name__)


def replica_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class BuildRegistry:
    """Which build is active (the last activated), and which builds live replicas still serve."""

    def __init__(self, sessions: sessionmaker[Session], index_dir: Path, *, replica_id: str | None = None,
                 heartbeat_seconds: float = 30.0, keep_previous: int = 1) -> None:
        self.sessions, self.index_dir = sessions, Path(index_dir)
        self.replica_id = replica_id or replica_name()
        self.heartbeat_seconds = heartbeat_seconds
        self.keep_previous = keep_previous  # inactive builds kept for incremental reuse and a quick roll back
        self._reported: tuple[str | None, float] = (None, 0.0)
        self._outage = False  # the database could not be read at the last check: logged once per outage

    def activate(self, build_id: str, chunks: int = 0) -> None:
        """Make `build_id` the build every replica serves (they load it within AYUDA_INDEX_CHECK_SECONDS)."""
        with session_scope(self.sessions) as s:
            row = s.get(IndexBuild, build_id) or IndexBuild(build_id=build_id, created_at=now())
            row.chunks, row.activated_at, row.pruned_at = chunks, now(), None
            s.add(row)
        log.info("index build %s is now active", build_id)

    def active(self) -> str | None:
        """The active build id, or None when none was ever activated here or the database can't be read (the
        caller then keeps what it serves, or falls back to index/CURRENT)."""
        try:
            with session_scope(self.sessions) as s:
                found = s.scalar(select(IndexBuild.build_id).where(IndexBuild.activated_at.is_not(None),
                                                                   IndexBuild.pruned_at.is_(None))
                                 .order_by(IndexBuild.activated_at.desc()).limit(1))
        except Exception as e:  # a database outage must not stop a replica serving its build
            if not self._outage:  # checked every second or so: one line per outage, not one per check
                log.warning("active index build unknown (database: %s); serving the build loaded until the "
                            "database answers again", e.__class__.__name__)
            self._outage = True
            return None
        if self._outage:
            log.info("database answers again: the active index build is %s", found or "none")
            self._outage = False
        return found

    def serving(self, build_id: str | None) -> None:
        """Record the build this replica serves; at most every heartbeat_seconds unless it changed."""
        last, at = self._reported
        if build_id == last and time.monotonic() - at < self.heartbeat_seconds:
            return
        try:
            with session_scope(self.sessions) as s:
                row = s.get(Replica, self.replica_id) or Replica(replica_id=self.replica_id)
                row.build_id, row.seen_at = build_id, now()
                s.add(row)
            self._reported = (build_id, time.monotonic())
        except Exception as e:
            log.warning("could not record the served build (database: %s)", e.__class__.__name__)

    def leave(self) -> None:
        try:
            with session_scope(self.sessions) as s:
                row = s.get(Replica, self.replica_id)
                if row is not None:
                    s.delete(row)
        except Exception:
            pass

    def alive(self, owner: str) -> bool:
        """Whether the process named `owner` (a replica_id) may still be running. False only when known dead:
        on this host, its pid is gone or is ours under another start; on another host, its replica row stopped
        being refreshed. Unknown counts as alive."""
        if owner == self.replica_id:
            return True
        try:
            host, pid, _ = owner.rsplit(":", 2)
            my_host, my_pid, _ = self.replica_id.rsplit(":", 2)
            if host == my_host:
                if pid == my_pid:
                    return False  # this pid under another start (a restarted container is pid 1 again)
                os.kill(int(pid), 0)
                return True
            with session_scope(self.sessions) as s:
                seen = s.scalar(select(Replica.seen_at).where(Replica.replica_id == owner))
        except ProcessLookupError:
            return False
        except (ValueError, PermissionError, OSError):
            return True
        except Exception:  # the database is unreachable: don't take anything over
            return True
        if seen is None:
            return True
        seen = seen.replace(tzinfo=dt.UTC) if seen.tzinfo is None else seen
        return now() - seen <= dt.timedelta(seconds=3 * self.heartbeat_seconds)

    def in_use(self) -> set[str]:
        """Builds that a replica seen in the last 3 heartbeats serves."""
        since = now() - dt.timedelta(seconds=3 * self.heartbeat_seconds)
        with session_scope(self.sessions) as s:
            return {b for b in s.scalars(select(Replica.build_id).where(Replica.seen_at >= since)) if b}

    def prune(self) -> list[str]:
        """Delete builds in the index folder that are not active, not among the last `keep_previous` activated,
        and not served by a live replica. Returns the deleted build ids."""
        with session_scope(self.sessions) as s:
            recent = list(s.scalars(select(IndexBuild.build_id).where(IndexBuild.activated_at.is_not(None))
                                    .order_by(IndexBuild.activated_at.desc()).limit(1 + self.keep_previous)))
        keep = set(recent) | self.in_use()
        current = self.index_dir / "CURRENT"
        if current.exists():
            keep.add(current.read_text().strip())
        deleted = []
        for build in sorted(p for p in self.index_dir.iterdir() if p.is_dir() and (p / "manifest.json").exists()):
            if build.name in keep:
                continue
            shutil.rmtree(build, ignore_errors=True)
            deleted.append(build.name)
        if deleted:
            with session_scope(self.sessions) as s:
                for build_id in deleted:
                    row = s.get(IndexBuild, build_id)
                    if row is not None:
                        row.pruned_at = now()
            log.info("pruned index builds no replica serves: %s", ", ".join(deleted))
        return deleted
