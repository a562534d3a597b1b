"""The FAQ actions log each question's decision, what the merchant took and their vote (bot.analytics.turns)."""

from __future__ import annotations

from sqlalchemy import select

from actions.faq import ActionAnswerFaq, ActionFaqSearch
from actions.feedback import ActionRecordFeedback
from bot.analytics.models import FaqTurn
from tests.custom_actions.helpers import SENDER, ents, make_tracker


def turns(services) -> list[FaqTurn]:
    with services.db.session() as s:
        rows = s.execute(select(FaqTurn).order_by(FaqTurn.id)).scalars().all()
        s.expunge_all()
        return rows


def queue(services) -> list[str]:
    from bot.analytics.turns import unanswered_questions

    with services.db.session() as s:
        return [q.query for q in unanswered_questions(s)]


async def test_an_answer_is_logged_as_answered_and_stays_out_of_the_queue(services, domain, dispatcher):
    tracker = make_tracker(domain, text="打印机不出纸怎么办", intent="report_fault")
    await ActionFaqSearch().run(dispatcher, tracker, domain)
    [row] = turns(services)
    assert (row.conversation_id, row.channel, row.kind, row.decision, row.entry_id) == (
        SENDER,
        "web",
        "answer",
        "answer",
        "fault-printer-no-paper",
    )
    assert row.candidates[0]["id"] == "fault-printer-no-paper" and row.candidates[0]["score"] > 0
    assert queue(services) == []


async def test_an_out_of_scope_question_is_queued_with_card_and_phone_masked(services, domain, dispatcher):
    text = "周末带家人去哪儿爬山 卡号6222021234567890128 电话13812345678"
    tracker = make_tracker(domain, text=text, intent="ask_question")
    await ActionFaqSearch().run(dispatcher, tracker, domain)
    [row] = turns(services)
    assert row.decision == "none"
    assert "6222021234567890128" not in row.query and "13812345678" not in row.query
    assert "138****5678" in row.query and "周末带家人去哪儿爬山" in row.query
    assert queue(services) == [row.query]


async def test_a_suggestion_is_queued_until_the_merchant_takes_one(services, domain, dispatcher):
    await ActionFaqSearch().run(dispatcher, make_tracker(domain, text="结算费率", intent="ask_question"), domain)
    [row] = turns(services)
    assert (row.kind, row.decision) == ("suggest", "suggest")
    assert [c["id"] for c in row.candidates][:3] == [
        "fees-rate-how-much",
        "settlement-not-arrived",
        "general-human-service",
    ]
    assert queue(services) == ["结算费率"]

    # The merchant clicks the second suggestion: the question was answered after all.
    click = make_tracker(
        domain,
        text='/choose_faq{"faq_id":"settlement-not-arrived"}',
        intent="choose_faq",
        entities=ents(faq_id="settlement-not-arrived"),
        slots={"faq_query": "结算费率"},
    )
    await ActionAnswerFaq().run(dispatcher, click, domain)
    [row] = turns(services)
    assert row.taken_entry_id == "settlement-not-arrived"
    assert queue(services) == []

    # ...and then says it did not help: back in the queue.
    down = make_tracker(
        domain,
        text='/give_feedback{"feedback":"down"}',
        intent="give_feedback",
        entities=ents(feedback="down"),
        slots={"faq_id": "settlement-not-arrived"},
    )
    await ActionRecordFeedback().run(dispatcher, down, domain)
    [row] = turns(services)
    assert row.vote == "down"
    assert queue(services) == ["结算费率"]


async def test_a_thumbs_down_on_a_direct_answer_queues_it(services, domain, dispatcher):
    await ActionFaqSearch().run(dispatcher, make_tracker(domain, text="费率多少", intent="ask_question"), domain)
    assert queue(services) == []
    down = make_tracker(
        domain,
        text='/give_feedback{"feedback":"down"}',
        intent="give_feedback",
        entities=ents(feedback="down"),
        slots={"faq_id": "fees-rate-how-much"},
    )
    await ActionRecordFeedback().run(dispatcher, down, domain)
    assert queue(services) == ["费率多少"]


async def test_a_choice_from_another_conversation_counts_for_nothing_here(services, domain, dispatcher):
    await ActionFaqSearch().run(dispatcher, make_tracker(domain, text="结算费率", intent="ask_question"), domain)
    other = make_tracker(
        domain,
        text='/choose_faq{"faq_id":"fees-rate-how-much"}',
        intent="choose_faq",
        entities=ents(faq_id="fees-rate-how-much"),
        sender_id="web:someone-else",
    )
    await ActionAnswerFaq().run(dispatcher, other, domain)
    assert queue(services) == ["结算费率"]


async def test_a_failing_log_does_not_cost_the_merchant_the_answer(services, domain, dispatcher, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(type(services.faq_turns), "record", broken)
    await ActionFaqSearch().run(
        dispatcher, make_tracker(domain, text="打印机不出纸怎么办", intent="report_fault"), domain
    )
    assert dispatcher.messages[0]["text"].startswith("您好，打印不出纸可以这样排查")


async def test_an_out_of_scope_intent_gets_the_domain_reply_and_is_queued(services, domain, dispatcher):
    from actions.faq import ActionOutOfScope

    tracker = make_tracker(domain, text="周末带家人去哪儿爬山", intent="out_of_scope")
    events = await ActionOutOfScope().run(dispatcher, tracker, domain)
    assert events == []
    assert dispatcher.messages[0]["response"] == "utter_out_of_scope"
    [row] = turns(services)
    assert (row.kind, row.decision, row.entry_id) == ("none", "none", None)
    assert queue(services) == ["周末带家人去哪儿爬山"]
