"""Preferred visit times as merchants say them: "明天下午", "周六上午", "下周三", "12月5日上午", "后天".

A visit is booked by half-day (上午 / 下午), so a time is a ``Window``: a date and ``am`` / ``pm``.
The vocabulary is bounded (relative days, weekdays of this and next week, month-day dates, a
half-day word or a clock hour), which a small parser covers exactly; general date libraries
read "周三" as last Wednesday or not at all and know no half-days.

Pure functions over a given ``now`` (aware, in the merchant's timezone), so tests fix the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

AM, PM = "am", "pm"
HALF_LABELS = {AM: "上午", PM: "下午"}
HALF_START = {AM: time(9, 0), PM: time(13, 0)}
WEEKDAY_LABELS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_RELATIVE = {
    "大前天": -3,
    "前天": -2,
    "昨天": -1,
    "昨日": -1,
    "今天": 0,
    "今日": 0,
    "明天": 1,
    "明日": 1,
    "明儿": 1,
    "明早": 1,
    "明晚": 1,
    "后天": 2,
    "大后天": 3,
}
_AM_WORDS = ("上午", "早上", "早晨", "一早", "上班", "早点", "早些", "明早")
_PM_WORDS = ("下午", "午后", "傍晚", "晚上", "晚点", "下班前", "明晚")
_CN_NUM = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_FULLWIDTH = str.maketrans("０１２３４５６７８９／－．：", "0123456789/-.:")


@dataclass(frozen=True)
class Window:
    day: date
    half: str  # am | pm

    def label(self) -> str:
        """ "12月5日（周六）上午"."""
        return f"{day_label(self.day)}{HALF_LABELS[self.half]}"

    def starts(self, tz) -> datetime:
        return datetime.combine(self.day, HALF_START[self.half], tzinfo=tz)

    def encode(self) -> str:
        """The slot value: "2026-12-05 am"."""
        return f"{self.day.isoformat()} {self.half}"

    @classmethod
    def decode(cls, value: str | None) -> Window | None:
        m = re.fullmatch(r"(\d{4}-\d{2}-\d{2}) (am|pm)", value or "")
        return cls(date.fromisoformat(m.group(1)), m.group(2)) if m else None


def day_label(d: date) -> str:
    return f"{d.month}月{d.day}日（{WEEKDAY_LABELS[d.weekday()]}）"


def _small(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if not text or any(c not in _CN_NUM for c in text):
        return None
    if "十" not in text:
        return _CN_NUM[text] if len(text) == 1 else None
    head, _, tail = text.partition("十")
    return (_CN_NUM.get(head, 0) if head else 1) * 10 + (_CN_NUM.get(tail, 0) if tail else 0)


def _first_of_next_month(d: date) -> date:
    return (d.replace(day=1) + timedelta(days=32)).replace(day=1)


def find_day(text: str, today: date) -> tuple[date | None, str | None]:
    """The day named in ``text`` (None, None when it names none), or (None, problem) for an impossible date."""
    t = text
    for word in sorted(_RELATIVE, key=len, reverse=True):
        if word in t:
            return today + timedelta(days=_RELATIVE[word]), None
    monday = today - timedelta(days=today.weekday())
    m = re.search(r"(下下|下个?|这个?|本)?(?:周|星期|礼拜)([一二三四五六日天末])", t)
    if m:
        weeks = {"下下": 2, "下": 1, "下个": 1}.get(m.group(1) or "", 0)
        day = monday + timedelta(weeks=weeks, days=_WEEKDAYS[m.group(2)])
        if not m.group(1) and day < today:
            day += timedelta(weeks=1)  # "周一" said on a Wednesday: the coming Monday
        return day, None
    try:
        m = re.search(r"(20\d{2})[年/.-](\d{1,2})[月/.-](\d{1,2})", t)
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3))), None
        m = re.search(
            r"(\d{1,2}|[一二三四五六七八九十]{1,3})月(\d{1,2}|[一二三四五六七八九十]{1,3})[日号]?", t
        ) or re.search(r"(?<![\d:])(\d{1,2})[/.-](\d{1,2})(?![\d:])", t)
        if m:
            month, dom = _small(m.group(1)), _small(m.group(2))
            if not month or not dom:
                return None, "这个日期不存在，请核对一下"
            day = date(today.year, month, dom)
            if day < today - timedelta(days=31):
                day = date(today.year + 1, month, dom)  # "1月5日" said in December: next year
            return day, None
        # "下个月5号" / "本月20号": a day of this or next month.
        m = re.search(r"(下个?月|本月|这个?月)(\d{1,2}|[一二三四五六七八九十]{1,3})[日号]?", t)
        if m:
            dom = _small(m.group(2))
            if not dom:
                return None, "这个日期不存在，请核对一下"
            first = _first_of_next_month(today) if m.group(1).startswith("下") else today.replace(day=1)
            return first.replace(day=dom), None
        m = re.search(r"(?<![\d月])(\d{1,2}|[一二三四五六七八九十]{1,3})[日号]", t)
        if m:
            dom = _small(m.group(1))
            if not dom:
                return None, "这个日期不存在，请核对一下"
            if dom > 31:
                return None, None
            day = today.replace(day=dom)
            if day < today:
                day = _first_of_next_month(today).replace(day=dom)
            return day, None
    except ValueError:
        return None, "这个日期不存在，请核对一下"
    return None, None


def find_half(text: str) -> str | None:
    if any(w in text for w in _AM_WORDS):
        return AM
    if any(w in text for w in _PM_WORDS):
        return PM
    m = re.search(r"(\d{1,2}|[一二两三四五六七八九十]{1,3})[点:：时]", text)
    if m:
        hour = _small(m.group(1))
        if hour is not None:
            if "中午" in text and hour <= 2:
                hour += 12
            return AM if hour < 12 and hour >= 7 else PM
    if "中午" in text:
        return None
    return None


@dataclass(frozen=True)
class Parsed:
    window: Window | None = None
    day: date | None = None  # a day without its half-day: the bot asks 上午还是下午
    problem: str | None = None


def parse_window(
    text: str, now: datetime, *, earlier_day: date | None = None, min_notice_h: int = 2, max_days: int = 30
) -> Parsed:
    """A bookable window from ``text`` at ``now`` (aware, local); ``earlier_day`` is a day given in
    a previous message ("12月5日" then "上午")."""
    t = re.sub(r"\s+", "", (text or "").translate(_FULLWIDTH))
    today = now.date()
    day, problem = find_day(t, today)
    if problem:
        return Parsed(problem=problem)
    half = find_half(t)
    if day is None:
        day = earlier_day if half else None
    if day is None:
        if half:
            return Parsed(problem="请再说一下是哪一天，比如“明天下午”“周六上午”“12月5日上午”")
        return Parsed(problem="没看懂是什么时间，可以说“明天下午”“周六上午”或“12月5日上午”")
    if day < today:
        return Parsed(problem=f"{day_label(day)}已经过去了，请选一个以后的时间")
    if day > today + timedelta(days=max_days):
        return Parsed(problem=f"最多可以预约{max_days}天以内的时间，{day_label(day)}太远了，请换一个近一点的日子")
    if half is None:
        return Parsed(day=day)
    window = Window(day, half)
    if window.starts(now.tzinfo) < now + timedelta(hours=min_notice_h):
        first = earliest(now, min_notice_h)
        said = f"今天{HALF_LABELS[half]}" if day == today else window.label()
        soonest = f"今天{HALF_LABELS[first.half]}" if first.day == today else first.label()
        return Parsed(problem=f"{said}已经来不及安排了，最早可以约{soonest}")
    return Parsed(window=window)


def earliest(now: datetime, min_notice_h: int) -> Window:
    day = now.date()
    while True:
        for half in (AM, PM):
            w = Window(day, half)
            if w.starts(now.tzinfo) >= now + timedelta(hours=min_notice_h):
                return w
        day += timedelta(days=1)


def add_working_days(start: date, days: int) -> date:
    """``start`` plus ``days`` working days (Monday to Friday)."""
    d = start
    left = days
    while left > 0:
        d += timedelta(days=1)
        if d.weekday() < 5:
            left -= 1
    return d
