"""Every number of the analytics dashboard, from one place (``overview``), on SQLite and PostgreSQL.

Days are local days (``settings.timezone``): a ``Period`` (bot.analytics.period) is a range of
them, inclusive, and becomes the UTC window [since, until) the tables are filtered on. What is
counted:

* **conversations** of a day: conversations with at least one merchant message that day;
* **questions**: FAQ turns (``faq_turns``: each merchant question the FAQ engine decided on);
  **answered** / suggest / none: ``bot.analytics.turns`` (``answered()`` is the rule of the
  self-service answer rate; suggest and none are what the bot did with the question);
* **handoffs**: conversations handed to a person that day; handoff rate = those / conversations;
* **tickets** created in the period, by category and by their status now;
* **time to first staff reply**: for each handoff started in the period, from its start to the
  first staff message in it (handoffs nobody answered yet are counted apart, never as zero);
* **👍/👎** per entry and per day (``faq_feedback``, by when the vote was last changed, as
  ``/api/feedback/summary``), **CSAT**: the share of 1-5 ratings that are 4 or 5, and the
  average. A rating counts for an entry when the bot's answer with that entry was the last one
  in the conversation within ``RATING_ATTRIBUTION`` before the rating (ratings of a handoff or
  a ticket are about people, not entries, and count only per day);
* **unanswered groups**: the questions ``turns.unanswered()`` selects
  (``turns.unanswered_questions``), grouped by ``bot.analytics.clusters`` with the FAQ engine's
  encoder.

A rate whose denominator is zero is ``None`` (shown as "—"), never 0.

One module on purpose: each figure is defined above and computed below, with the same ``rate``
and ``GOOD_RATING`` rules; the period and the unanswered rows are bot.analytics.period and .turns.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, distinct, func, select, type_coerce
from sqlalchemy.orm import Session

from bot.analytics.clusters import group_questions
from bot.analytics.models import FaqTurn
from bot.analytics.period import Period, in_period, local_day
from bot.analytics.turns import answered, unanswered, unanswered_questions
from bot.conversations.models import (
    ConversationMessage,
    ConversationRating,
    FaqFeedback,
    Handoff,
)
from bot.core.db import Database, UTCDateTime
from bot.tickets.models import Ticket

RATING_ATTRIBUTION = timedelta(minutes=30)
# Ratings of a handoff that ended or a ticket resolved (bot.chat.service.rating_key): about people.
STAFF_RATING_PREFIX = "rate|"
GOOD_RATING = 4


@dataclass
class DayRow:
    day: str
    conversations: int = 0
    questions: int = 0
    answered: int = 0
    suggest: int = 0
    none: int = 0
    handoffs: int = 0
    up: int = 0
    down: int = 0
    ratings: int = 0
    ratings_good: int = 0
    ratings_sum: int = 0
    first_reply_median_s: float | None = None

    @property
    def answer_rate(self) -> float | None:
        return rate(self.answered, self.questions)

    @property
    def suggest_rate(self) -> float | None:
        return rate(self.suggest, self.questions)

    @property
    def none_rate(self) -> float | None:
        return rate(self.none, self.questions)

    @property
    def handoff_rate(self) -> float | None:
        return rate(self.handoffs, self.conversations)

    @property
    def csat(self) -> float | None:
        return rate(self.ratings_good, self.ratings)

    @property
    def rating_avg(self) -> float | None:
        return round(self.ratings_sum / self.ratings, 2) if self.ratings else None

    def as_dict(self) -> dict:
        d = asdict(self)
        for name in ("answer_rate", "suggest_rate", "none_rate", "handoff_rate", "csat", "rating_avg"):
            d[name] = getattr(self, name)
        return d


@dataclass
class FirstReply:
    handoffs: int = 0
    replied: int = 0
    median_s: float | None = None
    p90_s: float | None = None
    mean_s: float | None = None


@dataclass
class EntryRow:
    entry_id: str
    question: str | None = None  # None: the entry is no longer in the knowledge base
    category: str | None = None
    answered: int = 0
    up: int = 0
    down: int = 0
    ratings: int = 0
    ratings_good: int = 0
    ratings_sum: int = 0

    def as_dict(self) -> dict:
        d = asdict(self)
        d["csat"] = rate(self.ratings_good, self.ratings)
        d["rating_avg"] = round(self.ratings_sum / self.ratings, 2) if self.ratings else None
        return d


@dataclass
class Overview:
    period: Period
    days: list[DayRow]
    totals: dict
    tickets: list[dict]
    first_reply: FirstReply
    entries: list[EntryRow]
    unanswered: list = field(default_factory=list)  # bot.analytics.clusters.Group, largest first

    def as_dict(self) -> dict:
        return {
            "since": self.period.start.isoformat(),
            "until": self.period.end.isoformat(),
            "timezone": self.period.tz,
            "totals": self.totals,
            "days": [d.as_dict() for d in self.days],
            "tickets": self.tickets,
            "first_reply": asdict(self.first_reply),
            "entries": [e.as_dict() for e in self.entries],
            "unanswered": [g.as_dict() for g in self.unanswered],
        }


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# --- the queries ---------------------------------------------------------------------------------


def overview(
    db: Database, period: Period, *, engine=None, similarity: float = 0.6, groups: int = 10, max_questions: int = 2000
) -> Overview:
    """Everything the dashboard shows for ``period``; ``engine``: the FAQ engine (entry
    questions, and the encoder of the unanswered groups; without it there are no groups)."""
    days = {d: DayRow(d) for d in period.days()}
    with db.session() as s:
        totals = _daily(s, period, days)
        replies, per_day_replies = _first_replies(s, period)
        tickets = _tickets(s, period)
        entries = _entries(s, period, engine)
        items = unanswered_questions(s, period=period, limit=max_questions)
    for d, values in per_day_replies.items():
        if d in days and values:
            days[d].first_reply_median_s = round(statistics.median(values), 1)
    totals["tickets"] = sum(t["count"] for t in tickets)
    totals["first_reply_median_s"] = replies.median_s
    with db.session() as s:
        totals["unanswered_questions"] = s.execute(
            select(func.count()).where(unanswered(), *in_period(FaqTurn.created_at, period))
        ).scalar_one()
    top = []
    if engine is not None and items:
        top = group_questions(items, engine, similarity)[:groups]
    return Overview(period, list(days.values()), totals, tickets, replies, entries, top)


def _daily(s: Session, period: Period, days: dict[str, DayRow]) -> dict:
    tz = period.tz
    day = local_day(s, ConversationMessage.created_at, tz)
    for d, n in s.execute(
        select(day, func.count(distinct(ConversationMessage.conversation_id)))
        .where(ConversationMessage.direction == "in", *in_period(ConversationMessage.created_at, period))
        .group_by(day)
    ):
        if d in days:
            days[d].conversations = int(n)
    conversations = s.execute(
        select(func.count(distinct(ConversationMessage.conversation_id))).where(
            ConversationMessage.direction == "in", *in_period(ConversationMessage.created_at, period)
        )
    ).scalar_one()

    day = local_day(s, FaqTurn.created_at, tz)
    is_answered = func.sum(case((answered(), 1), else_=0))
    is_suggest = func.sum(case((FaqTurn.decision == "suggest", 1), else_=0))
    is_none = func.sum(case((FaqTurn.decision == "none", 1), else_=0))
    for d, n, a, sg, no in s.execute(
        select(day, func.count(), is_answered, is_suggest, is_none)
        .where(*in_period(FaqTurn.created_at, period))
        .group_by(day)
    ):
        if d in days:
            row = days[d]
            row.questions, row.answered, row.suggest, row.none = int(n), int(a or 0), int(sg or 0), int(no or 0)

    day = local_day(s, Handoff.started_at, tz)
    for d, n in s.execute(
        select(day, func.count(distinct(Handoff.conversation_id)))
        .where(*in_period(Handoff.started_at, period))
        .group_by(day)
    ):
        if d in days:
            days[d].handoffs = int(n)
    handoff_convs = s.execute(
        select(func.count(distinct(Handoff.conversation_id))).where(*in_period(Handoff.started_at, period))
    ).scalar_one()

    day = local_day(s, FaqFeedback.updated_at, tz)
    for d, vote, n in s.execute(
        select(day, FaqFeedback.vote, func.count())
        .where(*in_period(FaqFeedback.updated_at, period))
        .group_by(day, FaqFeedback.vote)
    ):
        if d in days:
            setattr(days[d], vote, int(n))

    day = local_day(s, ConversationRating.created_at, tz)
    good = func.sum(case((ConversationRating.rating >= GOOD_RATING, 1), else_=0))
    for d, n, g, total in s.execute(
        select(day, func.count(), good, func.sum(ConversationRating.rating))
        .where(*in_period(ConversationRating.created_at, period))
        .group_by(day)
    ):
        if d in days:
            days[d].ratings, days[d].ratings_good, days[d].ratings_sum = int(n), int(g or 0), int(total or 0)

    rows = list(days.values())
    questions = sum(r.questions for r in rows)
    ratings = sum(r.ratings for r in rows)
    ratings_sum = sum(r.ratings_sum for r in rows)
    return {
        "conversations": int(conversations),
        "questions": questions,
        "answered": sum(r.answered for r in rows),
        "answer_rate": rate(sum(r.answered for r in rows), questions),
        "suggest": sum(r.suggest for r in rows),
        "suggest_rate": rate(sum(r.suggest for r in rows), questions),
        "none": sum(r.none for r in rows),
        "none_rate": rate(sum(r.none for r in rows), questions),
        "handoffs": int(handoff_convs),
        "handoff_rate": rate(int(handoff_convs), int(conversations)),
        "up": sum(r.up for r in rows),
        "down": sum(r.down for r in rows),
        "ratings": ratings,
        "rating_avg": round(ratings_sum / ratings, 2) if ratings else None,
        "csat": rate(sum(r.ratings_good for r in rows), ratings),
    }


def _first_replies(s: Session, period: Period) -> tuple[FirstReply, dict[str, list[float]]]:
    first_staff = (
        select(func.min(ConversationMessage.created_at))
        .where(
            ConversationMessage.conversation_id == Handoff.conversation_id,
            ConversationMessage.direction == "staff",
            ConversationMessage.created_at >= Handoff.started_at,
            (Handoff.ended_at.is_(None)) | (ConversationMessage.created_at <= Handoff.ended_at),
        )
        .correlate(Handoff)
        .scalar_subquery()
    )
    rows = s.execute(
        select(Handoff.started_at, type_coerce(first_staff, UTCDateTime()))
        .where(*in_period(Handoff.started_at, period))
        .order_by(Handoff.id)
    ).all()
    zone = period.zone
    waits: list[float] = []
    per_day: dict[str, list[float]] = defaultdict(list)
    for started, replied_raw in rows:
        replied = _as_utc(replied_raw)
        if replied is None:
            continue
        seconds = max(0.0, (replied - started).total_seconds())
        waits.append(seconds)
        per_day[started.astimezone(zone).date().isoformat()].append(seconds)
    out = FirstReply(handoffs=len(rows), replied=len(waits))
    if waits:
        ordered = sorted(waits)
        out.median_s = round(statistics.median(ordered), 1)
        out.mean_s = round(statistics.fmean(ordered), 1)
        out.p90_s = round(ordered[max(0, -(-9 * len(ordered) // 10) - 1)], 1)  # nearest rank
    return out, per_day


def _as_utc(value) -> datetime | None:
    """A subquery's timestamp: SQLite hands back text or a naive datetime (stored as UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _tickets(s: Session, period: Period) -> list[dict]:
    rows = s.execute(
        select(Ticket.category, Ticket.status, func.count())
        .where(*in_period(Ticket.created_at, period))
        .group_by(Ticket.category, Ticket.status)
        .order_by(Ticket.category, Ticket.status)
    ).all()
    return [{"category": c, "status": st, "count": int(n)} for c, st, n in rows]


def _entries(s: Session, period: Period, engine) -> list[EntryRow]:
    rows: dict[str, EntryRow] = {}

    def entry(entry_id: str) -> EntryRow:
        if entry_id not in rows:
            e = engine.get(entry_id) if engine is not None else None
            rows[entry_id] = EntryRow(entry_id, e.question if e else None, e.category if e else None)
        return rows[entry_id]

    answered_entry = func.coalesce(FaqTurn.taken_entry_id, FaqTurn.entry_id)
    for entry_id, n in s.execute(
        select(answered_entry, func.count())
        .where(answered_entry.is_not(None), *in_period(FaqTurn.created_at, period))
        .group_by(answered_entry)
    ):
        entry(entry_id).answered = int(n)
    for entry_id, vote, n in s.execute(
        select(FaqFeedback.faq_id, FaqFeedback.vote, func.count())
        .where(*in_period(FaqFeedback.updated_at, period))
        .group_by(FaqFeedback.faq_id, FaqFeedback.vote)
    ):
        setattr(entry(entry_id), vote, int(n))
    for entry_id, rating in _attributed_ratings(s, period):
        row = entry(entry_id)
        row.ratings += 1
        row.ratings_sum += rating
        row.ratings_good += rating >= GOOD_RATING
    return sorted(rows.values(), key=lambda r: (-(r.answered + r.up + r.down), r.entry_id))


def _attributed_ratings(s: Session, period: Period) -> list[tuple[str, int]]:
    """(entry id, rating) for each bot rating whose conversation's last answer before it, within
    RATING_ATTRIBUTION, was that entry's."""
    ratings = s.execute(
        select(ConversationRating.conversation_id, ConversationRating.created_at, ConversationRating.rating).where(
            *in_period(ConversationRating.created_at, period),
            (ConversationRating.dedupe_key.is_(None))
            | (~ConversationRating.dedupe_key.startswith(STAFF_RATING_PREFIX)),
        )
    ).all()
    if not ratings:
        return []
    convs = sorted({r[0] for r in ratings})
    answered_entry = func.coalesce(FaqTurn.taken_entry_id, FaqTurn.entry_id)
    answers: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for chunk in range(0, len(convs), 500):
        for conv, at, entry_id in s.execute(
            select(FaqTurn.conversation_id, FaqTurn.created_at, answered_entry)
            .where(
                FaqTurn.conversation_id.in_(convs[chunk : chunk + 500]),
                answered_entry.is_not(None),
                FaqTurn.created_at >= period.since - RATING_ATTRIBUTION,
                FaqTurn.created_at < period.until,
            )
            .order_by(FaqTurn.id)
        ):
            answers[conv].append((at, entry_id))
    out = []
    for conv, at, value in ratings:
        before = [e for t, e in answers.get(conv, []) if at - RATING_ATTRIBUTION <= t <= at]
        if before:
            out.append((before[-1], int(value)))
    return out
