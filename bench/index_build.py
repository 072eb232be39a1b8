"""Index build benchmark: the raw e5 encode of the chunk texts, then a full build and an incremental build with
nothing changed, all in one run, so the overhead ratio (full build / raw encode) is measured on the same machine
state. The raw encode is what the issue measures against: sentence-transformers `encode()` of every chunk's text,
fp32, batch 32.

Corpus: the sample corpus, or (`--synthetic N`) N documents made from it: document i is sample document i mod 56
under its own title (so no two chunks share a text and none is encoded twice), written as Markdown.
`--random-vectors` replaces the encoders with random vectors (bench/index_incremental.py's stand-in): the
build's time outside the encoders, for corpora too big to encode here.

Prints figures; asserts nothing about time.
Usage: python bench/index_build.py [--corpus corpus] [--documents N] [--rounds R] [--synthetic 1000]
       [--random-vectors] [--no-raw]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from index_incremental import RandomVectors  # noqa: E402

from app.config import Settings  # noqa: E402
from app.retrieval import build_index, embedder_for  # noqa: E402
from app.retrieval.chunking import ChunkerParams, chunk_document  # noqa: E402
from app.retrieval.loaders import iter_corpus_files, load_document  # noqa: E402


def write_synthetic(source: Path, folder: Path, n: int) -> None:
    """N Markdown documents made from the documents of `source` (each under a title of its own)."""
    docs = [load_document(p, source) for p in iter_corpus_files(source)]
    for i in range(n):
        doc = docs[i % len(docs)]
        title = f"{doc.title} ({i // len(docs) + 1})"
        body = doc.text
        first = body.lstrip().split("\n", 1)[0]
        if first.startswith("# "):  # the document's own title heading
            body = body.lstrip().split("\n", 1)[1] if "\n" in body.lstrip() else ""
        audience = ", ".join(doc.audience)
        path = folder / doc.department / f"doc{i:05d}.{doc.language}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\ntitle: \"{title}\"\nlanguage: {doc.language}\ndepartment: {doc.department}\n"
                        f"audience: [{audience}]\n---\n# {title}\n\n{body}\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--synthetic", type=int, default=0, help="N documents made from --corpus")
    parser.add_argument("--random-vectors", action="store_true", help="random vectors instead of the encoders")
    parser.add_argument("--no-raw", action="store_true", help="skip the raw encode (with --random-vectors)")
    parser.add_argument("--rounds", type=int, default=1, help="raw encode + full build pairs, alternated")
    parser.add_argument("--documents", type=int, default=0, help="only the first N documents of --corpus")
    args = parser.parse_args()
    settings = Settings()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start "
          "(others may share it: compare figures within one run)")
    t0 = time.perf_counter()
    embedder = embedder_for(settings)
    load_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        corpus = args.corpus
        if args.documents:  # a subset (a busy machine)
            corpus = Path(tmp) / "subset"
            for path in iter_corpus_files(args.corpus)[: args.documents]:
                for f in (path, path.with_name(path.name + ".meta.yml")):
                    if f.exists():
                        (corpus / f.relative_to(args.corpus)).parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy(f, corpus / f.relative_to(args.corpus))
        if args.synthetic:
            write_synthetic(args.corpus if not args.documents else corpus, Path(tmp) / "corpus", args.synthetic)
            corpus = Path(tmp) / "corpus"
        texts = [c.embed_text() for p in iter_corpus_files(corpus)
                 for c in chunk_document(load_document(p, corpus), ChunkerParams())]
        raw: list[float] = []
        raw_cpu: list[float] = []  # CPU seconds of this process (all threads): less moved by other processes
        build_cpu: list[float] = []
        builds = []
        encoder = RandomVectors(embedder.path) if args.random_vectors else embedder
        for n in range(args.rounds):  # raw encode and full build alternate: a busy machine's drift hits both
            if not args.no_raw:
                if n == 0:
                    embedder.model.encode(texts[:8], prompt_name="passage", batch_size=32)  # warm-up
                t0, c0 = time.perf_counter(), time.process_time()
                embedder.model.encode(texts, prompt_name="passage", batch_size=32, normalize_embeddings=True,
                                      convert_to_numpy=True, show_progress_bar=False)
                raw.append(time.perf_counter() - t0)
                raw_cpu.append(time.process_time() - c0)
            c0 = time.process_time()
            builds.append(build_index(corpus, Path(tmp) / f"index{n}", embedder.path, lambda: encoder, full=True))  # type: ignore[arg-type, return-value]
            build_cpu.append(time.process_time() - c0)
            if raw:
                print(f"round {n + 1}: raw encode {raw[-1]:.2f} s ({raw_cpu[-1]:.1f} CPU s), full build "
                      f"{builds[-1].seconds:.2f} s ({build_cpu[-1]:.1f} CPU s), ratio {builds[-1].seconds / raw[-1]:.2f} "
                      f"(CPU {build_cpu[-1] / raw_cpu[-1]:.2f}; load average {os.getloadavg()[0]:.1f})", flush=True)
        full = builds[-1]
        again = build_index(corpus, Path(tmp) / f"index{args.rounds - 1}", embedder.path, lambda: encoder)  # type: ignore[arg-type, return-value]
    raw_s = statistics.median(raw) if raw else 0.0
    full_s = statistics.median(b.seconds for b in builds)
    print(f"model load              {load_s:8.2f} s  ({embedder.model_id}; sentence vectors "
          f"{'random' if args.random_vectors else embedder.sentence_vectors}; passages in "
          f"{'-' if args.random_vectors else embedder.precision})")
    print(f"documents / chunks      {full.documents:8d} / {full.chunks}")
    if raw_s:
        print(f"raw e5 encode (fp32 b32){raw_s:8.2f} s  ({len(texts) / raw_s:.1f} chunks/s)")
    print(f"full build              {full_s:8.2f} s  ({full.documents / full_s:.1f} docs/s, "
          f"{full.chunks / full_s:.1f} chunks/s{', random vectors' if args.random_vectors else ''})")
    if raw_s:
        ratios = sorted(b.seconds / r for b, r in zip(builds, raw, strict=True))
        print(f"overhead ratio          {statistics.median(ratios):8.2f}   (full build / raw encode, same run; median of "
              f"{len(ratios)}: {', '.join(f'{x:.2f}' for x in ratios)})")
    print(f"full build CPU time     {statistics.median(build_cpu):8.2f} CPU s  (this process, all threads; median)")
    if raw_cpu:
        cpu_ratios = sorted(b / r for b, r in zip(build_cpu, raw_cpu, strict=True))
        print(f"overhead ratio, CPU     {statistics.median(cpu_ratios):8.2f}   (median of {len(cpu_ratios)}: "
              f"{', '.join(f'{x:.2f}' for x in cpu_ratios)})")
    print(f"incremental, no change  {again.seconds:8.2f} s  ({again.embedded_chunks} chunks re-embedded)")


if __name__ == "__main__":
    main()
