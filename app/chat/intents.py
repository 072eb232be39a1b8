"""What a message is, before anything is searched: an intent classifier over the encoders already loaded.

Logistic regression on the e5 query vector joined with the companion encoder's vector (USE multilingual)
and the message's character n-grams (TF-IDF over accent-folded text, so "ngm liga se eu morrer" and
"he matado outlook" are read by their words as well as by an encoder that rarely saw such slang), trained on
exemplars kept in `app/chat/exemplars/<lang>.jsonl` (at least 60 per intent per language, plus hard
negatives: ordinary questions that use a scary word). It learns meaning across en/es/pt instead of
keyword lists. The safety lane (crisis, sensitive) wins at a lower bar than the argmax, and a keyword backstop
(app/chat/routing.py) can add a safety intent, never remove one.

Training takes about 6 s on 2 cores once the exemplar vectors exist (those are cached per model in memory and on
disk), once per process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.chat.intent_scores import LinearScores
from app.retrieval.text import fold

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
    (over-caution is cheap there, but a harassment report must not read as a crisis). Chosen by 5-fold
    cross-validation on the exemplars' training split, never the held-out 20% (eval/README.md, "Intents"): lane
    recall ≥ 0.98 first, lane precision ≥ 0.9, then crisis recall (support lines shown to someone who needed only
    a person cost little); 0.35 sent a dev question about a company car to the confidential lane."""

    lane: float = 0.4
    crisis_share: float = 0.3


@dataclass
class IntentResult:
    intent: str
    probability: float
    probabilities: dict[str, float] = field(default_factory=dict)
    backstop: str | None = None  # the keyword rule that added a safety intent
    overridden: bool = False  # the documents changed the label (app/chat/responder.py:weigh_domain)

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
_TRAINED: dict[tuple[Any, ...], tuple[Any, Any]] = {}
KEEP_TRAINED = 4  # fitted classifiers kept in the cache folder (the newest)  # (models, exemplars, settings) → (fitted model, vectorizer)


def lexical_vectorizer() -> Any:
    """Character 2–5-grams within words, over accent-folded lowercase text (chosen by cross-validation on the
    training split: eval/README.md, "Intents")."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, preprocessor=fold)


class IntentClassifier:
    def __init__(self, embedder: Any, model: Any, lexical: Any = None, thresholds: Thresholds = Thresholds()) -> None:
        self.embedder, self.model, self.lexical, self.thresholds = embedder, model, lexical, thresholds
        self.labels: list[str] = [str(c) for c in model.classes_]
        self.scores = LinearScores.of(model, lexical, self._library_probabilities)  # None: scikit-learn's path

    @classmethod
    def train(cls, embedder: Any, exemplars: list[Exemplar] | None = None, *, cache_dir: Path | None = None,
              thresholds: Thresholds = Thresholds(), c: float = 16.0, lexical: bool = True) -> IntentClassifier:
        from sklearn.linear_model import LogisticRegression

        exemplars = exemplars if exemplars is not None else load_exemplars()
        key = (_features_of(embedder), digest(exemplars), c, lexical)
        trained = _TRAINED.get(key) or _load_trained(key, cache_dir)  # a process trains once; a new one reads it
        if trained is None:
            texts = [e.text for e in exemplars]
            dense = cached_features(embedder, texts, cache_dir)
            vectorizer = lexical_vectorizer().fit(texts) if lexical else None
            model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
            model.fit(_join(dense, vectorizer, texts), [e.intent for e in exemplars])
            trained = (model, vectorizer)
            _save_trained(key, cache_dir, trained)
        _TRAINED[key] = trained
        return cls(embedder, trained[0], trained[1], thresholds)

    def features(self, texts: list[str], query_vectors: np.ndarray | None = None) -> np.ndarray:
        return features(self.embedder, texts, query_vectors)

    def probabilities(self, texts: list[str], dense: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities (columns in `self.labels` order); `dense`: the texts' encoder features, if known."""
        dense = self.features(texts) if dense is None else dense
        if self.scores is not None:
            return self.scores.probabilities(dense, texts)
        return self._library_probabilities(dense, texts)

    def _library_probabilities(self, dense: np.ndarray, texts: list[str]) -> np.ndarray:
        return np.asarray(self.model.predict_proba(_join(dense, self.lexical, texts)))

    def classify(self, text: str, query_vector: np.ndarray | None = None) -> IntentResult:
        qv = None if query_vector is None else query_vector.reshape(1, -1)
        return self.decide(self.probabilities([text], self.features([text], qv))[0])

    def classify_many(self, texts: list[str]) -> list[IntentResult]:
        if not texts:
            return []
        return [self.decide(p) for p in self.probabilities(texts)]

    def decide(self, probs: np.ndarray) -> IntentResult:
        p = {label: float(v) for label, v in zip(self.labels, probs, strict=True)}
        lane = p.get("crisis", 0.0) + p.get("sensitive", 0.0)
        if lane >= self.thresholds.lane:
            intent = "crisis" if p.get("crisis", 0.0) >= self.thresholds.crisis_share * lane else "sensitive"
            return IntentResult(intent, p[intent], p)
        best = max((k for k in p if k not in SAFETY), key=lambda k: p[k])
        return IntentResult(best, p[best], p)


def _trained_file(key: tuple[Any, ...], cache_dir: Path) -> Path:
    """The file of a fitted classifier: named by its key, scikit-learn's version and the code that makes its
    features (this module and the text folding), so a change to any of them trains again."""
    from sklearn import __version__ as sklearn_version

    from app.retrieval import text

    code = hashlib.sha1(Path(__file__).read_bytes() + Path(text.__file__).read_bytes()).hexdigest()
    name = hashlib.sha1(repr((key, sklearn_version, code)).encode()).hexdigest()[:16]
    return Path(cache_dir) / f"intent-model-{name}.joblib"


def _load_trained(key: tuple[Any, ...], cache_dir: Path | None) -> tuple[Any, Any] | None:
    """The fitted classifier a process kept for these models, exemplars and settings (training takes ~5 s at every
    start otherwise). joblib's pickle: the file is Ayuda's own, in its cache folder."""
    if cache_dir is None or not _trained_file(key, cache_dir).exists():
        return None
    import joblib

    try:
        model, vectorizer = joblib.load(_trained_file(key, cache_dir))
        return model, vectorizer
    except Exception as e:  # noqa: BLE001 - any unreadable file is trained again
        log.warning("unreadable intent model %s (%s): training again", _trained_file(key, cache_dir), e)
        return None


def _save_trained(key: tuple[Any, ...], cache_dir: Path | None, trained: tuple[Any, Any]) -> None:
    if cache_dir is None:
        return
    import joblib

    path = _trained_file(key, cache_dir)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(trained, tmp)
        os.replace(tmp, path)
        kept = sorted(path.parent.glob("intent-model-*.joblib"), key=lambda f: f.stat().st_mtime, reverse=True)
        for old in kept[KEEP_TRAINED:]:  # models of older code or exemplars
            old.unlink(missing_ok=True)
    except OSError as e:  # a read-only folder: the next start trains again
        log.warning("could not keep the intent model in %s: %s", path, e)


def _join(dense: np.ndarray, vectorizer: Any, texts: list[str]) -> Any:
    """Encoder features ⊕ character n-grams (a sparse matrix), or the encoder features alone."""
    if vectorizer is None:
        return dense
    from scipy.sparse import csr_matrix, hstack

    return hstack([csr_matrix(dense), vectorizer.transform(texts)]).tocsr()


def features(embedder: Any, texts: list[str], query_vectors: np.ndarray | None = None) -> np.ndarray:
    """e5 query vectors ⊕ companion vectors (when a companion encoder is loaded)."""
    e5 = query_vectors if query_vectors is not None else embedder.encode_queries(texts)
    parts = [np.asarray(e5, dtype="float32")]
    companion = getattr(embedder, "companion", None)
    if companion is not None:
        parts.append(np.asarray(companion.encode_queries(texts), dtype="float32"))
    return np.hstack(parts)


def _features_of(embedder: Any) -> str:
    """What an exemplar's features depend on: the models and, unless fp32, the precision they computed in (a
    cache of fp32 vectors reused under bf16 moved a borderline golden question to another intent)."""
    precision = getattr(embedder, "precision", "fp32")
    models = f"{embedder.model_id}|{getattr(embedder, 'companion_id', '')}"
    return models if precision == "fp32" else f"{models}|{precision}"


def cached_features(embedder: Any, texts: list[str], cache_dir: Path | None) -> np.ndarray:
    """Feature vectors of `texts`, computed once per model and text (in memory, and on disk when a folder
    is given: one file per model, holding every text seen)."""
    model = _features_of(embedder)
    memory = _FEATURE_CACHE.setdefault(model, {})
    path = Path(cache_dir) / f"intent-features-{hashlib.sha1(model.encode()).hexdigest()[:12]}.npz" \
        if cache_dir is not None else None
    if path is not None and path.exists() and not all(t in memory for t in texts):
        try:
            with np.load(path, allow_pickle=False) as stored:
                memory.update(zip(stored["texts"].tolist(), stored["vectors"], strict=True))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            log.warning("unreadable intent feature cache %s: recomputing", path)
    missing = list(dict.fromkeys(t for t in texts if t not in memory))
    if missing:
        memory.update(zip(missing, features(embedder, missing), strict=True))
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.stem}.{os.getpid()}.npz")  # replaced whole: a reader never sees half
                np.savez(tmp, texts=np.array(list(memory)), vectors=np.stack(list(memory.values())))
                os.replace(tmp, path)
            except OSError as e:  # a read-only folder only costs a few seconds at the next start
                log.warning("could not cache intent features in %s: %s", path, e)
    return np.stack([memory[t] for t in texts])
