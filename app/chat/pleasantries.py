"""A message's opening and closing small talk ("Hi team!", "Thanks a lot, Maria") left out of what is
classified and searched.

Employees wrap questions in greetings and sign-offs. Read whole, such a message was judged by its wrapping: on the
golden set's dev questions, "… Thanks, Maria" sent 37 of 336 to `private_data` (a named person), and a greeting in
front moved the search (recall@1 0.881 → 0.833). So the short sentences at either end are put to the intent
classifier on their own, and those it is sure are small talk are left out, when something else remains. A message
of small talk only stays whole (a greeting gets a greeting), and one the safety words flag is never cut. Measured in
eval/README.md, "Greetings and sign-offs record".
"""

from __future__ import annotations

import re
from collections.abc import Callable

_BREAK = re.compile(r"(?<=[.!?:…])\s+|\s*\n\s*")
EDGE_WORDS = 8  # an opening or a closing is short
EDGE_SENTENCES = 2  # looked at, at each end
SURE = 0.9  # the classifier's small-talk probability for a sentence to be left out ("What should I do?": 0.46)


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence (or line) of `text`."""
    spans, start = [], 0
    for m in _BREAK.finditer(text):
        if text[start : m.start()].strip():
            spans.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans


def could_be_small_talk(sentence: str) -> bool:
    """Worth asking the classifier: short, not a question, no number ("(ref 4521)", "How do I …?" are not looked
    at, so most messages cost no classification of their own)."""
    return len(sentence.split()) <= EDGE_WORDS and not sentence.rstrip().endswith("?") and \
        not any(c.isdigit() for c in sentence)


def without_small_talk(message: str, small_talk: Callable[[list[str]], list[float]]) -> str:
    """`message` without the sentences at its ends that the intent classifier, on each sentence alone, is sure are
    small talk (`small_talk`: their probabilities of it); the message itself when nothing else would remain."""
    spans = sentences(message)
    if len(spans) < 2:
        return message
    ends = sorted({*range(min(EDGE_SENTENCES, len(spans))), *range(max(0, len(spans) - EDGE_SENTENCES), len(spans))})
    short = [i for i in ends if could_be_small_talk(message[spans[i][0] : spans[i][1]])]
    if not short:
        return message
    p = dict(zip(short, small_talk([message[spans[i][0] : spans[i][1]] for i in short]), strict=True))
    first, last = 0, len(spans)
    while first < last and p.get(first, 0.0) >= SURE:
        first += 1
    while last > first and p.get(last - 1, 0.0) >= SURE:
        last -= 1
    if first == last or (first == 0 and last == len(spans)):
        return message
    return message[spans[first][0] : spans[last - 1][1]]
