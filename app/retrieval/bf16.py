"""The embedding model's transformer in bfloat16 on OpenVINO, for CPUs with bf16 arithmetic: AMX (Intel Xeon from
Sapphire Rapids on), whose tile instructions multiply bf16 matrices, or AVX-512 BF16 (AMD Zen 4 and later, Intel
Cooper Lake), whose dot-product instruction does twice fp32's multiply-adds. It runs the same ONNX export as ONNX
Runtime (app/retrieval/onnx.py), with OpenVINO's CPU plugin told to compute in bf16.

Measured (bench/README.md): on a 2-core Xeon with AMX, a golden question's vector 6.1 ms and 11.5 CPU ms against
10.5 and 17 on ONNX Runtime in fp32, the chunks and sentences of 14 sample documents 3.2 s against 9.5 s; on a
2-core AMD Zen 5 (AVX-512 BF16, no AMX), a question 4.2-6.0 ms against 7.8-8.3 ms; vectors at cosine >= 0.9999 to
fp32's. Without bf16 arithmetic, OpenVINO's fp32 was no faster than ONNX Runtime, so "auto" needs one of the two.

`Embedder` uses it for every encode when the precision is "bf16", or "auto" on such a CPU, and only after its
probe vectors match fp32's (`Embedder._bf16_session`)."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
# Passage batches of ~2,048 tokens with padding were fastest in bf16 (1,024 and 4,096: 1.1x slower)
TOKENS_PER_BATCH = 2048
# Questions sharing a call may hold this many padding tokens (embeddings.QUESTION_PADDING is ONNX Runtime's 8): in
# bf16 a call costs ~2.4 ms of its own, then ~0.05 ms a token, so a call saved is worth ~48 padding tokens. 8
# employees asking golden questions: 23.6-24.0 against 25.0-25.1 server CPU ms a turn with 8 (bench/README.md).
QUESTION_PADDING = 48
NO_BF16 = ("OpenVINO's CPU plugin does not compute in bf16 on this CPU (it needs AMX or AVX-512 BF16; "
           "AYUDA_EMBEDDING_PRECISION=auto chooses fp32 here)")


# the flags Linux reports for bf16 arithmetic: AMX tiles, or AVX-512's bf16 dot product
BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


def has_bf16_arithmetic(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU multiplies bf16 in hardware (AMX or AVX-512 BF16, as Linux reports them; False elsewhere).
    Read from /proc/cpuinfo, not asked of OpenVINO or torch: a checked fp32 export runs without importing either."""
    try:
        with open(cpuinfo, encoding="utf-8") as f:
            return any(line.startswith("flags") and not BF16_FLAGS.isdisjoint(line.split()) for line in f)
    except OSError:
        return False


def computes_bf16() -> bool:
    """Whether OpenVINO's CPU plugin can compute in bf16 on this CPU (AMX or AVX-512 BF16), asked before anything
    is converted or compiled."""
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


class Bf16Transformer:
    """Token ids and attention mask in, last hidden states out (float32 numpy), computed in bfloat16. Same
    interface as `onnx.OnnxTransformer`; call it from one thread at a time (the embedder's worker)."""

    tokens_per_batch = TOKENS_PER_BATCH
    question_padding = QUESTION_PADDING

    def __init__(self, onnx_path: Path, *, threads: int) -> None:
        import openvino as ov

        if not computes_bf16():  # before the 470 MB IR is written beside the export, or the model compiled
            raise RuntimeError(NO_BF16)
        source = ir_for(onnx_path) or onnx_path
        config: dict[str, Any] = {
            "INFERENCE_PRECISION_HINT": "bf16",
            "INFERENCE_NUM_THREADS": threads,
            "PERFORMANCE_HINT": "LATENCY",  # one stream: one call at a time uses every thread
            "ENABLE_CPU_PINNING": False,  # the server's other threads share the cores
        }
        self._model = ov.Core().compile_model(str(source), "CPU", config)
        if self._model.get_property("INFERENCE_PRECISION_HINT") != ov.Type.bf16:
            raise RuntimeError(NO_BF16)
        self._request = self._model.create_infer_request()

    def hidden(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        out = self._request.infer({"input_ids": input_ids.astype(np.int64, copy=False),
                                   "attention_mask": attention_mask.astype(np.int64, copy=False)})
        return np.array(out[0], dtype="float32")  # a copy: the request's output buffer is reused by the next call


def ir_for(onnx_path: Path) -> Path | None:
    """OpenVINO's own form (IR) of the ONNX export, converted once beside it and redone when the export changes:
    compiling it took 0.3 s and 0.6 GB at most here, against 2.3 s and 1.0 GB from the ONNX file. None when it can't
    be written (a read-only folder): the caller compiles the ONNX file."""
    folder = onnx_path.with_name("openvino")
    source = [onnx_path.stat().st_size, onnx_path.stat().st_mtime_ns]
    if _converted_from(folder) == source:
        return folder / "model.xml"
    try:
        import openvino as ov
        from filelock import FileLock

        with FileLock(str(onnx_path.with_name(".export.lock"))):  # the export's own lock: one writer at a time
            if _converted_from(folder) == source:  # another process converted it while we waited
                return folder / "model.xml"
            tmp = onnx_path.with_name(f".openvino.{os.getpid()}")
            try:
                shutil.rmtree(tmp, ignore_errors=True)
                ov.save_model(ov.Core().read_model(str(onnx_path)), str(tmp / "model.xml"), compress_to_fp16=False)
                (tmp / "source.json").write_text(json.dumps({"onnx": source}))
                shutil.rmtree(folder, ignore_errors=True)
                tmp.rename(folder)
            finally:
                if tmp.exists():  # a conversion that failed halfway leaves nothing aside
                    shutil.rmtree(tmp, ignore_errors=True)
    except Exception as e:  # noqa: BLE001 - compiling the ONNX file works too, only slower
        log.info("OpenVINO form of %s not written (%s): compiling the ONNX file", onnx_path, e)
        return None
    return folder / "model.xml"


def _converted_from(folder: Path) -> list[int] | None:
    try:
        if not (folder / "model.xml").exists() or not (folder / "model.bin").exists():
            return None
        return list(json.loads((folder / "source.json").read_text())["onnx"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
