"""The query layer's numbers against the seeded history (tests/analytics/conftest.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from bot.analytics.period import Period, PeriodError
from bot.analytics.queries import overview
from tests.analytics.conftest import TZ, seed_history

PERIOD = Period(date(2026, 11, 30), date(2026, 12, 1), TZ)


@pytest.fixture
def seeded(database, settings, clock):
    return seed_history(database, settings, clock)


def test_per_day_counts_follow_local_days(database, seeded, faq_engine):
    data = overview(database, PERIOD, engine=faq_engine)
    day30, day1 = (d.as_dict() for d in data.days)
    assert [d.day for d in data.days] == ["2026-11-30", "2026-12-01"]
    # 23:30 on the 30th stays on the 30th, 00:30 on the 1st (16:30 UTC on the 30th) is the 1st.
    assert {k: day30[k] for k in ("conversations", "questions", "answered", "suggest", "none", "handoffs")} == {
        "conversations": 2,
        "questions": 2,
        "answered": 1,
        "suggest": 1,
        "none": 0,
        "handoffs": 0,
    }
    assert {k: day1[k] for k in ("conversations", "questions", "answered", "suggest", "none", "handoffs")} == {
        "conversations": 3,
        "questions": 3,
        "answered": 1,
        "suggest": 0,
        "none": 2,
        "handoffs": 3,
    }
    assert (day30["answer_rate"], day30["suggest_rate"], day30["handoff_rate"]) == (0.5, 0.5, 0.0)
    assert (day1["answer_rate"], day1["none_rate"], day1["handoff_rate"]) == (0.3333, 0.6667, 1.0)
    assert (day30["up"], day30["down"], day1["up"], day1["down"]) == (1, 1, 0, 0)
    assert (day30["ratings"], day30["rating_avg"], day30["csat"]) == (2, 3.5, 0.5)
    assert (day1["ratings"], day1["rating_avg"], day1["csat"]) == (1, 4.0, 1.0)
    assert (day30["first_reply_median_s"], day1["first_reply_median_s"]) == (None, 360.0)


def test_totals_are_over_the_period_not_a_sum_of_days(database, seeded, faq_engine):
    totals = overview(database, PERIOD, engine=faq_engine).totals
    assert totals == {
        "conversations": 5,
        "questions": 5,
        "answered": 2,
        "answer_rate": 0.4,
        "suggest": 1,
        "suggest_rate": 0.2,
        "none": 2,
        "none_rate": 0.4,
        "handoffs": 3,
        "handoff_rate": 0.6,
        "up": 1,
        "down": 1,
        "ratings": 3,
        "rating_avg": 3.67,
        "csat": 0.6667,
        "tickets": 3,
        "first_reply_median_s": 360.0,
        "unanswered_questions": 3,
    }


def test_time_to_first_staff_reply_counts_the_unanswered_handoff_apart(database, seeded):
    reply = overview(database, PERIOD).first_reply
    assert (reply.handoffs, reply.replied, reply.median_s, reply.mean_s, reply.p90_s) == (3, 2, 360.0, 360.0, 600.0)


def test_tickets_by_category_and_their_status_now(database, seeded):
    assert overview(database, PERIOD).tickets == [
        {"category": "repair", "status": "in_progress", "count": 1},
        {"category": "repair", "status": "open", "count": 1},
        {"category": "settlement", "status": "open", "count": 1},
    ]


def test_votes_and_csat_per_entry(database, seeded, faq_engine):
    rows = [e.as_dict() for e in overview(database, PERIOD, engine=faq_engine).entries]
    assert [(r["entry_id"], r["answered"], r["up"], r["down"], r["ratings"], r["csat"]) for r in rows] == [
        ("fault-printer-no-receipt", 1, 1, 0, 1, 1.0),
        ("settlement-t1-arrival", 1, 0, 1, 1, 0.0),
    ]
    assert rows[0]["question"] == "交易成功了但是不打单怎么办？"  # from the live knowledge base


def test_top_unanswered_groups_of_the_period(database, seeded, faq_engine):
    groups = overview(database, PERIOD, engine=faq_engine).unanswered
    # The 29th's question is outside; the 1st's two unrelated questions do not group together.
    assert sorted(g.question for g in groups) == ["今天天气怎么样", "周末去哪儿爬山好", "钱什么时候到"]
    money = next(g for g in groups if g.question == "钱什么时候到")
    assert money.reasons == {"down": 1}
    assert [c["id"] for c in money.candidates] == ["settlement-t1-arrival", "fees-rate"]


def test_an_empty_period_reports_no_rates_rather_than_zero(database, seeded):
    data = overview(database, Period(date(2026, 10, 1), date(2026, 10, 2), TZ))
    assert data.totals["answer_rate"] is None and data.totals["handoff_rate"] is None and data.totals["csat"] is None
    assert data.totals["questions"] == 0 and data.first_reply.median_s is None
    assert all(d.answer_rate is None for d in data.days)


def test_one_day_period_and_the_day_before_are_apart(database, seeded):
    before = overview(database, Period(date(2026, 11, 29), date(2026, 11, 29), TZ)).totals
    assert (before["conversations"], before["questions"], before["none"], before["tickets"]) == (1, 1, 1, 1)


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("2026-12-05", "2026-12-01", "开始日期不能晚于结束日期"),
        ("2026/12/01", None, "开始日期“2026/12/01”不是有效日期"),
        ("2026-02-30", None, "不是有效日期"),
        ("2025-01-01", "2026-12-01", "日期范围最长 366 天"),
    ],
)
def test_date_ranges_staff_mistype_get_a_chinese_reason(since, until, message):
    with pytest.raises(PeriodError, match=message):
        Period.parse(since, until, TZ, today=date(2026, 12, 2), max_days=366)


def test_the_default_period_is_the_last_30_days():
    p = Period.parse(None, "", TZ, today=date(2026, 12, 2), max_days=366)
    assert (p.start, p.end, len(p.days())) == (date(2026, 11, 3), date(2026, 12, 2), 30)
