"""Issue #9 in the chat: response codes, brands, the area question and closest entries.

Run like the other custom-action tests: the real actions on the real FAQ engine (tests/custom_actions/kb)
and the project's code table and lexicon.
"""

from __future__ import annotations

from dataclasses import replace

from rasa_sdk.events import SlotSet

from actions.faq import ActionAnswerFaq, ActionFaqSearch
from actions.faq_replies import reply_kind
from tests.custom_actions.helpers import ents, make_tracker, step_of, texts


def ticket_or_human(step: str, category: str = "repair") -> list[dict[str, str]]:
    """登记工单 answers this ticket offer (its step) for this category; 转人工 is never stale."""
    assert step.startswith("ticket_offer-")
    return [
        {"title": "登记工单", "payload": f'/affirm{{"category":"{category}","step":"{step}"}}'},
        {"title": "转人工客服", "payload": "/request_human"},
    ]


def feedback(step: str) -> list[dict[str, str]]:
    """👍/👎 under an explained code: about no FAQ entry, but about this reply (its step)."""
    assert step.startswith("feedback-")
    return [
        {"title": "👍 有帮助", "payload": f'/give_feedback{{"feedback":"up","step":"{step}"}}'},
        {"title": "👎 没帮助", "payload": f'/give_feedback{{"feedback":"down","step":"{step}"}}'},
    ]


async def test_cardholder_code_is_explained_without_offering_a_repair(services, domain, dispatcher):
    tracker = make_tracker(domain, text="顾客刷卡显示51是什么意思", intent="report_fault")
    events = await ActionFaqSearch().run(dispatcher, tracker, domain)
    [text] = texts(dispatcher)
    assert text.startswith("代码 51：余额不足")
    assert "问题出在持卡人和发卡银行这边。" in text
    assert "1. " in text and "2. " in text
    step = step_of(dispatcher.messages[0]["buttons"][0])
    assert dispatcher.messages[0]["buttons"] == feedback(step)
    assert SlotSet("response_code", "51") in events
    assert SlotSet("pending_question", None) in events
    assert SlotSet("question_step", step) in events
    assert reply_kind(dispatcher.messages) == "code"


async def test_terminal_side_code_offers_a_repair_ticket(services, domain, dispatcher):
    # "A0" typed in lower case and with a full-width bracket still is the code A0
    tracker = make_tracker(domain, text="签到提示【a0】", intent="report_fault")
    events = await ActionFaqSearch().run(dispatcher, tracker, domain)
    first, second = texts(dispatcher)
    assert first.startswith("代码 A0：MAC 校验错")
    assert "签到" in first
    assert second == "按上面做了还不行？我可以帮您登记报修工单，或者转人工客服："
    step = step_of(dispatcher.messages[1]["buttons"][0])
    assert dispatcher.messages[1]["buttons"] == ticket_or_human(step)
    assert SlotSet("pending_question", "ticket_offer") in events
    assert SlotSet("question_step", step) in events
    assert SlotSet("ticket_category", "repair") in events
    assert SlotSet("problem", "签到提示【a0】") in events  # a ticket describes what the merchant saw


async def test_code_that_varies_by_acquirer_says_so(services, domain, dispatcher):
    tracker = make_tracker(domain, text="机器报错误代码A7，卡是不是被锁了", intent="ask_question")
    await ActionFaqSearch().run(dispatcher, tracker, domain)
    assert "不同收单机构对这个代码的用法不完全一样" in texts(dispatcher)[0]


async def test_code_from_the_entity_when_the_text_has_no_context_word(services, domain, dispatcher):
    tracker = make_tracker(domain, text="33", intent="inform", entities=[{"entity": "response_code", "value": "33"}])
    await ActionFaqSearch().run(dispatcher, tracker, domain)
    assert texts(dispatcher)[0].startswith("代码 33：过期卡")


async def test_unknown_code_gets_an_honest_reply_and_next_steps(services, domain, dispatcher):
    tracker = make_tracker(domain, text="刷卡报错 B9 怎么办", intent="report_fault")
    events = await ActionFaqSearch().run(dispatcher, tracker, domain)
    [text] = texts(dispatcher)
    assert text.startswith("我这边的代码表里没有「B9」这个代码😅")
    assert "1. 把机器上代码旁边显示的文字发给我" in text
    assert dispatcher.messages[0]["buttons"] == ticket_or_human(step_of(dispatcher.messages[0]["buttons"][0]))
    assert SlotSet("pending_question", "ticket_offer") in events
    assert not any(e.get("name") == "helped" for e in events)  # nothing was answered


async def test_malformed_code_is_not_passed_off_as_a_code(services, domain, dispatcher):
    tracker = make_tracker(domain, text="错误码9999", intent="report_fault")
    await ActionFaqSearch().run(dispatcher, tracker, domain)
    assert texts(dispatcher)[0].startswith("返回码格式不对：「9999」不像刷卡机的返回码")


async def test_code_inside_the_ticket_form_is_explained_plainly(services, domain, dispatcher):
    tracker = make_tracker(
        domain, text="刚才显示05", intent="report_fault", active_loop="ticket_form", slots={"requested_slot": "phone"}
    )
    events = await ActionFaqSearch().run(dispatcher, tracker, domain)
    [text] = texts(dispatcher)
    assert text.startswith("代码 05：") and text.endswith("（我们接着登记工单～）")
    assert dispatcher.messages[0]["buttons"] == []
    assert events == [SlotSet("response_code", "05")]


async def test_brand_names_do_not_derail_the_answer(services, domain, dispatcher):
    tracker = make_tracker(domain, text="拉卡拉的POS机打印机不出纸怎么办", intent="report_fault")
    events = await ActionFaqSearch().run(dispatcher, tracker, domain)
    assert SlotSet("faq_id", "fault-printer-no-paper") in events
    # the printer answer's three steps, then "try them and tell me" (actions.texts.resolved_question)
    assert texts(dispatcher)[-1] == "请先按上面的3个步骤试一试，试完点下面告诉我结果👇"


async def test_provider_specific_answer_names_the_merchants_brand(services, domain, dispatcher):
    tracker = make_tracker(domain, text="乐刷的费率多少", intent="ask_question")
    events = await ActionFaqSearch().run(dispatcher, tracker, domain)
    assert SlotSet("faq_id", "fees-rate-how-much") in events
    assert texts(dispatcher)[0].endswith("您用的是乐刷的机器：具体以乐刷的合同和商户 App 里的说明为准。")


async def test_provider_line_uses_the_brand_said_earlier(services, domain, dispatcher):
    tracker = make_tracker(domain, text="费率多少", intent="ask_question", slots={"brand": "随行付"})
    await ActionFaqSearch().run(dispatcher, tracker, domain)
    assert texts(dispatcher)[0].endswith("您用的是随行付的机器：具体以随行付的合同和商户 App 里的说明为准。")


async def test_answer_that_is_the_same_everywhere_has_no_provider_line(services, domain, dispatcher):
    tracker = make_tracker(domain, text="拉卡拉打印机不出纸怎么办", intent="report_fault")
    await ActionFaqSearch().run(dispatcher, tracker, domain)
    assert "服务商" not in texts(dispatcher)[0] and "拉卡拉" not in texts(dispatcher)[0]


async def test_chosen_area_narrows_the_earlier_question(services, domain, dispatcher):
    tracker = make_tracker(
        domain,
        text='/choose_faq{"faq_topic":"fees"}',
        intent="choose_faq",
        entities=ents(faq_topic="fees"),
        slots={"faq_query": "扣钱的事"},
    )
    events = await ActionAnswerFaq().run(dispatcher, tracker, domain)
    # within fees the only entry answers (or is offered); nothing from another area
    payloads = [b["payload"] for m in dispatcher.messages for b in m["buttons"]]
    assert all("settlement" not in p and "printer" not in p for p in payloads)
    assert (
        SlotSet("faq_id", "fees-rate-how-much") in events
        or SlotSet("faq_suggestions", ["fees-rate-how-much"]) in events
    )


async def test_chosen_area_without_a_question_lists_its_common_questions(services, domain, dispatcher):
    tracker = make_tracker(
        domain, text='/choose_faq{"faq_topic":"fault"}', intent="choose_faq", entities=ents(faq_topic="fault")
    )
    events = await ActionAnswerFaq().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["这些是「故障」方面最常见的问题👇"]
    assert dispatcher.messages[0]["buttons"] == [
        {"title": "打印机不出纸怎么办？", "payload": '/choose_faq{"faq_id":"fault-printer-no-paper"}'},
        {"title": "都不是，转人工", "payload": "/request_human"},
    ]
    assert events == [SlotSet("faq_suggestions", ["fault-printer-no-paper"]), SlotSet("pending_question", None)]
    assert reply_kind(dispatcher.messages) == "suggestions"


async def test_chosen_area_with_no_entries_offers_a_ticket(services, domain, dispatcher):
    tracker = make_tracker(
        domain, text='/choose_faq{"faq_topic":"activation"}', intent="choose_faq", entities=ents(faq_topic="activation")
    )
    events = await ActionAnswerFaq().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["暂时没有「开通激活」方面的现成答案😥 我可以帮您登记工单，或者转人工客服："]
    step = step_of(dispatcher.messages[0]["buttons"][0])
    assert dispatcher.messages[0]["buttons"] == ticket_or_human(step, "activation")
    assert events == [
        SlotSet("pending_question", "ticket_offer"),
        SlotSet("question_step", step),
        SlotSet("ticket_category", "activation"),
    ]


async def test_an_old_or_forged_area_button_is_refused_politely(services, domain, dispatcher):
    tracker = make_tracker(
        domain, text='/choose_faq{"faq_topic":"lottery"}', intent="choose_faq", entities=ents(faq_topic="lottery")
    )
    await ActionAnswerFaq().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["抱歉，没找到您选的这条内容，可以直接说说您遇到的问题吗？"]


async def test_in_domain_question_below_the_bands_gets_the_closest_entries(services, domain, dispatcher, monkeypatch):
    engine = services.faq
    pinned = engine.thresholds()
    monkeypatch.setattr(engine, "thresholds", lambda mode="fused": replace(pinned, closest=0.0))
    tracker = make_tracker(domain, text="pos机小票纸怎么装比较好", intent="ask_question")
    events = await ActionFaqSearch().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["没找到和您的问题完全对得上的答案，下面这几条最接近，看看有没有您要的👇"]
    buttons = dispatcher.messages[0]["buttons"]
    assert buttons[0] == {"title": "打印机不出纸怎么办？", "payload": '/choose_faq{"faq_id":"fault-printer-no-paper"}'}
    assert buttons[-1] == {"title": "都不是，转人工", "payload": "/request_human"}
    assert SlotSet("faq_query", "pos机小票纸怎么装比较好") in events
    assert reply_kind(dispatcher.messages) == "suggestions"


async def test_in_domain_question_without_a_floor_is_asked_its_area(services, domain, dispatcher):
    tracker = make_tracker(domain, text="pos机小票纸怎么装比较好", intent="ask_question")
    await ActionFaqSearch().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["我想帮您找准答案😊 您的问题是关于哪方面的？点一下就行："]
    assert reply_kind(dispatcher.messages) == "topic"


async def test_reply_kinds_of_the_other_replies(services, domain, dispatcher):
    await ActionFaqSearch().run(dispatcher, make_tracker(domain, text="费率多少", intent="ask_question"), domain)
    assert reply_kind(dispatcher.messages) == "answer"
    d2 = type(dispatcher)()
    await ActionFaqSearch().run(d2, make_tracker(domain, text="周末带家人去哪儿爬山", intent="ask_question"), domain)
    assert reply_kind(d2.messages) == "out_of_scope"
    assert reply_kind([{"text": "随便什么", "buttons": []}], status="handoff") == "handoff"
    assert reply_kind([{"text": "您好！", "buttons": []}]) == "other"


async def test_a_guessed_code_entity_in_an_ordinary_number_is_not_a_code(services, domain, dispatcher):
    # DIET may tag "299" (a price) as response_code; only the code pattern or a bare code counts
    tracker = make_tracker(
        domain,
        text="开通时交的399块押金能退吗",
        intent="ask_question",
        entities=[{"entity": "response_code", "value": "399", "extractor": "DIETClassifier"}],
    )
    await ActionFaqSearch().run(dispatcher, tracker, domain)
    assert reply_kind(dispatcher.messages) != "code"
    assert not texts(dispatcher)[0].startswith("返回码格式不对")
