"""A PostgreSQL database of its own for a test (created and dropped), so tests that run processes against
PostgreSQL don't share the `test` database's schema with the tests that reset it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

SERVER = os.environ.get("AYUDA_TEST_POSTGRES_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")


@contextmanager
def fresh_database(prefix: str = "ayuda") -> Iterator[str]:
    from sqlalchemy import create_engine, text

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{SERVER}/test", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:  # CI starts PostgreSQL; a machine without it says so loudly
        pytest.fail(f"PostgreSQL is not reachable at {SERVER}: {e}")
    try:
        yield f"{SERVER}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def worker_database() -> str:
    """The database that tests resetting a schema use: AYUDA_TEST_POSTGRES_URL (default database `test`) or, when
    pytest-xdist runs the suite in several processes, a database of each worker's own beside it (made once)."""
    from sqlalchemy import create_engine, make_url, text

    base = os.environ.get("AYUDA_TEST_POSTGRES_URL", f"{SERVER}/test")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return base
    name = f"{make_url(base).database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)
