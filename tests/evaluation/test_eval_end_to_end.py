"""`ayuda eval` end to end on a tiny corpus and golden set with the real model: reports, baseline, gate."""

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from app.evaluation.command import EvalCommand, execute
from tests.evaluation.fixtures import fake_datasets, write_jsonl

pytestmark = pytest.mark.integration

DOCS = {
    "hr/annual-leave.md": ("Annual Leave", "en", "annual-leave",
                           "# Annual Leave\n\nEvery full-time employee gets 25 days of annual leave per year.\n\n"
                           "## Part-time staff\n\nPart-time staff get annual leave pro rata to their hours."),
    "hr/annual-leave.es.md": ("Vacaciones", "es", "annual-leave",
                              "# Vacaciones\n\nCada empleado a tiempo completo tiene 25 días de vacaciones al año."
                              "\n\n## Tiempo parcial\n\nEl personal a tiempo parcial tiene vacaciones en proporción "
                              "a sus horas."),
    "it/password-reset.md": ("Password Reset", "en", "",
                             "# Password Reset\n\nTo reset your password, go to password.example.com and follow "
                             "the steps. You need your phone for the verification code."),
    "hr/anti-harassment.md": ("Anti-Harassment Policy", "en", "",
                              "# Anti-Harassment Policy\n\nReport harassment or bullying to HR in confidence at "
                              "speakup@example.com. Retaliation is forbidden."),
}

GOLDEN = [
    {"id": "en-1", "language": "en", "kind": "answerable", "question": "How many days of annual leave do I get?",
     "gold_docs": ["hr/annual-leave.md"], "facts": ["25 days"], "department": "hr", "expect": "answer"},
    {"id": "en-2", "language": "en", "kind": "answerable", "question": "How do I reset my password?",
     "gold_docs": ["it/password-reset.md"], "facts": ["password.example.com"], "department": "it",
     "expect": "answer"},
    {"id": "en-3", "language": "en", "kind": "follow_up", "question": "and for part-time staff?",
     "gold_docs": ["hr/annual-leave.md"], "facts": ["pro rata"], "department": "hr", "expect": "answer",
     "context": ["How many days of annual leave do I get?"]},
    {"id": "en-4", "language": "en", "kind": "unanswerable", "question": "What is on the cafeteria menu on Mars?",
     "gold_docs": [], "department": "general", "expect": "escalate"},
    {"id": "en-5", "language": "en", "kind": "human", "question": "I want to talk to a person",
     "gold_docs": [], "department": "general", "expect": "human"},
    {"id": "es-1", "language": "es", "kind": "answerable", "question": "¿Cuántos días de vacaciones tengo al año?",
     "gold_docs": ["hr/annual-leave.es.md"], "facts": ["25 días"], "department": "hr", "expect": "answer"},
]


@pytest.fixture
def workspace(tmp_path):  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    for doc_id, (title, lang, key, body) in DOCS.items():
        path = corpus / doc_id
        path.parent.mkdir(parents=True, exist_ok=True)
        front = f"---\ntitle: {title}\nlanguage: {lang}\n" + (f"translation_key: {key}\n" if key else "") + "---\n"
        path.write_text(front + body, encoding="utf-8")
    (tmp_path / "golden").mkdir()
    write_jsonl(tmp_path / "golden" / "all.jsonl", GOLDEN)
    return tmp_path


def settings_for(root: Path, embedder):  # type: ignore[no-untyped-def]
    from app.config import Settings

    return Settings(corpus_dir=root / "corpus", index_dir=root / "index", database_url=f"sqlite:///{root / 'x.db'}",
                    embedding_model=embedder.path, index_check_seconds=0.0)


def run_eval(root: Path, embedder, **kw) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    buffer = io.StringIO()
    console = Console(file=buffer, width=160)
    cmd = EvalCommand(golden_dir=root / "golden", baseline=root / "baseline.json", reports_dir=root / "reports", **kw)
    return execute(cmd, settings_for(root, embedder), console, console, embedder=embedder), buffer.getvalue()


def test_eval_writes_reports_and_gates_on_the_baseline(workspace, embedder):
    code, output = run_eval(workspace, embedder, update_baseline=True, json_file=workspace / "out.json")
    assert code == 0, output
    assert "temporary build" in output  # no index in index_dir: the corpus was indexed in a temp folder
    reports = workspace / "reports"
    (json_path,) = reports.glob("*-golden.json")
    (md_path,) = reports.glob("*-golden.md")
    images = {p.name for p in reports.glob("*-golden/*.png")}
    assert {"metrics_by_language.png", "ablations.png", "reliability.png", "threshold_sweep.png"} <= images
    report = json.loads(json_path.read_text())
    assert json.loads((workspace / "out.json").read_text())["meta"] == report["meta"]
    assert list(report["configs"]) == ["bm25", "dense", "hybrid"] and report["primary"] == "hybrid"
    hybrid = report["configs"]["hybrid"]
    assert set(hybrid["by_language"]) == {"en", "es"} and "it" in hybrid["by_department"]
    assert hybrid["overall"]["recall@5"] == 1.0  # four answerable questions, each finds its document
    by_id = {r["id"]: r for r in hybrid["records"]}
    assert by_id["en-5"]["outcome"] == "escalated" and by_id["en-5"]["reason"] == "human"
    assert by_id["en-3"]["query"].startswith("How many days of annual leave")  # follow-up contextualised
    assert by_id["es-1"]["language_ok"] is True
    markdown = md_path.read_text()
    assert "## Configurations (ablations)" in markdown and "threshold_sweep.png" in markdown
    assert "Gate: PASSED" in markdown

    base_path = workspace / "baseline.json"
    data = json.loads(base_path.read_text())
    metrics = data["benchmarks"]["golden"]["metrics"]
    assert "hybrid.recall@5" in metrics and "dense.escalation_f1" in metrics
    metrics["hybrid.recall@5"] = 1.5  # a baseline the run cannot reach
    metrics["hybrid.confident_wrong_rate"] = -0.5
    base_path.write_text(json.dumps(data))
    code, output = run_eval(workspace, embedder, ablations=False)
    assert code == 1
    assert "Gate failed" in output and "hybrid.recall@5" in output and "hybrid.confident_wrong_rate" in output
    assert "not compared (not run): bm25, dense" in output


def test_eval_scores_a_shared_benchmark_from_an_in_memory_index(workspace, embedder, monkeypatch):
    monkeypatch.setenv("AYUDA_EVAL_DATASETS", str(fake_datasets(workspace / "datasets")))
    code, output = run_eval(workspace, embedder, benchmark="xquad-abstention", ablations=False)
    assert code == 0, output
    (json_path,) = (workspace / "reports").glob("*-xquad-abstention.json")
    report = json.loads(json_path.read_text())
    assert report["meta"]["index"].startswith("in-memory index of 1 benchmark")
    abstention = report["configs"]["hybrid"]["abstention"]
    assert abstention["removed_questions"] == 1 and len(abstention["sweep"]) == 101
    assert not (workspace / "index").exists()  # nothing was written outside temporary folders and reports


def test_eval_with_the_llm_composer_reports_it_beside_the_extractive_one(workspace, embedder):
    """`ayuda eval --composer llm` against a real OpenAI-compatible server on loopback (echo answers, and a judge
    at the same address): the composer table, not the baseline gate."""
    from tests.support.fake_llm import FakeLLM

    with FakeLLM() as fake:
        settings = settings_for(workspace, embedder).model_copy(update={
            "llm_base_url": fake.url, "llm_model": "fake-7b", "eval_judge_base_url": fake.url})
        buffer = io.StringIO()
        console = Console(file=buffer, width=200)
        cmd = EvalCommand(golden_dir=workspace / "golden", baseline=workspace / "baseline.json",
                          reports_dir=workspace / "reports", composer="llm", json_file=workspace / "llm.json")
        code = execute(cmd, settings, console, console, embedder=embedder)
        output = buffer.getvalue()
        judged = [r for r in fake.requests if "faithful" in r["messages"][0]["content"]]
        rewrites = [r for r in fake.requests if "standalone question" in r["messages"][0]["content"]]
    assert code == 0, output
    assert "composer: LLM (fake-7b) vs extractive" in output and "guard pass rate" in output
    report = json.loads((workspace / "llm.json").read_text())
    assert list(report["configs"]) == ["hybrid"] and not (workspace / "baseline.json").exists()
    summary = report["meta"]["llm"]["summary"]
    assert summary["questions"] >= 3 and summary["results"].get("ok", 0) >= 3, summary
    assert summary["judge_faithfulness"] == 1.0 and summary["judged"] == len(judged) >= 3
    assert summary["fact_recall"]["extractive"] is not None and summary["llm_ms"]["p50"] is not None
    by_id = {r["id"]: r for r in report["configs"]["hybrid"]["records"]}
    assert by_id["en-1"]["composer"]["result"] == "ok" and "[1]" in by_id["en-1"]["answer"]
    assert len(rewrites) == 1 and by_id["en-3"]["query"] == "How many days of annual leave do I get? and for " \
                                                            "part-time staff?"


def test_eval_with_the_llm_composer_needs_an_endpoint(workspace, embedder):
    code, output = run_eval(workspace, embedder, composer="llm")
    assert code == 2 and "AYUDA_LLM_BASE_URL" in output
