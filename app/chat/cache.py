"""Answers to repeated first questions: the same normalised text, language, groups and index build give the same
answer, so it is reused instead of classified, searched and composed again. Only answers that open no ticket are
kept (answered, offer a person, clarify, small talk, off-topic); a follow-up (it depends on its conversation)
and an LLM-written answer are never cached."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

CACHEABLE = frozenset({"answered", "answered_offer_human", "clarify", "smalltalk", "off_topic"})


def normalise(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip("?!.¿¡ ")


class AnswerCache:
    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def key(message: str, language: str, groups: set[str], build_id: str) -> Hashable:
        return normalise(message), language, frozenset(groups), build_id

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: Any) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
