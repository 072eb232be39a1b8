"""Sentence vectors from the chunk pass (`Embedder.encode_passages_pooled`): one forward pass over the chunks
gives each chunk's vector and, from the same token embeddings, one vector per sentence (the mean of its tokens)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def pooled_pass(texts: list[str], spans: list[list[list[tuple[int, int]]]], *, tokenizer: Any, prompt: str,
                max_length: int, dimension: int, token_embeddings: Callable[[np.ndarray, np.ndarray], Any],
                on_worker: Callable[..., None], tokens_per_batch: int = 4096,
                progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """Each text's mean-pooled vector and its span groups' (`Embedder.encode_passages_pooled` says what they are),
    not yet normalised. `tokenizer`: a transformers tokenizer (character offsets); `token_embeddings(ids, mask)`:
    the transformer's last hidden states as a torch tensor; `on_worker(run, batch)` runs one batch on the
    encoder's thread and waits for it (so questions can take the encoder between batches)."""
    import torch

    shift = len(prompt)
    encoded = tokenizer([prompt + t for t in texts], truncation=True, max_length=max_length,
                        return_offsets_mapping=True, return_special_tokens_mask=True)
    ids, offsets, special = encoded["input_ids"], encoded["offset_mapping"], encoded["special_tokens_mask"]
    order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
    out = np.zeros((len(texts), dimension), dtype="float32")
    pooled: list[np.ndarray] = [np.zeros((len(groups), dimension), "float32") for groups in spans]
    pad = int(tokenizer.pad_token_id or 0)

    def weights(i: int, width: int) -> np.ndarray:
        """Row 0: every token of text i (its own vector); row 1 + g: the tokens of its span group g."""
        n = len(ids[i])
        w = np.zeros((1 + len(spans[i]), width), dtype="float32")
        w[0, :n] = 1.0
        if spans[i]:
            starts = np.array([a for a, _ in offsets[i]]) - shift
            ends = np.array([b for _, b in offsets[i]]) - shift
            always = np.array(special[i], dtype=bool) | (ends <= 0)  # special tokens and the prompt's
            for g, group in enumerate(spans[i]):
                ranges = [(starts < b) & (ends > a) & (ends > starts) for a, b in group]
                if all(r.any() for r in ranges):  # else some of its text was cut off: a zero vector says so
                    w[1 + g, :n] = np.logical_or.reduce([always, *ranges])
        return w

    def run(batch: list[int]) -> None:
        width = max(len(ids[i]) for i in batch)
        rows = max(1 + len(spans[i]) for i in batch)
        input_ids = np.full((len(batch), width), pad, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        w = np.zeros((len(batch), rows, width), dtype="float32")
        for row, i in enumerate(batch):
            input_ids[row, : len(ids[i])] = ids[i]
            mask[row, : len(ids[i])] = 1
            part = weights(i, width)
            w[row, : len(part)] = part
        with torch.inference_mode():  # the pooling too runs on torch's threads (no BLAS pool beside them)
            hidden = token_embeddings(input_ids, mask)
            wt = torch.from_numpy(w)
            means = (torch.bmm(wt, hidden) / wt.sum(dim=2, keepdim=True).clamp(min=1.0)).numpy()
        for row, i in enumerate(batch):
            out[i] = means[row, 0]
            pooled[i] = means[row, 1 : 1 + len(spans[i])]

    batch: list[int] = []
    for i in order:
        if batch and (len(batch) + 1) * len(ids[i]) > tokens_per_batch:
            on_worker(run, batch)
            if progress:
                progress(len(batch))
            batch = []
        batch.append(i)
    if batch:
        on_worker(run, batch)
        if progress:
            progress(len(batch))
    return out, pooled

