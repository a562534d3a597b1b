"""Callback endpoints of the WeChat Official Account (``/wechat``) and the WeCom application (``/wecom``).

These are the server URLs configured in the two admin consoles. Both read the body as a stream
and stop at ``MAX_BODY`` (a WeChat message is a few KB), before any parsing; every refusal is
a plain-text 400 (malformed), 403 (not signed by Tencent, stale or replayed) or 413 (too big).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response

from bot.api.deps import WeChatDep, WeComDep
from bot.api.errors import Responses
from bot.channels.callback import CallbackError
from bot.channels.wechat import WeChatChannel
from bot.channels.wecom import WeComChannel

MAX_BODY = 64 * 1024

router = APIRouter(tags=["wechat"])

_RESPONSES: Responses = {
    400: {"description": "Malformed request: missing parameters, empty or invalid XML, bad user id"},
    403: {"description": "Not signed with our token, timestamp outside the window, or a replay"},
    404: {"description": "The channel is not configured"},
    413: {"description": "Body larger than 64 KB"},
}


async def read_capped(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes (never read whole first)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(status_code=413, detail=f"message too large (limit {limit} bytes)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail=f"message too large (limit {limit} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def _verify(request: Request, channel: WeChatChannel | WeComChannel) -> PlainTextResponse:
    try:
        return PlainTextResponse(channel.verify_url(dict(request.query_params)))
    except CallbackError as e:
        raise HTTPException(status_code=e.status, detail=str(e)) from None


async def _receive(request: Request, channel: WeChatChannel | WeComChannel) -> Response:
    body = await read_capped(request)
    try:
        xml = await channel.handle(body, dict(request.query_params))
    except CallbackError as e:
        raise HTTPException(status_code=e.status, detail=str(e)) from None
    return Response(content=xml, media_type="application/xml" if xml != "success" else "text/plain")


@router.get("/wechat", response_class=PlainTextResponse, responses=_RESPONSES)
async def wechat_verify(request: Request, channel: WeChatDep):
    """URL verification by WeChat: echo `echostr` when the signature is ours."""
    return _verify(request, channel)


@router.post("/wechat", responses=_RESPONSES)
async def wechat_receive(request: Request, channel: WeChatDep):
    """A message or event from a follower; answered with a passive XML reply (or `success`)."""
    return await _receive(request, channel)


@router.get("/wecom", response_class=PlainTextResponse, responses=_RESPONSES)
async def wecom_verify(request: Request, channel: WeComDep):
    """URL verification by WeCom: the decrypted `echostr` when `msg_signature` is ours."""
    return _verify(request, channel)


@router.post("/wecom", responses=_RESPONSES)
async def wecom_receive(request: Request, channel: WeComDep):
    """A message or event from a member of the enterprise; answered with an encrypted passive reply."""
    return await _receive(request, channel)
