"""The embedding model's transformer on ONNX Runtime: the same fp32 weights, exported once from the
sentence-transformers folder, run without PyTorch's per-call overhead. On this 2-core machine one question's
vector takes ~11 ms against ~23 ms through sentence-transformers, and bulk encoding in batches of ~1,024 tokens
is a little faster; the vectors equal torch's at cosine ≥ 0.9999. `Embedder` checks an export against torch once
and records the check here (`record_check`); later loads re-check the recorded probe with `FastTokenizer` and the
session alone, without importing torch or transformers.

The export (`torch.onnx.export`, ~15 s for e5-small) is written next to the model when the folder is ours
(`make models` writes it), else into the user's cache, and is redone when the model's files change."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

OPSET = 17
# 2: attention exported as plain matmuls and softmax ("eager"), not torch's SDPA (an export of format 1 is made
# again once)
EXPORT_FORMAT = 2
log = logging.getLogger(__name__)
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ayuda" / "onnx"


def onnx_file(model_dir: Path, fingerprint: str) -> Path:
    """Where the export of this model lives: in the model folder when Ayuda made it (`make models`), else in the
    cache (a folder from elsewhere, such as site-packages, is not written to)."""
    model_dir = Path(model_dir)
    if (model_dir / "ayuda_converted.json").exists() and os.access(model_dir, os.W_OK):
        return model_dir / "onnx" / "model.onnx"
    return CACHE_DIR / f"{model_dir.name}-{fingerprint}" / "model.onnx"


def _marker(path: Path) -> Path:
    return path.with_name("source.json")


def is_current(path: Path, fingerprint: str) -> bool:
    try:
        return _describes(path, json.loads(_marker(path).read_text()), fingerprint)
    except (OSError, ValueError):
        return False


def _describes(path: Path, marker: dict[str, Any], fingerprint: str) -> bool:
    """Whether `marker` is that of an export at `path` of these model files, in this format."""
    return path.exists() and marker.get("fingerprint") == fingerprint and marker.get("format") == EXPORT_FORMAT


def export(transformer: Any, tokenizer: Any, path: Path, fingerprint: str, *, force: bool = False) -> Path:
    """Write `transformer` (a Hugging Face encoder returning `last_hidden_state`) as ONNX at `path`, with dynamic
    batch and length; one process at a time (a file lock), written aside and renamed into place. Without `force`,
    an export another process finished while this one waited for the lock is kept."""
    import torch
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path.with_name(".export.lock"))):
        if not force and is_current(path, fingerprint):  # another process exported it while we waited
            return path

        class Hidden(torch.nn.Module):
            def __init__(self, model: Any) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
                return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

        sample = tokenizer(["passage: an example", "query: another, longer example text"], padding=True,
                           return_tensors="pt")
        axes = {0: "batch", 1: "tokens"}
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        import warnings

        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad(), _eager_attention(transformer):
            warnings.simplefilter("ignore")  # tracer warnings about shapes that are dynamic axes here
            torch.onnx.export(Hidden(transformer.eval()), (sample["input_ids"], sample["attention_mask"]), str(tmp),
                              input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                              dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
                              opset_version=OPSET, dynamo=False)
        os.replace(tmp, path)
        _marker(path).write_text(json.dumps({"fingerprint": fingerprint, "opset": OPSET, "format": EXPORT_FORMAT,
                                             "torch": torch.__version__}))
    return path


@contextmanager
def _eager_attention(transformer: Any) -> Iterator[None]:
    """Attention written out as matmuls and softmax while exporting, not as torch's SDPA call: the same vectors, and
    ONNX Runtime runs that graph faster, 15% on bulk passages (bench/README.md). The model in memory gets its own
    setting back afterwards."""
    config = transformer.config
    before = getattr(config, "_attn_implementation", None)
    try:
        if hasattr(transformer, "set_attn_implementation"):
            transformer.set_attn_implementation("eager")
        else:
            config._attn_implementation = "eager"
    except Exception as e:  # noqa: BLE001 - an architecture without the choice exports as it is
        log.info("eager attention not available for the export (%s)", e)
    try:
        yield
    finally:
        if before is not None and getattr(config, "_attn_implementation", None) != before:
            if hasattr(transformer, "set_attn_implementation"):
                transformer.set_attn_implementation(before)
            else:
                config._attn_implementation = before


def recorded_check(path: Path, fingerprint: str) -> dict[str, Any] | None:
    """What a load that checked this export against sentence-transformers recorded (`record_check`): the probe
    texts and torch's vectors of them, the prompts and the length limit. None when there is none for these model
    files and these library versions: the next load checks against torch again."""
    try:
        marker = json.loads(_marker(path).read_text())
    except (OSError, ValueError):
        return None
    check = marker.get("check")
    if not _describes(path, marker, fingerprint) or not isinstance(check, dict):
        return None
    return check if check.get("versions") == _versions() else None


def record_check(path: Path, check: dict[str, Any]) -> None:
    """Keep a passed check beside the export (written aside and renamed: readers see the old or the new)."""
    marker = _marker(path)
    try:
        record = json.loads(marker.read_text())
    except (OSError, ValueError):
        return
    record["check"] = check | {"versions": _versions()}
    tmp = marker.with_name(f".{marker.name}.{os.getpid()}")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, marker)


def _versions() -> dict[str, str]:
    from importlib import metadata

    return {name: metadata.version(name) for name in ("sentence-transformers", "transformers", "tokenizers")}


class FastTokenizer:
    """The folder's tokenizer.json through the tokenizers library, which transformers' fast tokenizer wraps, without
    importing transformers (it imports torch: ~0.3 GB). Only what `_encode_onnx` calls; the recorded probe check
    confirms it tokenizes as sentence-transformers does."""

    is_fast = True

    def __init__(self, folder: Path, max_length: int) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length)
        config = folder / "tokenizer_config.json"
        pad = json.loads(config.read_text()).get("pad_token") if config.exists() else None
        pad = pad.get("content") if isinstance(pad, dict) else pad
        self.pad_token_id = (self._tokenizer.token_to_id(pad) if isinstance(pad, str) else None) or 0

    def __call__(self, texts: list[str], **_: Any) -> dict[str, list[list[int]]]:
        return {"input_ids": [e.ids for e in self._tokenizer.encode_batch(texts)]}


class OnnxTransformer:
    """Token ids and attention mask in, last hidden states out (float32 numpy)."""

    def __init__(self, path: Path, *, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # idle threads sleep instead of spinning: the server's other work (BM25, fusion, the companion) needs the cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def hidden(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        out = self.session.run(["last_hidden_state"], {"input_ids": input_ids.astype(np.int64, copy=False),
                                                       "attention_mask": attention_mask.astype(np.int64, copy=False)})
        return np.asarray(out[0], dtype="float32")


def main(argv: list[str] | None = None) -> int:
    """`python -m app.retrieval.onnx MODEL_DIR`: export the model (if needed) and check it against torch."""
    import argparse
    import logging

    from app.retrieval.embeddings import load_embedder

    parser = argparse.ArgumentParser(description="Export a sentence-transformers model to ONNX and check it.")
    parser.add_argument("model_dir", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    embedder = load_embedder(args.model_dir, companion="", runtime="onnx")
    if embedder.runtime != "onnx":
        print(f"{args.model_dir}: ONNX Runtime not used (see the warning above); the server encodes with torch")
        return 1
    print(f"{args.model_dir}: ONNX export ready at {onnx_file(args.model_dir, embedder.model_id)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
