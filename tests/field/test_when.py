"""Preferred visit times in Chinese, at a fixed "now": Wednesday 2026-12-02 10:00 in Shanghai."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.field.when import AM, PM, Window, add_working_days, parse_window

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=TZ)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "day", "half"),
    [
        ("明天下午", date(2026, 12, 3), PM),
        ("周六上午", date(2026, 12, 5), AM),
        ("星期六早上", date(2026, 12, 5), AM),
        ("礼拜一下午", date(2026, 12, 7), PM),  # Monday has passed this week: the coming one
        ("下周三上午", date(2026, 12, 9), AM),
        ("下个月1号上午", date(2027, 1, 1), AM),  # next month, not this month's 1st (past)
        ("下月1号下午", date(2027, 1, 1), PM),
        ("本月20号下午", date(2026, 12, 20), PM),
        ("明早", date(2026, 12, 3), AM),
        ("明晚", date(2026, 12, 3), PM),
        ("下个星期五下午", date(2026, 12, 11), PM),
        ("12月5日上午", date(2026, 12, 5), AM),
        ("12月5号下午", date(2026, 12, 5), PM),
        ("十二月五日上午", date(2026, 12, 5), AM),
        ("12/8 上午", date(2026, 12, 8), AM),
        ("后天下午3点", date(2026, 12, 4), PM),
        ("大后天上午10点", date(2026, 12, 5), AM),
        ("今天下午", date(2026, 12, 2), PM),
        ("改到周五下午吧", date(2026, 12, 4), PM),
        ("1月1日上午", date(2027, 1, 1), AM),  # across the year end, 30 days ahead
        ("１２月１０日上午", date(2026, 12, 10), AM),  # full-width digits
    ],
)
def test_windows_people_say(text, day, half):
    parsed = parse_window(text, NOW)
    assert parsed.problem is None, parsed.problem
    assert parsed.window == Window(day, half)


def test_the_window_is_read_back_with_its_weekday():
    assert parse_window("12月5日上午", NOW).window.label() == "12月5日（周六）上午"
    assert Window.decode(Window(date(2026, 12, 5), AM).encode()) == Window(date(2026, 12, 5), AM)


@pytest.mark.parametrize("text", ["下周三", "后天", "12月5日"])
def test_a_day_without_half_day_is_kept_to_ask_am_or_pm(text):
    parsed = parse_window(text, NOW)
    assert parsed.window is None and parsed.problem is None and parsed.day is not None


def test_half_day_alone_completes_the_day_given_before():
    assert parse_window("上午", NOW, earlier_day=date(2026, 12, 9)).window == Window(date(2026, 12, 9), AM)
    assert "哪一天" in parse_window("上午", NOW).problem


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("昨天下午", "12月1日（周二）已经过去了，请选一个以后的时间"),
        ("11月30日上午", "11月30日（周一）已经过去了，请选一个以后的时间"),
        ("今天上午", "今天上午已经来不及安排了，最早可以约今天下午"),
        ("2027年3月1日上午", "最多可以预约30天以内的时间，3月1日（周一）太远了，请换一个近一点的日子"),
        ("13月40日上午", "这个日期不存在，请核对一下"),
        ("下个月40号上午", "这个日期不存在，请核对一下"),
        ("下个月5号上午", "最多可以预约30天以内的时间，1月5日（周二）太远了，请换一个近一点的日子"),
        ("本月1号上午", "12月1日（周二）已经过去了，请选一个以后的时间"),
        ("2月30日上午", "这个日期不存在，请核对一下"),
        ("随便什么时候", "没看懂是什么时间，可以说“明天下午”“周六上午”或“12月5日上午”"),
    ],
)
def test_times_that_cannot_be_booked_say_why(text, problem):
    parsed = parse_window(text, NOW)
    assert parsed.window is None
    assert parsed.problem == problem


def test_late_in_the_day_the_earliest_is_tomorrow_morning():
    evening = datetime(2026, 12, 2, 20, 0, tzinfo=TZ)
    assert parse_window("今天下午", evening).problem == "今天下午已经来不及安排了，最早可以约12月3日（周四）上午"


def test_working_days_skip_the_weekend():
    assert add_working_days(date(2026, 12, 2), 3) == date(2026, 12, 7)  # Wed + 3 → Mon
    assert add_working_days(date(2026, 12, 5), 1) == date(2026, 12, 7)  # Sat + 1 → Mon
