"""The active build lives in the database: replicas load it and swap together; old builds are deleted only when
no live replica serves them; a database outage or a missing build never stops a replica serving what it has."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import update

from tests.jobs.conftest import clone_build

pytestmark = pytest.mark.integration


def wait_for(store, build_id: str, seconds: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (loaded := store.get()) is not None and loaded.build_id == build_id:
            return
        time.sleep(0.05)
    raise AssertionError(f"store still serves {store.get().build_id}, not {build_id}")


def test_replicas_follow_the_active_build_in_the_database(index_copy, sessions):
    from app.jobs.builds import BuildRegistry
    from app.retrieval import IndexStore

    first = (index_copy / "CURRENT").read_text().strip()
    replicas = [BuildRegistry(sessions, index_copy, replica_id=f"replica-{n}") for n in (1, 2)]
    stores = [IndexStore(index_copy, check_seconds=0, pointer=r.active, serving=r.serving) for r in replicas]
    assert [s.get().build_id for s in stores] == [first, first]  # nothing activated yet: index/CURRENT

    second = clone_build(index_copy, "b-second")
    replicas[0].activate(second, 10)
    for store in stores:
        wait_for(store, second)
    assert (index_copy / "CURRENT").read_text().strip() == first  # the database decides, not the file
    assert replicas[0].in_use() == {second}


def test_prune_spares_the_active_the_previous_and_what_a_live_replica_serves(index_copy, sessions):
    from app.jobs.builds import BuildRegistry
    from app.jobs.models import Replica

    registry = BuildRegistry(sessions, index_copy, replica_id="builder", keep_previous=1)
    builds = [clone_build(index_copy, f"b{n}") for n in range(4)]
    for build_id in builds:
        registry.activate(build_id)
    slow = BuildRegistry(sessions, index_copy, replica_id="slow-replica")
    slow.serving("b0")  # a replica still on the oldest build

    deleted = registry.prune()
    original = (index_copy / "CURRENT").read_text().strip()
    assert deleted == ["b1"]  # b3 active, b2 the previous one, b0 served, the CURRENT file's build kept
    assert {p.name for p in index_copy.iterdir() if p.is_dir()} == {"b0", "b2", "b3", original}

    with sessions() as s, s.begin():  # the slow replica stopped reporting three heartbeats ago
        s.execute(update(Replica).where(Replica.replica_id == "slow-replica")
                  .values(seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=100)))
    assert registry.prune() == ["b0"]
    assert registry.active() == "b3"


def test_an_active_build_missing_on_disk_or_an_unreachable_database_keeps_the_served_build(index_copy, sessions):
    from app.db import make_engine, make_session_factory
    from app.jobs.builds import BuildRegistry
    from app.retrieval import IndexStore

    first = (index_copy / "CURRENT").read_text().strip()
    registry = BuildRegistry(sessions, index_copy)
    registry.activate("not-on-this-volume")
    store = IndexStore(index_copy, check_seconds=0, pointer=registry.active, serving=registry.serving)
    assert store.get().build_id == first  # the database names a build this folder lacks: index/CURRENT

    down = BuildRegistry(make_session_factory(make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")),
                         index_copy)
    assert down.active() is None  # logged, not raised
    down.serving(first)  # nor here
    store = IndexStore(index_copy, check_seconds=0, pointer=down.active, serving=down.serving)
    assert store.get().build_id == first


def test_a_corrupt_active_build_is_refused_with_a_clear_message(index_copy, sessions):
    from app.jobs.builds import BuildRegistry
    from app.retrieval import IndexStore

    first = (index_copy / "CURRENT").read_text().strip()
    registry = BuildRegistry(sessions, index_copy)
    store = IndexStore(index_copy, check_seconds=0, pointer=registry.active, serving=registry.serving)
    assert store.get().build_id == first
    broken = clone_build(index_copy, "b-broken")
    (index_copy / broken / "chunks.jsonl").write_text("{not json")
    for name in (index_copy / broken).iterdir():
        if name.suffix in (".npy", ".index"):
            name.write_bytes(b"\x00garbage")
    registry.activate(broken)
    assert store.load_now().build_id == first  # keeps serving the build it had
    assert store.last_error and "b-broken could not be loaded" in store.last_error


def test_a_process_is_known_dead_only_when_it_is(tmp_path, sessions):
    import os
    import socket
    import subprocess

    from app.jobs.builds import BuildRegistry
    from app.jobs.models import Replica

    me = BuildRegistry(sessions, tmp_path, heartbeat_seconds=10)
    host = socket.gethostname()
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert me.alive(me.replica_id)
    assert not me.alive(f"{host}:{gone.pid}:abc123")  # this host, the process is gone
    assert not me.alive(f"{host}:{os.getpid()}:other1")  # our pid under another start (a restarted container)
    assert me.alive(f"{host}:1:abc123")  # pid 1 runs: can't tell, so alive
    assert me.alive("elsewhere:7:abc123")  # another host never seen: unknown counts as alive
    other = BuildRegistry(sessions, tmp_path, replica_id="elsewhere:8:def456")
    other.serving("b1")
    assert me.alive("elsewhere:8:def456")
    with sessions() as s, s.begin():
        s.execute(update(Replica).where(Replica.replica_id == "elsewhere:8:def456")
                  .values(seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=31)))
    assert not me.alive("elsewhere:8:def456")  # stopped reporting three heartbeats ago


def test_a_database_outage_is_logged_once_not_on_every_check(tmp_path, sessions, caplog):
    import logging

    from app.db import make_engine, make_session_factory
    from app.jobs.builds import BuildRegistry

    unreachable = make_session_factory(make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    registry = BuildRegistry(unreachable, tmp_path)
    caplog.set_level(logging.INFO, logger="app.jobs.builds")

    def lines(text: str) -> int:
        return sum(text in r.getMessage() for r in caplog.records)

    for _ in range(5):  # replicas check every second: a long outage is one warning
        assert registry.active() is None
    assert lines("active index build unknown") == 1

    registry.sessions = sessions  # the database is back
    BuildRegistry(sessions, tmp_path).activate("b1")
    assert registry.active() == "b1"
    assert lines("database answers again: the active index build is b1") == 1

    registry.sessions = unreachable  # a second outage is logged again
    assert registry.active() is None and registry.active() is None
    assert lines("active index build unknown") == 2
