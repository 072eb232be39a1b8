"""The `ayuda` command line: index, search, ask, eval, serve, db, tickets, outbox, privacy, mail."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from app.channels.email.cli import mail_app
from app.config import Settings
from app.escalation.cli import outbox_app, tickets_app
from app.privacy.cli import privacy_app
from app.privacy.logs import install_log_masking

app = typer.Typer(
    help="Ayuda: cited answers from your HR/IT documents, in English, Spanish and Portuguese.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tickets_app, name="tickets")
app.add_typer(outbox_app, name="outbox")
app.add_typer(privacy_app, name="privacy")
app.add_typer(mail_app, name="mail")
out = Console()
err = Console(stderr=True)


def _settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]Error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


@app.command()
def index(
    corpus: Annotated[Path | None, typer.Option("--corpus", help="Folder of documents [AYUDA_CORPUS_DIR].")] = None,
    index_dir: Annotated[Path | None, typer.Option("--index-dir", help="Index folder [AYUDA_INDEX_DIR].")] = None,
    full: Annotated[bool, typer.Option("--full", help="Re-embed every document.")] = False,
) -> None:
    """Build a new index build from a folder of documents and switch index/CURRENT to it.

    Unchanged documents are not re-embedded; deleted ones disappear.

    Examples:\n
      ayuda index\n
      ayuda index --corpus ~/policies --index-dir /var/lib/ayuda/index --full
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from app.ranking import ranking_profile
    from app.retrieval import ChunkerParams, CorpusError, ModelNotFound, build_index, embedder_for

    settings = _settings(corpus_dir=corpus, index_dir=index_dir)
    params = ChunkerParams(settings.chunk_size, settings.chunk_overlap)
    progress = Progress(TextColumn("Embedding chunks"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=err, disable=not err.is_terminal, transient=True)
    task = progress.add_task("embed", total=0)
    try:
        with progress:
            report = build_index(
                settings.corpus_dir, settings.index_dir, settings.embedding_model,
                lambda: embedder_for(settings), params, full=full,
                on_start=lambda n: progress.update(task, total=n),
                on_chunks_embedded=lambda n: progress.advance(task, n), profile=ranking_profile(settings),
                prune=False,
            )
    except (CorpusError, ModelNotFound) as e:
        _fail(str(e))
        return
    _activate(settings, report.build_id, report.chunks)
    for problem in report.errors:
        err.print(f"[yellow]Skipped[/] {problem['doc_id']}: {problem['reason']}")
    table = Table(title=f"Index build {report.build_id}", show_header=False)
    embedded = f"{report.embedded_chunks}" + (f" (in {report.precision})" if report.precision else "")
    rows = [
        ("documents", report.documents), ("chunks", report.chunks),
        ("re-embedded documents", report.embedded_documents),
        ("unchanged (not re-embedded)", report.reused_documents),
        ("deleted since last build", report.deleted_documents), ("chunks embedded", embedded),
        ("skipped (errors)", len(report.errors)), ("seconds", f"{report.seconds:.1f}"),
        ("location", str(report.path)),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    out.print(table)


def _activate(settings: Settings, build_id: str, chunks: int) -> None:
    """Make the new build the database's active build (what every replica serves) and prune unused builds."""
    from sqlalchemy.exc import SQLAlchemyError

    from app.db import make_engine, make_session_factory, upgrade
    from app.jobs.builds import BuildRegistry

    engine = make_engine(settings.database_url)
    try:
        if settings.auto_migrate:
            upgrade(settings.database_url)
        registry = BuildRegistry(make_session_factory(engine), settings.index_dir,
                                 heartbeat_seconds=settings.index_heartbeat_seconds)
        registry.activate(build_id, chunks)
        registry.prune()
    except SQLAlchemyError as e:
        err.print(f"[yellow]Warning:[/] build {build_id} is in index/CURRENT but the database could not record it "
                  f"as active ({e.__class__.__name__}); servers that read the database keep their build until "
                  "it can.")
    finally:
        engine.dispose()


def _services(settings: Settings):  # type: ignore[no-untyped-def]
    from app.services import build_services

    return build_services(settings)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to search for.")],
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="How many results.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (same shape as GET /api/v1/search).")] = False,
    groups: Annotated[str, typer.Option("--groups", help="Comma-separated groups of the searching user.")] = "",
) -> None:
    """Search the index (hybrid dense + BM25).

    Example: ayuda search "reset password" -k 3
    """
    from app.chat.composer import snippet
    from app.retrieval import IndexNotFound
    from app.security import identify

    services = _services(_settings())
    if services.searcher is None:
        _fail(services.model_error or "the embedding model is not available")
    lang = services.searcher.detect_language(query)[0]
    try:
        result = services.searcher.search(query, language=lang, groups=identify(None, groups).visible_groups, k=k)
    except IndexNotFound as e:
        _fail(str(e))
        return
    rows = [{"doc_id": h.chunk.doc_id, "title": h.chunk.title, "section": h.chunk.section, "url": h.chunk.link(),
             "language": h.chunk.language, "department": h.chunk.department, "score": round(h.score, 6),
             "dense": h.dense and round(h.dense, 4), "bm25": h.bm25 and round(h.bm25, 4),
             "snippet": snippet(h.chunk.text)} for h in result.hits]
    if as_json:
        print(json.dumps({"query": query, "language": lang, "build_id": result.build_id, "hits": rows},
                         ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{query}  [{lang}]")
    for col in ("#", "score", "document", "section", "snippet"):
        table.add_column(col, overflow="fold")
    for i, r in enumerate(rows, 1):
        table.add_row(str(i), f"{r['score']:.4f}", r["doc_id"], r["section"], r["snippet"][:90])
    out.print(table)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in English, Spanish or Portuguese.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (same shape as POST /api/v1/chat).")] = False,
    conversation: Annotated[str | None, typer.Option("--conversation", help="Continue a conversation id.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Ask as this user id.")] = None,
) -> None:
    """Ask a question through the full chat pipeline (no server needed).

    Example: ayuda ask "¿Puedo ver mis nóminas en línea?"
    """
    from app.chat.routes import to_response
    from app.errors import AyudaError
    from app.security import identify

    services = _services(_settings())
    try:
        result = services.chat.turn(identify(user, None), question, conversation)
    except AyudaError as e:
        _fail(e.message)
        return
    response = to_response(result)
    if as_json:
        print(response.model_dump_json(indent=2))
        return
    out.print(response.answer, markup=False, highlight=False)
    for c in response.citations:
        out.print(f"[{c.n}] {c.title} — {c.section} ({c.doc_id})", markup=False, highlight=False)
    if response.next_steps:
        out.print(response.next_steps, markup=False)
    out.print(f"[dim]{response.outcome} · confidence {response.confidence:.2f} · "
              f"conversation {response.conversation_id}[/]")


@app.command("eval")
def eval_(
    golden: Annotated[Path, typer.Option("--golden", help="Folder of golden *.jsonl files.")] = Path("eval/golden"),
    json_file: Annotated[Path | None, typer.Option("--json", help="Also write the JSON report to FILE.")] = None,
    benchmark: Annotated[str, typer.Option(
        "--benchmark", help="golden | xquad-es-en | xquad-sentences | faquad | xquad-abstention | "
                            "faquad-abstention (public sets read from ../shared/datasets).")] = "golden",
    ablations: Annotated[bool, typer.Option(
        "--ablations/--no-ablations", help="Also run BM25 only, dense only and hybrid (and + reranker).")] = True,
    baseline: Annotated[Path, typer.Option("--baseline", help="Baseline to compare with.")] = Path(
        "eval/baseline.json"),
    update_baseline: Annotated[bool, typer.Option(
        "--update-baseline", help="Write this run's metrics as the benchmark's baseline.")] = False,
    tolerance: Annotated[float, typer.Option(
        "--tolerance", min=0.0, max=1.0, help="Allowed drop of a metric below the baseline.")] = 0.02,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Score a fixed sample of N questions.")] = None,
    split: Annotated[str | None, typer.Option(
        "--split", help="Golden set: only `dev` (tune on it) or only `test` (report only). Default: both, "
                        "reported apart.")] = None,
    composer: Annotated[str, typer.Option(
        "--composer", help="extractive (the default and the baseline) | llm: answers written by AYUDA_LLM_* "
                           "beside the extractive ones (guard pass rate, fact recall, language, latency; a judge "
                           "with AYUDA_EVAL_JUDGE_*). Reported, not gated.")] = "extractive",
) -> None:
    """Score retrieval, answers and escalation on the golden set or a public benchmark; gate on the baseline.

    Prints a table, writes eval/reports/<stamp>-<benchmark>.{json,md} with plots, and exits 1 when a metric
    is worse than the baseline by more than the tolerance (2 when the run cannot be made).

    Examples:\n
      ayuda eval\n
      ayuda eval --benchmark xquad-es-en --limit 300\n
      ayuda eval --split dev --no-ablations\n
      ayuda eval --update-baseline
    """
    from app.evaluation.command import EvalCommand, execute
    from app.evaluation.datasets import BENCHMARKS

    if benchmark not in BENCHMARKS:
        raise typer.BadParameter(f"choose one of {', '.join(BENCHMARKS)}", param_hint="--benchmark")
    if split not in (None, "dev", "test"):
        raise typer.BadParameter("choose dev or test", param_hint="--split")
    if composer not in ("extractive", "llm"):
        raise typer.BadParameter("choose extractive or llm", param_hint="--composer")
    cmd = EvalCommand(benchmark, golden, json_file, ablations, baseline, update_baseline, tolerance, limit,
                      split=split, composer=composer)
    raise typer.Exit(execute(cmd, _settings(), out, err))


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=32, help="Server processes (each loads the "
                                         "model and the index, ~1.3 GB, and gets its share of the cores; they "
                                         "share the database, and Redis if set).")] = 1,
) -> None:
    """Serve the API (and /docs). Reads AYUDA_CORPUS_DIR, AYUDA_INDEX_DIR, AYUDA_DATABASE_URL, AYUDA_AUTH_MODE.

    In the default dev mode (identity from headers anyone can set) only a loopback --host is accepted;
    see README "Deploying safely" for proxy and oidc modes.
    """
    import uvicorn
    from pydantic import ValidationError

    from app.auth.checks import check_listen_address
    from app.main import create_app

    try:
        settings = _settings()
    except ValidationError as e:
        _fail("; ".join(str(err.get("msg", "")).removeprefix("Value error, ") for err in e.errors()))
        return
    refusal = check_listen_address(settings.auth_mode, host)
    if refusal:
        _fail(refusal, code=2)
    os.environ.update(shared_threads(workers, os.cpu_count() or 1, os.environ))
    if workers == 1:
        one_blas_thread()  # numpy's BLAS is loaded already: the variable above no longer reaches it
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
        return
    if settings.redis_url is None:
        err.print("[yellow]Note:[/] without AYUDA_REDIS_URL each process counts rate limits on its own.")
    if settings.auto_migrate:  # once, before the processes start (they would race to create the tables)
        from app.db import upgrade

        upgrade(settings.database_url)
    # Each process is a replica: it builds its own app from the environment (the settings checked above).
    uvicorn.run("app.main:create_app", factory=True, workers=workers, host=host, port=port, log_level="info")


SERVER_BLAS_THREADS = "1"


def shared_threads(processes: int, cpus: int, env: Any) -> dict[str, str]:
    """Thread counts that share the cores among `processes` server processes (those not set already): each one's
    encoder (AYUDA_TORCH_THREADS) and OpenMP pool get cores ÷ processes. Two processes with two threads each on 2
    cores were 4x slower at 8 employees (p95 922 ms) than with one thread each (191 ms): bench/README.md.
    BLAS gets SERVER_BLAS_THREADS: a request's matrix products are small, and a BLAS pool of 2 threads spinning
    in each of them under 8 employees took 17% of the server's time (new questions at 8: p95 198 -> 137 ms)."""
    share = str(max(1, cpus // processes))
    counts = {"AYUDA_TORCH_THREADS": share, "OMP_NUM_THREADS": share, "OPENBLAS_NUM_THREADS": SERVER_BLAS_THREADS,
              "MKL_NUM_THREADS": SERVER_BLAS_THREADS}
    return {name: n for name, n in counts.items() if name not in env}


def one_blas_thread() -> None:
    """This process's BLAS pool gets OPENBLAS_NUM_THREADS threads (SERVER_BLAS_THREADS unless set), as in a new
    server process that reads it at start."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(int(os.environ.get("OPENBLAS_NUM_THREADS") or SERVER_BLAS_THREADS), user_api="blas")


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=8,
                                             help="Jobs run at once (a build and the periodic jobs).")] = 2,
) -> None:
    """Run index builds, notifications, SLA checks and retention for API replicas started with AYUDA_JOBS=worker
    (PostgreSQL job queue). Stop with Ctrl-C or SIGTERM: the running job finishes first.

    Example: AYUDA_JOBS=worker AYUDA_DATABASE_URL=postgresql+psycopg://ayuda@db/ayuda ayuda worker
    """
    from pydantic import ValidationError

    from app.jobs.worker import main as run

    try:
        settings = _settings()
    except ValidationError as e:
        _fail("; ".join(str(err.get("msg", "")).removeprefix("Value error, ") for err in e.errors()))
        return
    if settings.jobs != "worker":
        _fail("`ayuda worker` serves replicas started with AYUDA_JOBS=worker (PostgreSQL); with the default "
              "AYUDA_JOBS=inprocess, `ayuda serve` runs these jobs itself", code=2)
    logging.getLogger("app").setLevel(logging.INFO)
    run(settings, concurrency=concurrency)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply database migrations (SQLite or PostgreSQL, from AYUDA_DATABASE_URL)."""
    from app.db import upgrade

    settings = _settings()
    upgrade(settings.database_url, revision)
    out.print(f"Database at {settings.database_url} is at revision {revision}.")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    install_log_masking()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
