"""FaqTurnLog on SQLite and PostgreSQL: recording, what a choice or a vote attaches to, resolving."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.analytics.turns import FaqTurnLog, unanswered_questions
from bot.conversations.models import Conversation


def queue(db) -> list[str]:
    with db.session() as s:
        return [q.query for q in unanswered_questions(s)]


def test_a_question_of_a_conversation_not_seen_before_is_recorded(database):
    turns = FaqTurnLog(database)
    turn_id = turns.record(
        "wecom:zhangsan", "退款  多久到账 13812345678", "closest", [("settlement-t1-arrival", 0.41234567)]
    )
    row = turns.get(turn_id)
    assert (row.channel, row.kind, row.decision) == ("wecom", "closest", "suggest")
    assert row.query == "退款  多久到账 138****5678"
    assert row.candidates == [{"id": "settlement-t1-arrival", "score": 0.4123}]
    with database.session() as s:
        assert (
            s.execute(select(Conversation.channel).where(Conversation.id == "wecom:zhangsan")).scalar_one() == "wecom"
        )


def test_bad_input_is_refused(database):
    turns = FaqTurnLog(database)
    with pytest.raises(ValueError, match="unknown triage kind"):
        turns.record("web:a", "你好", "maybe")
    with pytest.raises(ValueError, match="conversation id"):
        turns.record("", "你好", "none")
    with pytest.raises(ValueError, match="vote"):
        turns.record_vote("web:a", "x", "meh")
    with pytest.raises(ValueError, match="resolution"):
        turns.resolve([1], by="x", resolution="deleted")


def test_a_choice_goes_to_the_question_that_offered_it(database):
    turns = FaqTurnLog(database)
    first = turns.record("web:a", "到账慢", "suggest", [("settlement-t1-arrival", 0.5), ("fees-rate", 0.4)])
    second = turns.record("web:a", "机器黑屏", "suggest", [("fault-screen-black", 0.5)])
    # A late click on the first list's button: the first question was answered, the second not.
    assert turns.mark_taken("web:a", "fees-rate") == first
    assert turns.get(second).taken_entry_id is None
    assert queue(database) == ["机器黑屏"]
    # An entry nobody offered, with no area question open: attached to nothing.
    assert turns.mark_taken("web:a", "account-merchant-number") is None


def test_a_vote_goes_to_the_latest_question_that_entry_answered(database):
    turns = FaqTurnLog(database)
    old = turns.record(
        "web:a", "不打单", "answer", [("fault-printer-no-receipt", 0.9)], entry_id="fault-printer-no-receipt"
    )
    new = turns.record(
        "web:a", "还是不打单", "answer", [("fault-printer-no-receipt", 0.9)], entry_id="fault-printer-no-receipt"
    )
    assert turns.record_vote("web:a", "fault-printer-no-receipt", "down") == new
    assert turns.get(old).vote is None
    assert queue(database) == ["还是不打单"]
    assert turns.record_vote("web:a", "fault-printer-no-receipt", "up") == new  # changed their mind
    assert queue(database) == []
    assert turns.record_vote("web:b", "fault-printer-no-receipt", "down") is None  # another conversation


def test_resolving_twice_keeps_the_first_resolution(database):
    turns = FaqTurnLog(database)
    ids = [turns.record("web:a", "能开发票吗", "none"), turns.record("web:b", "可以开发票吗", "none")]
    assert turns.resolve(ids, by="editor1", resolution="new_entry", entry_id="general-invoice") == 2
    assert turns.resolve(ids, by="editor2", resolution="ignored") == 0
    row = turns.get(ids[1])
    assert (row.resolved_by, row.resolution, row.resolved_entry_id) == ("editor1", "new_entry", "general-invoice")
    assert queue(database) == []
