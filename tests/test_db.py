"""SQLite write transactions of one process take turns on a lock (app/db.py WriterConnection)."""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import IntegrityError

from app.db import _write_locks, make_engine


@pytest.fixture
def engine(tmp_path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path}/writes.db")

    @event.listens_for(engine, "connect")
    def _no_busy_wait(conn, _):  # type: ignore[no-untyped-def]
        conn.execute("PRAGMA busy_timeout=0")  # a write that finds the database locked fails at once

    with engine.begin() as c:
        c.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)"))
    return engine


def lock_of(engine: Engine) -> threading.Lock:
    return _write_locks[os.path.realpath(str(engine.url.database))]


def test_concurrent_writers_of_one_process_never_find_the_database_locked(engine):
    """Eight threads writing at once with SQLite's busy timeout at 0: without the turns, most would fail with
    'database is locked'; with them every transaction commits."""
    errors: list[Exception] = []
    start = threading.Barrier(8)

    def write(who: int) -> None:
        start.wait()
        try:
            for i in range(25):
                with engine.begin() as c:
                    c.execute(text("SELECT count(*) FROM t")).scalar()
                    c.execute(text("INSERT INTO t (who) VALUES (:who)"), {"who": f"{who}-{i}"})
                    c.execute(text("UPDATE t SET who = who WHERE id = 1"))
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM t")).scalar() == 200
    assert not lock_of(engine).locked()


def test_the_turn_is_given_back_after_a_failed_write_and_not_taken_by_reads(engine):
    with engine.begin() as c:
        c.execute(text("INSERT INTO t (id, who) VALUES (1, 'a')"))
    with pytest.raises(IntegrityError), engine.begin() as c:
        c.execute(text("INSERT INTO t (id, who) VALUES (1, 'again')"))
    assert not lock_of(engine).locked()
    with engine.connect() as c:
        assert c.execute(text("SELECT who FROM t")).scalar() == "a"
        assert not lock_of(engine).locked()  # a read does not take the turn
        c.execute(text("UPDATE t SET who = 'b'"))
        assert lock_of(engine).locked()  # held until the transaction ends
        c.rollback()
    assert not lock_of(engine).locked()


def test_a_writer_that_waited_out_its_turn_goes_on_and_waits_once_a_transaction(engine, monkeypatch):
    """Past WRITE_WAIT_SECONDS (a holder stuck elsewhere) the transaction goes on to SQLite's own wait, and its
    later statements don't wait for the turn again."""
    class Stuck:
        def __init__(self) -> None:
            self.tries = 0

        def acquire(self, timeout: float) -> bool:
            self.tries += 1
            return False

        def locked(self) -> bool:
            return True

    stuck = Stuck()
    monkeypatch.setitem(_write_locks, os.path.realpath(str(engine.url.database)), stuck)
    engine.dispose()  # new connections find the stuck lock
    for _ in range(2):
        with engine.begin() as c:
            for i in range(3):
                c.execute(text("INSERT INTO t (who) VALUES (:who)"), {"who": str(i)})
    assert stuck.tries == 2
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM t")).scalar() == 6
