"""Grouping of unanswered questions with the FAQ engine's encoder (bot.analytics.clusters)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.analytics.clusters import cluster_texts, group_questions
from bot.analytics.turns import Question

PRINTER = ["打印机不出纸", "打印机不出纸了怎么办", "机器打印不出小票"]
FEES = ["手续费怎么算", "刷卡手续费是多少"]
NEW_DEVICE = ["我想买一台新机器", "我要换个新机器"]
WEATHER = ["今天天气怎么样"]
OFFICE = ["你们公司在哪里"]


def groups_of(texts, faq_engine, threshold=0.6):
    return [sorted(texts[i] for i in g) for g in cluster_texts(texts, faq_engine.encoder, threshold)]


def test_similar_questions_group_and_different_ones_do_not(faq_engine):
    texts = PRINTER + FEES + NEW_DEVICE + WEATHER + OFFICE
    groups = groups_of(texts, faq_engine)
    assert sorted(PRINTER) in groups
    assert sorted(FEES) in groups
    assert sorted(NEW_DEVICE) in groups
    assert ["今天天气怎么样"] in groups and ["你们公司在哪里"] in groups
    assert len(groups) == 5


def test_the_same_question_typed_differently_is_one_point(faq_engine):
    # Full-width, traditional characters, a filler and an emoji: the FAQ search's own normalisation.
    texts = ["打印机不出纸", "打印機不出紙", "请问打印机不出纸", "打印机不出纸😭", "手续费怎么算"]
    groups = groups_of(texts, faq_engine)
    assert sorted(["打印机不出纸", "打印機不出紙", "请问打印机不出纸", "打印机不出纸😭"]) in groups


def test_groups_do_not_depend_on_the_order_questions_came_in(faq_engine):
    texts = PRINTER + FEES + NEW_DEVICE + WEATHER + OFFICE
    expected = sorted(groups_of(texts, faq_engine))
    rng = random.Random(7)
    for _ in range(3):
        shuffled = texts[:]
        rng.shuffle(shuffled)
        assert sorted(groups_of(shuffled, faq_engine)) == expected


def test_a_stricter_threshold_splits_more(faq_engine):
    texts = PRINTER + FEES
    assert len(groups_of(texts, faq_engine, 0.95)) > len(groups_of(texts, faq_engine, 0.6))


def test_punctuation_only_questions_only_group_with_themselves(faq_engine):
    groups = groups_of(["？？？", "？？？", "。。。", "打印机不出纸"], faq_engine)
    assert ["？？？", "？？？"] in groups and ["。。。"] in groups


def question(i, text, minutes=0, candidates=(), vote=None, decision="none", conv=None):
    return Question(
        id=i,
        query=text,
        decision=decision,
        vote=vote,
        taken=False,
        conversation_id=conv or f"web:c{i}",
        channel="web",
        created_at=datetime(2026, 12, 1, tzinfo=UTC) + timedelta(minutes=minutes),
        candidates=[{"id": c, "score": s} for c, s in candidates],
    )


def test_a_group_has_its_count_samples_last_seen_and_top_candidates(faq_engine):
    qs = [
        question(10, "打印机不出纸", 1, [("fault-printer-no-receipt", 0.5)]),
        question(
            11, "打印机不出纸", 2, [("fault-printer-no-receipt", 0.55), ("fault-screen-black", 0.2)], conv="web:c10"
        ),
        question(12, "打印机不出纸了怎么办", 9, [("fault-printer-no-receipt", 0.45)], vote="down", decision="answer"),
        question(13, "机器打印不出小票", 3, [("no-longer-in-the-kb", 0.9)], decision="suggest"),
        question(14, "今天天气怎么样", 30),
    ]
    printer, weather = group_questions(qs, faq_engine, 0.6)
    assert (printer.key, printer.count, printer.conversations) == ("g10", 4, 3)
    assert printer.question == "打印机不出纸"  # asked most
    assert printer.samples[0] == "打印机不出纸" and set(printer.samples) == {
        "打印机不出纸",
        "打印机不出纸了怎么办",
        "机器打印不出小票",
    }
    assert printer.last_seen == qs[2].created_at and printer.first_seen == qs[0].created_at
    assert printer.reasons == {"none": 2, "down": 1, "suggest": 1}
    # Retired entries are not offered; most often found first.
    assert [c["id"] for c in printer.candidates] == ["fault-printer-no-receipt", "fault-screen-black"]
    assert printer.candidates[0]["hits"] == 3 and printer.candidates[0]["score"] == 0.55
    assert printer.category == "fault"
    assert (weather.key, weather.count, weather.candidates, weather.category) == ("g14", 1, [], None)
