"""Feedback: 👍/👎 on FAQ answers (with the 👎 reason) and 1-5 satisfaction ratings.

The custom actions call ``record_faq_feedback`` and ``record_rating``; the web widget rates a
handoff or a ticket once (``rating_by_key``); staff read ``feedback_summary``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.conversations.models import ConversationRating, FaqFeedback
from bot.conversations.schemas import FaqFeedbackCount, FeedbackOut, FeedbackSummary, RatingOut
from bot.conversations.store import ConversationStore, ensure
from bot.masking import mask_pii

VOTES = ("up", "down")
REASON_MAX = 200


class Feedback(ConversationStore):
    def record_faq_feedback(self, conv_id: str, faq_id: str, vote: str, reason: str | None = None) -> FeedbackOut:
        """👍/👎 on an FAQ answer; a later vote or reason for the same entry updates the row.

        A 👎 is stored at once and its reason added when the merchant gives one, so a
        merchant who never explains still counts. ``reason=None`` keeps an earlier reason.
        """
        if vote not in VOTES:
            raise ValueError(f"vote must be 'up' or 'down', got {vote!r}")
        if not faq_id:
            raise ValueError("faq_id is required")
        reason = mask_pii((reason or "").strip())[:REASON_MAX] or None
        with self.db.session() as s:
            now = self.clock()
            conv = ensure(s, conv_id, now)
            row = s.execute(
                select(FaqFeedback).where(FaqFeedback.conversation_id == conv.id, FaqFeedback.faq_id == faq_id)
            ).scalar_one_or_none()
            if row is None:
                row = FaqFeedback(
                    conversation_id=conv.id, faq_id=faq_id, vote=vote, reason=reason, created_at=now, updated_at=now
                )
                s.add(row)
            else:
                if row.vote != vote:
                    row.reason = None  # a reason explained the old vote, not this one
                row.vote = vote
                if reason is not None:
                    row.reason = reason
                row.updated_at = now
            s.flush()
            return FeedbackOut(
                conversation_id=row.conversation_id,
                faq_id=row.faq_id,
                vote=row.vote,
                reason=row.reason,
                created_at=row.created_at,
                updated_at=row.updated_at,
            )

    def record_rating(self, conv_id: str, rating: int, *, dedupe_key: str | None = None) -> RatingOut:
        """A 1-5 satisfaction rating. With ``dedupe_key`` a repeated call returns the first row."""
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise ValueError(f"rating must be an integer 1-5, got {rating!r}")
        key = dedupe_key[:200] if dedupe_key else None
        if key:
            existing = self._rating_by_key(key)
            if existing is not None:
                return existing
        try:
            with self.db.session() as s:
                now = self.clock()
                conv = ensure(s, conv_id, now)
                row = ConversationRating(conversation_id=conv.id, rating=rating, dedupe_key=key, created_at=now)
                s.add(row)
                s.flush()
                return RatingOut(conversation_id=conv.id, rating=row.rating, created_at=row.created_at)
        except IntegrityError:
            existing = self._rating_by_key(key) if key else None
            if existing is None:
                raise
            return existing

    def _aware(self, moment: datetime | None) -> datetime | None:
        if moment is None or moment.tzinfo is not None:
            return moment
        tz = getattr(self.settings, "timezone", None) or "UTC"
        return moment.replace(tzinfo=ZoneInfo(tz))

    def rating_by_key(self, key: str) -> RatingOut | None:
        """The rating stored under ``dedupe_key`` (e.g. one handoff or ticket rated from the widget)."""
        return self._rating_by_key(key[:200])

    def _rating_by_key(self, key: str) -> RatingOut | None:
        with self.db.session() as s:
            row = s.execute(select(ConversationRating).where(ConversationRating.dedupe_key == key)).scalar_one_or_none()
            if row is None:
                return None
            return RatingOut(conversation_id=row.conversation_id, rating=row.rating, created_at=row.created_at)

    def feedback_summary(self, since: datetime | None = None, until: datetime | None = None) -> FeedbackSummary:
        """👍/👎 per FAQ entry (with 👎 reasons) and the rating distribution, in [since, until).

        Naive bounds are local time (settings.timezone), as staff type them.
        """
        since, until = self._aware(since), self._aware(until)

        def window(col):
            conds = []
            if since is not None:
                conds.append(col >= since)
            if until is not None:
                conds.append(col < until)
            return conds

        with self.db.session() as s:
            per_entry: dict[str, FaqFeedbackCount] = {}
            votes = s.execute(
                select(FaqFeedback.faq_id, FaqFeedback.vote, func.count())
                .where(*window(FaqFeedback.updated_at))
                .group_by(FaqFeedback.faq_id, FaqFeedback.vote)
            ).all()
            for faq_id, vote, n in votes:
                item = per_entry.setdefault(faq_id, FaqFeedbackCount(faq_id=faq_id))
                setattr(item, vote, int(n))
            reasons = s.execute(
                select(FaqFeedback.faq_id, FaqFeedback.reason, func.count())
                .where(FaqFeedback.vote == "down", FaqFeedback.reason.is_not(None), *window(FaqFeedback.updated_at))
                .group_by(FaqFeedback.faq_id, FaqFeedback.reason)
            ).all()
            for faq_id, reason, n in reasons:
                per_entry.setdefault(faq_id, FaqFeedbackCount(faq_id=faq_id)).reasons[str(reason)] = int(n)
            ratings = s.execute(
                select(ConversationRating.rating, func.count())
                .where(*window(ConversationRating.created_at))
                .group_by(ConversationRating.rating)
            ).all()
        dist = {str(r): 0 for r in range(1, 6)}
        for r, n in ratings:
            dist[str(r)] = int(n)
        total = sum(dist.values())
        avg = round(sum(int(k) * v for k, v in dist.items()) / total, 2) if total else None
        faq = sorted(per_entry.values(), key=lambda c: (-c.down, -c.up, c.faq_id))
        return FeedbackSummary(
            since=since, until=until, faq=faq, ratings=dist, ratings_count=total, ratings_average=avg
        )
