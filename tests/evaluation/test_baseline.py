"""The regression gate: which metrics count, in which direction, and the tolerance."""

import json

import pytest

from app.evaluation import baseline as b


def test_a_drop_within_the_tolerance_passes_and_beyond_it_fails():
    base = {"hybrid.recall@5": 0.90, "hybrid.fact_recall": 0.80}
    assert b.compare({"hybrid.recall@5": 0.88, "hybrid.fact_recall": 0.80}, base, 0.02) == []
    out = b.compare({"hybrid.recall@5": 0.879, "hybrid.fact_recall": 0.95}, base, 0.02)
    assert [r.metric for r in out] == ["hybrid.recall@5"]
    assert out[0].drop == pytest.approx(0.021)
    assert "0.900 → 0.879" in out[0].describe()


def test_improvements_never_fail():
    assert b.compare({"hybrid.mrr@10": 0.99}, {"hybrid.mrr@10": 0.5}, 0.0) == []


def test_confident_wrong_rate_regresses_upwards():
    base = {"hybrid.confident_wrong_rate": 0.05}
    assert b.compare({"hybrid.confident_wrong_rate": 0.01}, base, 0.02) == []
    assert b.compare({"hybrid.confident_wrong_rate": 0.065}, base, 0.02) == []
    worse = b.compare({"hybrid.confident_wrong_rate": 0.08}, base, 0.02)
    assert len(worse) == 1 and worse[0].drop == pytest.approx(0.03)


def test_latency_and_counts_are_not_gated():
    base = {"hybrid.latency_p95_ms": 10.0, "hybrid.questions": 100.0, "hybrid.ece": 0.01}
    assert b.compare({"hybrid.latency_p95_ms": 999.0, "hybrid.questions": 3.0, "hybrid.ece": 0.5}, base, 0.0) == []


def test_a_metric_that_disappeared_is_a_regression():
    out = b.compare({}, {"bm25.recall@1": 0.5}, 0.02)
    assert len(out) == 1 and out[0].current is None and "missing" in out[0].describe()


def test_update_then_gate_round_trip(tmp_path):
    path = tmp_path / "eval" / "baseline.json"
    flat = {"hybrid.recall@5": 0.9, "hybrid.latency_p50_ms": 12.0, "bm25.recall@5": 0.7, "hybrid.ece": None}
    b.update(path, "golden", flat, {"questions": 10})
    data = json.loads(path.read_text())
    assert data["benchmarks"]["golden"]["metrics"] == {"bm25.recall@5": 0.7, "hybrid.recall@5": 0.9}
    assert data["benchmarks"]["golden"]["questions"] == 10
    b.update(path, "faquad", {"hybrid.recall@5": 0.5}, {})  # other sections are kept
    assert set(json.loads(path.read_text())["benchmarks"]) == {"golden", "faquad"}

    passed = b.gate(path, "golden", flat, 0.02, {"questions": 10}, {"hybrid", "bm25"})
    assert passed.compared and passed.passed and passed.notes == []
    failed = b.gate(path, "golden", {**flat, "hybrid.recall@5": 0.8}, 0.02, {"questions": 12}, {"hybrid", "bm25"})
    assert not failed.passed and [r.metric for r in failed.regressions] == ["hybrid.recall@5"]
    assert any("questions" in n for n in failed.notes)  # a different golden set is pointed out


def test_gate_compares_only_the_configurations_that_ran(tmp_path):
    path = tmp_path / "baseline.json"
    b.update(path, "golden", {"hybrid.recall@5": 0.9, "bm25.recall@5": 0.7}, {})
    only_hybrid = b.gate(path, "golden", {"hybrid.recall@5": 0.9}, 0.02, {}, {"hybrid"})
    assert only_hybrid.passed and any("bm25" in n for n in only_hybrid.notes)
    renamed = b.gate(path, "golden", {"other.recall@5": 0.9}, 0.02, {}, {"other"})
    assert not renamed.passed  # none of the baseline's configurations ran: everything is missing


def test_no_baseline_section_means_nothing_to_compare(tmp_path):
    result = b.gate(tmp_path / "missing.json", "golden", {"hybrid.recall@5": 0.1}, 0.02, {}, {"hybrid"})
    assert not result.compared and result.passed


def test_a_file_that_is_not_a_baseline_is_refused(tmp_path):
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps({"benchmarks": [1, 2]}))
    with pytest.raises(ValueError):
        b.load(path)
