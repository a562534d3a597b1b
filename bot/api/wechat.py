"""WeChat Official Account endpoint (server URL configured in the WeChat admin console)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, Response

from bot.channels.wechat import WeChatChannel, WeChatError
from bot.channels.wechat_dedupe import WeChatMessageStore

router = APIRouter(prefix="/wechat", tags=["wechat"])


def _channel(request: Request) -> WeChatChannel:
    services = request.app.state.services
    if not services.settings.wechat_token.get_secret_value():
        raise HTTPException(status_code=404, detail="WeChat channel is not configured (POSBOT_WECHAT_TOKEN)")
    return WeChatChannel(services.settings, request.app.state.chat, WeChatMessageStore(services.db))


@router.get("", response_class=PlainTextResponse)
async def verify(
    request: Request,
    signature: str = Query(...),
    timestamp: str = Query(...),
    nonce: str = Query(...),
    echostr: str = Query(...),
):
    """URL verification by WeChat: echo `echostr` when the signature is ours."""
    try:
        _channel(request).verify(signature, timestamp, nonce)
    except WeChatError as e:
        raise HTTPException(status_code=e.status, detail=str(e))
    return echostr


@router.post("")
async def receive(request: Request):
    """A message or event from a follower; answered with a passive XML reply."""
    channel = _channel(request)
    body = await request.body()
    if len(body) > 64 * 1024:
        raise HTTPException(status_code=413, detail="WeChat message too large")
    try:
        xml = await channel.handle(body, dict(request.query_params))
    except WeChatError as e:
        raise HTTPException(status_code=e.status, detail=str(e))
    return Response(content=xml, media_type="application/xml" if xml != "success" else "text/plain")
