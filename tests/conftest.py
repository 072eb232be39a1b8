"""Shared fixtures. The real embedding model is loaded once per session and shared by every index and app."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest_plugins = ["tests.support.longest_first"]

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
# The servers' cache folder (intent exemplar vectors and fitted classifiers, keyed by the models' fingerprints, the
# exemplars and the classifier's code, as in production), shared by every test process and run on this machine: a
# clean clone does not encode 3,500 exemplars again.
TEST_CACHE = Path(os.environ.get("AYUDA_TEST_CACHE", Path.home() / ".cache" / "ayuda" / "test-cache"))
os.environ.setdefault("AYUDA_CACHE_DIR", str(TEST_CACHE))  # every Settings() of a test (processes: support/processes.py)


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    from app.config import DEFAULT_MODEL_DIR
    from app.retrieval import load_embedder

    return load_embedder(ROOT / DEFAULT_MODEL_DIR if (ROOT / DEFAULT_MODEL_DIR).exists() else DEFAULT_MODEL_DIR)


@pytest.fixture(scope="session")
def sample_index(embedder) -> Path:  # type: ignore[no-untyped-def]
    """The sample corpus indexed with the real model; tests must not modify it. Built once per content: the
    corpus, the model, the retrieval code and the ranking profile (a changed one builds anew), kept in
    AYUDA_TEST_INDEX_CACHE (default ~/.cache/ayuda/test-index) so later runs on this machine reuse it."""
    return cached_index(CORPUS, embedder)


def cached_index(corpus: Path, embedder) -> Path:  # type: ignore[no-untyped-def]
    import hashlib
    import json
    import uuid

    from filelock import FileLock

    from app.config import Settings
    from app.ranking import ranking_profile
    from app.retrieval import build_index

    digest = hashlib.sha256()
    for path in sorted([*corpus.rglob("*"), *(ROOT / "app" / "retrieval").rglob("*.py")]):
        if path.is_file():
            name = path.relative_to(corpus) if path.is_relative_to(corpus) else path.relative_to(ROOT)
            digest.update(str(name).encode() + b"\0" + path.read_bytes())
    digest.update(json.dumps(ranking_profile(Settings()), sort_keys=True).encode() + embedder.model_id.encode()
                  + str(embedder.companion_id).encode())
    root = Path(os.environ.get("AYUDA_TEST_INDEX_CACHE", Path.home() / ".cache" / "ayuda" / "test-index"))
    root.mkdir(parents=True, exist_ok=True)
    index_dir = root / digest.hexdigest()[:16]
    with FileLock(str(root / ".lock")):
        if not (index_dir / "CURRENT").exists():
            work = root / f".building-{uuid.uuid4().hex}"
            build_index(corpus, work, embedder.path, lambda: embedder, profile=ranking_profile(Settings()))
            work.rename(index_dir)
            for old in sorted(root.iterdir(), key=lambda p: p.stat().st_mtime)[:-8]:  # keep the last few (4 corpora)
                if old.is_dir() and old != index_dir:
                    shutil.rmtree(old, ignore_errors=True)
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
    return private_copy(sample_index, tmp_path / "index")


@pytest.fixture
def corpus_copy(tmp_path) -> Path:  # type: ignore[no-untyped-def]
    return private_copy(CORPUS, tmp_path / "corpus")


def private_copy(source: Path, dest: Path) -> Path:
    """A copy of a shared corpus or index that one test may change."""
    shutil.copytree(source, dest)
    return dest


# A few documents of the sample corpus in three languages: for tests of how builds are made and read (formats,
# other models), where building the whole corpus again would only cost time.
SMALL_CORPUS = ("it/password-reset.md", "it/password-reset.es.md", "it/password-reset.pt.md", "it/vpn-setup.md",
                "hr/annual-leave.md", "hr/annual-leave.es.md")


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    corpus = tmp_path_factory.mktemp("small") / "corpus"
    for doc in SMALL_CORPUS:
        (corpus / doc).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / doc, corpus / doc)
    return corpus


@pytest.fixture(scope="session")
def small_index(small_sample, embedder) -> Path:  # type: ignore[no-untyped-def]
    """SMALL_CORPUS indexed with the real model (cached by content, like `sample_index`); tests must not modify it."""
    return cached_index(small_sample, embedder)


@pytest.fixture
def small_corpus_copy(tmp_path, small_sample) -> Path:  # type: ignore[no-untyped-def]
    return private_copy(small_sample, tmp_path / "corpus")


@pytest.fixture
def small_index_copy(tmp_path, small_index) -> Path:  # type: ignore[no-untyped-def]
    return private_copy(small_index, tmp_path / "index")


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """Debian's Chromium through Playwright, one per test process: the web and sign-in tests share it (a second
    sync Playwright in the same process would refuse to start while the first runs)."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed (CI installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    """Tests that drive Chromium are marked `browser`: `make test-fast` leaves them out, `make test-browser` runs
    only them (`make test` and .ci/run run everything)."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
