"""The embedding model's transformer in bfloat16 on OpenVINO, for CPUs with AMX (Intel Xeon from Sapphire Rapids
on), whose tile instructions multiply bf16 matrices several times faster than fp32. It runs the same ONNX export
as ONNX Runtime (app/retrieval/onnx.py), with OpenVINO's CPU plugin told to compute in bf16.

Measured on a 2-core Xeon with AMX (bench/README.md): a golden question's vector 6.1 ms and 11.5 CPU ms against
10.5 and 17 on ONNX Runtime in fp32; the chunks and sentences of 14 sample documents 3.2 s against 9.5 s; vectors
at cosine >= 0.9999 to fp32's. Without AMX, OpenVINO's fp32 was no faster than ONNX Runtime here, so "auto" uses
it only with AMX.

`Embedder` uses it for every encode when the precision is "bf16", or "auto" on a CPU with AMX, and only after its
probe vectors match fp32's (`Embedder._use_bf16`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

# Passage batches of ~2,048 tokens with padding were fastest in bf16 (1,024 and 4,096: 1.1x slower)
TOKENS_PER_BATCH = 2048


def has_amx() -> bool:
    """Whether this CPU has AMX tiles (torch's own check of the CPU; False where torch can't tell)."""
    try:
        import torch

        return bool(torch.cpu._is_amx_tile_supported())
    except Exception:  # noqa: BLE001 - an older torch or another platform: no AMX path
        return False


class Bf16Transformer:
    """Token ids and attention mask in, last hidden states out (float32 numpy), computed in bfloat16. Same
    interface as `onnx.OnnxTransformer`; call it from one thread at a time (the embedder's worker)."""

    tokens_per_batch = TOKENS_PER_BATCH
    name = "openvino-bf16"

    def __init__(self, onnx_path: Path, *, threads: int) -> None:
        import openvino as ov

        config: dict[str, Any] = {
            "INFERENCE_PRECISION_HINT": "bf16",
            "INFERENCE_NUM_THREADS": threads,
            "PERFORMANCE_HINT": "LATENCY",  # one stream: one call at a time uses every thread
            "ENABLE_CPU_PINNING": False,  # the server's other threads share the cores
        }
        self._model = ov.Core().compile_model(str(onnx_path), "CPU", config)
        if self._model.get_property("INFERENCE_PRECISION_HINT") != ov.Type.bf16:
            raise RuntimeError("OpenVINO's CPU plugin does not compute in bf16 on this CPU")
        self._request = self._model.create_infer_request()

    def hidden(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        out = self._request.infer({"input_ids": input_ids.astype(np.int64, copy=False),
                                   "attention_mask": attention_mask.astype(np.int64, copy=False)})
        return np.array(out[0], dtype="float32")  # a copy: the request's output buffer is reused by the next call
