"""The question a message of several sentences asks, searched on its own when the whole message is not answered.

Employees put sentences around a question that say nothing about what it asks: "My manager Pedro told me to ask
here.", "URGENT:", "I need to know by Friday.". Searched whole, such messages matched worse: on the golden set's dev
questions, one such sentence took `fully_right` from 0.746 to 0.517–0.712. But some sentences carry the question's
meaning ("I spilled coffee on my laptop. What should I do?"), and no rule on the words tells them apart. The
documents can: a message they answer as written is answered as written; one they don't is searched again with its
questions alone (or, with no question mark, each of its two or three sentences alone), and the best of those searches
is kept when it lets them answer. Measured in eval/README.md, "Question focus record".
"""

from __future__ import annotations

from app.chat.pleasantries import sentences

MAX_STATEMENTS = 3  # a longer message without a question mark is searched whole only


def sentence_texts(message: str) -> list[str]:
    """The sentences (or lines) of `message`, in order."""
    return [message[a:b].strip() for a, b in sentences(message)]


def question_focus(message: str) -> str | None:
    """The sentences of `message` that end in "?", when it also has others; None otherwise."""
    spans = sentence_texts(message)
    asked = [s for s in spans if s.endswith("?")]
    if not asked or len(asked) == len(spans):
        return None
    return " ".join(asked)


def statements(message: str) -> list[str]:
    """Each sentence of a message of two or three sentences none of which ends in "?" ("URGENT: la vpn no va"), to
    search alone when the whole is not answered: with no question mark, nothing tells which sentence asks."""
    spans = sentence_texts(message)
    if not 2 <= len(spans) <= MAX_STATEMENTS or any(s.endswith("?") for s in spans):
        return []
    return spans
