"""Evaluation data: the golden set (eval/golden/*.jsonl) and the public benchmarks in ../shared/datasets.

Benchmark data is read where it lies and turned into in-memory `Document`s and `EvalItem`s; nothing is
copied into the repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.retrieval.documents import Document

KINDS = {"answerable", "cross_lingual", "follow_up", "paraphrase_typo", "long_context", "unanswerable", "human",
         "sensitive", "crisis", "private_data", "off_topic", "smalltalk"}
EXPECTS = {"answer", "escalate", "human", "sensitive", "crisis", "declined", "off_topic", "smalltalk"}
SPLITS = ("dev", "test")  # tune on dev; test is for reporting only
BENCHMARKS = ("golden", "xquad-es-en", "xquad-sentences", "faquad", "xquad-abstention", "faquad-abstention")
ROOT = Path(__file__).resolve().parents[2]


class DatasetError(Exception):
    """An evaluation file is missing or malformed; the message says which line and why."""


@dataclass
class EvalItem:
    id: str
    language: str
    question: str
    gold_docs: list[str]
    kind: str = "answerable"
    facts: list[str] = field(default_factory=list)
    department: str = ""
    expect: str = "answer"
    context: list[str] = field(default_factory=list)  # earlier user questions of the conversation
    groups: list[str] = field(default_factory=list)  # groups of the asking user (ACL)
    equivalents: list[str] = field(default_factory=list)  # documents that count as the gold document too
    gold_sections: list[str] = field(default_factory=list)  # headings under which the answer sits
    split: str = ""  # dev | test (golden set); "" for benchmarks


@dataclass
class Benchmark:
    name: str
    description: str
    items: list[EvalItem]
    documents: list[Document] | None = None  # None: the golden set runs against a corpus folder
    pipeline: bool = True  # run the chat pipeline (answers, escalation), not only retrieval
    fingerprint: str = ""
    source: str = ""


# --- golden set -----------------------------------------------------------------------------------------------

def _golden_item(raw: dict[str, Any], where: str) -> EvalItem:
    missing = [k for k in ("id", "language", "question", "expect") if not raw.get(k)]
    if missing:
        raise DatasetError(f"{where}: missing {', '.join(missing)}")
    if raw["expect"] not in EXPECTS:
        raise DatasetError(f"{where}: expect must be one of {sorted(EXPECTS)}, not {raw['expect']!r}")
    for key in ("gold_docs", "facts", "context", "groups", "gold_sections"):
        if not isinstance(raw.get(key, []), list):
            raise DatasetError(f"{where}: {key} must be a list")
    if raw.get("split", "dev") not in SPLITS:
        raise DatasetError(f"{where}: split must be one of {SPLITS}, not {raw['split']!r}")
    return EvalItem(
        id=str(raw["id"]), language=raw["language"], question=raw["question"],
        gold_docs=[str(d) for d in raw.get("gold_docs") or []], kind=raw.get("kind") or "answerable",
        facts=[str(f) for f in raw.get("facts") or []], department=raw.get("department") or "general",
        expect=raw["expect"], context=[str(c) for c in raw.get("context") or []],
        groups=[str(g) for g in raw.get("groups") or []],
        gold_sections=[str(h) for h in raw.get("gold_sections") or []], split=raw.get("split") or "dev",
    )


def load_golden(folder: Path, split: str | None = None) -> list[EvalItem]:
    files = sorted(Path(folder).glob("*.jsonl"))
    if not files:
        raise DatasetError(f"no golden files (*.jsonl) in {folder}")
    items: list[EvalItem] = []
    seen: set[str] = set()
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path.name}:{n}"
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as e:
                raise DatasetError(f"{where}: not JSON ({e.msg})") from e
            item = _golden_item(raw, where)
            if item.id in seen:
                raise DatasetError(f"{where}: duplicate id {item.id!r}")
            seen.add(item.id)
            items.append(item)
    if split:
        items = [item for item in items if item.split == split]
    if not items:
        raise DatasetError(f"the golden files in {folder} are empty" + (f" for split {split!r}" if split else ""))
    return items


def golden(folder: Path, split: str | None = None) -> Benchmark:
    items = load_golden(folder, split)
    return Benchmark("golden", f"golden set ({folder})", items, None, True, fingerprint(items), str(folder))


def fingerprint(items: list[EvalItem]) -> str:
    digest = hashlib.sha1()
    for item in items:
        digest.update(json.dumps(item.__dict__, sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()[:12]


# --- shared benchmarks ----------------------------------------------------------------------------------------

def datasets_dir() -> Path:
    """../shared/datasets next to the repository (AYUDA_EVAL_DATASETS overrides)."""
    return Path(os.environ.get("AYUDA_EVAL_DATASETS") or ROOT.parent / "shared" / "datasets")


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        raise DatasetError(f"{path} not found (the shared benchmarks live in ../shared/datasets; "
                           f"set AYUDA_EVAL_DATASETS to another folder)")
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _documents(rows: list[dict[str, Any]], department: str) -> list[Document]:
    return [
        Document(doc_id=r["doc_id"], title=r.get("title") or r["doc_id"], text=r["text"], department=department,
                 language=r.get("lang") or "en", translation_key="",
                 content_hash=hashlib.sha256(r["text"].encode()).hexdigest())
        for r in rows
    ]


def _question(r: dict[str, Any], department: str, gold: list[str] | None = None) -> EvalItem:
    answerable = r.get("expected_behavior", "answer") == "answer" and r.get("answerable", True)
    return EvalItem(
        id=r["qid"], language=r["lang"], question=r["question"],
        gold_docs=list(gold if gold is not None else r.get("gold_doc_ids") or []) if answerable else [],
        kind="answerable" if answerable else "unanswerable", department=department,
        expect="answer" if answerable else "escalate",
        equivalents=list(r.get("equivalent_gold_doc_ids") or []) if answerable else [],
    )


def _xquad(root: Path, *, sentences: bool = False, holdout: bool = False) -> tuple[list[Document], list[EvalItem]]:
    base = root / "xquad_es_en"
    folder = base / "abstention_holdout" if holdout else base
    corpus = "corpus_sentences.en.jsonl" if sentences else "corpus_paragraphs.en.jsonl"
    docs = _documents(_jsonl(folder / corpus), "wikipedia")
    questions = _jsonl(folder / "questions.es.jsonl")
    if sentences:  # sentence ids differ between languages: the English question names the English sentence
        english = {r["qid"]: r["gold_sentence_ids"] for r in _jsonl(base / "questions.en.jsonl")}
        return docs, [_question(r, "wikipedia", english[r["qid"]]) for r in questions]
    return docs, [_question(r, "wikipedia") for r in questions]


def _faquad(root: Path, *, holdout: bool = False) -> tuple[list[Document], list[EvalItem]]:
    folder = root / "faquad_pt" / ("abstention_holdout" if holdout else "")
    docs = _documents(_jsonl(folder / "corpus_paragraphs.jsonl"), "regulations")
    return docs, [_question(r, "regulations") for r in _jsonl(folder / "questions.jsonl")]


_SPECS: dict[str, tuple[str, Callable[[Path], tuple[list[Document], list[EvalItem]]], bool]] = {
    "xquad-es-en": ("XQuAD: Spanish questions, English Wikipedia paragraphs (cross-lingual retrieval)",
                    lambda r: _xquad(r), False),
    "xquad-sentences": ("XQuAD-R: Spanish questions, English sentences as documents",
                        lambda r: _xquad(r, sentences=True), False),
    "faquad": ("FaQuAD: Portuguese questions, paragraphs of Brazilian university regulations",
               lambda r: _faquad(r), False),
    "xquad-abstention": ("XQuAD abstention split: 12 of 48 articles removed; Spanish questions, English "
                         "paragraphs; questions about removed articles should not be answered",
                         lambda r: _xquad(r, holdout=True), True),
    "faquad-abstention": ("FaQuAD abstention split: 4 topic-unique documents removed; questions about them "
                          "should not be answered", lambda r: _faquad(r, holdout=True), True),
}


def subsample(items: list[EvalItem], limit: int | None, seed: int = 13) -> list[EvalItem]:
    """A deterministic sample of `limit` items (in their original order); all items when no limit."""
    if not limit or limit >= len(items):
        return items
    keep = set(random.Random(seed).sample(range(len(items)), limit))
    return [item for i, item in enumerate(items) if i in keep]


def shared_benchmark(name: str, root: Path | None = None) -> Benchmark:
    if name not in _SPECS:
        raise DatasetError(f"unknown benchmark {name!r}; choose one of {', '.join(BENCHMARKS)}")
    description, load, pipeline = _SPECS[name]
    root = root or datasets_dir()
    docs, items = load(root)
    return Benchmark(name, description, items, docs, pipeline, fingerprint(items), str(root))
