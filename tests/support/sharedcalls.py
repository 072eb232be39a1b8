"""Sending questions to an encoder all at once while its first call is held, so the rest queue for a shared call."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from app.retrieval.sharedcalls import SharedCalls


def encoded_at_once(encode: Callable[[str], np.ndarray], shared: SharedCalls, texts: list[str],
                    calls: list[int], gate: threading.Event) -> np.ndarray:
    """Each text's vector from `encode`, all sent at once. The fake model behind `shared` appends each call's size
    to `calls` and waits for `gate`; the gate opens once every text is queued or in a call."""
    with ThreadPoolExecutor(len(texts)) as pool:
        futures = [pool.submit(encode, t) for t in texts]
        while shared.waiting() + sum(calls) < len(texts):
            threading.Event().wait(0.01)
        gate.set()
        return np.vstack([f.result() for f in futures])
