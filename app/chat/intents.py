"""What a message is, before anything is searched: an intent classifier over the encoders already loaded.

Logistic regression on the e5 query vector joined with the companion encoder's vector (USE multilingual),
trained on exemplars kept in `app/chat/exemplars/<lang>.jsonl` (at least 60 per intent per language, plus
hard negatives: ordinary questions that use a scary word). It learns meaning across en/es/pt instead of
keyword lists. The safety lane (crisis, sensitive) wins at a lower bar than the argmax, and a keyword backstop
(app/chat/routing.py) can add a safety intent, never remove one.

Training takes a second once the exemplar vectors exist; those are cached per model in memory and on disk.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

EXEMPLARS = Path(__file__).with_name("exemplars")
INTENTS = ("question", "smalltalk", "human_request", "sensitive", "crisis", "private_data", "off_topic")
SAFETY = ("crisis", "sensitive")  # checked in this order


@dataclass(frozen=True)
class Exemplar:
    text: str
    intent: str
    language: str
    hard_negative: bool = False


@dataclass(frozen=True)
class Thresholds:
    """The safety lane (crisis or sensitive: a person, in confidence) is taken when the two together reach
    `lane`, whatever the argmax says; inside it, crisis wins at `crisis_share` of the lane's probability
    (over-caution is cheap there, but a harassment report must not read as a crisis). Chosen on the held-out
    exemplars (eval/README.md, "Intents"): lane recall first, precision ≥ 0.9."""

    lane: float = 0.5
    crisis_share: float = 0.4


@dataclass
class IntentResult:
    intent: str
    probability: float
    probabilities: dict[str, float] = field(default_factory=dict)
    backstop: str | None = None  # the keyword rule that added a safety intent
    overridden: bool = False  # the documents changed the label (app/chat/service.py:weigh_domain)

    def as_dict(self) -> dict[str, Any]:
        top = sorted(self.probabilities.items(), key=lambda kv: -kv[1])[:3]
        return {"intent": self.intent, "p": round(self.probability, 3), "backstop": self.backstop,
                "domain_override": self.overridden,
                "top": {k: round(v, 3) for k, v in top}}


def load_exemplars(folder: Path = EXEMPLARS) -> list[Exemplar]:
    out: list[Exemplar] = []
    for path in sorted(Path(folder).glob("*.jsonl")):
        language = path.stem.split("_")[0]  # en.jsonl, en_2.jsonl … → en
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            raw = json.loads(line)
            if raw.get("intent") not in INTENTS:
                raise ValueError(f"{path.name}:{n}: intent must be one of {INTENTS}, not {raw.get('intent')!r}")
            out.append(Exemplar(raw["text"].strip(), raw["intent"], language, bool(raw.get("hard_negative"))))
    if not out:
        raise ValueError(f"no intent exemplars in {folder}")
    return out


def split(exemplars: list[Exemplar], share: float = 0.2) -> tuple[list[Exemplar], list[Exemplar]]:
    """(train, held-out): a fixed share of each intent and language, chosen by a hash of the text."""
    def held(e: Exemplar) -> bool:  # by text alone: "ok" written in two languages lands on one side
        h = int(hashlib.sha1(" ".join(e.text.lower().split()).encode()).hexdigest()[:8], 16)
        return (h % 1000) < share * 1000
    return [e for e in exemplars if not held(e)], [e for e in exemplars if held(e)]


def digest(exemplars: list[Exemplar]) -> str:
    h = hashlib.sha1()
    for e in exemplars:
        h.update(f"{e.language}\t{e.intent}\t{e.text}\n".encode())
    return h.hexdigest()[:12]


_FEATURE_CACHE: dict[str, dict[str, np.ndarray]] = {}  # per model: text → feature vector


class IntentClassifier:
    def __init__(self, embedder: Any, model: Any, thresholds: Thresholds = Thresholds()) -> None:
        self.embedder, self.model, self.thresholds = embedder, model, thresholds
        self.labels: list[str] = [str(c) for c in model.classes_]

    @classmethod
    def train(cls, embedder: Any, exemplars: list[Exemplar] | None = None, *, cache_dir: Path | None = None,
              thresholds: Thresholds = Thresholds(), c: float = 16.0) -> IntentClassifier:
        from sklearn.linear_model import LogisticRegression

        exemplars = exemplars if exemplars is not None else load_exemplars()
        x = cached_features(embedder, [e.text for e in exemplars], cache_dir)
        y = [e.intent for e in exemplars]
        model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
        model.fit(x, y)
        return cls(embedder, model, thresholds)

    def features(self, texts: list[str], query_vectors: np.ndarray | None = None) -> np.ndarray:
        return features(self.embedder, texts, query_vectors)

    def classify(self, text: str, query_vector: np.ndarray | None = None) -> IntentResult:
        qv = None if query_vector is None else query_vector.reshape(1, -1)
        return self.decide(self.model.predict_proba(self.features([text], qv))[0])

    def classify_many(self, texts: list[str]) -> list[IntentResult]:
        if not texts:
            return []
        return [self.decide(p) for p in self.model.predict_proba(self.features(texts))]

    def decide(self, probs: np.ndarray) -> IntentResult:
        p = {label: float(v) for label, v in zip(self.labels, probs, strict=True)}
        lane = p.get("crisis", 0.0) + p.get("sensitive", 0.0)
        if lane >= self.thresholds.lane:
            intent = "crisis" if p.get("crisis", 0.0) >= self.thresholds.crisis_share * lane else "sensitive"
            return IntentResult(intent, p[intent], p)
        best = max((k for k in p if k not in SAFETY), key=lambda k: p[k])
        return IntentResult(best, p[best], p)


def features(embedder: Any, texts: list[str], query_vectors: np.ndarray | None = None) -> np.ndarray:
    """e5 query vectors ⊕ companion vectors (when a companion encoder is loaded)."""
    e5 = query_vectors if query_vectors is not None else embedder.encode_queries(texts)
    parts = [np.asarray(e5, dtype="float32")]
    companion = getattr(embedder, "companion", None)
    if companion is not None:
        parts.append(np.asarray(companion.encode(texts), dtype="float32"))
    return np.hstack(parts)


def cached_features(embedder: Any, texts: list[str], cache_dir: Path | None) -> np.ndarray:
    """Feature vectors of `texts`, computed once per model and text (in memory, and on disk when a folder
    is given: one file per model, holding every text seen)."""
    model = f"{embedder.model_id}|{getattr(embedder, 'companion_id', '')}"
    memory = _FEATURE_CACHE.setdefault(model, {})
    path = Path(cache_dir) / f"intent-features-{hashlib.sha1(model.encode()).hexdigest()[:12]}.npz" \
        if cache_dir is not None else None
    if path is not None and path.exists() and not all(t in memory for t in texts):
        try:
            with np.load(path, allow_pickle=False) as stored:
                memory.update(zip(stored["texts"].tolist(), stored["vectors"], strict=True))
        except (OSError, ValueError, KeyError):
            log.warning("unreadable intent feature cache %s: recomputing", path)
    missing = list(dict.fromkeys(t for t in texts if t not in memory))
    if missing:
        memory.update(zip(missing, features(embedder, missing), strict=True))
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.savez(path, texts=np.array(list(memory)), vectors=np.stack(list(memory.values())))
            except OSError as e:  # a read-only folder only costs a few seconds at the next start
                log.warning("could not cache intent features in %s: %s", path, e)
    return np.stack([memory[t] for t in texts])
