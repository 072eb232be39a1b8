"""`ayuda eval --composer llm`: the golden set through the configured LLM endpoint, beside the extractive composer
on the same questions and passages: the grounding guard's pass rate, fact recall, language match, latency, and
(when AYUDA_EVAL_JUDGE_BASE_URL is set) an LLM judge's faithfulness score for the generated answers shown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from app.chat.grounding import prose
from app.chat.llm import LLMClient, LLMError
from app.config import Settings
from app.evaluation import metrics as m
from app.evaluation.scoring import Record

JUDGE = """You check an answer for faithfulness to its sources. Reply YES if every statement in the answer is \
supported by the passages, and NO if any statement is not. Reply with YES or NO only."""


def judge_client(settings: Settings) -> LLMClient | None:
    if not settings.eval_judge_base_url.strip():
        return None
    return LLMClient(settings.eval_judge_base_url.strip(), settings.eval_judge_model.strip() or settings.llm_model,
                     settings.eval_judge_api_key or settings.llm_api_key, settings.llm_timeout_seconds, 8)


def faithful(judge: LLMClient, question: str, passages: Sequence[str], answer: str) -> bool | None:
    """The judge's verdict; None when it failed or said neither."""
    text = "\n\n".join(f"[{i}] {p}" for i, p in enumerate(passages, start=1))
    prompt = f"Question: {question}\n\nPassages:\n{text}\n\nAnswer:\n{answer}"
    try:
        reply = judge.complete([{"role": "system", "content": JUDGE}, {"role": "user", "content": prompt}])
    except LLMError:
        return None
    word = reply.strip().upper()[:3]
    return True if word.startswith("YES") else False if word.startswith("NO") else None


def summary(records: Sequence[Record], detect: Callable[[str], tuple[str, float]]) -> dict[str, Any]:
    """LLM composer vs extractive composer over the questions the LLM composer was asked to answer."""
    asked = [r for r in records if r.composer]
    results = Counter(r.composer["result"] for r in asked)
    with_facts = [r for r in asked if r.facts]

    def recall(answer_of: Callable[[Record], str]) -> float | None:
        return m.mean(m.fact_recall(answer_of(r), r.facts) for r in with_facts)

    def language(answer_of: Callable[[Record], str]) -> float | None:
        return m.mean(float(detect(prose(answer_of(r)))[0] == r.language) for r in asked if answer_of(r).strip())

    ms = [r.composer["ms"] for r in asked]
    verdicts = [r.composer["faithful"] for r in asked if r.composer.get("faithful") is not None]
    shown = [r for r in asked if r.composer["result"] == "ok"]
    return {
        "questions": len(asked),
        "results": dict(results.most_common()),
        "guard_pass_rate": m.mean(float(r.composer["result"] == "ok") for r in asked),
        "not_found_rate": m.mean(float(r.composer["result"] == "not_found") for r in asked),
        "fact_recall": {"llm": recall(lambda r: r.answer), "extractive": recall(lambda r: r.composer["extractive"])},
        "language_match": {"llm": language(lambda r: r.answer),
                           "extractive": language(lambda r: r.composer["extractive"])},
        "answer_chars": {"llm": m.mean(float(len(r.answer)) for r in shown),
                         "extractive": m.mean(float(len(r.composer["extractive"])) for r in shown)},
        "llm_ms": {"p50": m.percentile(ms, 50), "p95": m.percentile(ms, 95)},
        "judge_faithfulness": m.mean(float(v) for v in verdicts) if verdicts else None,
        "judged": len(verdicts),
    }


def rows(s: dict[str, Any]) -> list[list[str]]:
    def f(v: float | None, pct: bool = True) -> str:
        return "—" if v is None else (f"{v:.3f}" if pct else f"{v:.0f}")

    return [
        ["questions composed", str(s["questions"]), ""],
        ["guard pass rate (generated answer shown)", f(s["guard_pass_rate"]), ""],
        ["model said the passages don't answer", f(s["not_found_rate"]), ""],
        ["fact recall", f(s["fact_recall"]["llm"]), f(s["fact_recall"]["extractive"])],
        ["language match (answer text)", f(s["language_match"]["llm"]), f(s["language_match"]["extractive"])],
        ["answer length, chars (when shown)", f(s["answer_chars"]["llm"], False),
         f(s["answer_chars"]["extractive"], False)],
        ["LLM latency p50 / p95, ms", f"{f(s['llm_ms']['p50'], False)} / {f(s['llm_ms']['p95'], False)}", ""],
        ["judge faithfulness", f(s["judge_faithfulness"]) + (f" ({s['judged']})" if s["judged"] else ""), ""],
        ["results", ", ".join(f"{k} {v}" for k, v in s["results"].items()), ""],
    ]


def cited_passages(draft_hits: Sequence[Any], citations: Sequence[Any]) -> list[str]:
    texts = []
    for c in citations:
        hit = next((h for h in draft_hits if h.chunk.doc_id == c.doc_id and h.chunk.section == c.section), None)
        if hit is not None:
            texts.append(hit.passage or hit.chunk.text)
    return texts
