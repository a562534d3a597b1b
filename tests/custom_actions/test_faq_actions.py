"""action_faq_search / action_answer_faq / action_decline_offer on the real FAQ engine (tests/custom_actions/kb)."""

from __future__ import annotations

from rasa_sdk.events import SlotSet

from actions.faq import ActionAnswerFaq, ActionFaqSearch
from actions.offers import ActionDeclineOffer
from tests.custom_actions.helpers import bot_event, ents, make_tracker, step_of, texts, user_event

PRINTER_ANSWER = (
    "您好，打印不出纸可以这样排查：\n"
    "1. 打开纸仓，确认有纸、纸卷方向正确（热敏面朝打印头）。\n"
    "2. 合紧纸仓盖，按“走纸”键试一下。\n"
    "3. 关机重启后再刷一笔小额交易试试。"
)
FEES_ANSWER = "费率以您签约时约定的为准，可以在商户App“我的/商户信息 - 费率信息”里查看。"
# fees-rate-how-much is provider_specific: the answer says where the merchant's own rule is.
PROVIDER_LINE = "不同服务商的规定不一样：具体以您签约服务商的合同、商户 App 或客服的说明为准。"
FEES_REPLY = f"{FEES_ANSWER}\n\n{PROVIDER_LINE}"
TRY_STEPS = "请先按上面的3个步骤试一试，试完点下面告诉我结果👇"


def slot_value(events, name):
    return next(e["value"] for e in events if e.get("name") == name)


async def test_troubleshooting_answer_asks_whether_it_helped(services, domain, dispatcher):
    tracker = make_tracker(domain, text="打印机不出纸怎么办", intent="report_fault")
    events = await ActionFaqSearch().run(dispatcher, tracker, domain)
    step = step_of(dispatcher.messages[1]["buttons"][0])
    assert step.startswith("resolved-")
    assert events == [
        SlotSet("faq_id", "fault-printer-no-paper"),
        SlotSet("faq_query", "打印机不出纸怎么办"),
        SlotSet("faq_suggestions", None),
        SlotSet("pending_question", "resolved"),
        SlotSet("question_step", step),
        SlotSet("problem", "打印机不出纸怎么办"),
        SlotSet("helped", True),
        SlotSet("fallback_count", 0.0),
    ]
    # Three steps the merchant has not tried yet: "try them, then tell me", not "问题解决了吗？".
    assert texts(dispatcher) == [PRINTER_ANSWER, TRY_STEPS]
    assert dispatcher.messages[0]["buttons"] == []
    # Each button says which answer and which question it belongs to.
    assert dispatcher.messages[1]["buttons"] == [
        {"title": "解决了", "payload": f'/affirm{{"faq_id":"fault-printer-no-paper","step":"{step}"}}'},
        {"title": "试了还是不行", "payload": f'/deny{{"faq_id":"fault-printer-no-paper","step":"{step}"}}'},
    ]


async def test_answers_after_the_greeting_do_not_greet_again(services, domain, dispatcher):
    events = [
        user_event("你好", "greet"),
        bot_event("您好！我是刷卡机智能客服小助手😊"),
        user_event("打印机不出纸怎么办", "report_fault"),
    ]
    tracker = make_tracker(domain, text="打印机不出纸怎么办", intent="report_fault", events=events)
    await ActionFaqSearch().run(dispatcher, tracker, domain)
    assert texts(dispatcher)[0] == PRINTER_ANSWER.removeprefix("您好，")


async def test_information_answer_has_feedback_buttons(services, domain, dispatcher):
    tracker = make_tracker(domain, text="费率多少", intent="ask_question", slots={"fallback_count": 1.0})
    events = await ActionFaqSearch().run(dispatcher, tracker, domain)
    step = step_of(dispatcher.messages[0]["buttons"][0])
    assert events == [
        SlotSet("faq_id", "fees-rate-how-much"),
        SlotSet("faq_query", "费率多少"),
        SlotSet("faq_suggestions", None),
        SlotSet("pending_question", None),
        SlotSet("question_step", step),
        SlotSet("problem", "费率多少"),
        SlotSet("helped", True),
        SlotSet("fallback_count", 0.0),
    ]
    assert texts(dispatcher) == [FEES_REPLY]
    assert dispatcher.messages[0]["buttons"] == [
        {
            "title": "👍 有帮助",
            "payload": f'/give_feedback{{"feedback":"up","faq_id":"fees-rate-how-much","step":"{step}"}}',
        },
        {
            "title": "👎 没帮助",
            "payload": f'/give_feedback{{"feedback":"down","faq_id":"fees-rate-how-much","step":"{step}"}}',
        },
    ]


async def test_unsure_match_suggests_up_to_three_questions(services, domain, dispatcher):
    tracker = make_tracker(domain, text="结算费率", intent="ask_question")
    events = await ActionFaqSearch().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["您是想问下面哪个问题吗？点一下就行👇"]
    assert dispatcher.messages[0]["buttons"] == [
        {"title": "我的刷卡费率是多少？", "payload": '/choose_faq{"faq_id":"fees-rate-how-much"}'},
        {"title": "刷卡的钱没到账怎么办？", "payload": '/choose_faq{"faq_id":"settlement-not-arrived"}'},
        {"title": "人工客服几点上班？", "payload": '/choose_faq{"faq_id":"general-human-service"}'},
    ]
    assert events == [
        SlotSet("faq_suggestions", ["fees-rate-how-much", "settlement-not-arrived", "general-human-service"]),
        SlotSet("faq_query", "结算费率"),
        SlotSet("pending_question", None),
        SlotSet("fallback_count", 0.0),
    ]


async def test_vague_fault_gets_a_question_back_not_a_bare_no_answer(services, domain, dispatcher):
    tracker = make_tracker(domain, text="机器坏了怎么办", intent="report_fault")
    events = await ActionFaqSearch().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["我想帮您找准答案😊 您的问题是关于哪方面的？点一下就行："]
    assert dispatcher.messages[0]["buttons"] == [
        {"title": "结算到账", "payload": '/choose_faq{"faq_topic":"settlement"}'},
        {"title": "手续费", "payload": '/choose_faq{"faq_topic":"fees"}'},
        {"title": "开通激活", "payload": '/choose_faq{"faq_topic":"activation"}'},
        {"title": "故障", "payload": '/choose_faq{"faq_topic":"fault"}'},
        {"title": "其他", "payload": '/choose_faq{"faq_topic":"other"}'},
        {"title": "转人工客服", "payload": "/request_human"},
    ]
    assert events == [
        SlotSet("faq_query", "机器坏了怎么办"),
        SlotSet("faq_suggestions", None),
        SlotSet("faq_id", None),
        SlotSet("pending_question", None),
        SlotSet("fallback_count", 0.0),
    ]
    assert services.conversations.handoff_active(tracker.sender_id) is False


async def test_out_of_scope_question_is_declined_with_a_person_offered(services, domain, dispatcher):
    tracker = make_tracker(domain, text="周末带家人去哪儿爬山", intent="ask_question")
    events = await ActionFaqSearch().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == [
        "这个问题不在我能解答的范围内😅 我是刷卡机客服小助手，结算到账、手续费、开通激活、故障报修、"
        "交易失败的代码都可以问我；需要的话也可以转人工客服。"
    ]
    assert dispatcher.messages[0]["buttons"] == [{"title": "转人工客服", "payload": "/request_human"}]
    assert events == [
        SlotSet("fallback_count", 1.0),
        SlotSet("pending_question", None),
        SlotSet("faq_query", "周末带家人去哪儿爬山"),
        SlotSet("faq_id", None),
    ]


async def test_second_fallback_in_a_row_hands_over_to_a_person(services, domain, dispatcher, clock):
    tracker = make_tracker(domain, text="asdfgh", intent="nlu_fallback", slots={"fallback_count": 1.0})
    events = await ActionFaqSearch().run(dispatcher, tracker, domain)
    # No merchant id or phone yet: the handoff ticket is still opened (the chat is the contact).
    [ticket] = services.tickets.list_for_sender("web", tracker.sender_id)
    assert ticket.category == "handoff"
    assert texts(dispatcher) == [
        f"已为您转接人工客服（工单号 {ticket.number}）。客服会尽快在这里回复您。\n"
        "方便的话先发一下您的商户号和手机号，客服查起来更快。"
    ]
    assert events == [
        SlotSet("urgent", None),
        SlotSet("fallback_count", 0.0),
        SlotSet("pending_question", None),
        SlotSet("question_step", None),
        SlotSet("last_ticket_number", ticket.number),
    ]
    state = services.conversations.get_state(tracker.sender_id)
    assert state.handoff_active is True
    assert state.handoff.reason == "fallback"


async def test_question_inside_the_form_is_answered_plainly(services, domain, dispatcher):
    tracker = make_tracker(
        domain, text="打印机不出纸", intent="ask_question", active_loop="ticket_form", slots={"requested_slot": "phone"}
    )
    events = await ActionFaqSearch().run(dispatcher, tracker, domain)
    assert events == [SlotSet("faq_id", "fault-printer-no-paper")]
    assert texts(dispatcher) == [PRINTER_ANSWER + "\n\n（我们接着登记工单～）"]
    assert dispatcher.messages[0]["buttons"] == []


async def test_unknown_question_inside_the_form_does_not_count_as_fallback(services, domain, dispatcher):
    tracker = make_tracker(domain, text="asdfgh", intent="ask_question", active_loop="ticket_form")
    events = await ActionFaqSearch().run(dispatcher, tracker, domain)
    assert events == []
    assert texts(dispatcher) == ["这个问题我暂时答不上来，登记好工单后客服会一并帮您解答。（我们接着登记工单～）"]


async def test_message_with_only_an_id_is_acknowledged(services, domain, dispatcher):
    tracker = make_tracker(
        domain, text="商户号 898310048161234", intent="inform", entities=ents(merchant_id="898310048161234")
    )
    events = await ActionFaqSearch().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["收到，已记下您的商户号 8983****1234。请问遇到了什么问题呢？"]
    assert events == [SlotSet("pending_question", None)]


async def test_a_phone_alone_is_masked_like_everywhere_else(services, domain, dispatcher):
    tracker = make_tracker(domain, text="13812345678", intent="inform", entities=ents(phone="13812345678"))
    await ActionFaqSearch().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["收到，已记下您的手机号 138****5678。请问遇到了什么问题呢？"]


async def test_chosen_suggestion_by_button(services, domain, dispatcher):
    tracker = make_tracker(
        domain,
        text='/choose_faq{"faq_id":"fees-rate-how-much"}',
        intent="choose_faq",
        entities=ents(faq_id="fees-rate-how-much"),
        slots={"faq_query": "扣了多少"},
    )
    events = await ActionAnswerFaq().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == [FEES_REPLY]
    assert events[:2] == [SlotSet("faq_id", "fees-rate-how-much"), SlotSet("faq_query", "扣了多少")]
    # The clicked question, not the words typed before it, is the merchant's problem now.
    assert slot_value(events, "problem") == "我的刷卡费率是多少"


async def test_chosen_suggestion_by_ordinal(services, domain, dispatcher):
    tracker = make_tracker(
        domain,
        text="第二个",
        intent="choose_faq",
        slots={"faq_suggestions": ["settlement-not-arrived", "fault-printer-no-paper"], "faq_query": "打印和到账"},
    )
    events = await ActionAnswerFaq().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == [PRINTER_ANSWER, TRY_STEPS]
    assert SlotSet("pending_question", "resolved") in events
    assert slot_value(events, "problem") == "打印机不出纸"


async def test_chosen_suggestion_that_no_longer_exists(services, domain, dispatcher):
    tracker = make_tracker(domain, text="/choose_faq", intent="choose_faq", entities=ents(faq_id="gone"))
    events = await ActionAnswerFaq().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["抱歉，没找到您选的这条内容，可以直接说说您遇到的问题吗？"]
    assert events == [SlotSet("pending_question", None)]


async def test_declining_a_ticket_offer(services, domain, dispatcher):
    tracker = make_tracker(domain, text="不用了", intent="deny", slots={"pending_question": "ticket_offer"})
    assert await ActionDeclineOffer().run(dispatcher, tracker, domain) == [
        SlotSet("pending_question", None),
        SlotSet("question_step", None),
    ]
    assert texts(dispatcher) == ["好的，那先不登记了。之后需要帮忙随时找我，也可以说“转人工”。"]


async def test_declining_a_handoff_offer(services, domain, dispatcher):
    tracker = make_tracker(domain, text="不用了", intent="deny", slots={"pending_question": "handoff_offer"})
    assert await ActionDeclineOffer().run(dispatcher, tracker, domain) == [
        SlotSet("pending_question", None),
        SlotSet("question_step", None),
    ]
    assert texts(dispatcher) == ["好的～还有其他问题随时问我。"]


async def test_a_merchant_id_with_ticket_words_is_a_lookup_not_a_fact(services, domain, dispatcher):
    # NLU may call "查工单 <merchant id>" inform: it is still a (private) ticket lookup.
    tracker = make_tracker(
        domain, text="查工单 898310048161234", intent="inform", entities=ents(merchant_id="898310048161234")
    )
    await ActionFaqSearch().run(dispatcher, tracker, domain)
    assert texts(dispatcher)[0].startswith("为了保护商户信息，按商户号（8983****1234）查全部工单需要先核对身份。")
