"""What this CPU can compute, for tests that need it."""

from __future__ import annotations

import functools

import pytest


@functools.cache
def bf16_cpu() -> bool:
    """`bf16.computes_bf16`, asked once per test process; elsewhere Ayuda stays in fp32, which the tests without
    `needs_bf16` check."""
    from app.retrieval.bf16 import computes_bf16

    return computes_bf16()


needs_bf16 = pytest.mark.skipif(not bf16_cpu(), reason="OpenVINO computes no bf16 on this CPU (no AMX, no AVX-512 BF16)")
