"""Reports of an evaluation run: the console table, eval/reports/<stamp>.json, <stamp>.md and <stamp>/*.png."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from app.evaluation import plots
from app.evaluation.baseline import GateResult
from app.evaluation.composers import rows as composer_rows
from app.evaluation.judgment import intent_rows, judgment_rows
from app.evaluation.runner import RunResult
from app.evaluation.scoring import Record, Scored, answer_rate_sweep, operating_point

RETRIEVAL_COLUMNS = [("recall@1", "R@1"), ("recall@5", "R@5"), ("recall@10", "R@10"), ("mrr@10", "MRR@10"),
                     ("ndcg@10", "nDCG@10")]
ANSWER_COLUMNS = [("citation_precision", "cite P"), ("fact_recall", "facts"), ("language_match", "lang"),
                  ("escalation_precision", "esc P"), ("escalation_recall", "esc R"), ("escalation_f1", "esc F1"),
                  ("confident_wrong_rate", "conf-wrong"), ("answer_rate", "answered")]
LATENCY_COLUMNS = [("latency_p50_ms", "p50 ms"), ("latency_p95_ms", "p95 ms")]


@dataclass
class Written:
    json: Path
    markdown: Path
    images: dict[str, Path]


def _fmt(value: float | None, key: str = "") -> str:
    if value is None:
        return "–"
    if key.endswith("_ms"):
        return f"{value:.0f}"
    if key == "questions":
        return f"{value:.0f}"
    return f"{value:.3f}"


def columns(result: RunResult) -> list[tuple[str, str]]:
    cols = [("questions", "n"), *RETRIEVAL_COLUMNS]
    if result.benchmark.pipeline:
        cols += ANSWER_COLUMNS
    return cols + LATENCY_COLUMNS


def is_abstention(result: RunResult) -> bool:
    return result.benchmark.documents is not None and result.benchmark.pipeline


def removed(r: Record) -> bool:
    return r.kind == "unanswerable"


def abstention_summary(scored: Scored) -> dict[str, Any]:
    answered_removed = [r.answered for r in scored.records if removed(r)]
    answered_rest = [r.answered for r in scored.records if not removed(r)]
    point = operating_point(scored.records, removed, 0.9)
    return {
        # the yardstick: answer 90% of the questions whose document is there; how many of the rest?
        "removed_answered_at_present_90": point[1] if point else None,
        "threshold_at_present_90": point[0] if point else None,
        "answer_rate_removed": sum(answered_removed) / len(answered_removed) if answered_removed else None,
        "answer_rate_present": sum(answered_rest) / len(answered_rest) if answered_rest else None,
        "removed_questions": len(answered_removed), "present_questions": len(answered_rest),
        "sweep": [{"threshold": t, "removed": a, "present": b} for t, a, b in answer_rate_sweep(scored.records,
                                                                                                 removed)],
    }


def _scored_dict(s: Scored, primary: bool, abstention: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "overall": s.overall,
        **{f"by_{key}": value for key, value in s.breakdowns.items()},
        "seconds": round(s.seconds, 2), "throughput_qps": round(s.throughput, 2),
    }
    if s.sweep:
        out["suggested_threshold"] = asdict(s.suggestion) if s.suggestion else None
        if s.two_thresholds:
            out["suggested_two_thresholds"] = {"offer_human_threshold": s.two_thresholds[0],
                                               "answer_threshold": s.two_thresholds[1]}
        out["sweep"] = [asdict(p) for p in s.sweep]
        out["reliability"] = [asdict(b) for b in s.reliability]
    if abstention:
        out["abstention"] = abstention_summary(s)
    out["records"] = [r.as_dict(with_answer=primary) for r in s.records]
    return out


def to_dict(result: RunResult, gate: GateResult | None) -> dict[str, Any]:
    return {
        "meta": result.meta, "primary": result.primary, "warnings": result.warnings,
        "gate": gate.as_dict() if gate else None,
        "configs": {name: _scored_dict(s, name == result.primary, is_abstention(result))
                    for name, s in result.configs.items()},
    }


def stamp() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def write(result: RunResult, gate: GateResult | None, out_dir: Path, json_file: Path | None = None) -> Written:
    out_dir.mkdir(parents=True, exist_ok=True)
    base = f"{stamp()}-{result.benchmark.name}"
    images = _plots(result, out_dir / base)
    data = json.dumps(to_dict(result, gate), ensure_ascii=False, indent=1, default=str)
    json_path = out_dir / f"{base}.json"
    json_path.write_text(data, encoding="utf-8")
    if json_file:
        json_file.parent.mkdir(parents=True, exist_ok=True)
        json_file.write_text(data, encoding="utf-8")
    md_path = out_dir / f"{base}.md"
    md_path.write_text(markdown(result, gate, {k: p.relative_to(out_dir) for k, p in images.items()}),
                       encoding="utf-8")
    return Written(json_path, md_path, images)


def _plots(result: RunResult, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    primary = result.configs[result.primary]
    images = {"by_language": plots.metrics_by_language(folder / "metrics_by_language.png", primary)}
    if len(result.configs) > 1:
        images["ablations"] = plots.ablations(folder / "ablations.png", result.configs)
    if primary.sweep:
        images["reliability"] = plots.reliability(folder / "reliability.png", primary.reliability, primary.name)
        images["threshold"] = plots.threshold_sweep(
            folder / "threshold_sweep.png", primary.sweep, primary.name, result.meta["answer_threshold"],
            result.meta["offer_human_threshold"], primary.suggestion.threshold if primary.suggestion else None)
    if is_abstention(result):
        images["abstention"] = plots.abstention(folder / "abstention.png",
                                                answer_rate_sweep(primary.records, removed), primary.name)
    return images


# --- Markdown -------------------------------------------------------------------------------------------------

def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _metrics_table(groups: dict[str, dict[str, float | None]], cols: list[tuple[str, str]], first: str) -> str:
    return _md_table([first, *[label for _, label in cols]],
                     [[name, *[_fmt(values.get(k), k) for k, _ in cols]] for name, values in groups.items()])


def suggestion_text(s: Scored, meta: dict[str, Any]) -> list[str]:
    if not s.sweep:
        return []
    limit = meta["max_confident_wrong"]
    lines = [f"Configured: answer at ≥ {meta['answer_threshold']:.2f}, offer a person at ≥ "
             f"{meta['offer_human_threshold']:.2f}, escalate below."]
    if s.suggestion:
        p = s.suggestion
        lines.append(f"Suggested single threshold (best escalation F1 with confident-wrong ≤ {limit:.0%}): "
                     f"**{p.threshold:.2f}** (F1 {p.f1:.3f}, precision {p.precision:.3f}, recall {p.recall:.3f}, "
                     f"confident-wrong {p.confident_wrong:.1%}, answer rate {p.answer_rate:.1%}).")
    else:
        lines.append(f"No threshold keeps confident-wrong answers ≤ {limit:.0%}.")
    if s.two_thresholds:
        offer, answer = s.two_thresholds
        lines.append(f"With an offer-a-person band: offer_human_threshold **{offer:.2f}** (best F1), "
                     f"answer_threshold **{'–' if answer is None else f'{answer:.2f}'}** (lowest with "
                     f"confident-wrong ≤ {limit:.0%}).")
    return lines


def _failures(s: Scored, limit: int = 25) -> list[str]:
    recs = s.records
    sections: list[tuple[str, list[Record], str]] = [
        ("Retrieval misses (no gold document in the top 5)",
         [r for r in recs if r.gold and (r.retrieval() or {}).get("recall@5", 1) == 0], "retrieval"),
    ]
    if any(r.pipeline for r in recs):
        sections += [
            ("Confident wrong answers", [r for r in recs if r.confident_wrong()], "answer"),
            ("Should not have answered, but did", [r for r in recs if r.should_not_answer and not r.did_not_answer],
             "answer"),
            ("Should have answered, but did not", [r for r in recs if r.expect == "answer" and r.did_not_answer],
             "answer"),
            ("Answers missing required facts", [r for r in recs if r.answered and r.missing_facts()], "facts"),
            ("Language mismatches", [r for r in recs if r.language_ok is False], "answer"),
        ]
    out = _fact_diagnosis(recs)
    for title, rows, what in sections:
        out.append(f"\n### {title} ({len(rows)})\n")
        for r in rows[:limit]:
            gold = ", ".join(sorted({d for g in r.gold for d in g})[:3]) or "–"
            line = f"- `{r.id}` [{r.language}/{r.kind}] {r.question!r} — gold: {gold}; top: {', '.join(r.ranked[:3])}"
            if what != "retrieval":
                line += f"; outcome {r.outcome} ({r.reason or '-'}) conf {r.confidence:.2f}; cited {r.cited or '–'}"
            if what == "facts":
                line += f"; missing (fact → rank of the first retrieved chunk that has it) {r.fact_ranks}"
            out.append(line)
        if len(rows) > limit:
            out.append(f"- … and {len(rows) - limit} more (see the JSON report)")
    return out


def _fact_diagnosis(recs: list[Record]) -> list[str]:
    """Where the facts missing from answers were: in the best retrieved chunk (quoted, but the extract window or
    the chosen section left them out), in a lower-ranked chunk (passage selection), or nowhere retrieved."""
    ranks = [rank for r in recs if r.answered for rank in r.fact_ranks.values()]
    if not ranks:
        return []
    top = sum(rank == 0 for rank in ranks)
    lower = sum(rank is not None and rank > 0 for rank in ranks)
    return [f"\nFacts missing from answers: {len(ranks)} — {top} in the best retrieved chunk (left out by the "
            f"extract window or section choice), {lower} only in a lower-ranked retrieved chunk (passage "
            f"selection), {len(ranks) - top - lower} in no retrieved chunk (retrieval)."]


def markdown(result: RunResult, gate: GateResult | None, images: dict[str, Path]) -> str:
    meta, primary = result.meta, result.configs[result.primary]
    cols = columns(result)
    lines = [f"# Ayuda evaluation — {meta['benchmark']}", "", meta["description"], "",
             f"- {meta['questions']} questions" + (f" (sample of --limit {meta['limit']})" if meta["limit"] else ""),
             f"- index: {meta['index']}; build `{meta['build_id']}`, {meta['chunks']} chunks",
             f"- model `{meta['embedding_model']}`; reranker: {meta['reranker'] or 'none configured'}",
             f"- started {meta['started_at']}, took {meta['seconds']:.0f} s; primary configuration: "
             f"**{result.primary}**", ""]
    if gate:
        verdict = "no baseline to compare" if not gate.compared else ("PASSED" if gate.passed else "FAILED")
        lines += [f"**Gate: {verdict}** (baseline `{gate.baseline}`, tolerance {gate.tolerance})", ""]
        lines += [f"- regression: {r.describe()}" for r in gate.regressions]
        lines += [f"- note: {n}" for n in gate.notes] + [""]
    lines += [f"- warning: {w}" for w in result.warnings]
    lines += ["## Configurations (ablations)", "",
              _metrics_table({n: s.overall for n, s in result.configs.items()}, cols, "configuration"), "",
              _md_table(["configuration", "seconds", "questions/s"],
                        [[n, f"{s.seconds:.1f}", f"{s.throughput:.1f}"] for n, s in result.configs.items()]), ""]
    if "ablations" in images:
        lines += [f"![retrieval per configuration]({images['ablations']})", ""]
    for key in ("split", "language", "department", "kind"):
        groups = primary.breakdowns[key]
        if len(groups) > 1 or key == "language":
            lines += [f"## By {key} ({result.primary})", "", _metrics_table(groups, cols, key), ""]
    if "by_language" in images:
        lines += [f"![metrics per language]({images['by_language']})", ""]
    if primary.sweep:
        lines += ["## Confidence and escalation", "", *suggestion_text(primary, meta), "",
                  f"Expected calibration error: {_fmt(primary.overall.get('ece'))}", "",
                  f"![reliability diagram]({images['reliability']})",
                  f"![escalation vs threshold]({images['threshold']})", ""]
    if is_abstention(result):
        lines += ["## Abstention", "", _md_table(
            ["configuration", "answered (document removed)", "answered (document present)",
             "answered (removed) where 90% of present are answered", "at confidence"],
            [[n, _fmt(a["answer_rate_removed"]), _fmt(a["answer_rate_present"]),
              _fmt(a["removed_answered_at_present_90"]), _fmt(a["threshold_at_present_90"])]
             for n, a in ((n, abstention_summary(s)) for n, s in result.configs.items())]), "",
            f"![abstention]({images['abstention']})", ""]
    splits = {k: v for k, v in primary.breakdowns.get("split", {}).items() if k in ("dev", "test")}
    if splits:
        lines += [f"## Judgment ({result.primary}; targets apply to test)", "",
                  _md_table(["metric", "target", *splits], judgment_rows(splits)), ""]
    if meta.get("intents"):
        lines += ["## Intents (precision / recall (support))", "",
                  _md_table(["intent", *meta["intents"]], intent_rows(meta["intents"])), ""]
    if (meta.get("llm") or {}).get("summary"):
        lines += [f"## Composer: LLM ({meta['llm']['model']}) vs extractive (same questions and passages)", "",
                  _md_table(["metric", "llm", "extractive"], composer_rows(meta["llm"]["summary"])), ""]
    lines += [f"## What failed ({result.primary})", *_failures(primary), ""]
    return "\n".join(lines)


# --- console --------------------------------------------------------------------------------------------------

def _table(title: str, first: str, groups: dict[str, dict[str, float | None]], cols: list[tuple[str, str]]
           ) -> Table:
    table = Table(title=title, title_justify="left", padding=(0, 1), pad_edge=False)
    table.add_column(first, no_wrap=True)
    for key, label in cols:
        table.add_column(SHORT.get(key, label), justify="right")
    for name, values in groups.items():
        table.add_row(name, *[_fmt(values.get(k), k) for k, _ in cols])
    return table


SHORT = {"mrr@10": "MRR", "ndcg@10": "nDCG", "confident_wrong_rate": "CW", "answer_rate": "ans",
         "latency_p50_ms": "p50ms", "latency_p95_ms": "p95ms", "escalation_precision": "escP",
         "escalation_recall": "escR", "escalation_f1": "escF1", "citation_precision": "citeP"}
COMPACT_COLUMNS = [("questions", "n"), ("recall@5", "R@5"), ("fully_right", "right"), ("citation_precision", "cite P"),
                   ("fact_recall", "facts"), ("language_match", "lang"), ("escalation_f1", "esc F1"),
                   ("confident_wrong_rate", "conf-wrong"), ("answer_rate", "answered")]


def print_summary(console: Console, result: RunResult, gate: GateResult | None, written: Written | None) -> None:
    overall = {n: s.overall for n, s in result.configs.items()}
    qps = {n: f"{s.throughput:.1f}" for n, s in result.configs.items()}
    title = f"ayuda eval — {result.meta['benchmark']}, {result.meta['questions']} questions"
    console.print(_table(f"{title}: retrieval", "config", overall,
                         [("questions", "n"), *RETRIEVAL_COLUMNS, *LATENCY_COLUMNS]))
    console.print("[dim]throughput (questions/s): " + ", ".join(f"{n} {v}" for n, v in qps.items()) + "[/]")
    primary = result.configs[result.primary]
    if result.benchmark.pipeline:
        console.print(_table(f"{title}: answers and escalation", "config", overall, ANSWER_COLUMNS))
        console.print("[dim]citeP = cited documents that are gold · lang = language match · esc = escalation "
                      "(positive: should not answer) · CW = confident-wrong rate · ans = answer rate[/]")
        compact = COMPACT_COLUMNS
    else:
        compact = [("questions", "n"), *RETRIEVAL_COLUMNS]
    for key in ("split", "language", "department", "kind"):
        groups = primary.breakdowns[key]
        if len(groups) > 1 or key == "language":
            console.print(_table(f"{result.primary} by {key}", key, groups, compact))
    if is_abstention(result):
        for name, s in result.configs.items():
            a = abstention_summary(s)
            console.print(f"{name}: answered {_fmt(a['answer_rate_removed'])} of questions whose document was "
                          f"removed vs {_fmt(a['answer_rate_present'])} of the rest; at the confidence that "
                          f"answers 90% of the rest ({_fmt(a['threshold_at_present_90'])}) it answers "
                          f"{_fmt(a['removed_answered_at_present_90'])} of the removed")
    splits = {k: v for k, v in primary.breakdowns.get("split", {}).items() if k in ("dev", "test")}
    if splits:
        table = Table(title=f"{result.primary}: judgment (targets apply to test)", title_justify="left")
        for col in ["metric", "target", *splits]:
            table.add_column(col, justify="left" if col == "metric" else "right")
        for row in judgment_rows(splits):
            table.add_row(*row)
        console.print(table)
    if result.meta.get("intents"):
        table = Table(title="intents: precision / recall (support)", title_justify="left")
        for col in ["intent", *result.meta["intents"]]:
            table.add_column(col, justify="left" if col == "intent" else "right")
        for row in intent_rows(result.meta["intents"]):
            table.add_row(*row)
        console.print(table)
    if (result.meta.get("llm") or {}).get("summary"):
        table = Table(title=f"composer: LLM ({result.meta['llm']['model']}) vs extractive, same questions and "
                            f"passages", title_justify="left")
        for col in ("metric", "llm", "extractive"):
            table.add_column(col, justify="left" if col == "metric" else "right")
        for row in composer_rows(result.meta["llm"]["summary"]):
            table.add_row(*row)
        console.print(table)
    for line in suggestion_text(primary, result.meta) + _fact_diagnosis(primary.records):
        console.print(line.replace("**", "").strip(), highlight=False)
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {w}")
    console.print(f"index: {result.meta['index']} · total {result.meta['seconds']:.0f} s", highlight=False)
    if written:
        console.print(f"reports: {written.json}  {written.markdown}", highlight=False)
    if gate:
        for note in gate.notes:
            console.print(f"[yellow]note:[/] {note}", highlight=False)
        if not gate.compared:
            return
        if gate.passed:
            console.print(f"[green]Gate passed[/]: no metric worse than the baseline by more than {gate.tolerance}")
        else:
            console.print(f"[bold red]Gate failed[/]: {len(gate.regressions)} metric(s) worse than the baseline "
                          f"by more than {gate.tolerance}:")
            for r in gate.regressions:
                console.print(f"  - {r.describe()}", highlight=False)
            console.print("If the change is intended (or the golden set changed), record the new numbers with "
                          "`ayuda eval --update-baseline` and commit eval/baseline.json.", highlight=False)
