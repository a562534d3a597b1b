"""Chat API used by the web widget: one merchant message in, the bot's messages out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from bot.api.deps import get_app_settings, get_chat
from anyio import to_thread

from bot.chat import SENDER_RE, ChatService, conversation_id
from bot.settings import Settings

router = APIRouter(prefix="/api/chat", tags=["chat"])


class Button(BaseModel):
    title: str
    payload: str


class Message(BaseModel):
    text: str = ""
    buttons: list[Button] = Field(default_factory=list)


class ChatIn(BaseModel):
    sender_id: str = Field(..., description="Stable id of the merchant's browser or session.", examples=["m-3f2a9c"])
    text: str = Field(..., description="What the merchant typed, or a button payload.", examples=["刷卡机怎么激活"])
    title: str | None = Field(None, description="Button title when `text` is a button payload (kept in the transcript).")

    @field_validator("sender_id")
    @classmethod
    def _sender(cls, v: str) -> str:
        if not SENDER_RE.match(v):
            raise ValueError("sender_id 只能包含字母、数字和 _ . : @ -，长度 1-64 / sender_id must be 1-64 chars of [A-Za-z0-9_.:@-]")
        return v

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("消息不能为空 / text must not be empty")
        return v


class ChatOut(BaseModel):
    messages: list[Message]
    status: str = Field("ok", description="ok | handoff (a person owns the conversation) | rasa_unavailable")


@router.post(
    "",
    response_model=ChatOut,
    responses={503: {"model": ChatOut, "description": "Rasa is down or slow; the body still carries a polite message."}},
)
async def chat(
    body: ChatIn,
    chat: ChatService = Depends(get_chat),
    settings: Settings = Depends(get_app_settings),
):
    """Send a merchant message to the assistant and get its replies."""
    if len(body.text) > settings.max_message_chars:
        return JSONResponse(
            status_code=422,
            content={
                "detail": [
                    {
                        "loc": ["body", "text"],
                        "msg": f"消息太长了，请控制在 {settings.max_message_chars} 字以内 / text longer than {settings.max_message_chars} characters",
                        "type": "too_long",
                    }
                ]
            },
        )
    reply = await chat.handle("web", body.sender_id, body.text, display_text=body.title)
    out = ChatOut(
        messages=[Message(text=m.text, buttons=[Button(**b) for b in m.buttons]) for m in reply.messages],
        status=reply.status,
    )
    if reply.status == "rasa_unavailable":
        return JSONResponse(status_code=503, content=out.model_dump())
    return out


class UpdateOut(BaseModel):
    text: str
    from_: str = Field(..., alias="from", description="staff | system")

    model_config = {"populate_by_name": True}


class UpdatesOut(BaseModel):
    messages: list[UpdateOut]
    handoff: bool = Field(..., description="True while a person owns the conversation (the bot is silent).")


@router.get("/updates", response_model=UpdatesOut, response_model_by_alias=True)
async def updates(request: Request, sender_id: str):
    """Staff replies (during 转人工) and ticket notifications waiting for this merchant; each is returned once."""
    from bot.chat import collect_updates

    if not SENDER_RE.match(sender_id):
        return JSONResponse(
            status_code=422,
            content={"detail": [{"loc": ["query", "sender_id"], "msg": "sender_id 格式不正确 / invalid sender_id"}]},
        )
    services = request.app.state.services
    items = await collect_updates(services, "web", sender_id)
    handoff = await to_thread.run_sync(services.conversations.handoff_active, conversation_id("web", sender_id))
    return UpdatesOut(messages=[UpdateOut(text=u.text, **{"from": u.source}) for u in items], handoff=handoff)
