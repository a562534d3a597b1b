"""Photos merchants attach during a handoff: checked by content, re-encoded before they are kept.

The file name and the browser's Content-Type are ignored: Pillow must recognise the bytes
as JPEG, PNG, WebP or GIF, the declared size must fit ``chat_photo_max_pixels`` before
anything is decoded (decompression bombs), and the image must decode completely. What is
stored is a fresh encoding: EXIF (GPS position, phone model) and any bytes appended to the
file are gone, the orientation is applied, and the long side is at most ``MAX_SIDE``.

``Photos`` keeps them: only while a person handles the conversation and at most
``max_per_handoff`` per handoff (``PhotoRefused`` otherwise), each as a '[图片]' line of the
transcript with its attachment; staff fetch the bytes with ``get_attachment``.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select

from bot.conversations.models import ConversationAttachment, ConversationMessage
from bot.conversations.schemas import AttachmentOut, MessageOut
from bot.conversations.store import ConversationStore, attachment_out, latest_handoff, load, message_out

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
MAX_SIDE = 2560
JPEG_QUALITY = 85
PHOTO_TEXT = "[图片]"

ERRORS = {
    "photo_empty": "没有收到图片 / no file received",
    "photo_too_big": "图片太大了，请发 {limit_mb} MB 以内的照片 / photo larger than {limit_mb} MB",
    "photo_not_image": "这不是图片文件，请发 JPG 或 PNG 照片 / not a JPEG, PNG, WebP or GIF image",
    "photo_too_many_pixels": "图片尺寸太大了，请截图或压缩后再发 / image has too many pixels",
    "photo_damaged": "图片文件损坏，打不开，请重新拍一张 / image data is truncated or damaged",
}


class PhotoError(ValueError):
    def __init__(self, code: str, **fmt):
        self.code = code
        self.message = ERRORS[code].format(**fmt)
        super().__init__(self.message)


class PhotoRefused(Exception):
    """A photo arriving when none is expected: 409 for the API."""

    MESSAGES = {
        "photo_no_handoff": "转人工后才能发图片给客服哦 / photos can be sent only while a person handles the conversation",
        "photo_limit": "这次已经发了很多张图片了，请先等客服回复 / too many photos in this handoff",
    }

    def __init__(self, code: str):
        self.code = code
        self.message = self.MESSAGES[code]
        super().__init__(self.message)


@dataclass(frozen=True)
class Photo:
    data: bytes
    content_type: str
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def normalize_photo(raw: bytes, *, max_bytes: int, max_pixels: int) -> Photo:
    """Check ``raw`` and return the photo to keep (JPEG, or PNG when it has transparency)."""
    if not raw:
        raise PhotoError("photo_empty")
    if len(raw) > max_bytes:
        raise too_big(max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked below
            with Image.open(io.BytesIO(raw)) as probe:
                fmt = probe.format
                w, h = probe.size
    except Image.DecompressionBombError:
        raise PhotoError("photo_too_many_pixels") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise PhotoError("photo_not_image") from None
    if fmt not in ACCEPTED_FORMATS:
        raise PhotoError("photo_not_image")
    if w < 1 or h < 1 or w * h > max_pixels:
        raise PhotoError("photo_too_many_pixels")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as opened:
                opened.load()  # decodes every byte: truncated files fail here
                img: Image.Image = ImageOps.exif_transpose(opened)
                keep_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
                img = img.convert("RGBA" if keep_alpha else "RGB")
                img.thumbnail((MAX_SIDE, MAX_SIDE))
                out = io.BytesIO()
                if keep_alpha:
                    img.save(out, "PNG", optimize=True)
                    content_type = "image/png"
                else:
                    img.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
                    content_type = "image/jpeg"
                return Photo(out.getvalue(), content_type, img.width, img.height)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError("photo_too_many_pixels") from None
    except (OSError, ValueError, SyntaxError):
        raise PhotoError("photo_damaged") from None


def too_big(max_bytes: int) -> PhotoError:
    mb = max_bytes / (1024 * 1024)
    return PhotoError("photo_too_big", limit_mb=f"{mb:.0f}" if mb >= 1 else f"{mb:.1f}")


class Photos(ConversationStore):
    def add_photo(self, conv_id: str, photo: Photo, *, max_per_handoff: int = 20) -> MessageOut:
        """Keep a photo the merchant sent to the person handling the conversation (a '[图片]' line)."""
        with self.db.session() as s:
            conv = load(s, conv_id)
            current = latest_handoff(s, conv.id)
            if not conv.handoff_active or current is None or current.ended_at is not None:
                raise PhotoRefused("photo_no_handoff")
            sent = s.execute(
                select(func.count(ConversationAttachment.id)).where(
                    ConversationAttachment.conversation_id == conv.id,
                    ConversationAttachment.created_at >= current.started_at,
                )
            ).scalar_one()
            if sent >= max_per_handoff:
                raise PhotoRefused("photo_limit")
            now = self.clock()
            conv.last_message_at = now
            m = ConversationMessage(
                conversation_id=conv.id, direction="in", text=PHOTO_TEXT, created_at=now, delivered_at=now
            )
            s.add(m)
            s.flush()
            a = ConversationAttachment(
                conversation_id=conv.id,
                message_id=m.id,
                content_type=photo.content_type,
                size=len(photo.data),
                width=photo.width,
                height=photo.height,
                sha256=photo.sha256,
                data=photo.data,
                created_at=now,
            )
            s.add(a)
            s.flush()
            return message_out(m, a)

    def get_attachment(self, conv_id: str, attachment_id: int) -> tuple[AttachmentOut, bytes] | None:
        """A photo's description and bytes, only when it belongs to ``conv_id``."""
        with self.db.session() as s:
            a = s.get(ConversationAttachment, attachment_id)
            if a is None or a.conversation_id != conv_id:
                return None
            return attachment_out(a), bytes(a.data)
