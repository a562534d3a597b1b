"""Feedback actions: 👍/👎 with reasons, "问题解决了吗？" answers, and the 1-5 rating, stored for real."""

from __future__ import annotations

from rasa_sdk.events import SlotSet

from actions.feedback import (
    ActionAskRating,
    ActionFaqResolved,
    ActionFaqUnresolved,
    ActionRecordFeedback,
)
from tests.custom_actions.helpers import SENDER, ents, make_tracker, step_of, texts

RATING_TITLES = ["5分 非常满意", "4分 满意", "3分 一般", "2分 不满意", "1分 很不满意"]


def rating_ask_events(dispatcher, index=-1):
    step = step_of(dispatcher.messages[index]["buttons"][0])
    return [SlotSet("pending_question", "rating"), SlotSet("question_step", step), SlotSet("helped", None)]


def summary(services):
    return services.conversations.feedback_summary()


async def test_thumbs_up_is_stored(services, domain, dispatcher):
    tracker = make_tracker(
        domain,
        text='/give_feedback{"feedback":"up"}',
        intent="give_feedback",
        entities=ents(feedback="up"),
        slots={"faq_id": "fees-rate-how-much"},
    )
    events = await ActionRecordFeedback().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["收到，谢谢您的肯定😊 还有其他问题随时问我～"]
    assert events == [SlotSet("pending_question", None)]
    assert [(f.faq_id, f.up, f.down) for f in summary(services).faq] == [("fees-rate-how-much", 1, 0)]


async def test_thumbs_down_asks_for_a_reason(services, domain, dispatcher):
    tracker = make_tracker(
        domain,
        text='/give_feedback{"feedback":"down"}',
        intent="give_feedback",
        entities=ents(feedback="down"),
        slots={"faq_id": "fees-rate-how-much"},
    )
    events = await ActionRecordFeedback().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["抱歉没帮上忙😥 能告诉我哪里不好吗？也可以直接打字说。"]
    step = step_of(dispatcher.messages[0]["buttons"][0])
    tail = f'"faq_id":"fees-rate-how-much","step":"{step}"}}'
    assert dispatcher.messages[0]["buttons"] == [
        {"title": "答非所问", "payload": '/give_feedback{"feedback":"down","feedback_reason":"irrelevant",' + tail},
        {"title": "看不懂", "payload": '/give_feedback{"feedback":"down","feedback_reason":"unclear",' + tail},
        {"title": "没解决问题", "payload": '/give_feedback{"feedback":"down","feedback_reason":"unresolved",' + tail},
    ]
    assert events == [
        SlotSet("pending_question", "feedback_reason"),
        SlotSet("question_step", step),
        SlotSet("faq_id", "fees-rate-how-much"),
    ]
    assert [(f.down, f.reasons) for f in summary(services).faq] == [(1, {})]


async def test_reason_button_is_stored_with_the_vote(services, domain, dispatcher):
    tracker = make_tracker(
        domain,
        text="/give_feedback",
        intent="give_feedback",
        entities=ents(feedback="down", feedback_reason="irrelevant"),
        slots={"faq_id": "fees-rate-how-much", "pending_question": "feedback_reason"},
    )
    events = await ActionRecordFeedback().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["谢谢您的反馈，我们会改进这条答案🙏 您可以换个说法再问问，或者说“转人工”。"]
    assert events == [SlotSet("pending_question", None)]
    assert [(f.down, f.reasons) for f in summary(services).faq] == [(1, {"答非所问": 1})]


async def test_typed_reason_is_stored_as_typed(services, domain, dispatcher):
    tracker = make_tracker(
        domain,
        text="说得太复杂了",
        intent="chitchat",
        slots={"faq_id": "fees-rate-how-much", "pending_question": "feedback_reason"},
    )
    await ActionRecordFeedback().run(dispatcher, tracker, domain)
    assert [f.reasons for f in summary(services).faq] == [{"说得太复杂了": 1}]


async def test_unresolved_reason_offers_a_ticket(services, domain, dispatcher):
    tracker = make_tracker(
        domain,
        text="/give_feedback",
        intent="give_feedback",
        entities=ents(feedback="down", feedback_reason="unresolved"),
        slots={"faq_id": "settlement-not-arrived", "pending_question": "feedback_reason"},
    )
    events = await ActionRecordFeedback().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["谢谢反馈。我可以帮您登记一张结算到账工单，由专人跟进处理。要登记吗？"]
    step = step_of(dispatcher.messages[0]["buttons"][0])
    assert events == [
        SlotSet("pending_question", "ticket_offer"),
        SlotSet("question_step", step),
        SlotSet("ticket_category", "settlement"),
    ]
    assert [f.reasons for f in summary(services).faq] == [{"没解决问题": 1}]


async def test_rating_by_button_is_stored_once(services, domain, dispatcher):
    tracker = make_tracker(
        domain,
        text='/give_feedback{"rating":"5"}',
        intent="give_feedback",
        entities=ents(rating="5"),
        slots={"pending_question": "rating"},
    )
    events = await ActionRecordFeedback().run(dispatcher, tracker, domain)
    await ActionRecordFeedback().run(dispatcher, tracker, domain)  # a retried action
    assert texts(dispatcher)[0] == "感谢您的评分！祝您生意兴隆～"
    assert events == [SlotSet("pending_question", None), SlotSet("helped", None)]
    assert summary(services).ratings == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}


async def test_low_typed_rating_apologises(services, domain, dispatcher):
    tracker = make_tracker(domain, text="2分", intent="inform", slots={"pending_question": "rating"})
    await ActionRecordFeedback().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["感谢您的评分，很抱歉这次没让您满意😔 我们会认真改进。需要的话随时说“转人工”。"]
    assert summary(services).ratings["2"] == 1


async def test_unreadable_rating_is_re_asked(services, domain, dispatcher):
    tracker = make_tracker(domain, text="还行吧", intent="inform", slots={"pending_question": "rating"})
    events = await ActionRecordFeedback().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["请点一下1到5分，5分最满意～"]
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == RATING_TITLES
    assert events == [SlotSet("question_step", step_of(dispatcher.messages[0]["buttons"][0]))]
    assert summary(services).ratings_count == 0


async def test_resolved_records_up_and_asks_the_rating(services, domain, dispatcher):
    tracker = make_tracker(
        domain,
        text="解决了",
        intent="affirm",
        slots={"faq_id": "fault-printer-no-paper", "pending_question": "resolved"},
    )
    events = await ActionFaqResolved().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["太好了，问题解决了就好😊 方便给这次服务打个分吗？（5分最满意）"]
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == RATING_TITLES
    step = step_of(dispatcher.messages[0]["buttons"][0])
    assert dispatcher.messages[0]["buttons"][0]["payload"] == f'/give_feedback{{"rating":"5","step":"{step}"}}'
    assert events == rating_ask_events(dispatcher)
    assert [(f.faq_id, f.up) for f in summary(services).faq] == [("fault-printer-no-paper", 1)]


async def test_unresolved_fault_offers_a_repair_ticket(services, domain, dispatcher):
    tracker = make_tracker(
        domain, text="没解决", intent="deny", slots={"faq_id": "fault-printer-no-paper", "pending_question": "resolved"}
    )
    events = await ActionFaqUnresolved().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["很抱歉没能帮您解决😥 我可以帮您登记一张故障报修工单，由专人跟进处理。要登记吗？"]
    step = step_of(dispatcher.messages[0]["buttons"][0])
    ids = f'"category":"repair","faq_id":"fault-printer-no-paper","step":"{step}"'
    assert dispatcher.messages[0]["buttons"] == [
        {"title": "登记工单", "payload": f"/affirm{{{ids}}}"},
        {"title": "不用了", "payload": f"/deny{{{ids}}}"},
    ]
    assert events == [
        SlotSet("pending_question", "ticket_offer"),
        SlotSet("question_step", step),
        SlotSet("ticket_category", "repair"),
    ]
    assert [(f.down, f.reasons) for f in summary(services).faq] == [(1, {"没解决问题": 1})]


async def test_unresolved_handoff_entry_offers_a_person(services, domain, dispatcher):
    tracker = make_tracker(domain, text="没用", intent="deny", slots={"faq_id": "general-human-service"})
    events = await ActionFaqUnresolved().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["很抱歉没能帮您解决😥 要为您转人工客服吗？"]
    assert events == [
        SlotSet("pending_question", "handoff_offer"),
        SlotSet("question_step", step_of(dispatcher.messages[0]["buttons"][0])),
    ]


async def test_rating_asked_on_thanks_and_on_goodbye(services, domain, dispatcher):
    thanks = make_tracker(domain, text="谢谢", intent="thanks", slots={"helped": True})
    assert await ActionAskRating().run(dispatcher, thanks, domain) == rating_ask_events(dispatcher)
    bye = make_tracker(domain, text="再见", intent="goodbye", slots={"helped": True})
    assert await ActionAskRating().run(dispatcher, bye, domain) == rating_ask_events(dispatcher)
    assert texts(dispatcher) == [
        "不客气，很高兴能帮到您😊 方便给这次服务打个分吗？（5分最满意）",
        "好的，感谢使用！走之前方便给这次服务打个分吗？（5分最满意）",
    ]
    assert services.conversations.get_state(SENDER) is None  # asking stores nothing


async def test_unresolved_click_names_its_answer_even_when_another_came_later(services, domain, dispatcher):
    # The 没解决 button of the printer answer, while the last answer was about settlement:
    # the vote and the offer are about the printer.
    tracker = make_tracker(
        domain,
        text='/deny{"faq_id":"fault-printer-no-paper","step":"resolved-aaaaaa"}',
        intent="deny",
        entities=ents(faq_id="fault-printer-no-paper", step="resolved-aaaaaa"),
        slots={"faq_id": "settlement-not-arrived", "pending_question": "resolved", "question_step": "resolved-aaaaaa"},
    )
    await ActionFaqUnresolved().run(dispatcher, tracker, domain)
    assert "故障报修工单" in texts(dispatcher)[0]
    assert [(f.faq_id, f.down) for f in summary(services).faq] == [("fault-printer-no-paper", 1)]


async def test_the_same_rating_buttons_clicked_twice_count_once(services, domain, dispatcher):
    for rating in ("5", "1"):  # a reload, a second tab: one rating question, one rating
        tracker = make_tracker(
            domain,
            text=f'/give_feedback{{"rating":"{rating}","step":"rating-bbbbbb"}}',
            intent="give_feedback",
            entities=ents(rating=rating, step="rating-bbbbbb"),
            slots={"pending_question": "rating", "question_step": "rating-bbbbbb"},
        )
        await ActionRecordFeedback().run(dispatcher, tracker, domain)
    assert summary(services).ratings == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}
