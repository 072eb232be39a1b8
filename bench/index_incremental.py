"""Incremental re-index of one changed document in a large corpus: where the time goes besides embedding.

Writes N synthetic Markdown documents (three sections each, en/es/pt), builds the index once, changes one
document and builds again incrementally, and prints both times with the slowest steps of the incremental
build. Embedding is replaced by random vectors (the real encoder would take hours for the first build); the
real encoders' time for that document's chunks (every vector the build makes for them) is measured separately
and printed beside it. Asserts nothing.
Usage: python bench/index_incremental.py [--documents 10000]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import tempfile
import time
from pathlib import Path

import numpy as np

from app.config import Settings
from app.retrieval import build_index, embedder_for
from app.retrieval.chunking import chunk_document
from app.retrieval.embeddings import fingerprint
from app.retrieval.loaders import load_document
from app.retrieval.vectors import embed_chunks

_VOCABULARY = {
    "en": "leave payroll laptop password holiday expenses office manager team policy request approval form days "
          "salary benefits training travel booking desk badge access account",
    "es": "vacaciones nómina portátil contraseña festivo gastos oficina responsable equipo política solicitud "
          "aprobación formulario días salario beneficios formación viaje reserva puesto tarjeta acceso",
    "pt": "férias folha notebook senha feriado despesas escritório gestor equipe política pedido aprovação "
          "formulário dias salário benefícios treinamento viagem reserva mesa crachá acesso",
}
WORDS = {language: text.split() for language, text in _VOCABULARY.items()}


class RandomVectors:
    """Stands in for the encoder during the big builds (same model id, so the second build reuses vectors)."""

    def __init__(self, path: Path, dimension: int = 384) -> None:
        self.path, self.dimension, self.companion, self.companion_id = path, dimension, None, ""
        self.model_id = f"{path.name}:{dimension}:{fingerprint(path)}"
        self.rng = np.random.default_rng(0)

    def _unit(self, n: int) -> np.ndarray:
        x = self.rng.standard_normal((n, self.dimension)).astype("float32")
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    def encode_passages(self, texts: list[str], **_: object) -> np.ndarray:
        return self._unit(len(texts))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._unit(len(texts))


def write_corpus(folder: Path, n: int, rng: np.random.Generator) -> None:
    for i in range(n):
        lang = ("en", "es", "pt")[i % 3]
        words = WORDS[lang]
        sections = "\n\n".join(f"## Section {s}\n\n" + " ".join(rng.choice(words, size=110)) + "." for s in range(3))
        path = folder / f"dept{i % 20}" / f"doc{i:05d}.{lang}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\ntitle: Document {i}\nlanguage: {lang}\n---\n# Document {i}\n\n{sections}\n",
                        encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=10_000)
    args = parser.parse_args()
    settings = Settings()
    stub = RandomVectors(Path(settings.embedding_model))
    with tempfile.TemporaryDirectory() as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        write_corpus(corpus, args.documents, np.random.default_rng(0))
        full = build_index(corpus, index, stub.path, lambda: stub, full=True)  # type: ignore[arg-type, return-value]
        changed = corpus / "dept1" / "doc00001.es.md"
        changed.write_text(changed.read_text(encoding="utf-8") + "\nUna frase nueva.\n", encoding="utf-8")
        t0, c0 = time.perf_counter(), time.process_time()
        again = build_index(corpus, index, stub.path, lambda: stub)  # type: ignore[arg-type, return-value]
        incremental, incremental_cpu = time.perf_counter() - t0, time.process_time() - c0
        changed.write_text(changed.read_text(encoding="utf-8") + "\nOtra frase.\n", encoding="utf-8")
        profiler = cProfile.Profile()  # a second change, profiled (the profiler slows Python code down)
        profiler.enable()
        build_index(corpus, index, stub.path, lambda: stub)  # type: ignore[arg-type, return-value]
        profiler.disable()
        changed_chunks = chunk_document(load_document(changed, corpus))
    embedder = embedder_for(settings)
    embed_chunks(changed_chunks[:1], embedder)  # warm-up
    t0 = time.perf_counter()
    embed_chunks(changed_chunks, embedder)  # chunk, sentence, heading and companion vectors, as the build makes them
    encode_one = time.perf_counter() - t0
    print(f"documents / chunks          {full.documents} / {full.chunks}")
    print(f"full build (random vectors) {full.seconds:8.1f} s")
    print(f"machine load average {os.getloadavg()[0]:.1f} (others may share it)")
    print(f"incremental, 1 doc changed  {incremental:8.1f} s  ({incremental_cpu:.1f} CPU s; {again.embedded_chunks} chunks re-embedded, "
          f"{again.reused_documents} documents reused)")
    print(f"+ real encoders, that doc   {encode_one:8.2f} s  ({len(changed_chunks)} chunks: e5 chunk + pooled sentence + "
          f"heading vectors, companion)")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(18)
    print("slowest steps of an incremental build (cumulative, under the profiler):")
    print("\n".join(line for line in out.getvalue().splitlines() if "app/" in line or "bm25s" in line
                    or "faiss" in line)[:3000])


if __name__ == "__main__":
    main()
