"""Issue #9 end to end: codes, brands and the area question through /api/chat (real Rasa + app).

The first message of each flow is typed as a merchant types it; buttons are clicked by
their payloads. Reply kinds are read with the markers the actions build replies from.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from actions.faq_replies import domain_out_of_scope_texts, reply_kind
from tests.support import buttons, texts

ROOT = Path(__file__).resolve().parents[2]
OOS_TEXTS = domain_out_of_scope_texts(ROOT / "domain.yml")


def category_of(payload: str) -> str | None:
    """The KB category of the entry a /choose_faq{"faq_id": ...} button answers."""
    from bot.faq.loader import load_kb

    faq_id = json.loads(payload[payload.index("{") :])["faq_id"]
    entry = load_kb(ROOT / "data" / "faq").get(faq_id)
    return entry.category if entry else None


def sid() -> str:
    return "cov" + uuid.uuid4().hex[:10]


def say(chat, sender: str, text: str):
    status, body = chat(sender, text)
    assert status == 200, body
    return body


def test_a_response_code_is_explained_from_the_table(chat):
    body = say(chat, sid(), "刷卡一直提示51是什么意思")
    assert reply_kind(body["messages"], status=body["status"]) == "code"
    assert "代码 51：余额不足" in texts(body)
    assert "持卡人和发卡银行" in texts(body)


def test_an_unknown_code_gets_next_steps_and_a_ticket_offer(chat):
    s = sid()
    body = say(chat, s, "机器报错 B9 怎么办")
    assert "我这边的代码表里没有「B9」这个代码" in texts(body)
    btns = buttons(body)
    assert [b["payload"].split("{")[0] for b in btns] == ["/affirm", "/request_human"]
    body = say(chat, s, btns[0]["payload"])  # the offer is a real repair ticket form
    assert "商户号" in texts(body)


def test_vague_problem_gets_a_question_back_and_the_area_narrows_it(chat):
    """The chat only accepts payloads of buttons it offered, so the flow clicks what it got:
    the area question (then the 故障 area) or, when the KB has close entries, one of those."""
    s = sid()
    body = say(chat, s, "机器有点问题")
    kind = reply_kind(body["messages"], status=body["status"])
    # a question back: which area, or the closest entries; never "don't know"
    assert kind in ("topic", "suggestions"), body
    if kind == "topic":
        assert [b["title"] for b in buttons(body)][:5] == ["结算到账", "手续费", "开通激活", "故障", "其他"]
        body = say(chat, s, '/choose_faq{"faq_topic":"fault"}')
        assert reply_kind(body["messages"]) == "suggestions", body
        payloads = [b["payload"] for b in buttons(body)]
        assert all(category_of(p) == "fault" for p in payloads[:-1])  # the area narrows the search
    else:
        payloads = [b["payload"] for b in buttons(body)]
    assert payloads[-1] == "/request_human" or payloads[0].startswith('/choose_faq{"faq_id"')
    body = say(chat, s, payloads[0])
    assert reply_kind(body["messages"]) == "answer", body


def test_out_of_scope_is_declined_honestly(chat):
    body = say(chat, sid(), "周末带家人去哪儿爬山好")
    assert reply_kind(body["messages"], status=body["status"], out_of_scope_texts=OOS_TEXTS) == "out_of_scope"


def test_brand_in_the_question_does_not_derail_it(chat):
    body = say(chat, sid(), "拉卡拉的pos机打印不出小票怎么办")
    assert reply_kind(body["messages"], status=body["status"]) in ("answer", "suggestions")
    assert "小票" in texts(body) or "打印" in texts(body)
