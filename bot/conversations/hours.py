"""Service hours of the human agents ("09:00-21:00" in settings.timezone).

Used by the handoff to tell the merchant whether a person answers now or when; the
wording of that promise lives here too (``reply_promise``, ``waiting_notice``).
A range whose end is before its start wraps past midnight ("20:00-02:00").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

_RANGE_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class ServiceHours:
    start: time
    end: time
    tz: ZoneInfo

    @classmethod
    def parse(cls, spec: str, timezone: str) -> ServiceHours:
        m = _RANGE_RE.fullmatch(spec or "")
        if not m:
            raise ValueError(f"service hours must look like 09:00-21:00, got {spec!r}")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        # "24:00" is a common way to write midnight at the end of a range.
        end = time(0, 0) if (h2, m2) == (24, 0) else time(h2, m2)
        return cls(time(h1, m1), end, ZoneInfo(timezone))

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}-{'24:00' if self.end == time(0) else format(self.end, '%H:%M')}"

    def local(self, now: datetime) -> datetime:
        return now.astimezone(self.tz)

    def is_open(self, now: datetime) -> bool:
        t = self.local(now).time()
        if self.start == self.end:
            return True  # "00:00-24:00" or "09:00-09:00": around the clock
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def next_open(self, now: datetime) -> datetime:
        """The next moment a person is available (``now`` itself when open), in local time."""
        local = self.local(now)
        if self.is_open(now):
            return local
        today_start = local.replace(hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0)
        return today_start if local < today_start else today_start + timedelta(days=1)

    def describe_next_open(self, now: datetime) -> str:
        """'今天 09:00' / '明天 09:00' / '11月27日 09:00' for the merchant."""
        nxt = self.next_open(now)
        days = (nxt.date() - self.local(now).date()).days
        day = {0: "今天", 1: "明天"}.get(days, f"{nxt.month}月{nxt.day}日")
        return f"{day} {nxt:%H:%M}"


# --- what the merchant is told about when a person answers ------------------------------
# The one wording of it: the handoff reply (actions/handoff.py), the notice the chat API
# returns while a person owns the conversation (bot/chat/service.py) and the widget banner all
# use these functions, so they never disagree ("客服会在这里回复您" beside "09:00 上班后").


def from_settings(settings) -> ServiceHours | None:
    """The configured hours; None (treated as always staffed) when the setting is invalid."""
    try:
        return ServiceHours.parse(settings.service_hours, settings.timezone)
    except ValueError:
        log.error("invalid service_hours %r: treating as always staffed", settings.service_hours)
        return None


def reply_promise(hours: ServiceHours | None, now: datetime) -> str:
    """When a person will answer, as one clause: "客服会尽快在这里回复您" or when they start work."""
    if hours is None or hours.is_open(now):
        return "客服会尽快在这里回复您"
    return (
        f"现在是非人工服务时间（人工客服在线 {hours.label}），"
        f"客服会在{hours.describe_next_open(now)} 上班后在这里回复您"
    )


def waiting_notice(hours: ServiceHours | None, now: datetime) -> str:
    """What the merchant sees while a person owns the conversation (banner, silent bot)."""
    return f"已转人工客服：{reply_promise(hours, now)}。"
