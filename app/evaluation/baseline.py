"""The committed baseline (eval/baseline.json) and the regression gate against it.

The file holds, per benchmark, the flat overall metrics of a real run ("<ablation>.<metric>": value).
A metric regresses when it is worse than the baseline by more than the tolerance (absolute); metrics where
lower is better (the confident-wrong rate) regress upwards. Latency, counts and calibration error are
reported but never gated: they depend on the machine or are too noisy for a gate.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HIGHER_IS_BETTER = frozenset({
    "recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "citation_precision", "fact_recall",
    "language_match", "escalation_precision", "escalation_recall", "escalation_f1", "fully_right",
    "section_match", "private_declined", "sensitive_confidential", "crisis_confidential", "crisis_resources",
    "human_handover",
})
LOWER_IS_BETTER = frozenset({"confident_wrong_rate", "unanswerable_answered", "off_topic_tickets",
                             "off_topic_answered"})
GATED = HIGHER_IS_BETTER | LOWER_IS_BETTER


@dataclass(frozen=True)
class Regression:
    metric: str
    baseline: float
    current: float | None
    drop: float  # how much worse, in the metric's own units (positive = worse)

    def describe(self) -> str:
        now = "missing" if self.current is None else f"{self.current:.3f}"
        return f"{self.metric}: {self.baseline:.3f} → {now} (worse by {self.drop:.3f})"


def metric_name(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def gated_metrics(flat: dict[str, float | None]) -> dict[str, float]:
    return {k: v for k, v in flat.items() if metric_name(k) in GATED and v is not None}


def compare(current: dict[str, float | None], baseline: dict[str, float | None],
            tolerance: float) -> list[Regression]:
    """Metrics worse than the baseline by more than `tolerance`. A gated baseline metric that the current run
    no longer produces counts as a regression (an ablation silently disappearing must not pass the gate)."""
    out = []
    for key, base in sorted(gated_metrics(baseline).items()):
        now = current.get(key)
        if now is None:
            out.append(Regression(key, base, None, float("inf")))
            continue
        drop = (now - base) if metric_name(key) in LOWER_IS_BETTER else (base - now)
        if drop > tolerance + 1e-9:
            out.append(Regression(key, base, now, drop))
    return out


def load(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON ({e.msg}, line {e.lineno}); fix it or rewrite it with "
                         f"`ayuda eval --update-baseline`") from e
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks", {}), dict):
        raise ValueError(f"{path} is not an Ayuda eval baseline (expected {{'benchmarks': {{...}}}})")
    return data


def section(data: dict[str, Any], benchmark: str) -> dict[str, Any] | None:
    return data.get("benchmarks", {}).get(benchmark)


def update(path: Path, benchmark: str, flat: dict[str, float | None], info: dict[str, Any]) -> None:
    """Write (or replace) the benchmark's section with this run's gated metrics."""
    data = load(path) or {
        "about": "Baseline for `ayuda eval` (written by `ayuda eval --update-baseline`). The gate fails when a "
                 "metric is worse than this by more than the tolerance (--tolerance, 0.02 by default).",
    }
    data.setdefault("benchmarks", {})[benchmark] = {
        "updated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **info,
        "metrics": {k: round(v, 4) for k, v in sorted(gated_metrics(flat).items())},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


@dataclass
class GateResult:
    """The outcome of comparing a run with the baseline."""

    baseline: str
    tolerance: float
    compared: bool  # False: no baseline section for this benchmark (nothing to compare)
    regressions: list[Regression]
    notes: list[str]

    @property
    def passed(self) -> bool:
        return not self.regressions

    def as_dict(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "tolerance": self.tolerance, "compared": self.compared,
                "passed": self.passed, "notes": self.notes,
                "regressions": [{"metric": r.metric, "baseline": r.baseline, "current": r.current,
                                 "worse_by": None if r.current is None else round(r.drop, 4)}
                                for r in self.regressions]}


def gate(path: Path, benchmark: str, flat: dict[str, float | None], tolerance: float,
         info: dict[str, Any], configs: set[str]) -> GateResult:
    """Compare a run with the benchmark's baseline section, for the configurations this run evaluated
    (`--no-ablations` runs only the configured pipeline); notes say when the data or model differ."""
    data = load(path)
    base = section(data, benchmark)
    if base is None:
        return GateResult(str(path), tolerance, False, [], [f"no baseline for {benchmark!r} in {path}"])
    notes = [f"baseline {key} was {base.get(key)!r}, this run {value!r}: numbers are not strictly comparable"
             for key, value in info.items() if key in base and base.get(key) != value]
    metrics = base.get("metrics", {})
    ran = {k: v for k, v in metrics.items() if k.split(".", 1)[0] in configs}
    skipped = sorted({k.split(".", 1)[0] for k in metrics} - configs)
    if skipped:
        notes.append(f"not compared (not run): {', '.join(skipped)}")
    if metrics and not ran:  # none of the baseline's configurations ran: compare everything (all missing)
        ran = metrics
    return GateResult(str(path), tolerance, True, compare(flat, ran, tolerance), notes)
