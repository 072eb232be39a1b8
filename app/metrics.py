"""Prometheus metrics (GET /metrics). One registry per app, so several apps in one process don't collide."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from app.chat.service import TurnResult


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.turns = Counter("ayuda_chat_turns", "Chat turns by outcome and language", ["outcome", "language"],
                             registry=self.registry)
        self.latency = Histogram("ayuda_chat_seconds", "Chat turn latency", registry=self.registry,
                                 buckets=(0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2))
        self.tickets = Counter("ayuda_tickets_opened", "Tickets opened from the chat", ["queue"],
                               registry=self.registry)
        self.llm_answers = Counter("ayuda_llm_answers", "What the LLM composer did: ok, not_found, guard_<check> "
                                   "(the quoted answer was shown), error, timeout", ["result"], registry=self.registry)
        self.llm_rewrites = Counter("ayuda_llm_rewrites", "Follow-up rewrites: ok, error (the rule was used), "
                                    "skipped (confidential, safety or private)", ["result"], registry=self.registry)
        self.index_chunks = Gauge("ayuda_index_chunks", "Chunks in the served index build", registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def counted_turn(metrics: Metrics | None, turn: Callable[[], TurnResult]) -> TurnResult:
    """A chat turn from Slack or e-mail, timed and counted as the web's are (nothing when `metrics` is None)."""
    if metrics is None:
        return turn()
    with metrics.latency.time():
        result = turn()
    count(metrics, result)
    return result


def count(metrics: Metrics, result: TurnResult) -> None:
    """A turn's outcome, its ticket and its LLM calls, whatever the channel; a retried request that was given the
    stored turn again (web or Slack) counted them the first time."""
    if result.replayed:
        return
    metrics.turns.labels(result.outcome, result.language).inc()
    if result.ticket:
        metrics.tickets.labels(result.ticket["queue"]).inc()
    if "compose" in result.llm:
        metrics.llm_answers.labels(result.llm["compose"]).inc()
    if "rewrite" in result.llm:
        metrics.llm_rewrites.labels(result.llm["rewrite"]).inc()
