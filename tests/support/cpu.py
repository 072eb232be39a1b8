"""What this CPU can compute, for tests that need it."""

from __future__ import annotations

import functools

import pytest


@functools.cache
def bf16_cpu() -> bool:
    """Whether OpenVINO's CPU plugin can compute in bf16 here (AMX or AVX-512 BF16); elsewhere Ayuda stays in fp32,
    which the tests without `needs_bf16` check."""
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


needs_bf16 = pytest.mark.skipif(not bf16_cpu(), reason="OpenVINO computes no bf16 on this CPU (no AMX, no AVX-512 BF16)")
