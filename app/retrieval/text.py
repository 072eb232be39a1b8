"""Text normalisation for BM25 and lexical scoring: accent folding, stop words, Snowball stemming."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

_STEMMERS = {"en": "english", "es": "spanish", "pt": "portuguese"}
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)

STOPWORDS = {
    "en": set(
        ["a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "do", "does", "did", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "so", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to", "up", "us", "was", "we", "were", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you", "your", "am", "any", "about", "after", "all", "also", "more", "most", "other", "some", "such", "only", "own", "same", "should", "just", "get", "got", "not", "no", "yes"]
    ),
    "es": set(
        ["a", "al", "algo", "ante", "como", "con", "cual", "cuales", "cuando", "de", "del", "desde", "donde", "el", "ella", "ellas", "ellos", "en", "entre", "era", "es", "esa", "ese", "eso", "esta", "este", "esto", "estoy", "fue", "ha", "hay", "la", "las", "le", "les", "lo", "los", "me", "mi", "mis", "muy", "nada", "ni", "no", "nos", "o", "os", "para", "pero", "por", "que", "quien", "se", "ser", "si", "sin", "sobre", "su", "sus", "tambien", "te", "tengo", "ti", "tu", "tus", "un", "una", "unas", "uno", "unos", "y", "ya", "yo", "puedo", "hago", "hacer", "debo", "cómo", "qué", "dónde", "cuándo", "cuál"]
    ),
    "pt": set(
        ["a", "ao", "aos", "as", "com", "como", "da", "das", "de", "do", "dos", "e", "ela", "elas", "ele", "eles", "em", "entre", "era", "essa", "esse", "esta", "este", "eu", "foi", "ha", "isso", "isto", "ja", "la", "lhe", "mais", "mas", "me", "meu", "meus", "minha", "minhas", "muito", "na", "nas", "nao", "no", "nos", "o", "os", "ou", "para", "pela", "pelo", "por", "qual", "quando", "que", "quem", "se", "sem", "ser", "seu", "seus", "sua", "suas", "tambem", "te", "tem", "tenho", "um", "uma", "umas", "uns", "voce", "posso", "fazer", "devo", "onde"]
    ),
}
_ALL_STOP = {unicodedata.normalize("NFKD", w).encode("ascii", "ignore").decode() for s in STOPWORDS.values() for w in s}


def fold(text: str) -> str:
    """Lowercase and strip accents: 'Nóminas' -> 'nominas'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_fold_word = lru_cache(maxsize=1 << 18)(fold)  # a corpus repeats its words: fold each distinct one once


@lru_cache(maxsize=8)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(_STEMMERS.get(language, "english"))


def tokenize(text: str, language: str = "en") -> list[str]:
    """Content tokens, accent-folded and stemmed with the given language's stemmer."""
    words = [_fold_word(w) for w in _WORD.findall(text)]
    words = [w for w in words if w not in _ALL_STOP and (len(w) > 1 or w.isdigit())]
    return _stemmer(language).stemWords(words)


@lru_cache(maxsize=4096)
def passage_tokens(text: str, language: str = "en") -> frozenset[str]:
    """`tokenize` as a set, kept for the passages (and their sentences) that answers are scored and cut from: the
    same few passages come back for many questions, and tokenizing them was ~1 ms of every turn."""
    return frozenset(tokenize(text, language))


def query_tokens(text: str, language: str) -> list[str]:
    """Query tokens stemmed with the query's language and English (documents are often English)."""
    tokens = tokenize(text, language)
    if language != "en":
        tokens += [t for t in tokenize(text, "en") if t not in tokens]
    return tokens
