"""What the FAQ side says, written once: reply texts, buttons, and how to tell a reply's kind.

The FAQ actions (``actions.faq``) build their replies from these constants, and
``reply_kind`` reads a reply back by the same markers, so the chat benchmark
(``scripts/bench_chat.py``) counts replies by what the code produced, not by guessing at
texts. Kinds:

``answer``        an entry's answer (ends with the feedback buttons, or the "did it help?"
                  question whose buttons answer a ``resolved`` step)
``code``          a response code explained from the code table
``suggestions``   choices: a close call, the closest entries, or an area's questions
``topic``         the bot asks which area the question is about (area buttons)
``dont_know``     the bot says it has no answer (only inside a ticket form, or a search error)
``out_of_scope``  the bot says the question is outside what it can help with
``handoff``       the conversation went to a person
``other``         anything else (greetings, forms, ticket status ...)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from actions.common import button, step_kind
from bot.faq.triage import AREA_LABELS

# --- texts ---------------------------------------------------------------------------------

SUGGEST_TEXT = "您是想问下面哪个问题吗？点一下就行👇"
CLOSEST_TEXT = "没找到和您的问题完全对得上的答案，下面这几条最接近，看看有没有您要的👇"
AREA_TEXT = "这些是「{area}」方面和您的问题最接近的内容👇"
AREA_COMMON_TEXT = "这些是「{area}」方面最常见的问题👇"
TOPIC_TEXT = "我想帮您找准答案😊 您的问题是关于哪方面的？点一下就行："
TOPIC_EMPTY_TEXT = "暂时没有「{area}」方面的现成答案😥 我可以帮您登记工单，或者转人工客服："
NONE_TEXT = "抱歉，这个问题我暂时没找到答案😥 您可以换个说法再问一次，或者："
OUT_OF_SCOPE_TEXT = (
    "这个问题不在我能解答的范围内😅 我是刷卡机客服小助手，结算到账、手续费、开通激活、故障报修、"
    "交易失败的代码都可以问我；需要的话也可以转人工客服。"
)
IN_FORM_NONE_TEXT = "这个问题我暂时答不上来，登记好工单后客服会一并帮您解答。"
SEARCH_ERROR_TEXT = "抱歉，我这边查资料出了点问题，请稍后再问一次，或者说“转人工”。"

CODE_HEAD = "代码 {code}：{meaning}"
CODE_SIDE = "问题出在{side}。"
CODE_SUCCESS = "这个代码表示交易是成功的。"
CODE_VARIES = "不同收单机构对这个代码的用法不完全一样，请以机器上代码旁边显示的文字为准。"
CODE_STEPS = "您可以这样处理："
CODE_ADVICE = "建议您："
CODE_ESCALATE = "按上面做了还不行？我可以帮您登记报修工单，或者转人工客服："
CODE_UNKNOWN_HEAD = "我这边的代码表里没有「{raw}」这个代码😅"
CODE_UNKNOWN_STEPS = (
    "把机器上代码旁边显示的文字发给我，我按文字帮您查；",
    "拨打机身背面或签约服务商 App 里的客服电话，问清这个代码的意思；",
    "需要的话，我可以帮您登记工单，或者转人工客服。",
)
CODE_MALFORMED_HEAD = (
    "返回码格式不对：「{raw}」不像刷卡机的返回码（一般是两位数字，或一个字母加一位数字，比如 05、51、A0）。"
)

PROVIDER_KNOWN = "您用的是{brand}的机器：具体以{brand}的合同和商户 App 里的说明为准。"
PROVIDER_UNKNOWN = "不同服务商的规定不一样：具体以您签约服务商的合同、商户 App 或客服的说明为准。"

# --- buttons -------------------------------------------------------------------------------

# Buttons that answer a question carry its step id (actions.common.new_step: a click on an
# earlier question's button is told apart from one on the current question) and what they are
# about (the entry, the ticket category).


def feedback_buttons(step: str, faq_id: str | None = None) -> list[dict[str, str]]:
    """👍/👎 under an answer; ``faq_id``: the entry the vote is about (None for a code explained)."""
    about = {"faq_id": faq_id} if faq_id else {}
    return [
        button("👍 有帮助", "give_feedback", feedback="up", **about, step=step),
        button("👎 没帮助", "give_feedback", feedback="down", **about, step=step),
    ]


def resolved_buttons(step: str, faq_id: str, titles: tuple[str, str]) -> list[dict[str, str]]:
    """The two answers to "did it help?" (titles from actions.texts.resolved_question)."""
    return [button(titles[0], "affirm", faq_id=faq_id, step=step), button(titles[1], "deny", faq_id=faq_id, step=step)]


def ticket_or_human_buttons(step: str, category: str) -> list[dict[str, str]]:
    """A ticket of ``category`` (answers the ticket_offer step) or a person."""
    return [button("登记工单", "affirm", category=category, step=step), HUMAN_BUTTON]


NONE_OF_THESE = button("都不是，转人工", "request_human")
HUMAN_BUTTON = button("转人工客服", "request_human")


def area_buttons() -> list[dict[str, str]]:
    return [button(label, "choose_faq", faq_topic=area) for area, label in AREA_LABELS.items()]


# --- reading a reply back --------------------------------------------------------------------

KINDS = ("answer", "code", "suggestions", "topic", "dont_know", "out_of_scope", "handoff", "other")


def domain_out_of_scope_texts(domain_file) -> list[str]:
    """The ``utter_out_of_scope`` texts of ``domain.yml`` (what the out_of_scope intent replies)."""
    with open(domain_file, encoding="utf-8") as fh:
        domain = yaml.safe_load(fh)
    return [r["text"] for r in (domain.get("responses") or {}).get("utter_out_of_scope", []) if r.get("text")]


def _payload_entities(payload: str) -> dict[str, Any]:
    head, brace, rest = payload.partition("{")
    if not brace:
        return {}
    try:
        return json.loads(brace + rest)
    except ValueError:
        return {}


def _starts(texts: list[str], template: str) -> bool:
    """Some text starts with ``template``'s fixed beginning (up to its first placeholder)."""
    head = template.split("{", 1)[0]
    return any(t.startswith(head) for t in texts)


def reply_kind(
    messages: Iterable[Mapping[str, Any]], *, status: str = "ok", out_of_scope_texts: Iterable[str] = ()
) -> str:
    """The kind of one bot turn (its messages, each with ``text`` and ``buttons``; ``status``
    as the chat API returns it). ``out_of_scope_texts``: the domain's ``utter_out_of_scope``
    texts (the NLU's out_of_scope intent answers with them, not with ``OUT_OF_SCOPE_TEXT``)."""
    msgs = list(messages)
    texts = [str(m.get("text") or "") for m in msgs]
    payloads = [str(b.get("payload") or "") for m in msgs for b in (m.get("buttons") or [])]
    if status == "handoff":
        return "handoff"
    if _starts(texts, CODE_HEAD) or _starts(texts, CODE_UNKNOWN_HEAD) or _starts(texts, CODE_MALFORMED_HEAD):
        return "code"
    if _starts(texts, TOPIC_TEXT):
        return "topic"
    if any(p.startswith("/choose_faq") and "faq_id" in _payload_entities(p) for p in payloads):
        return "suggestions"
    if any(_starts(texts, t) for t in (NONE_TEXT, IN_FORM_NONE_TEXT, SEARCH_ERROR_TEXT, TOPIC_EMPTY_TEXT)):
        return "dont_know"
    if any(t in {OUT_OF_SCOPE_TEXT, *out_of_scope_texts} for t in texts):
        return "out_of_scope"
    if any(_answers_an_answer(p) for p in payloads):
        return "answer"
    return "other"


def _answers_an_answer(payload: str) -> bool:
    """A button that follows an entry's answer: a 👍/👎 vote (not a 👎 reason, not a rating),
    or a reply to its "did it help?" question (the ``resolved`` step)."""
    intent = payload.partition("{")[0]
    found = _payload_entities(payload)
    if intent == "/give_feedback":
        return "feedback" in found and "feedback_reason" not in found
    return intent in ("/affirm", "/deny") and step_kind(str(found.get("step") or "")) == "resolved"
