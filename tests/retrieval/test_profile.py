"""A build and the server that serves it are checked in one place (app/retrieval/profile.py): a build the server
can't use is refused with the reason, one it can use but was made differently is served with a warning."""

import json
import shutil

import pytest

from app.retrieval import IndexStore, current_build_dir
from app.retrieval.profile import FORMAT_VERSION, Expected, check

PROFILE = {"fusion": {"bm25": 0.15, "sentence": 1.0}, "thresholds": {"answer": 0.48}}


def manifest(**extra):  # type: ignore[no-untyped-def]
    return {"build_id": "b1", "format": FORMAT_VERSION, "embedding_model": {"id": "e5"}, "companion_model": "use",
            "ranking_profile": PROFILE} | extra


def test_a_build_made_as_this_server_would_make_it_passes_clean():
    result = check(manifest(), Expected("e5", "use", PROFILE))
    assert result.errors == [] and result.warnings == []


def test_a_newer_format_or_another_model_is_an_error_that_says_what_to_do():
    newer = check(manifest(format=FORMAT_VERSION + 1), Expected("e5", "use", PROFILE))
    assert newer.errors and "newer Ayuda" in newer.errors[0] and "ayuda index --full" in newer.errors[0]
    other = check(manifest(), Expected("minilm", "use", PROFILE))
    assert other.errors and "made with e5" in other.errors[0] and "uses minilm" in other.errors[0]


def test_another_profile_companion_or_none_recorded_is_a_warning_naming_the_difference():
    changed = check(manifest(), Expected("e5", "use", {**PROFILE, "fusion": {"bm25": 0.3, "sentence": 1.0}}))
    assert changed.errors == [] and "fusion.bm25: build 0.15, server 0.3" in changed.warnings[0]
    assert "companion" in check(manifest(), Expected("e5", "other", PROFILE)).warnings[0]
    old = manifest()
    del old["ranking_profile"], old["format"]  # a build from before this check: format 1, still served
    assert check(old, Expected("e5", "use", PROFILE)).errors == []
    assert "before ranking profiles" in check(old, Expected("e5", "use", PROFILE)).warnings[0]


@pytest.mark.integration
def test_the_store_refuses_a_build_it_cannot_serve_and_keeps_the_one_it_has(index_copy, embedder):
    expected = Expected(embedder.model_id, embedder.companion_id, PROFILE)
    store = IndexStore(index_copy, check_seconds=float("inf"), expected=expected)
    serving = store.get()
    assert serving is not None and store.last_error is None
    newer = index_copy / "newer"
    shutil.copytree(current_build_dir(index_copy), newer)
    meta = json.loads((newer / "manifest.json").read_text())
    (newer / "manifest.json").write_text(json.dumps(meta | {"format": FORMAT_VERSION + 1, "build_id": "newer"}))
    (index_copy / "CURRENT").write_text("newer")
    assert store.load_now() is serving and "newer Ayuda" in (store.last_error or "")
    assert store.get() is serving  # still answering from the build it had
