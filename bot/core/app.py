"""The app service: FastAPI application factory and process lifecycle.

One process holds the FAQ index, the database pool and the outbox worker once, and
serves the custom-action endpoint, the chat API, the WeChat endpoint, the internal
ticket API and the staff pages. Run with ``uvicorn --factory bot.core.app:create_app``.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse

from bot.api import (
    actions,
    analytics,
    chat,
    chat_photos,
    chat_rating,
    chat_session,
    chat_updates,
    conversations,
    deliveries,
    faq,
    field,
    health,
    kb,
    staff,
    tickets,
    wechat,
)
from bot.api.actions import make_executor
from bot.api.errors import COMMON_RESPONSES, document_auth, document_errors, install_error_handlers
from bot.api.limits import BodyLimit, too_large
from bot.api.ratelimit import Limiter, RateLimitMiddleware
from bot.api.security import PublicStaticFiles, SecurityHeaders
from bot.channels.outbox import ChannelOutboxWorker
from bot.channels.tencent import build_senders
from bot.channels.wechat import WeChatChannel
from bot.channels.wechat_dedupe import WeChatMessageStore
from bot.channels.wecom import WeComChannel
from bot.chat.service import ChatService
from bot.chat.session import SessionTokens
from bot.conversations.service import ConversationService
from bot.core.db import Database
from bot.core.private_files import harden_process
from bot.core.services import Services, set_services
from bot.core.settings import Settings, get_settings
from bot.core.shared_state import make_shared_state
from bot.faq.engine import FaqEngine
from bot.rasa.client import RasaClient
from bot.tickets.outbox import OutboxWorker
from bot.tickets.service import TicketService

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"


def build_services(settings: Settings):
    """Create the process-wide services from settings (database, FAQ engine, tickets, conversations)."""
    harden_process()  # files it creates 0600/0700, personal data masked in its logs
    db = Database(
        settings.effective_database_url,
        settings.sqlite_synchronous,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    faq = FaqEngine.from_settings(settings, db=db)
    return Services(
        settings=settings,
        db=db,
        faq=faq,
        tickets=TicketService(db, settings),
        conversations=ConversationService(db, settings),
    )


async def start_channels(app: FastAPI, settings: Settings, services):
    """The WeChat / WeCom callback channels that are configured, and the worker pushing their active messages."""
    state = make_shared_state(services.db, settings.redis_url)
    messages = WeChatMessageStore(services.db)
    app.state.wechat = app.state.wecom = None
    if settings.wechat_token.get_secret_value():
        app.state.wechat = WeChatChannel(settings, app.state.chat, messages, state)
        log.info(
            "WeChat channel in %s mode, active messages %s",
            settings.effective_wechat_mode,
            "on" if settings.wechat_push_enabled else "off (no POSBOT_WECHAT_APP_SECRET)",
        )
    if settings.wecom_enabled:
        app.state.wecom = WeComChannel(settings, app.state.chat, messages, state)
    channels = [c for c in (app.state.wechat, app.state.wecom) if c is not None]
    push_worker = None
    senders = build_senders(settings, state)
    if senders and settings.outbox_worker_enabled:
        push_worker = ChannelOutboxWorker(services.db, settings, senders)
        await push_worker.start()
    else:
        for sender in senders.values():
            await sender.aclose()
    return channels, push_worker


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings: Settings = app.state.settings
    services = app.state.services = build_services(settings)
    set_services(services)  # rasa-sdk creates action instances itself; they find services here
    app.state.rasa = RasaClient(settings.rasa_url, settings.rasa_token.get_secret_value(), settings.rasa_timeout_s)
    app.state.chat = ChatService(services, app.state.rasa)
    app.state.chat_sessions = SessionTokens.from_settings(settings)  # generates the key file when unset
    app.state.action_executor = make_executor("actions")
    if settings.faq_reload_interval_s > 0:
        services.faq.start_watching(settings.faq_reload_interval_s)
    worker = None
    if settings.outbox_worker_enabled:
        worker = OutboxWorker(services.db, settings)
        await worker.start()
    channels, push_worker = await start_channels(app, settings, services)
    log.info(
        "app service ready: %d FAQ entries, database %s", len(services.faq.entries), services.db.engine.dialect.name
    )
    try:
        yield
    finally:
        for channel in channels:  # answers still being computed reach the outbox before we stop
            await channel.turns.drain(settings.rasa_timeout_s + 2)
        if push_worker is not None:
            await push_worker.stop()
        if worker is not None:
            await worker.stop()
        services.faq.stop_watching()
        await app.state.rasa.aclose()
        set_services(None)
        services.db.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    docs = settings.docs_exposed  # production: no /docs, /redoc, /openapi.json (docs/operations.md)
    app = FastAPI(
        title="POS 商户助手 / POS merchant support assistant",
        version="0.1.0",
        description=(
            "Chat API for the web widget, WeChat Official Account endpoint, internal ticket API "
            "for the ticketing system, staff FAQ search, and the custom-action endpoint Rasa calls."
        ),
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.settings = settings
    # Outermost first when the request arrives: CORS, security headers, rate limits, body limits.
    app.add_middleware(
        BodyLimit,
        rules=[*chat.body_limits(settings), ("/webhook", settings.action_body_max_bytes, too_large)],
        default=(settings.max_body_bytes, too_large),
        unicode_exempt=("/webhook",),
    )
    app.state.limiter = Limiter(settings)
    app.add_middleware(RateLimitMiddleware, limiter=app.state.limiter)
    app.add_middleware(SecurityHeaders, settings=settings)
    if settings.cors_origins:  # outermost: errors (413 included) carry the CORS headers too
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"], allow_headers=["*"]
        )
    install_error_handlers(app)
    # kb before faq: /api/faq/entries and /api/faq/editor are not entry ids of GET /api/faq/{entry_id}
    web_chat = (chat_session, chat, chat_updates, chat_photos, chat_rating)  # the order of the one router they were
    others = (actions, kb, faq, tickets, field, conversations, deliveries, staff, analytics, wechat)
    for module in (health, *web_chat, *others):
        app.include_router(document_auth(module.router), responses=COMMON_RESPONSES)
    document_errors(app)  # every 4xx/5xx in the OpenAPI has the one error shape
    app.mount("/static", PublicStaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def chat_page():
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/staff", include_in_schema=False)
    async def staff_page():
        return FileResponse(STATIC_DIR / "staff.html")

    return app
