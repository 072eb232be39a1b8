"""The report's figures (matplotlib, Agg backend: no display needed). Each function writes one PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from app.evaluation.metrics import Bin, SweepPoint  # noqa: E402
from app.evaluation.scoring import Scored  # noqa: E402

LANGUAGE_METRICS = ("recall@5", "mrr@10", "citation_precision", "fact_recall", "language_match", "escalation_f1")
RETRIEVAL_METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")


def _bars(path: Path, groups: dict[str, dict[str, float | None]], metrics: Sequence[str], title: str) -> Path:
    names = list(groups)
    shown = [k for k in metrics if any(groups[g].get(k) is not None for g in names)]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.4 * len(shown) * max(1, len(names)) / 2), 4.2))
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        values = [groups[name].get(k) or 0.0 for k in shown]
        xs = [j + i * width for j in range(len(shown))]
        ax.bar(xs, values, width, label=f"{name} (n={int(groups[name].get('questions') or 0)})")
        for x, v in zip(xs, values, strict=True):
            ax.text(x, v + 0.01, f"{v:.2f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks([j + width * (len(names) - 1) / 2 for j in range(len(shown))], shown, rotation=15)
    ax.set_ylim(0, 1.12)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def metrics_by_language(path: Path, scored: Scored) -> Path:
    return _bars(path, scored.breakdowns["language"], LANGUAGE_METRICS, f"Metrics per language ({scored.name})")


def ablations(path: Path, configs: dict[str, Scored]) -> Path:
    return _bars(path, {name: s.overall for name, s in configs.items()}, RETRIEVAL_METRICS,
                 "Retrieval per configuration")


def reliability(path: Path, bins: Sequence[Bin], name: str) -> Path:
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    centers = [(b.low + b.high) / 2 for b in bins]
    acc = [b.accuracy if b.accuracy is not None else 0.0 for b in bins]
    ax.bar(centers, acc, width=0.09, color="#4c72b0", alpha=0.85, label="share correct")
    ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    for x, b in zip(centers, bins, strict=True):
        if b.count:
            ax.text(x, (b.accuracy or 0) + 0.02, f"n={b.count}", ha="center", fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("correct (gold document cited and all facts present)")
    ax.set_title(f"Reliability ({name}; questions that should be answered)", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def threshold_sweep(path: Path, points: Sequence[SweepPoint], name: str, answer_threshold: float,
                    offer_threshold: float, suggested: float | None) -> Path:
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ts = [p.threshold for p in points]
    ax.plot(ts, [p.precision for p in points], label="escalation precision")
    ax.plot(ts, [p.recall for p in points], label="escalation recall")
    ax.plot(ts, [p.f1 for p in points], label="escalation F1", linewidth=2)
    ax.plot(ts, [p.confident_wrong for p in points], label="confident wrong (share of all)", color="crimson")
    ax.plot(ts, [p.answer_rate for p in points], ":", label="answer rate", color="black")
    ax.axvline(answer_threshold, color="gray", linestyle="--", linewidth=1)
    ax.text(answer_threshold, 1.02, "answer", fontsize=7, ha="center")
    ax.axvline(offer_threshold, color="gray", linestyle=":", linewidth=1)
    ax.text(offer_threshold, 1.06, "offer", fontsize=7, ha="center")
    if suggested is not None:
        ax.axvline(suggested, color="green", linewidth=1.5)
        ax.text(suggested, -0.08, f"suggested {suggested:.2f}", fontsize=7, ha="center", color="green")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.1, 1.1)
    ax.set_xlabel("threshold (answer when confidence ≥ threshold, else escalate)")
    ax.set_title(f"Escalation vs threshold ({name})", fontsize=10)
    ax.legend(fontsize=7, loc="center left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def abstention(path: Path, rows: Sequence[tuple[float, float | None, float | None]], name: str) -> Path:
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    ts = [r[0] for r in rows]
    ax.plot(ts, [r[1] or 0 for r in rows], label="answered: document removed (should abstain)", color="crimson")
    ax.plot(ts, [r[2] or 0 for r in rows], label="answered: document present", color="#4c72b0")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("threshold")
    ax.set_ylabel("answer rate")
    ax.set_title(f"Abstention ({name})", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
