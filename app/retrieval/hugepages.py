"""Huge pages for a loaded HNSW index's arrays (Linux). A search follows graph links to rows spread over hundreds of
megabytes, and with 4 KB pages nearly every step misses the TLB. Measured at 1M chunks: 6% less CPU per question
and p95 49.4 → 45.1 ms (bench/README.md). numpy already asks for huge pages for its large arrays; FAISS's own
allocations don't, so they are marked for huge pages after loading (MADV_HUGEPAGE: the kernel's khugepaged moves
them in the background) and collapsed into 2 MB pages at once where the kernel can (MADV_COLLAPSE, Linux 6.1+,
when it finds free 2 MB pages). Nothing happens where transparent huge pages are off or the call is unknown."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import sys
from typing import Any

import faiss

log = logging.getLogger(__name__)

MADV_HUGEPAGE, MADV_COLLAPSE = 14, 25
HUGE_PAGE = 2 << 20


@functools.cache
def _madvise() -> Any:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return libc.madvise


def _arrays(index: faiss.Index) -> list[tuple[int, int]]:
    """(address, bytes) of an HNSW index's large arrays: the codes and the graph's links and offsets."""
    hnsw: Any = faiss.downcast_index(index)
    if not hasattr(hnsw, "hnsw"):
        return []
    storage = faiss.downcast_index(hnsw.storage)
    found = []
    for vector, item in [(getattr(storage, "codes", None), 1), (hnsw.hnsw.neighbors, 4), (hnsw.hnsw.offsets, 8)]:
        if vector is not None and vector.size():
            found.append((int(faiss.rev_swig_ptr(vector.data(), vector.size()).ctypes.data), vector.size() * item))
    return found


def huge_pages(index: faiss.Index) -> int:
    """Advise the index's large arrays into huge pages; the bytes advised (0 where that can't be done)."""
    if not sys.platform.startswith("linux"):
        return 0
    advised = 0
    try:
        madvise = _madvise()
        for address, size in _arrays(index):
            start = -(-address // HUGE_PAGE) * HUGE_PAGE  # the whole 2 MB pages inside the array
            end = (address + size) // HUGE_PAGE * HUGE_PAGE
            if end <= start:
                continue
            if madvise(start, end - start, MADV_HUGEPAGE) == 0:  # khugepaged may collapse them in the background
                advised += end - start
                madvise(start, end - start, MADV_COLLAPSE)  # now, where it can (Linux 6.1+, 2 MB pages free)
    except (OSError, AttributeError, TypeError) as e:  # no libc, or a FAISS build without these fields
        log.debug("huge pages not advised: %s", e)
    return advised
