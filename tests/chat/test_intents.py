"""The intent classifier: its exemplars, and what it makes of realistic messages (real model)."""

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from app.chat.intents import INTENTS, IntentClassifier, cached_features, load_exemplars, split
from tests.conftest import TEST_CACHE


def test_every_intent_has_enough_exemplars_in_every_language_plus_hard_negatives():
    exemplars = load_exemplars()
    counts = Counter((e.language, e.intent) for e in exemplars)
    for language in ("en", "es", "pt"):
        for intent in INTENTS:
            assert counts[(language, intent)] >= 40, (language, intent, counts[(language, intent)])
        assert sum(e.hard_negative for e in exemplars if e.language == language) >= 40


def test_the_classifier_reads_character_n_grams_of_accent_folded_text():
    from app.chat.intents import lexical_vectorizer
    from app.retrieval.text import fold

    assert fold("Ninguém ligaria se eu MORRESSE") == "ninguem ligaria se eu morresse"
    vectorizer = lexical_vectorizer().fit(["crachá esquecido", "cracha esquecido", "outra coisa"])
    assert (vectorizer.transform(["crachá"]) != vectorizer.transform(["cracha"])).nnz == 0


def test_the_held_out_split_is_stable_and_disjoint():
    exemplars = load_exemplars()
    train, held = split(exemplars)
    assert len(held) > 0.15 * len(exemplars) and not {e.text for e in train} & {e.text for e in held}
    assert split(exemplars)[1] == held


@pytest.mark.integration
def test_no_exemplar_repeats_a_golden_question(embedder):
    """The golden set measures the classifier: an exemplar that repeats a golden question (e5 cosine ≥ 0.965: the
    same words, give or take punctuation, a typo or a translation) would teach it the answer. Short messages on one
    theme ("quero um atendente" / "Quero falar com um atendente.") sit at 0.92–0.96 and are fine."""
    golden = [json.loads(line)["question"] for path in sorted(Path("eval/golden").glob("*.jsonl"))
              for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    exemplars = [e.text for e in load_exemplars()]
    # the exemplars' e5 vectors are the first part of their intent features, computed once per session
    vectors = cached_features(embedder, exemplars, TEST_CACHE)[:, : embedder.dimension]
    near = vectors @ embedder.encode_queries(golden).T
    worst = near.max(axis=1)
    offenders = [(exemplars[i], golden[int(near[i].argmax())]) for i in worst.argsort()[::-1][:5] if worst[i] >= 0.965]
    assert not offenders, offenders


@pytest.fixture(scope="module")
def classifier(embedder):  # type: ignore[no-untyped-def]
    return IntentClassifier.train(embedder, cache_dir=TEST_CACHE)


@pytest.mark.integration
@pytest.mark.parametrize("message,intent", [
    ("How many days of annual leave do I get in Madrid?", "question"),
    ("se me ha bloqueado la cuenta del correo", "question"),
    ("qnd cai o vale refeição?", "question"),
    ("kill the process that froze my laptop", "question"),
    ("When is the next harassment training session?", "question"),
    ("hello there!", "smalltalk"), ("muito obrigada!!", "smalltalk"),
    ("can I speak to someone from HR please", "human_request"), ("pásame con una persona", "human_request"),
    ("My team lead keeps asking me out even after I said no and now he ignores me in meetings", "sensitive"),
    ("me pagan menos que a mis compañeros hombres por el mismo puesto", "sensitive"),
    ("I've written letters to my family and I won't need my things anymore", "crisis"),
    ("How much does my colleague Marta earn?", "private_data"),
    ("quem do meu time tirou nota baixa na avaliação?", "private_data"),
    ("who won the champions league final?", "off_topic"), ("receta de tortilla de patatas", "off_topic"),
    # scary words in ordinary questions, and slang or indirect danger (none of these is an exemplar)
    ("o outlook morreu de novo, como reinstalo?", "question"),
    ("the teams process is dead, how do I kill it and restart", "question"),
    ("se me ha olvidado la tarjeta de acceso, como entro al edificio", "question"),
    ("estoy reventado este mes, cuantos dias de vacaciones me quedan", "question"),
    ("i'm dying to know when payday is lol", "question"),
    ("ninguem ia sentir falta se eu sumisse de vez", "crisis"),
    ("a nadie le importaria si me muero manana", "crisis"),
    ("some guy is kicking the door of the meeting room and screaming he'll hurt us", "crisis"),
    ("my manager squeezed my bum at the christmas party", "sensitive"),
])
def test_realistic_messages_get_the_right_intent(classifier, message, intent):
    assert classifier.classify(message).intent == intent


@pytest.mark.integration
def test_the_classifiers_own_arithmetic_gives_scikit_learns_probabilities(classifier):
    """The served path (app/chat/intent_scores.py) on the held-out exemplars: scikit-learn's probabilities."""
    texts = [e.text for e in split(load_exemplars())[1]]
    dense = cached_features(classifier.embedder, texts, TEST_CACHE)
    assert classifier.scores is not None
    np.testing.assert_allclose(classifier.probabilities(texts, dense), classifier._library_probabilities(dense, texts),
                               rtol=0, atol=1e-9)


@pytest.mark.integration
def test_a_trained_classifier_is_kept_on_disk_and_a_new_process_does_not_train_again(embedder, tmp_path, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    from app.chat import intents

    exemplars = load_exemplars()[:400]
    monkeypatch.setattr(intents, "_TRAINED", {})
    first = IntentClassifier.train(embedder, exemplars, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("intent-model-*.joblib"))) == 1

    def no_training(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("trained again")

    monkeypatch.setattr(intents, "_TRAINED", {})  # as in a new process
    monkeypatch.setattr(LogisticRegression, "fit", no_training)
    again = IntentClassifier.train(embedder, exemplars, cache_dir=tmp_path)
    messages = ["I want to talk to a person", "¿Cuántos días de vacaciones tengo?", "qual é o salário do João?"]
    assert [r.as_dict() for r in map(again.classify, messages)] == [r.as_dict() for r in map(first.classify, messages)]

    for f in tmp_path.glob("intent-model-*.joblib"):  # a damaged file: trained again (and kept again)
        f.write_bytes(b"not a model")
    monkeypatch.undo()
    monkeypatch.setattr(intents, "_TRAINED", {})
    assert IntentClassifier.train(embedder, exemplars, cache_dir=tmp_path).classify(messages[0]).intent == \
        first.classify(messages[0]).intent


def test_the_feature_cache_file_is_replaced_whole_and_a_damaged_one_is_recomputed(embedder, tmp_path, monkeypatch):
    from app.chat import intents

    texts = ["quero falar com alguém do RH", "my laptop screen is broken"]
    monkeypatch.setattr(intents, "_FEATURE_CACHE", {})
    first = cached_features(embedder, texts, tmp_path)
    [stored] = tmp_path.glob("intent-features-*.npz")
    assert [p.name for p in tmp_path.iterdir()] == [stored.name]  # no temporary file left beside it

    stored.write_bytes(stored.read_bytes()[:100])  # cut short, as by a crash mid-write
    monkeypatch.setattr(intents, "_FEATURE_CACHE", {})  # as in a new process
    again = cached_features(embedder, [*texts, "¿dónde está mi nómina?"], tmp_path)
    assert np.allclose(again[:2], first, atol=1e-5) and again.shape[0] == 3
    with np.load(stored) as readable:
        assert len(readable["texts"]) == 3


def test_exemplar_features_are_cached_apart_for_each_precision(tmp_path, monkeypatch):
    """Vectors computed in fp32 are not reused by an embedder computing in bf16 (and the reverse)."""
    from types import SimpleNamespace

    from app.chat import intents

    computed: list[str] = []

    def features(embedder, texts):  # type: ignore[no-untyped-def]
        computed.append(embedder.precision)
        return np.full((len(texts), 2), 1.0 if embedder.precision == "fp32" else 2.0)

    monkeypatch.setattr(intents, "features", features)
    monkeypatch.setattr(intents, "_FEATURE_CACHE", {})
    fp32 = SimpleNamespace(model_id="m:384:abc", companion_id="use", precision="fp32")
    bf16 = SimpleNamespace(model_id="m:384:abc", companion_id="use", precision="bf16")
    assert intents.cached_features(fp32, ["hola"], tmp_path)[0, 0] == 1.0
    assert intents.cached_features(bf16, ["hola"], tmp_path)[0, 0] == 2.0
    assert intents.cached_features(fp32, ["hola"], tmp_path)[0, 0] == 1.0  # each kept, on disk too
    assert computed == ["fp32", "bf16"]
