"""The embedding model may compute in bfloat16 on OpenVINO (app/retrieval/bf16.py): its vectors match fp32's, the
choice follows the setting and the CPU, a bf16 path that disagrees with fp32 or fails to load is not used, and a
build records what it encoded in."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CORPUS
from tests.support.cpu import bf16_cpu, needs_bf16

pytestmark = pytest.mark.integration


def corpus_texts(n: int = 24) -> list[str]:
    """Chunk texts and sentences of the sample corpus, as a build encodes them."""
    from app.retrieval.chunking import ChunkerParams, chunk_document
    from app.retrieval.loaders import iter_corpus_files, load_document
    from app.retrieval.vectors import sentence_texts

    chunks = [c for p in iter_corpus_files(CORPUS)[:4] for c in chunk_document(load_document(p, CORPUS),
                                                                                 ChunkerParams())]
    return [c.embed_text() for c in chunks][:n] + [s for c in chunks for s in sentence_texts(c)][:n]


def load(embedder, precision: str):  # type: ignore[no-untyped-def]
    from app.retrieval import load_embedder

    return load_embedder(embedder.path, companion="", precision=precision)


@needs_bf16
def test_bf16_passages_and_questions_match_fp32(embedder):
    bf16, fp32 = load(embedder, "bf16"), load(embedder, "fp32")
    assert bf16.precision == "bf16" and fp32.precision == "fp32"
    texts = corpus_texts()
    ours, theirs = bf16.encode_passages(texts), fp32.encode_passages(texts)
    assert ours.dtype == np.float32 and np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(ours * theirs, axis=1))) >= 0.999
    assert not np.array_equal(ours, theirs)  # really another computation
    # the same neighbours: each text's nearest other text is the same
    same = [int(np.argsort(-(ours @ ours[i]))[1]) == int(np.argsort(-(theirs @ theirs[i]))[1])
            for i in range(len(texts))]
    assert sum(same) >= len(texts) - 1
    questions = ["¿Cuántos días de vacaciones tengo?", "How do I reset my password?", "Posso trabalhar de casa?"]
    ours, theirs = bf16.encode_queries(questions), fp32.encode_queries(questions)
    assert float(np.min(np.sum(ours * theirs, axis=1))) >= 0.999
    # questions sharing a call get the vectors they get alone
    together = bf16._encode_onnx(bf16._onnx, questions, "query", batch_size=0)
    alone = np.vstack([bf16._encode_onnx(bf16._onnx, [q], "query", batch_size=0) for q in questions])
    assert float(np.min(np.sum(together * alone, axis=1))) >= 0.9999


def test_auto_is_fp32_on_a_cpu_without_bf16_arithmetic(embedder, monkeypatch):
    from app.retrieval import bf16

    monkeypatch.setattr(bf16, "has_bf16_arithmetic", lambda: False)
    assert load(embedder, "auto").precision == "fp32"


@needs_bf16
def test_auto_is_bf16_on_a_cpu_with_bf16_arithmetic(embedder, monkeypatch):
    from app.retrieval import bf16

    monkeypatch.setattr(bf16, "has_bf16_arithmetic", lambda: True)
    assert load(embedder, "auto").precision == "bf16"


@pytest.mark.parametrize("flags, expected", [
    ("fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni", True),  # AMD Zen 4 and later, Intel Cooper Lake
    ("fpu avx2 avx512f amx_bf16 amx_tile amx_int8", True),  # Intel Xeon from Sapphire Rapids on
    ("fpu sse2 avx2 fma", False),  # AMD Zen 3
    ("fpu avx512f avx512bw avx512_vnni avx512_bf16x", False),  # a flag that only starts like one
])
def test_bf16_arithmetic_is_read_from_the_cpu_flags(tmp_path, flags, expected):
    from app.retrieval.bf16 import has_bf16_arithmetic

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: a CPU\nflags\t\t: {flags}\n\n"
                       f"processor\t: 1\nflags\t\t: {flags}\n")
    assert has_bf16_arithmetic(str(cpuinfo)) is expected
    assert has_bf16_arithmetic(str(tmp_path / "missing")) is False


def test_bf16_asked_for_on_a_cpu_without_bf16_leaves_fp32(embedder, caplog):
    """Where OpenVINO can't compute in bf16, asking for it gives fp32's vectors and a warning that says why."""
    if bf16_cpu():
        pytest.skip("this CPU computes in bf16")
    with caplog.at_level(logging.WARNING):
        asked = load(embedder, "bf16")
    assert asked.precision == "fp32" and "does not compute in bf16" in caplog.text
    texts = corpus_texts(4)
    assert np.array_equal(asked.encode_passages(texts), load(embedder, "fp32").encode_passages(texts))


def test_a_cpu_without_bf16_is_told_before_anything_is_converted_or_compiled(embedder, tmp_path, monkeypatch):
    from app.retrieval import bf16, onnx

    export = tmp_path / "model.onnx"
    shutil.copy(onnx.onnx_file(embedder.path, embedder.model_id), export)
    monkeypatch.setattr(bf16, "computes_bf16", lambda: False)
    with pytest.raises(RuntimeError, match="does not compute in bf16"):
        bf16.Bf16Transformer(export, threads=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]  # no OpenVINO form written


@needs_bf16
def test_a_bf16_path_that_disagrees_with_fp32_is_not_used(embedder, monkeypatch, caplog):
    from app.retrieval import bf16

    def noise(self, ids, mask):  # type: ignore[no-untyped-def]
        return np.random.default_rng(0).standard_normal((*ids.shape, 384)).astype("float32")

    monkeypatch.setattr(bf16.Bf16Transformer, "hidden", noise)
    with caplog.at_level(logging.WARNING):
        broken = load(embedder, "bf16")
        assert broken.precision == "fp32"
    assert "differ from fp32" in caplog.text
    fp32 = load(embedder, "fp32")
    texts = corpus_texts(4)
    assert np.array_equal(broken.encode_passages(texts), fp32.encode_passages(texts))


def test_a_bf16_model_that_fails_to_load_leaves_fp32(embedder, monkeypatch, caplog):
    from app.retrieval import bf16

    def fail(self, onnx_path, *, threads):  # type: ignore[no-untyped-def]
        raise OSError("no weights here")

    monkeypatch.setattr(bf16.Bf16Transformer, "__init__", fail)
    with caplog.at_level(logging.WARNING):
        assert load(embedder, "bf16").precision == "fp32"
    assert "no weights here" in caplog.text


def test_an_unknown_precision_is_refused(embedder):
    from pydantic import ValidationError

    from app.config import Settings

    with pytest.raises(ValueError, match="precision"):
        load(embedder, "int8")
    with pytest.raises(ValidationError):
        Settings(embedding_precision="fp16")


@needs_bf16
def test_the_build_records_the_precision_of_what_it_encoded(embedder, tmp_path):
    from app.retrieval import build_index

    corpus = tmp_path / "corpus" / "it"
    corpus.mkdir(parents=True)
    shutil.copy(CORPUS / "it" / "password-reset.md", corpus)
    bf16 = load(embedder, "bf16")
    first = build_index(tmp_path / "corpus", tmp_path / "index", bf16.path, lambda: bf16)
    assert first.precision == "bf16"
    assert json.loads((first.path / "manifest.json").read_text())["passage_precision"] == "bf16"
    again = build_index(tmp_path / "corpus", tmp_path / "index", bf16.path, lambda: bf16)  # nothing to encode
    assert again.embedded_chunks == 0 and again.precision is None
    assert json.loads((again.path / "manifest.json").read_text())["passage_precision"] is None
    assert Path(again.path).exists()


@needs_bf16
def test_openvinos_form_of_the_export_is_made_once_and_again_when_the_export_changes(embedder, tmp_path):
    from app.retrieval import bf16, onnx

    source = onnx.onnx_file(embedder.path, embedder.model_id)
    export = tmp_path / "model.onnx"
    shutil.copy(source, export)
    xml = bf16.ir_for(export)
    assert xml == tmp_path / "openvino" / "model.xml" and (tmp_path / "openvino" / "model.bin").stat().st_size > 1e8
    made = xml.stat().st_mtime_ns
    assert bf16.ir_for(export) == xml and xml.stat().st_mtime_ns == made  # not converted again
    os.utime(export, ns=(made + 10**9, made + 10**9))  # a new export
    assert bf16.ir_for(export) == xml and xml.stat().st_mtime_ns != made
    assert not list(tmp_path.glob(".openvino.*"))  # nothing left aside
    texts = corpus_texts(3)
    ids = embedder.tokenizer(texts, truncation="longest_first", max_length=512)["input_ids"]
    width = max(map(len, ids))
    tokens = np.array([i + [0] * (width - len(i)) for i in ids])
    mask = np.array([[1] * len(i) + [0] * (width - len(i)) for i in ids])
    assert np.allclose(bf16.Bf16Transformer(export, threads=2).hidden(tokens, mask),
                       bf16.Bf16Transformer(source, threads=2).hidden(tokens, mask))


@needs_bf16
def test_without_a_writable_folder_the_onnx_file_is_compiled(embedder, tmp_path, monkeypatch):
    from app.retrieval import bf16, onnx

    export = tmp_path / "model.onnx"
    shutil.copy(onnx.onnx_file(embedder.path, embedder.model_id), export)
    monkeypatch.setattr(bf16.shutil, "rmtree", lambda *a, **k: (_ for _ in ()).throw(PermissionError("read-only")))
    assert bf16.ir_for(export) is None
    assert bf16.Bf16Transformer(export, threads=2).hidden(np.array([[0, 5, 2]]), np.array([[1, 1, 1]])).shape \
        == (1, 3, 384)


@pytest.mark.parametrize("precision, calls_after_the_first", [
    pytest.param("bf16", 1, marks=needs_bf16), ("fp32", 2)])  # fp32: the two short ones
def test_in_bf16_questions_of_different_lengths_share_a_call(embedder, precision, calls_after_the_first):
    """A call costs more of its own in bf16 than its tokens do, so waiting questions share one even when padding
    them to the longest adds tens of tokens; on ONNX Runtime they go in calls of their own past 8 padding tokens."""
    import threading

    from tests.support.sharedcalls import encoded_at_once

    model = load(embedder, precision)
    questions = ["VPN?", "How do I reset my password?",
                 "My laptop screen cracked when it fell off the desk this morning: who pays for the repair?"]
    lengths = [len(i) for i in model.tokenizer(["query: " + q for q in questions])["input_ids"]]
    assert lengths[2] - lengths[0] > 16 and lengths[2] - lengths[0] < 48 // 2  # the padding in one call: 16 to 48
    alone = np.vstack([model._encode([q], "query", batch_size=32) for q in ["first", *questions]])
    session, calls, gate = model._onnx, [], threading.Event()

    class Held:  # the first call waits until every question is queued
        question_padding = getattr(session, "question_padding", 8)

        def hidden(self, ids, mask):  # type: ignore[no-untyped-def]
            calls.append(len(ids))
            gate.wait(10)
            return session.hidden(ids, mask)

    model._onnx = Held()
    together = encoded_at_once(lambda q: model._encode([q], "query", batch_size=32), model._shared,
                               ["first", *questions], calls, gate)
    assert len(calls) == 1 + calls_after_the_first and sum(calls) == 4
    assert float(np.min(np.sum(together * alone, axis=1))) >= 0.999


def test_a_conversion_that_fails_halfway_leaves_nothing_aside(embedder, tmp_path, monkeypatch):
    import openvino as ov

    from app.retrieval import bf16, onnx

    export = tmp_path / "model.onnx"
    shutil.copy(onnx.onnx_file(embedder.path, embedder.model_id), export)

    def half(model, path, **kwargs):  # type: ignore[no-untyped-def]
        Path(path).parent.mkdir(parents=True)
        Path(path).write_text("<half")
        raise OSError("disk full")

    monkeypatch.setattr(ov, "save_model", half)
    assert bf16.ir_for(export) is None
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".export.lock") == ["model.onnx"]
