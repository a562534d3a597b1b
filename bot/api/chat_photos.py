"""Photos in the web chat: ``POST /api/chat/photos``, for the person handling a handoff.

The upload is a multipart field ``file``; bot.conversations.photos checks and normalises it
(image type by content, size, pixels) and the conversation stores it, at most
``chat_photos_per_handoff`` per handoff. Bodies far above ``chat_photo_max_bytes`` are refused before they arrive here
(bot.api.chat.body_limits). Needs the session token (bot.api.chat_session).
"""

from __future__ import annotations

from datetime import datetime

from anyio import to_thread
from fastapi import APIRouter, Request
from pydantic import BaseModel

from bot.api.chat_session import AUTH_DOC, CHANNEL, limited_sender, query_sender
from bot.api.deps import ConversationsDep, LimiterDep, SessionTokensDep, SettingsDep
from bot.api.errors import ApiError
from bot.conversations.photos import PhotoError, normalize_photo
from bot.conversations.service import PhotoRefused
from bot.vocabulary import conversation_id

router = APIRouter(prefix="/api/chat", tags=["chat"])


class PhotoOut(BaseModel):
    message_id: int
    attachment_id: int
    content_type: str
    width: int
    height: int
    size: int
    received_at: datetime


PHOTO_STATUS = {
    "photo_empty": 422,
    "photo_too_big": 413,
    "photo_not_image": 415,
    "photo_too_many_pixels": 422,
    "photo_damaged": 422,
}


def _photo_error(e: PhotoError) -> ApiError:
    status = PHOTO_STATUS[e.code]
    return ApiError(status, e.code, e.message, loc=["body", "file"] if status == 422 else None)


@router.post(
    "/photos",
    response_model=PhotoOut,
    status_code=201,
    responses={
        **AUTH_DOC,
        409: {"description": "no handoff active, or too many photos in this handoff"},
        413: {"description": "larger than chat_photo_max_bytes"},
        415: {"description": "not a JPEG, PNG, WebP or GIF image (by content)"},
        422: {"description": "damaged image, too many pixels, or no file"},
    },
)
async def upload_photo(
    request: Request,
    sender_id: str,
    settings: SettingsDep,
    tokens: SessionTokensDep,
    limiter: LimiterDep,
    convs: ConversationsDep,
):
    """Attach a photo (multipart field ``file``) for the person handling the conversation."""
    await limited_sender(request, tokens, limiter, query_sender(sender_id))
    limit = settings.chat_photo_max_bytes  # bodies far above it never get here (body_limits)
    try:
        form = await request.form(max_files=1, max_fields=4)
    except Exception:
        raise ApiError(
            422, "photo_empty", "请用 multipart/form-data 上传 file 字段 / send the photo as multipart field 'file'"
        ) from None
    try:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise _photo_error(PhotoError("photo_empty"))
        raw = await upload.read(limit + 1)
    finally:
        await form.close()
    try:
        photo = await to_thread.run_sync(
            lambda: normalize_photo(raw, max_bytes=limit, max_pixels=settings.chat_photo_max_pixels)
        )
    except PhotoError as e:
        raise _photo_error(e) from None
    try:
        m = await to_thread.run_sync(
            lambda: convs.add_photo(
                conversation_id(CHANNEL, sender_id), photo, max_per_handoff=settings.chat_photos_per_handoff
            )
        )
    except PhotoRefused as e:
        raise ApiError(409, e.code, e.message) from None
    except LookupError:  # no conversation at all: nobody to hand a photo to
        raise ApiError(409, "photo_no_handoff", PhotoRefused.MESSAGES["photo_no_handoff"]) from None
    a = m.attachment
    assert a is not None  # add_photo returns the message it stored with its photo
    return PhotoOut(
        message_id=m.id,
        attachment_id=a.id,
        content_type=a.content_type,
        width=a.width,
        height=a.height,
        size=a.size,
        received_at=m.created_at,
    )
