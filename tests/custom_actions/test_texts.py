"""The composed wording (actions/texts.py): said as it fits the moment, in this chat."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from actions import texts
from tests.custom_actions.helpers import bot_event, make_tracker, user_event

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("如对扣费金额有疑问，请联系客服核实。", "如对扣费金额有疑问，可以直接说“转人工”，请客服核实。"),
        ("核对后仍有疑问请联系客服。", "核对后仍有疑问可以直接说“转人工”找客服。"),
        (
            "请联系客服说明情况，我们会告诉您需要准备的材料。",
            "可以直接说“转人工”，向客服说明情况，我们会告诉您需要准备的材料。",
        ),
        ("需要先修改预留手机号，或联系客服协助。", "需要先修改预留手机号，或说“转人工”请客服协助。"),
        ("请提前联系客服确认。", "请提前找人工客服确认。"),
        ("手机也不行就重启路由器或联系宽带客服。", "手机也不行就重启路由器或联系宽带客服。"),
    ],
)
def test_inside_the_chat_contacting_support_is_saying_zhuan_ren_gong(answer, expected):
    assert texts.in_chat(answer) == expected


def test_no_knowledge_base_answer_tells_the_merchant_to_contact_support_in_the_support_chat():
    answers = [
        e["answer"]
        for f in sorted((ROOT / "data" / "faq").glob("*.yml"))
        for e in (yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("entries", [])
    ]
    assert answers, "knowledge base not found"
    offenders = [a for a in answers if "联系客服" in texts.in_chat(a)]
    assert offenders == []


@pytest.mark.parametrize(
    "answer, question, titles",
    [
        (
            "1. 打开纸仓。\n2. 合上盖子。\n3. 重启。",
            "请先按上面的3个步骤试一试，试完点下面告诉我结果👇",
            ("解决了", "试了还是不行"),
        ),
        ("1、换张卡\n2、重启", "请先按上面的2个步骤试一试，试完点下面告诉我结果👇", ("解决了", "试了还是不行")),
        ("T+1 结算一般在下一个工作日到账。", "这样能解决您的问题吗？", ("解决了", "没解决")),
    ],
)
def test_the_follow_up_question_fits_the_answer(answer, question, titles):
    assert texts.resolved_question(answer) == (question, titles)


@pytest.mark.parametrize(
    "question, topic",
    [
        ("刷卡提示读卡失败怎么办？", "刷卡提示读卡失败"),
        ("提示缺纸，怎么更换纸卷？", "提示缺纸，怎么更换纸卷"),
        ("押金怎么退?", "押金怎么退"),
    ],
)
def test_topic_of_a_question(question, topic):
    assert texts.topic_of(question) == topic


def test_greeting_once_per_session(domain):
    fresh = make_tracker(domain, events=[user_event("打印机不出纸", "report_fault")])
    assert texts.without_repeated_greeting(fresh, "您好，打印不出纸可以这样排查") == "您好，打印不出纸可以这样排查"
    greeted = make_tracker(
        domain,
        events=[user_event("你好", "greet"), bot_event("您好！我是小助手"), user_event("打印机", "report_fault")],
    )
    assert texts.without_repeated_greeting(greeted, "您好，打印不出纸可以这样排查") == "打印不出纸可以这样排查"
    next_session = make_tracker(
        domain, events=[bot_event("您好！我是小助手"), {"event": "session_started"}, user_event("x", "greet")]
    )
    assert texts.greeted(next_session) is False


def test_button_labels_and_the_text_that_names_them_agree():
    assert all(f"“{t}”" in texts.continue_prompt() for t in texts.CONTINUE_TITLES)
    assert all(f"“{t}”" in texts.continue_reask() for t in texts.CONTINUE_TITLES)
    assert all(f"“{t}”" in texts.confirm_reask() for t in texts.CONFIRM_TITLES)
    assert f"“{texts.CONFIRM_TITLES[0]}”" in texts.summary("故障报修", [("商户号", "898310048161234")])
