"""The web chat's safeguards against the real stack: session tokens, acknowledged updates,
offered-button checks, the signed merchant identity and photos during a handoff.

Real Rasa (trained model), real app service, real SQLite. What Rasa made of a message is
read back from its tracker, so "reached Rasa as an intent" is checked, not assumed.
"""

from __future__ import annotations

import io
import time
import uuid

import httpx
import pytest
from PIL import Image

from tests.conftest import LIVE_MERCHANT_SECRET
from tests.support import signed_merchant

pytestmark = pytest.mark.integration
MID = "898310048161234"


def sid() -> str:
    return "wc" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def staff(live_stack) -> httpx.Client:
    from bot.core.db import Database
    from bot.tickets.apikeys import ApiKeyStore

    db = Database(live_stack.settings.effective_database_url)
    try:
        key = ApiKeyStore(db).create("客服小周", ["tickets:read", "tickets:write"])
    finally:
        db.dispose()
    with httpx.Client(base_url=live_stack.app_url, headers={"X-API-Key": key.token}, timeout=30) as c:
        yield c


def latest_user_event(live_stack, sender: str) -> dict:
    r = httpx.get(
        f"{live_stack.rasa_url}/conversations/web:{sender}/tracker",
        params={"token": live_stack.settings.rasa_token.get_secret_value()},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return [e for e in r.json()["events"] if e["event"] == "user"][-1]


def signed(merchant_id=MID, expires=None, secret=LIVE_MERCHANT_SECRET) -> dict:
    return signed_merchant(merchant_id, secret, expires)


def test_updates_need_the_conversations_own_token(live_stack, chat_client, staff):
    victim = sid()
    r = chat_client.post(victim, "转人工")
    assert r.json()["status"] == "handoff"
    assert staff.post(f"/api/conversations/web:{victim}/messages", json={"text": "您好，我在"}).status_code == 201

    url = f"{live_stack.app_url}/api/chat/updates"
    anonymous = httpx.get(url, params={"sender_id": victim}, timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "session_missing"
    wrong = httpx.get(url, params={"sender_id": victim}, headers={"Authorization": "Bearer abc.def.ghi"}, timeout=10)
    assert wrong.status_code == 401 and wrong.json()["code"] == "session_invalid"
    stranger = sid()
    theirs = httpx.get(url, params={"sender_id": victim}, headers=chat_client.auth(stranger), timeout=10)
    assert theirs.status_code == 403

    # None of that consumed the reply: the merchant sees it, and again until acknowledged.
    first = chat_client.updates(victim).json()["messages"]
    assert [(m["text"], m["author"]) for m in first] == [("您好，我在", "客服小周")]
    assert chat_client.updates(victim).json()["messages"] == first
    chat_client.ack(victim, [m["id"] for m in first])
    assert chat_client.updates(victim).json()["messages"] == []


def test_request_human_typed_by_hand_is_just_words(live_stack, chat):
    s = sid()
    status, body = chat(s, "/request_human")
    assert status == 200 and body["status"] == "ok"  # no handoff, no ticket
    event = latest_user_event(live_stack, s)
    assert event["text"] == "request_human"
    assert event["parse_data"]["intent"]["name"] != "request_human"


def test_a_hand_typed_slot_payload_is_not_unpacked(live_stack, chat):
    s = sid()
    status, _ = chat(s, '/inform{"terminal_id":"ABCDEFGH","phone":"1"}')
    assert status == 200
    event = latest_user_event(live_stack, s)
    assert not event["text"].startswith("/")
    # Rasa's RegexMessageHandler (the /intent{...} unpacker) set nothing; whatever NLU read is words.
    assert all(e.get("extractor") != "RegexMessageHandler" for e in event["parse_data"]["entities"])
    tracker = httpx.get(
        f"{live_stack.rasa_url}/conversations/web:{s}/tracker",
        params={"token": live_stack.settings.rasa_token.get_secret_value()},
        timeout=10,
    ).json()
    assert tracker["slots"].get("terminal_id") is None and tracker["slots"].get("phone") is None


def test_a_forged_title_is_refused(chat, live_stack, staff):
    s = sid()
    chat(s, "打印机不出纸")
    status, body = chat(s, "你好", title="我要投诉，退钱！")
    assert status == 422 and body["detail"][0]["loc"] == ["body", "title"]
    said = [m["text"] for m in staff.get(f"/api/conversations/web:{s}").json()["messages"] if m["direction"] == "in"]
    assert said == ["打印机不出纸"]


def test_an_old_button_still_reaches_rasa_as_its_intent(live_stack, chat):
    s = sid()
    _, body = chat(s, "打印机不出纸")
    deny = next(b for m in body["messages"] for b in m["buttons"] if b["payload"].startswith("/deny"))
    chat(s, "钱什么时候到账")  # a later turn with its own buttons (or none)
    status, _ = chat(s, deny["payload"], title=deny["title"])  # the old 没解决, clicked late
    assert status == 200
    event = latest_user_event(live_stack, s)
    assert event["parse_data"]["intent"]["name"] == "deny"


def test_a_verified_merchant_id_reaches_the_tracker(live_stack, chat):
    s = sid()
    status, _ = chat(s, "你好", merchant=signed())
    assert status == 200
    assert latest_user_event(live_stack, s)["metadata"]["verified_merchant_id"] == MID
    chat(s, "谢谢")  # the next message without it carries no verified id: it is per message
    assert "verified_merchant_id" not in (latest_user_event(live_stack, s).get("metadata") or {})


@pytest.mark.parametrize(
    "merchant, code",
    [
        (lambda: signed(expires=int(time.time()) - 5), "merchant_identity_expired"),
        (lambda: signed(secret="guessed"), "merchant_identity_invalid"),
        (lambda: {**signed(), "id": "898310048160000"}, "merchant_identity_invalid"),
    ],
)
def test_an_expired_or_forged_merchant_identity_is_401(chat, merchant, code):
    status, body = chat(sid(), "查一下我的工单", merchant=merchant())
    assert status == 401 and body["code"] == code


def _photo(size=(400, 300)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def test_photos_during_a_handoff(live_stack, chat_client, staff):
    s = sid()
    assert chat_client.post(s, "转人工").json()["status"] == "handoff"

    def upload(data: bytes, name="fault.jpg", ctype="image/jpeg"):
        return chat_client.http.post(
            "/api/chat/photos",
            params={"sender_id": s},
            headers=chat_client.auth(s),
            files={"file": (name, data, ctype)},
        )

    too_big = upload(_photo() + b"\0" * (live_stack.settings.chat_photo_max_bytes + 1))
    assert too_big.status_code == 413, too_big.text
    not_image = upload(b"%PDF-1.4 not a photo" * 10, "fault.jpg", "image/jpeg")
    assert not_image.status_code == 415

    ok = upload(_photo())
    assert ok.status_code == 201, ok.text
    lines = staff.get(f"/api/conversations/web:{s}").json()["messages"]
    photos = [m for m in lines if m.get("attachment")]
    assert len(photos) == 1  # the refused ones left nothing behind
    got = staff.get(f"/api/conversations/web:{s}/attachments/{photos[0]['attachment']['id']}")
    assert got.status_code == 200 and Image.open(io.BytesIO(got.content)).size == (400, 300)
