"""FastAPI dependencies shared by routers."""

from __future__ import annotations

from fastapi import Request

from bot.chat import ChatService
from bot.services import Services
from bot.settings import Settings


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_app_settings(request: Request) -> Settings:
    return request.app.state.services.settings


def get_chat(request: Request) -> ChatService:
    return request.app.state.chat
