"""FaqTurnLog: the chat's FAQ decisions and what became of them (table ``faq_turns``).

The FAQ action records every question it triaged (``record``), then the follow-ups update
that row: the merchant chose one of the offered entries or an area that answered
(``mark_taken``), voted 👍/👎 on the answer (``record_vote``); staff resolve rows from the
unanswered queue (``resolve``).

A question counts as **answered by the bot** when the bot answered it (an entry or the
response-code table) or the merchant took one of the offered choices, and the answer got no
👎. Every other question is **unanswered** (``unanswered()``) until staff resolve it: no
answer, candidates offered but none taken, or an answer that got 👎. The rule is written here
once; the queue and the analytics both use these two expressions, and read the unanswered rows
with ``unanswered_questions``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, not_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.analytics.models import RESOLUTIONS, FaqTurn
from bot.analytics.period import Period, in_period
from bot.conversations.models import CONV_ID_MAX, Conversation
from bot.core.db import Database, rowcount, utcnow
from bot.masking import mask_pii
from bot.vocabulary import channel_of

log = logging.getLogger(__name__)

# Triage plan kind (bot/faq/triage.py KINDS) -> what the bot did, in three.
KIND_DECISION = {
    "answer": "answer",
    "code": "answer",
    "suggest": "suggest",
    "closest": "suggest",
    "clarify": "none",
    "none": "none",
}
QUERY_MAX = 500
CANDIDATES_MAX = 5
# How far back a choice or a vote looks for the question it belongs to (same conversation).
FOLLOW_UP_ROWS = 20


def answered():
    """SQL condition: the bot answered the question (directly or by a taken choice), no 👎."""
    return and_(
        or_(FaqTurn.decision == "answer", FaqTurn.taken_entry_id.is_not(None)),
        or_(FaqTurn.vote.is_(None), FaqTurn.vote != "down"),
    )


def unanswered():
    """SQL condition: not answered (see ``answered``) and not resolved by staff yet."""
    return and_(FaqTurn.resolved_at.is_(None), not_(answered()))


def _insert(s: Session):
    return postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert


class FaqTurnLog:
    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow):
        self.db = db
        self.clock = clock

    def record(
        self,
        conv_id: str,
        query: str,
        kind: str,
        candidates: Iterable[tuple[str, float]] = (),
        *,
        entry_id: str | None = None,
        top_score: float | None = None,
    ) -> int:
        """One triaged question; ``candidates``: (entry id, score) best first. Returns the row id."""
        if kind not in KIND_DECISION:
            raise ValueError(f"unknown triage kind {kind!r}")
        if not conv_id or len(conv_id) > CONV_ID_MAX:
            raise ValueError(f"conversation id must be 1-{CONV_ID_MAX} characters")
        text = mask_pii((query or "").strip())[:QUERY_MAX]
        cands = [{"id": str(i), "score": round(float(sc), 4)} for i, sc in list(candidates)[:CANDIDATES_MAX]]
        with self.db.session() as s:
            now = self.clock()
            # The chat logged the message first, so the conversation exists; an action called
            # some other way (a test, a replay) must not fail on the foreign key.
            s.execute(
                _insert(s)(Conversation)
                .values(id=conv_id, channel=channel_of(conv_id), handoff_active=False, created_at=now)
                .on_conflict_do_nothing(index_elements=["id"])
            )
            row = FaqTurn(
                conversation_id=conv_id,
                channel=channel_of(conv_id),
                query=text,
                kind=kind,
                decision=KIND_DECISION[kind],
                entry_id=entry_id,
                top_score=None if top_score is None else round(float(top_score), 4),
                candidates=cands,
                created_at=now,
                updated_at=now,
            )
            s.add(row)
            s.flush()
            return row.id

    def _recent(self, s: Session, conv_id: str) -> Sequence[FaqTurn]:
        return (
            s.execute(
                select(FaqTurn)
                .where(FaqTurn.conversation_id == conv_id)
                .order_by(FaqTurn.id.desc())
                .limit(FOLLOW_UP_ROWS)
            )
            .scalars()
            .all()
        )

    def mark_taken(self, conv_id: str, entry_id: str) -> int | None:
        """The merchant reached ``entry_id`` from choices the bot offered: the latest question
        that offered it (else the latest one answered by choosing an area) counts as answered."""
        with self.db.session() as s:
            rows = [r for r in self._recent(s, conv_id) if r.decision != "answer" and r.taken_entry_id is None]
            row = next((r for r in rows if any(c.get("id") == entry_id for c in r.candidates or [])), None)
            if row is None:
                row = next((r for r in rows if r.kind == "clarify"), None)
            if row is None:
                return None
            row.taken_entry_id = entry_id
            row.updated_at = self.clock()
            return row.id

    def record_vote(self, conv_id: str, entry_id: str, vote: str) -> int | None:
        """👍/👎 on ``entry_id``: stored on the latest question it answered in the conversation."""
        if vote not in ("up", "down"):
            raise ValueError(f"vote must be 'up' or 'down', got {vote!r}")
        with self.db.session() as s:
            row = next((r for r in self._recent(s, conv_id) if entry_id in (r.entry_id, r.taken_entry_id)), None)
            if row is None:
                return None
            row.vote = vote
            row.updated_at = self.clock()
            return row.id

    def resolve(self, ids: Iterable[int], *, by: str, resolution: str, entry_id: str | None = None) -> int:
        """Staff dealt with these questions; rows resolved before stay as they were. Returns how many changed."""
        if resolution not in RESOLUTIONS:
            raise ValueError(f"resolution must be one of {RESOLUTIONS}")
        ids = list(ids)
        if not ids:
            return 0
        with self.db.session() as s:
            now = self.clock()
            result = s.execute(
                update(FaqTurn)
                .where(FaqTurn.id.in_(ids), FaqTurn.resolved_at.is_(None))
                .values(
                    resolved_at=now,
                    resolved_by=(by or "staff")[:100],
                    resolution=resolution,
                    resolved_entry_id=entry_id,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            n = rowcount(result)
            log.info("%d unanswered questions resolved by %s (%s %s)", n, by, resolution, entry_id or "-")
            return n

    def get(self, turn_id: int) -> FaqTurn | None:
        with self.db.session() as s:
            row = s.get(FaqTurn, turn_id)
            if row is not None:
                s.expunge(row)
            return row


# --- reading the unanswered questions ------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One unanswered question, as the grouping needs it."""

    id: int
    query: str
    decision: str
    vote: str | None
    taken: bool
    conversation_id: str
    channel: str
    created_at: datetime
    candidates: list


def unanswered_questions(
    s: Session, *, period: Period | None = None, since: datetime | None = None, limit: int = 2000
) -> list[Question]:
    """The latest unanswered, unresolved questions (``unanswered()``), newest first."""
    q = select(FaqTurn).where(unanswered())
    if period is not None:
        q = q.where(*in_period(FaqTurn.created_at, period))
    if since is not None:
        q = q.where(FaqTurn.created_at >= since)
    rows = s.execute(q.order_by(FaqTurn.id.desc()).limit(max(1, int(limit)))).scalars()
    return [
        Question(
            id=r.id,
            query=r.query,
            decision=r.decision,
            vote=r.vote,
            taken=r.taken_entry_id is not None,
            conversation_id=r.conversation_id,
            channel=r.channel,
            created_at=r.created_at,
            candidates=list(r.candidates or []),
        )
        for r in rows
    ]
