"""Database engine and sessions (SQLAlchemy 2; SQLite by default, PostgreSQL in production) and migrations."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).parent / "migrations"


class Base(DeclarativeBase):
    pass


def now() -> dt.datetime:
    """The time stored in every table: aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def new_id() -> str:
    """A new row's primary key."""
    return str(uuid.uuid4())


WRITE_WAIT_SECONDS = 30  # as busy_timeout: after that, SQLite's own wait (and its "database is locked")
_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()
READS = ("SELECT", "PRAGMA", "EXPLAIN")


class WriterCursor(sqlite3.Cursor):
    """Takes its connection's turn to write before a statement that may write (see `WriterConnection`)."""

    connection: WriterConnection

    def execute(self, sql: str, parameters: Any = (), /) -> WriterCursor:
        self.connection.before(sql)
        try:
            return super().execute(sql, parameters)
        finally:
            self.connection.after()

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> WriterCursor:
        self.connection.before(sql)
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            self.connection.after()


class WriterConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions take turns with the other connections of this process to the
    same file, on a lock that wakes the next writer as soon as one commits. SQLite lets one connection write at a
    time; the others wait in its busy handler, which sleeps 1, 2, 5 … 25, 50 ms between tries: under 8 employees
    at once, turns waited 25 and 50 ms sleeps for a write that takes about one (bench/README.md). Other
    processes still wait in the busy handler. The turn is taken before the first statement that is not a read and
    given back once no transaction is open (commit, rollback, or a statement that ended it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name = str(args[0] if args else kwargs.get("database", ""))
        if not name or ":memory:" in name or "mode=memory" in name:  # a database of this connection alone
            self._turns = threading.Lock()
        else:
            with _write_locks_guard:
                key = name if name.startswith("file:") else os.path.realpath(name)
                self._turns = _write_locks.setdefault(key, threading.Lock())
        self._holds = False
        self._waited_out = False  # this transaction waited WRITE_WAIT_SECONDS for its turn: it won't wait again

    def cursor(self, factory: Any = WriterCursor) -> Any:
        return super().cursor(factory)

    def before(self, sql: str) -> None:
        if not self._holds and not self._waited_out and not sql.lstrip()[:7].upper().startswith(READS):
            self._holds = self._turns.acquire(timeout=WRITE_WAIT_SECONDS)
            self._waited_out = not self._holds

    def after(self) -> None:
        if not self.in_transaction:
            self._waited_out = False
            if self._holds:
                self._release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.after()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.after()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._holds:
                self._release()

    def _release(self) -> None:
        self._holds = False
        self._turns.release()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30,
                                                  "factory": WriterConnection})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _):  # type: ignore[no-untyped-def]
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations. On PostgreSQL under an advisory lock: replicas starting together migrate one at a time
    (the others then find the database at head)."""
    from alembic import command

    if not url.startswith("postgresql"):
        command.upgrade(alembic_config(url), revision)
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(hashtextextended('ayuda-migrations', 0))"))
            try:
                command.upgrade(alembic_config(url), revision)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(hashtextextended('ayuda-migrations', 0))"))
    finally:
        engine.dispose()


def ping(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE touched (`Session.execute` is typed as returning a plain Result)."""
    return int(getattr(result, "rowcount", 0) or 0)
