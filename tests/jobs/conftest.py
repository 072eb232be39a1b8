"""Fixtures for background work: a migrated database, and index builds cloned from the sample build."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest


def clone_build(index_dir: Path, build_id: str) -> str:
    """A copy of the index's current build under another id (what a later build would write)."""
    source = index_dir / (index_dir / "CURRENT").read_text().strip()
    dest = index_dir / build_id
    shutil.copytree(source, dest)
    manifest = json.loads((dest / "manifest.json").read_text())
    (dest / "manifest.json").write_text(json.dumps(manifest | {"build_id": build_id}))
    return build_id


@pytest.fixture
def sessions(tmp_path):  # type: ignore[no-untyped-def]
    from app.db import make_engine, make_session_factory, upgrade

    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()
