"""The reporting period of the analytics: a range of local days, and the local day of a timestamp in SQL.

Days are local days (``settings.timezone``): a ``Period`` is a range of them, inclusive,
parsed from the page's YYYY-MM-DD fields (``Period.parse``; ``PeriodError`` for what staff
cannot report on), and becomes the UTC window [since, until) the tables are filtered on
(``in_period``). ``local_day`` groups rows by local day in SQL, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.orm import Session


class PeriodError(ValueError):
    """A date range staff typed that cannot be reported on (message in Chinese for the page)."""

    def __init__(self, message: str, field: str = "since"):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    tz: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(), self.zone).astimezone(UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(), self.zone).astimezone(UTC)

    def days(self) -> list[str]:
        n = (self.end - self.start).days + 1
        return [(self.start + timedelta(days=i)).isoformat() for i in range(n)]

    @classmethod
    def parse(
        cls, since: str | None, until: str | None, tz: str, *, today: date, max_days: int, default_days: int = 30
    ):
        """From the page's YYYY-MM-DD fields; empty ones mean the last ``default_days`` days up to today."""

        def day(value: str | None, what: str, field: str) -> date | None:
            if value is None or not str(value).strip():
                return None
            try:
                return date.fromisoformat(str(value).strip())
            except ValueError:
                raise PeriodError(f"{what}“{value}”不是有效日期，请按 2026-12-01 这样的格式填写", field) from None

        end = day(until, "结束日期", "until") or today
        start = day(since, "开始日期", "since") or end - timedelta(days=default_days - 1)
        if start > end:
            raise PeriodError("开始日期不能晚于结束日期")
        if (end - start).days + 1 > max_days:
            raise PeriodError(f"日期范围最长 {max_days} 天，请缩短范围")
        return cls(start, end, tz)


def _local_day_sqlite(value, tz: str) -> str | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(tz)).date().isoformat()


def local_day(s: Session, column, tz: str):
    """SQL expression: the local day (YYYY-MM-DD) of a UTC timestamp column.

    PostgreSQL converts with its own time-zone database; SQLite gets a Python function on the
    connection (zoneinfo), so both count a day the same way, daylight saving included."""
    if s.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(tz, column), "YYYY-MM-DD")
    raw = s.connection().connection.driver_connection
    assert raw is not None  # a live SQLite connection
    raw.create_function("posbot_local_day", 2, _local_day_sqlite, deterministic=True)
    return func.posbot_local_day(column, tz)


def in_period(column, period: Period) -> list:
    """SQL conditions: ``column`` (a UTC timestamp) falls in the period's window [since, until)."""
    return [column >= period.since, column < period.until]
