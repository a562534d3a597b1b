"""Photos merchants attach during a handoff: checked by content, re-encoded before they are kept.

The file name and the browser's Content-Type are ignored: Pillow must recognise the bytes
as JPEG, PNG, WebP or GIF, the declared size must fit ``chat_photo_max_pixels`` before
anything is decoded (decompression bombs), and the image must decode completely. What is
stored is a fresh encoding: EXIF (GPS position, phone model) and any bytes appended to the
file are gone, the orientation is applied, and the long side is at most ``MAX_SIDE``.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
MAX_SIDE = 2560
JPEG_QUALITY = 85

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
