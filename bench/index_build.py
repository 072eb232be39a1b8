"""Index build benchmark: full build of a corpus, then an incremental build with nothing changed.

Prints figures; asserts nothing about time.  Usage: python bench/index_build.py [--corpus corpus]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from app.config import Settings
from app.retrieval import build_index, load_embedder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    args = parser.parse_args()
    settings = Settings()
    t0 = time.perf_counter()
    embedder = load_embedder(settings.embedding_model, threads=settings.torch_threads)
    load_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        full = build_index(args.corpus, Path(tmp), embedder.path, lambda: embedder, full=True)
        again = build_index(args.corpus, Path(tmp), embedder.path, lambda: embedder)
    print(f"model load              {load_s:8.2f} s  ({embedder.model_id})")
    print(f"documents / chunks      {full.documents:8d} / {full.chunks}")
    print(f"full build              {full.seconds:8.2f} s  ({full.chunks / full.seconds:.1f} chunks/s)")
    print(f"incremental, no change  {again.seconds:8.2f} s  ({again.embedded_chunks} chunks re-embedded)")


if __name__ == "__main__":
    main()
