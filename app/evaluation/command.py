"""`ayuda eval`: run a benchmark, write the reports, compare with the baseline; returns the exit code.

Exit codes: 0 = no metric worse than the baseline by more than the tolerance (or nothing to compare),
1 = regressions (listed), 2 = the run could not be made (missing data, model or corpus).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from app.config import Settings
from app.evaluation import baseline, report
from app.evaluation.datasets import DatasetError
from app.evaluation.runner import RunOptions, load_benchmark, run


@dataclass
class EvalCommand:
    benchmark: str = "golden"
    golden_dir: Path = Path("eval/golden")
    json_file: Path | None = None
    ablations: bool = True
    baseline: Path = Path("eval/baseline.json")
    update_baseline: bool = False
    tolerance: float = 0.02
    limit: int | None = None
    reports_dir: Path = Path("eval/reports")
    split: str | None = None
    composer: str = "extractive"


def execute(cmd: EvalCommand, settings: Settings, out: Console, err: Console, embedder=None) -> int:  # type: ignore[no-untyped-def]
    from app.retrieval import CorpusError, ModelNotFound, embedder_for

    started = time.perf_counter()
    options = RunOptions(cmd.benchmark, cmd.golden_dir, cmd.ablations, cmd.limit, split=cmd.split,
                         composer=cmd.composer)
    if cmd.composer == "llm" and not settings.llm_enabled:
        err.print("[bold red]Error:[/] --composer llm needs an endpoint: set AYUDA_LLM_BASE_URL and AYUDA_LLM_MODEL")
        return 2
    try:
        bench = load_benchmark(options)  # before the model: bad data fails fast
        baseline.load(cmd.baseline)
    except (DatasetError, ValueError) as e:  # ValueError: a baseline file that is not a baseline (or not JSON)
        err.print(f"[bold red]Error:[/] {e}")
        return 2
    try:
        if embedder is None:
            embedder = embedder_for(settings)
    except ModelNotFound as e:
        err.print(f"[bold red]Error:[/] {e}")
        return 2
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=err, disable=not err.is_terminal, transient=True)
    tasks: dict[str, TaskID] = {}

    def advance(config: str, done: int, total: int) -> None:
        if config not in tasks:
            tasks[config] = progress.add_task(f"{config:>14}", total=total)
        progress.update(tasks[config], completed=done)

    try:
        with progress:
            result = run(settings, embedder, options, advance, log=lambda msg: err.print(msg, highlight=False),
                         bench=bench)
    except CorpusError as e:
        err.print(f"[bold red]Error:[/] {e}")
        return 2
    flat = result.flat()
    info = {"questions": result.meta["questions"], "fingerprint": result.meta["fingerprint"],
            "limit": result.meta["limit"], "embedding_model": result.meta["embedding_model"],
            "reranker": result.meta["reranker"]}
    if cmd.composer == "llm":  # the baseline gates the extractive composer; an external model is reported only
        written = report.write(result, None, cmd.reports_dir, cmd.json_file)
        report.print_summary(out, result, None, written)
        out.print(f"[dim]ayuda eval finished in {time.perf_counter() - started:.0f} s[/]")
        return 0
    try:
        if cmd.update_baseline:
            baseline.update(cmd.baseline, cmd.benchmark, flat, info)
            err.print(f"baseline for {cmd.benchmark!r} written to {cmd.baseline}")
        gate = baseline.gate(cmd.baseline, cmd.benchmark, flat, cmd.tolerance, info, set(result.configs))
    except ValueError as e:  # includes a baseline file that is not JSON
        err.print(f"[bold red]Error:[/] {e}")
        return 2
    written = report.write(result, gate, cmd.reports_dir, cmd.json_file)
    report.print_summary(out, result, gate, written)
    out.print(f"[dim]ayuda eval finished in {time.perf_counter() - started:.0f} s[/]")
    return 0 if gate.passed else 1
