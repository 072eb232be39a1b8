"""Fit the confidence model (app/chat/confidence.py) on the golden set.

Runs the chat pipeline's retrieval over eval/golden, records the confidence signals of each answerable or
unanswerable question and whether the top document is gold, fits a logistic regression on them and
prints the Calibration to paste into app/chat/confidence.py, with leave-one-language-out log-loss so the
fit isn't just memorising.  Usage: python scripts/calibrate.py
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from app.chat.confidence import signals
from app.chat.routing import route
from app.config import Settings
from app.evaluation.datasets import golden
from app.evaluation.runner import gold_groups
from app.retrieval import load_embedder
from app.security import User
from app.services import build_services


def main() -> None:
    settings = Settings(database_url="sqlite://", run_outbox_worker=False)
    embedder = load_embedder(settings.embedding_model)
    services = build_services(settings, embedder=embedder)
    index = services.store.get()
    assert services.searcher is not None and index is not None
    rows, labels, langs = [], [], []
    for item in golden(settings.corpus_dir.parent / "eval" / "golden").items:
        if item.expect not in ("answer", "escalate") or route(item.question).kind != "question":
            continue
        query = " ".join([*item.context, item.question])
        result = services.searcher.search(query, language=item.language, groups=User("x").visible_groups)
        hits = result.hits
        sig = signals(query, item.language, hits, result.idf)
        gold = gold_groups(item, index)
        correct = item.expect == "answer" and bool(hits) and any(hits[0].chunk.doc_id in g for g in gold)
        rows.append([sig.dense, sig.coverage, float(sig.agreement)])
        labels.append(int(correct))
        langs.append(item.language)
    x, y, langs_arr = np.array(rows), np.array(labels), np.array(langs)
    for held in ("en", "es", "pt"):
        train, test = langs_arr != held, langs_arr == held
        model = LogisticRegression(C=10.0).fit(x[train], y[train])
        print(f"held-out {held}: log-loss {log_loss(y[test], model.predict_proba(x[test])[:, 1], labels=[0, 1]):.3f}")
    model = LogisticRegression(C=10.0).fit(x, y)
    w, b = model.coef_[0], model.intercept_[0]
    print(f"n={len(y)} positives={int(y.sum())}")
    print(f"Calibration(intercept={b:.3f}, dense={w[0]:.3f}, coverage={w[1]:.3f}, agreement={w[2]:.3f})")


if __name__ == "__main__":
    main()
