"""Fit the confidence model (app/chat/confidence.py) on the golden set's dev split (never on test).

Runs the chat pipeline's retrieval over eval/golden (dev), records the confidence signals of each answerable or
unanswerable question and whether the top document is gold, fits a logistic regression on them (the
ranking), then rescales it (Platt) to the probability that the composed answer is right, and prints the
Calibration to paste into app/chat/confidence.py, with leave-one-language-out log-loss so the fit isn't
just memorising.  Usage: python scripts/calibrate.py
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from app.chat.confidence import signals
from app.config import Settings
from app.evaluation.datasets import golden
from app.evaluation.metrics import facts_found
from app.evaluation.runner import gold_groups
from app.retrieval import load_embedder
from app.security import User
from app.services import build_services

STANDOUT_RATIO = 0.005


def main() -> None:
    settings = Settings(database_url="sqlite://", run_outbox_worker=False)
    embedder = load_embedder(settings.embedding_model)
    services = build_services(settings, embedder=embedder)
    index = services.store.get()
    assert services.searcher is not None and index is not None
    rows, labels, langs, answered_right, should_answer = [], [], [], [], []
    for item in golden(settings.corpus_dir.parent / "eval" / "golden", split="dev").items:
        if item.expect not in ("answer", "escalate"):
            continue
        query = " ".join([*item.context, item.question])
        result = services.searcher.search(query, language=item.language, groups=User("x").visible_groups)
        hits = result.hits
        sig = signals(query, item.language, hits, result.idf)
        gold = gold_groups(item, index)
        correct = item.expect == "answer" and bool(hits) and any(hits[0].chunk.doc_id in g for g in gold)
        composed = services.chat.composer.compose(query, item.language, hits)
        cited_gold = any(c.doc_id in g for c in composed.citations for g in gold)
        answered_right.append(cited_gold and all(facts_found(composed.answer, item.facts)))
        should_answer.append(item.expect == "answer")
        rows.append([sig.dense, sig.standout, sig.coverage, float(sig.agreement)])
        labels.append(int(correct))
        langs.append(item.language)
    raw = np.array(rows)
    # Cosine and standout enter as one evidence score with a fixed ratio, the one that separates questions about
    # removed documents best on the abstention splits and the golden set (eval/README.md); the golden set is
    # too small to pick that direction by itself.
    x = np.column_stack([raw[:, 0] + STANDOUT_RATIO * raw[:, 1], raw[:, 2], raw[:, 3]])
    y, langs_arr = np.array(labels), np.array(langs)
    for held in ("en", "es", "pt"):
        train, test = langs_arr != held, langs_arr == held
        m, sd = x[train].mean(0), x[train].std(0) + 1e-9
        model = LogisticRegression(C=1.0).fit((x[train] - m) / sd, y[train])
        p = model.predict_proba((x[test] - m) / sd)[:, 1]
        print(f"held-out {held}: log-loss {log_loss(y[test], p, labels=[0, 1]):.3f}")
    mean, std = x.mean(0), x.std(0) + 1e-9  # fit on standardised signals, so regularisation treats them alike
    model = LogisticRegression(C=1.0).fit((x - mean) / std, y)
    w = model.coef_[0] / std
    b = model.intercept_[0] - float((model.coef_[0] * mean / std).sum())
    print(f"n={len(y)} positives={int(y.sum())}")
    print(f"ranking (P top document is gold): intercept={b:.3f}, evidence={w[0]:.3f}, coverage={w[1]:.3f}, "
          f"agreement={w[2]:.3f}")
    # Stage 2 (Platt scaling): keep that ranking, fit its scale to what the reliability diagram measures, P(the
    # answer cites a gold document and has every required fact) over questions that should be answered.
    z = b + x @ w
    mask = np.array(should_answer)
    platt = LogisticRegression(C=1e6).fit(z[mask].reshape(-1, 1), np.array(answered_right)[mask])
    a, c = float(platt.coef_[0][0]), float(platt.intercept_[0])
    print(f"Platt scale a={a:.3f} shift={c:.3f}; a threshold t on the old scale is "
          f"sigmoid(a·logit(t) + shift) on the new one")
    print(f"Calibration(intercept={a * b + c:.3f}, dense={a * w[0]:.3f}, standout={a * w[0] * STANDOUT_RATIO:.4f}, "
          f"coverage={a * w[1]:.3f}, agreement={a * w[2]:.3f})")


if __name__ == "__main__":
    main()
