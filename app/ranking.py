"""What a server ranks and decides with, from its settings: the fusion weights and the ranking profile each build
records (app/retrieval/profile.py checks a build against it)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from app.chat.confidence import Calibration
from app.config import Settings
from app.retrieval import FusionWeights


def ranking_profile(settings: Settings) -> dict[str, Any]:
    return {
        "fusion": asdict(fusion_weights(settings)), "retrieve_k": settings.retrieve_k,
        "language_debias": settings.dense_language_debias, "companion": settings.companion_model,
        "reranker": str(settings.reranker_model or ""), "calibration": asdict(Calibration()),
        "thresholds": {"answer": settings.answer_threshold, "offer_human": settings.offer_human_threshold},
    }


def fusion_weights(settings: Settings) -> FusionWeights:
    return FusionWeights(settings.sentence_weight, settings.companion_weight, settings.bm25_weight,
                         settings.bm25_cross_weight, settings.heading_weight, settings.follow_up_weight)
