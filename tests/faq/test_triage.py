"""bot.faq.triage: the one decision the chat and the evaluation share."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.faq.triage import AREA_CATEGORIES, plan_kind, search_area, triage


@pytest.mark.parametrize(
    ("decision", "level", "vetoed", "pos_intent", "top", "floor", "kind"),
    [
        ("answer", "none", False, False, 0.9, None, "answer"),
        ("suggest", "none", False, False, 0.4, None, "suggest"),
        ("none", "none", False, False, 0.2, 0.1, "none"),  # not about POS work: out of scope
        ("none", "core", True, False, 0.2, 0.1, "closest"),  # core words beat a negative's veto
        ("none", "domain", True, False, 0.2, 0.1, "none"),  # a domain word does not
        ("none", "domain", False, False, 0.2, 0.1, "closest"),
        ("none", "domain", False, False, 0.05, 0.1, "clarify"),  # too far: ask the area
        ("none", "none", False, True, 0.2, None, "clarify"),  # the NLU says it is a POS fault
        ("none", "none", True, True, 0.2, None, "none"),
    ],
)
def test_plan_kind(decision, level, vetoed, pos_intent, top, floor, kind):
    assert plan_kind(decision, level, vetoed=vetoed, pos_intent=pos_intent, top_score=top, floor=floor) == kind


def test_codes_come_first(shared_engine):
    plan = triage(shared_engine, "刷卡机不出小票了，屏幕显示返回码05")
    assert plan.kind == "code" and plan.code.code == "05" and plan.category == "fault"


def test_answer_and_out_of_scope(shared_engine):
    plan = triage(shared_engine, "刷卡机不出小票了")
    assert plan.kind == "answer" and plan.entry_id == "fault-printer-no-receipt"
    assert triage(shared_engine, "今天天气怎么样").kind == "none"


def test_brand_is_noise_for_retrieval_but_kept_for_the_reply(shared_engine):
    plan = triage(shared_engine, "我的拉卡拉刷卡机不出小票了")
    assert plan.entry_id == "fault-printer-no-receipt"
    assert plan.brand.name == "拉卡拉"


def test_in_domain_question_is_never_given_up(shared_engine, monkeypatch):
    text = "pos机的外壳是什么材料做的"
    plan = triage(shared_engine, text)
    assert plan.kind in ("clarify", "closest", "suggest", "answer")
    th = shared_engine.thresholds()
    monkeypatch.setattr(shared_engine, "thresholds", lambda mode="fused": replace(th, closest=0.0))
    plan = triage(shared_engine, text)
    assert plan.kind in ("closest", "suggest", "answer") and plan.hits


def test_vague_fault_with_the_nlu_intent_gets_the_area_question(shared_engine):
    plan = triage(shared_engine, "机器有点问题", intent="report_fault", intent_confidence=0.9)
    assert plan.kind in ("clarify", "closest", "suggest")
    assert plan.areas[0] == "fault"
    # an unsure intent is not enough
    assert triage(shared_engine, "有点问题", intent="report_fault", intent_confidence=0.2).areas == ()


def test_search_area_stays_in_the_area(shared_engine):
    kind, hits = search_area(shared_engine, "settlement", "钱")
    assert hits and all(h.category == "settlement" for h in hits)
    kind, hits = search_area(shared_engine, "fault", None)
    assert kind == "suggest" and [h.category for h in hits] == ["fault"] * len(hits)
    kind, hits = search_area(shared_engine, "activation", "怎么激活")
    assert hits == []  # the fixture KB has no activation entry
    assert set(AREA_CATEGORIES["other"]) == {"account", "general"}


def test_category_filter_and_closest_in_the_engine(shared_engine):
    res = shared_engine.search("今天天气怎么样", closest=True)
    assert res.decision == "none" and res.results == [] and len(res.closest) <= 3
    assert res.top_score is not None
    res = shared_engine.search("刷卡机不出小票了", categories=["settlement"])
    assert all(h.category == "settlement" for h in res.results + res.closest)
    assert shared_engine.search("刷卡机不出小票了", categories=["nothing"]).decision == "none"


def test_only_a_bare_code_trusts_the_entity_value(shared_engine):
    from bot.faq.triage import is_bare_code

    assert is_bare_code("33", "33") and is_bare_code(" A7！", "a7") and is_bare_code("5", "05")
    assert not is_bare_code("交了399块", "399") and not is_bare_code("", "05")
    assert triage(shared_engine, "33", code_value="33").kind == "code"
    assert triage(shared_engine, "开通时交的399块押金能退吗", code_value="399").kind != "code"


def test_a_vague_complaint_is_asked_which_area_even_when_an_entry_scores_high(shared_engine, monkeypatch):
    th = shared_engine.thresholds()
    # Every match would be answered directly ...
    monkeypatch.setattr(shared_engine, "thresholds", lambda mode="fused": replace(th, answer=0.0, suggest=0.0))
    assert triage(shared_engine, "刷卡机不出小票了").kind == "answer"
    # ... but "something is wrong" alone names no problem: ask which area.
    for text in ("机器有点问题", "我的POS机坏了怎么办", "您好，刷卡机出问题了"):
        assert triage(shared_engine, text).kind == "clarify", text


def test_an_area_chosen_after_a_vague_complaint_lists_its_common_questions(shared_engine):
    kind, hits = search_area(shared_engine, "fault", "机器有点问题")
    first = [e.id for e in shared_engine.entries if e.category == "fault"][: len(hits)]
    assert kind == "suggest" and [h.id for h in hits] == first
