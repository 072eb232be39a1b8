"""How an index build makes its vectors: sentence vectors pooled from the chunk pass (one e5 pass, not two), their
recipe recorded in the manifest, and vectors reused for every chunk whose text did not change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.retrieval import LoadedIndex, build_index, current_build_dir
from app.retrieval.chunking import chunk_document
from app.retrieval.loaders import iter_corpus_files, load_document
from app.retrieval.profile import FORMAT_VERSION, Expected, check
from app.retrieval.vectors import embed_chunks, sentence_groups, sentence_spans, sentence_texts, sentences
from tests.conftest import CORPUS

SAMPLE = ("hr/annual-leave.md", "hr/annual-leave.es.md", "it/password-reset.pt.md", "it/vpn-setup.md",
          "hr/sick-leave.md", "it/phishing.md")


def sample_chunks():  # type: ignore[no-untyped-def]
    docs = [load_document(CORPUS / d, CORPUS) for d in SAMPLE if (CORPUS / d).exists()]
    assert len(docs) >= 4
    return [c for d in docs for c in chunk_document(d)]


def test_sentence_spans_point_at_the_sentences_of_every_sample_chunk():
    chunks = [c for p in iter_corpus_files(CORPUS) for c in chunk_document(load_document(p, CORPUS))]
    total = 0
    for chunk in chunks:
        found, spans = sentences(chunk.text), sentence_spans(chunk.text)
        assert len(found) == len(spans)
        for text, (a, b) in zip(found, spans, strict=True):  # the same words (a joined piece keeps its line break)
            assert chunk.text[a:b].split() == text.split()
        total += len(found)
    assert total > 1000
    assert sentence_spans("One sentence only.") == []
    text = "Short. Then a much longer sentence follows here.\n- an item of a list, long enough"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Short. Then a much longer sentence follows here.", "- an item of a list, long enough"]


@pytest.mark.integration
def test_pooled_pass_gives_the_chunk_vectors_and_sentence_vectors_close_to_encoded_ones(embedder):
    chunks = sample_chunks()
    texts = [c.embed_text() for c in chunks]
    chunk_vectors, pooled = embedder.encode_passages_pooled(texts, [sentence_groups(c) for c in chunks])
    reference = embedder.encode_passages(texts)  # a build's chunk vectors (checked against torch at every load)
    assert float((chunk_vectors * reference).sum(axis=1).min()) >= 0.9999  # the same chunk vectors

    sents = [s for c in chunks for s in sentence_texts(c)]
    assert len(sents) > 50
    encoded = embedder.encode_passages(sents, batch_size=64)
    cosines = (np.vstack([p for p in pooled if len(p)]) * encoded).sum(axis=1)
    # measured on the whole sample corpus (2,483 sentences): min 0.84, 5th percentile 0.91, median 0.94
    assert float(np.median(cosines)) >= 0.92 and float(np.percentile(cosines, 5)) >= 0.88
    assert float(cosines.min()) >= 0.80


@pytest.mark.integration
def test_a_sentence_past_the_length_limit_is_encoded_alone(embedder):
    chunk = sample_chunks()[0]
    long = type(chunk)(**{**chunk.__dict__, "text": "Word " * 600 + "and so on.\nThe last sentence is here at the end."})
    views = embed_chunks([long], embedder)
    last = embedder.encode_passages([sentence_texts(long)[-1]])[0]
    assert float(views.sentences[-1] @ last) >= 0.999  # truncated away from the chunk pass: encoded on its own


@pytest.mark.integration
def test_changing_how_sentences_are_made_reembeds_everything_and_is_recorded(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    for doc in SAMPLE[:3]:
        (corpus / doc).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / doc, corpus / doc)
    index = tmp_path / "index"
    try:
        embedder.sentence_vectors = "pooled"
        old = build_index(corpus, index, embedder.path, lambda: embedder)
        old_views = LoadedIndex.load(current_build_dir(index)).views
        assert json.loads((current_build_dir(index) / "manifest.json").read_text())["vectors"] == {
            "sentences": "pooled"}
    finally:
        embedder.sentence_vectors = "encoded"  # the default
    new = build_index(corpus, index, embedder.path, lambda: embedder)
    assert new.embedded_documents == old.embedded_documents == 3 and new.reused_documents == 0
    manifest = json.loads((current_build_dir(index) / "manifest.json").read_text())
    assert manifest["vectors"] == {"sentences": "encoded"}
    new_views = LoadedIndex.load(current_build_dir(index)).views
    assert float((old_views.chunks * new_views.chunks).sum(axis=1).min()) >= 0.9999  # chunk vectors unchanged
    assert float((old_views.sentences * new_views.sentences).sum(axis=1).max()) < 0.9999  # sentences re-made
    again = build_index(corpus, index, embedder.path, lambda: embedder)
    assert again.embedded_chunks == 0 and again.reused_documents == 3


@pytest.mark.integration
def test_a_changed_document_reembeds_only_its_changed_chunks(corpus_copy, index_copy, embedder):
    before = LoadedIndex.load(current_build_dir(index_copy))
    leave = corpus_copy / "hr" / "annual-leave.md"
    n_before = len(before.positions_of("hr/annual-leave.md"))
    leave.write_text(leave.read_text() + "\n\n## Leave for volunteers\n\nTwo extra days for volunteering. Ask HR.\n")
    report = build_index(corpus_copy, index_copy, embedder.path, lambda: embedder)
    assert report.embedded_documents == 1 and report.embedded_chunks == 1 < n_before
    after = LoadedIndex.load(current_build_dir(index_copy))
    # every chunk's vectors are the ones a fresh encode gives (reused rows landed in the right places)
    positions = after.positions_of("hr/annual-leave.md") + after.positions_of("it/vpn-setup.md")
    chunks = [after.chunks[i] for i in positions]
    fresh = embed_chunks(chunks, embedder)
    part = after.views.take(positions)
    assert float((part.chunks * fresh.chunks).sum(axis=1).min()) >= 0.999
    assert part.owners.tolist() == fresh.owners.tolist()
    assert float((part.sentences * fresh.sentences).sum(axis=1).min()) >= 0.999
    assert part.headings is not None and fresh.headings is not None
    assert float((part.headings * fresh.headings).sum(axis=1).min()) >= 0.999


def test_a_server_warns_about_a_build_whose_vectors_were_made_another_way():
    manifest = {"build_id": "b1", "format": FORMAT_VERSION, "embedding_model": {"id": "e5"}, "companion_model": ""}
    pooled = Expected("e5", vectors={"sentences": "pooled"})
    old = check(manifest, pooled)  # a build from before the recipe was recorded: sentences were encoded
    assert old.errors == [] and any("vectors another way" in w and "ayuda index" in w for w in old.warnings)
    same = check(manifest | {"vectors": {"sentences": "pooled"}}, pooled)
    assert not any("vectors another way" in w for w in same.warnings)


def test_synthetic_corpus_of_the_benchmark_has_distinct_chunks(tmp_path: Path):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from index_build import write_synthetic

    write_synthetic(CORPUS, tmp_path, 70)
    docs = [load_document(p, tmp_path) for p in iter_corpus_files(tmp_path)]
    assert len(docs) == 70
    texts = [c.embed_text() for d in docs for c in chunk_document(d)]
    assert len(set(texts)) == len(texts)


def test_an_incremental_build_reads_only_written_files_and_reuses_bm25_tokens(tmp_path, monkeypatch):
    """Random vectors stand in for the encoder (bench/index_incremental.py): this is about files and tokens."""
    import sys

    import app.retrieval.build as build_module
    from app.retrieval.index import load_tokens
    from app.retrieval.text import tokenize

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from index_incremental import RandomVectors

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    for doc in SAMPLE:
        (corpus / doc).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / doc, corpus / doc)
    stub = RandomVectors(Path("models/multilingual-e5-small"))
    build_index(corpus, index, stub.path, lambda: stub)  # type: ignore[arg-type, return-value]
    read: list[str] = []
    real_load = build_module.load_document
    monkeypatch.setattr(build_module, "load_document", lambda p, root: read.append(p.name) or real_load(p, root))
    again = build_index(corpus, index, stub.path, lambda: stub)  # type: ignore[arg-type, return-value]
    assert read == [] and again.reused_documents == len(SAMPLE) and again.embedded_chunks == 0

    vpn = corpus / "it" / "vpn-setup.md"
    vpn.write_text(vpn.read_text() + "\n\n## Travel\n\nUse the VPN in hotels too.\n")
    (corpus / "it" / "phishing.md").touch()  # written, same content: read again, not re-embedded
    third = build_index(corpus, index, stub.path, lambda: stub)  # type: ignore[arg-type, return-value]
    assert sorted(read) == ["phishing.md", "vpn-setup.md"]
    assert third.embedded_documents == 1 and third.embedded_chunks == 1 and third.reused_documents == len(SAMPLE) - 1
    loaded = LoadedIndex.load(current_build_dir(index))
    tokens = load_tokens(loaded.path)
    assert tokens == [tokenize(c.embed_text(), c.language) for c in loaded.chunks]
    assert loaded.manifest["documents"]["it/phishing.md"]["file"][0] == (corpus / "it" / "phishing.md").stat().st_size


def test_texts_are_batched_by_a_budget_of_padded_tokens():
    from app.retrieval.embeddings import token_batches

    lengths = [500, 10, 12, 300, 11, 600, 40]
    batches = token_batches(lengths, 1024)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))  # each text once
    assert all(len(b) == 1 or max(lengths[i] for i in b) * len(b) <= 1024 for b in batches)
    assert batches[0] == [1, 4, 2, 6]  # the short ones together, shortest first
    assert [5] in batches  # longer than half the budget: alone


def test_questions_share_a_batch_only_while_the_padding_they_add_is_small():
    from app.retrieval.embeddings import token_batches

    lengths = [14, 15, 16, 36, 13, 61, 20, 18]  # golden questions' token counts: median 20, p90 36
    batches = token_batches(lengths, 1024, padding=8)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))  # each text once
    for b in batches:  # rows x (longest - each one's length): what the batch computes for nothing
        assert sum(max(lengths[i] for i in b) - lengths[i] for i in b) <= 8
    assert batches[0] == [4, 0, 1, 2] and [3] in batches and [5] in batches
    assert token_batches(lengths, 1024) == [[4, 0, 1, 2, 7, 6, 3, 5]]  # no limit: one batch, as builds use it


def test_build_progress_counts_every_chunk_once_across_both_passes():
    from app.retrieval.vectors import _Progress

    seen: list[int] = []
    ticks = _Progress(10, seen.append, [["a" * 100] * 4, ["b" * 50] * 8])
    chunks, sentences = ticks.of(0), ticks.of(1)
    chunks(2)
    chunks(2)
    assert sum(seen) == 5  # the chunk pass is half the characters
    for _ in range(8):
        sentences(1)
    ticks.finish()
    assert sum(seen) == 10 and all(n > 0 for n in seen)
