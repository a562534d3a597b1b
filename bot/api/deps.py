"""FastAPI dependencies: the one place the routers get the process's services from.

The app's lifespan (bot.core.app) puts the services on ``app.state``; tests put their own there.
Routers take them as the ``Annotated`` aliases below and never read ``request.app.state``
themselves::

    @router.get("/api/tickets/{number}")
    def get_ticket(number: str, tickets: TicketsDep, _key: TicketsRead) -> TicketOut: ...

Every getter's parameters are ``Request`` or another getter, so none adds a query, header or
body parameter to an operation: the OpenAPI document is the same with or without them. They
are ``async`` although they only look things up: FastAPI runs a plain ``def`` dependency in
its thread pool, a hop per getter per request. The security dependencies (API key and staff
session scopes: ``TicketsRead``, ``AnyCaller``, ...) are in bot.api.auth.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from rasa_sdk.executor import ActionExecutor

from bot.api.ratelimit import Limiter, LoginFailures
from bot.channels.wechat import WeChatChannel
from bot.channels.wecom import WeComChannel
from bot.chat.service import ChatService
from bot.chat.session import SessionTokens
from bot.conversations.service import ConversationService
from bot.core.db import Database
from bot.core.services import Services
from bot.core.settings import Settings
from bot.faq.engine import FaqEngine
from bot.faq.store import DbSource, KbStore, StoreError
from bot.field.service import FieldService
from bot.rasa.client import RasaClient
from bot.tickets.service import TicketService

FILES_SOURCE_MESSAGE = (
    "知识库现在由 YAML 文件提供（POSBOT_FAQ_SOURCE=files），不能在页面上编辑 / "
    "the knowledge base is served from YAML files (POSBOT_FAQ_SOURCE=files); editing is off"
)


# --- the process-wide services (bot.core.services.Services) -----------------------------------------


async def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_app_settings(services: ServicesDep) -> Settings:
    return services.settings


async def get_db(services: ServicesDep) -> Database:
    return services.db


async def get_faq(services: ServicesDep) -> FaqEngine:
    return services.faq


async def get_tickets(services: ServicesDep) -> TicketService:
    return services.tickets


async def get_conversations(services: ServicesDep) -> ConversationService:
    return services.conversations


async def get_field(services: ServicesDep) -> FieldService:
    # Stateless over the ticket service: any Services-like object with ``tickets`` will do.
    return getattr(services, "field", None) or FieldService(services.tickets)


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
DbDep = Annotated[Database, Depends(get_db)]
FaqDep = Annotated[FaqEngine, Depends(get_faq)]
TicketsDep = Annotated[TicketService, Depends(get_tickets)]
ConversationsDep = Annotated[ConversationService, Depends(get_conversations)]
FieldDep = Annotated[FieldService, Depends(get_field)]


async def get_kb_store(faq: FaqDep) -> KbStore:
    """The editable knowledge base; 409 (faq_source_files) when the FAQ is served from YAML files."""
    source = getattr(faq, "source", None)
    if not isinstance(source, DbSource):
        raise StoreError(409, "faq_source_files", FILES_SOURCE_MESSAGE)
    return source.store


KbStoreDep = Annotated[KbStore, Depends(get_kb_store)]


# --- what the app holds beside them --------------------------------------------------------------


async def get_chat(request: Request) -> ChatService:
    return request.app.state.chat


async def get_rasa(request: Request) -> RasaClient:
    return request.app.state.rasa


async def get_action_executor(request: Request) -> ActionExecutor:
    return request.app.state.action_executor


async def get_session_tokens(request: Request, settings: SettingsDep) -> SessionTokens:
    """The web chat's session token signer (the lifespan makes it; an app without one makes it on first use)."""
    tokens = getattr(request.app.state, "chat_sessions", None)
    if tokens is None:
        tokens = request.app.state.chat_sessions = SessionTokens.from_settings(settings)
    return tokens


async def get_limiter(request: Request) -> Limiter | None:
    """The rate limiter of create_app; None in an app built without it (no limits)."""
    return getattr(request.app.state, "limiter", None)


async def get_login_failures(
    request: Request, settings: Annotated[Settings, Depends(get_app_settings)]
) -> LoginFailures:
    """The count of failed staff logins (shared through Redis when configured), made on first use."""
    state = request.app.state
    if not hasattr(state, "staff_login_failures"):
        state.staff_login_failures = LoginFailures(settings)
    return state.staff_login_failures


ChatDep = Annotated[ChatService, Depends(get_chat)]
RasaDep = Annotated[RasaClient, Depends(get_rasa)]
ActionExecutorDep = Annotated[ActionExecutor, Depends(get_action_executor)]
SessionTokensDep = Annotated[SessionTokens, Depends(get_session_tokens)]
LimiterDep = Annotated[Limiter | None, Depends(get_limiter)]
LoginFailuresDep = Annotated[LoginFailures, Depends(get_login_failures)]


# --- the WeChat / WeCom callback channels (bot.core.app start_channels) ------------------------------


def _channel(request: Request, name: str, settings: str):
    channel = getattr(request.app.state, name, None)
    if channel is None:
        raise HTTPException(status_code=404, detail=f"{name} channel is not configured ({settings})")
    return channel


async def get_wechat(request: Request) -> WeChatChannel:
    """The WeChat Official Account channel; 404 when it is not configured."""
    return _channel(request, "wechat", "POSBOT_WECHAT_TOKEN")


async def get_wecom(request: Request) -> WeComChannel:
    """The WeCom application channel; 404 when it is not configured."""
    return _channel(request, "wecom", "POSBOT_WECOM_CORP_ID, POSBOT_WECOM_TOKEN, POSBOT_WECOM_AES_KEY")


WeChatDep = Annotated[WeChatChannel, Depends(get_wechat)]
WeComDep = Annotated[WeComChannel, Depends(get_wecom)]
