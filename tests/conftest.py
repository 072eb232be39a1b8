"""Shared fixtures. The real embedding model is loaded once per session and shared by every index and app."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    from app.config import DEFAULT_MODEL_DIR
    from app.retrieval import load_embedder

    return load_embedder(ROOT / DEFAULT_MODEL_DIR if (ROOT / DEFAULT_MODEL_DIR).exists() else DEFAULT_MODEL_DIR)


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, embedder) -> Path:  # type: ignore[no-untyped-def]
    """The sample corpus indexed once with the real model; tests must not modify it."""
    from app.config import Settings
    from app.retrieval import build_index
    from app.services import ranking_profile

    index_dir = tmp_path_factory.mktemp("sample-index")
    build_index(CORPUS, index_dir, embedder.path, lambda: embedder, profile=ranking_profile(Settings()))
    return index_dir


# Tests of other features ask many questions from one user and one address (TestClient): the abuse limits are
# relaxed for them; tests/api/test_limits.py sets the limits it tests.
RELAXED_LIMITS = {"chat_rate_per_user": "100000/minute", "chat_rate_per_ip": "100000/minute",
                  "ticket_rate_per_user": "100000/minute", "ticket_rate_per_ip": "100000/minute",
                  "tickets_per_hour": 1000}


def make_settings(tmp_path: Path, index_dir: Path, embedder, **extra):  # type: ignore[no-untyped-def]
    from app.config import Settings

    defaults = {"corpus_dir": CORPUS, "index_dir": index_dir, "database_url": f"sqlite:///{tmp_path / 'ayuda.db'}",
                "embedding_model": embedder.path, "index_check_seconds": 0.0, "redis_url": None,
                **RELAXED_LIMITS}
    return Settings(**(defaults | extra))


@pytest.fixture
def settings(tmp_path, sample_index, embedder):  # type: ignore[no-untyped-def]
    return make_settings(tmp_path, sample_index, embedder)


@pytest.fixture
def client(settings, embedder) -> Iterator:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(settings, embedder=embedder)) as c:
        yield c


@pytest.fixture
def index_copy(tmp_path, sample_index) -> Path:  # type: ignore[no-untyped-def]
    """A private copy of the sample index: incremental builds of `corpus_copy` into it embed only changes."""
    dest = tmp_path / "index"
    shutil.copytree(sample_index, dest)
    return dest


@pytest.fixture
def corpus_copy(tmp_path) -> Path:  # type: ignore[no-untyped-def]
    dest = tmp_path / "corpus"
    shutil.copytree(CORPUS, dest)
    return dest
