"""Photos of the fault during a handoff: checked by content, stored with the conversation, staff only."""

from __future__ import annotations

import io

import pytest
from PIL import Image

LIMIT = 256 * 1024  # chat_photo_max_bytes in tests/chat/conftest.py


def jpeg(size=(640, 480), exif_gps=False, color=(200, 30, 30)) -> bytes:
    img = Image.new("RGB", size, color)
    out = io.BytesIO()
    if exif_gps:
        exif = Image.Exif()
        exif[0x0110] = "Merchant Phone X"  # camera model
        exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0)}  # GPS IFD: latitude
        img.save(out, "JPEG", exif=exif)
    else:
        img.save(out, "JPEG")
    return out.getvalue()


def png_rgba() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (120, 80), (0, 0, 0, 0)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def waiting(browser, services):
    """A merchant whose conversation a person handles now."""
    m = browser()
    m.say("转人工")
    services.conversations.start_handoff(m.conv, "web")
    return m


def upload(m, data: bytes, name="fault.jpg", ctype="image/jpeg"):
    return m.client.post(
        "/api/chat/photos", params={"sender_id": m.sender_id}, headers=m.auth, files={"file": (name, data, ctype)}
    )


def test_a_photo_reaches_the_agent_without_its_exif(waiting, client, staff):
    r = upload(waiting, jpeg(exif_gps=True))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["content_type"] == "image/jpeg" and (body["width"], body["height"]) == (640, 480)

    detail = client.get(f"/api/conversations/{waiting.conv}", headers=staff).json()
    line = detail["messages"][-1]
    assert line["direction"] == "in" and line["text"] == "[图片]"
    assert line["attachment"]["id"] == body["attachment_id"]

    got = client.get(f"/api/conversations/{waiting.conv}/attachments/{body['attachment_id']}", headers=staff)
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["cache-control"] == "private, no-store"
    img = Image.open(io.BytesIO(got.content))
    assert img.size == (640, 480)
    assert dict(img.getexif()) == {}  # no GPS, no phone model


def test_transparent_png_stays_png(waiting):
    r = upload(waiting, png_rgba(), "screen.png", "image/png")
    assert r.status_code == 201 and r.json()["content_type"] == "image/png"


def test_photos_are_for_staff_only(waiting, client, browser):
    aid = upload(waiting, jpeg()).json()["attachment_id"]
    # The merchant's session token is no API key; a stranger guessing ids gets nothing either.
    assert client.get(f"/api/conversations/{waiting.conv}/attachments/{aid}", headers=waiting.auth).status_code == 401
    assert client.get(f"/api/conversations/{waiting.conv}/attachments/{aid}").status_code == 401


def test_an_attachment_id_of_another_conversation_is_404(waiting, client, staff):
    aid = upload(waiting, jpeg()).json()["attachment_id"]
    r = client.get(f"/api/conversations/web:someone-else/attachments/{aid}", headers=staff)
    assert r.status_code == 404


def test_a_photo_that_is_too_big_is_413(waiting, services):
    big = jpeg(size=(2000, 2000)) + b"\0" * LIMIT  # over the limit whatever JPEG makes of it
    r = upload(waiting, big)
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "photo_too_big"
    assert "MB" in r.json()["message"].split(" / ")[0]
    assert [m.text for m in services.conversations.transcript(waiting.conv)][-1] != "[图片]"


@pytest.mark.parametrize(
    "data, name, ctype",
    [
        (b"%PDF-1.7\n1 0 obj<<>>endobj\n", "fault.jpg", "image/jpeg"),  # a PDF renamed .jpg
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "x.png", "image/png"),
        (b"MZ\x90\x00" + b"\0" * 200, "photo.jpeg", "image/jpeg"),  # an executable
        ("你好，这是文字".encode(), "note.png", "image/png"),
    ],
)
def test_something_that_is_not_an_image_is_415(waiting, data, name, ctype):
    r = upload(waiting, data, name, ctype)
    assert r.status_code == 415, r.text
    assert r.json()["code"] == "photo_not_image"


def test_a_truncated_photo_is_422(waiting):
    data = jpeg(size=(800, 600))
    r = upload(waiting, data[: len(data) // 2])
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["type"] == "photo_damaged"


def test_a_decompression_bomb_is_refused_before_decoding(waiting):
    out = io.BytesIO()
    Image.new("1", (10000, 10000)).save(out, "PNG")  # ~100 MP, a few KB on the wire
    r = upload(waiting, out.getvalue(), "bomb.png", "image/png")
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "photo_too_many_pixels"


def test_no_photo_outside_a_handoff(browser):
    m = browser()
    m.say("打印机不出纸")
    r = upload(m, jpeg())
    assert r.status_code == 409 and r.json()["code"] == "photo_no_handoff"


def test_photos_need_the_session_token(waiting, client):
    r = client.post(
        "/api/chat/photos", params={"sender_id": waiting.sender_id}, files={"file": ("a.jpg", jpeg(), "image/jpeg")}
    )
    assert r.status_code == 401


def test_no_file_is_422(waiting):
    r = waiting.client.post(
        "/api/chat/photos", params={"sender_id": waiting.sender_id}, headers=waiting.auth, data={"note": "x"}
    )
    assert r.status_code == 422


def test_photos_per_handoff_are_limited(waiting, services):
    services.settings = services.settings.model_copy(update={"chat_photos_per_handoff": 2})
    assert upload(waiting, jpeg()).status_code == 201
    assert upload(waiting, jpeg()).status_code == 201
    r = upload(waiting, jpeg())
    assert r.status_code == 409 and r.json()["code"] == "photo_limit"
