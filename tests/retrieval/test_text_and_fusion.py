from app.retrieval.language import detect_language
from app.retrieval.search import reciprocal_rank_fusion
from app.retrieval.text import fold, query_tokens, tokenize


def test_tokens_fold_accents_and_stem_per_language():
    assert fold("Nóminas") == "nominas"
    assert tokenize("¿Puedo ver mis nóminas?", "es") == tokenize("puedo ver mi nomina", "es")
    assert tokenize("contracheques", "pt") == tokenize("contracheque", "pt")
    assert "passwords" not in tokenize("passwords", "en")  # stemmed


def test_query_tokens_add_english_stems_for_other_languages():
    assert set(tokenize("online", "en")) <= set(query_tokens("ver online", "pt"))


def test_rrf_rewards_agreement_between_retrievers():
    scores = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]], k=60)
    assert scores[1] > scores[3] > scores[2] > scores[4]
    assert abs(scores[1] - (1 / 61 + 1 / 62)) < 1e-12


def test_language_detection_for_employee_questions():
    cases = {
        "How do I reset my password?": "en", "¿Cómo restablezco mi contraseña?": "es",
        "Como redefinir minha senha?": "pt", "¿Puedo ver mis nóminas en línea?": "es",
        "Posso ver meus contracheques online?": "pt", "Is the day after Christmas a holiday?": "en",
        "¿Es festivo el día después de Navidad?": "es", "O dia seguinte ao Natal é feriado?": "pt",
        "Hola": "es", "Olá": "pt",
    }
    assert {q: detect_language(q)[0] for q in cases} == cases
