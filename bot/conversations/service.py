"""ConversationService: handoff state, message log, staff replies, FAQ feedback and ratings.

Plain synchronous Python over ``bot.db.Database``; each public method is one
transaction. The chat layer calls ``log_message`` for every line and checks
``handoff_active`` before forwarding a message to Rasa; the custom actions call
``start_handoff``, ``record_faq_feedback`` and ``record_rating``; the internal API
reads transcripts, posts staff replies and hands conversations back to the bot.

For the web chat it also claims a conversation for one browser session (``claim``),
remembers the buttons the bot offered (``offer_buttons`` / ``is_offered``: only those come
back as clicks) and keeps the photos a merchant sends during a handoff (``add_photo``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from bot.channels.delivery import push_to_conversation
from bot.conversations.models import (
    CONV_ID_MAX,
    Conversation,
    ConversationAttachment,
    ConversationMessage,
    ConversationRating,
    FaqFeedback,
    Handoff,
    OfferedButton,
)
from bot.conversations.photos import Photo
from bot.conversations.schemas import (
    AttachmentOut,
    ConversationDetail,
    ConversationState,
    FaqFeedbackCount,
    FeedbackOut,
    FeedbackSummary,
    HandoffOut,
    LastMessage,
    MessageOut,
    QueueItem,
    RatingOut,
)
from bot.db import Database, rowcount
from bot.masking import mask_pii
from bot.tickets.models import utcnow
from bot.vocabulary import channel_of

log = logging.getLogger(__name__)

DIRECTIONS = ("in", "out", "staff")
VOTES = ("up", "down")
REASON_MAX = 200
# Queued for the merchant when staff hand the conversation back, so the silence ends visibly.
HAND_BACK_NOTICE = "人工客服已结束本次服务，接下来由智能助手继续为您服务。还有问题直接问我就行～"
BUTTON_TITLE_MAX = 200
BUTTON_PAYLOAD_MAX = 2000
PHOTO_TEXT = "[图片]"


class ConversationNotFound(LookupError):
    def __init__(self, conv_id: str):
        super().__init__(f"会话 {conv_id} 不存在 / conversation {conv_id} not found")
        self.conv_id = conv_id


class PhotoRefused(Exception):
    """A photo arriving when none is expected: 409 for the API."""

    MESSAGES = {
        "photo_no_handoff": "转人工后才能发图片给客服哦 / photos can be sent only while a person handles the conversation",
        "photo_limit": "这次已经发了很多张图片了，请先等客服回复 / too many photos in this handoff",
    }

    def __init__(self, code: str):
        self.code = code
        self.message = self.MESSAGES[code]
        super().__init__(self.message)


def payload_hash(payload: str) -> str:
    return hashlib.sha256(payload.encode()).hexdigest()


def _insert(s: Session):
    dialect = s.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _check_conv_id(conv_id: str) -> str:
    if not conv_id or len(conv_id) > CONV_ID_MAX:
        raise ValueError(f"conversation id must be 1-{CONV_ID_MAX} characters")
    return conv_id


def _attachment_out(a: ConversationAttachment) -> AttachmentOut:
    return AttachmentOut(
        id=a.id, content_type=a.content_type, size=a.size, width=a.width, height=a.height, created_at=a.created_at
    )


def _message_out(m: ConversationMessage, attachment: ConversationAttachment | None = None) -> MessageOut:
    return MessageOut(
        id=m.id,
        direction=m.direction,
        text=m.text,
        author=m.author,
        actor=m.actor,
        created_at=m.created_at,
        delivered_at=m.delivered_at,
        attachment=_attachment_out(attachment) if attachment is not None else None,
    )


def _handoff_out(h: Handoff) -> HandoffOut:
    return HandoffOut(
        id=h.id,
        ticket_number=h.ticket_number,
        reason=h.reason,
        started_at=h.started_at,
        ended_at=h.ended_at,
        ended_by=h.ended_by,
    )


class ConversationService:
    """Every text it stores (transcript lines, staff replies, feedback reasons) is masked first."""

    def __init__(self, db: Database, settings=None, *, clock: Callable[[], datetime] = utcnow):
        self.db = db
        self.settings = settings
        self.clock = clock

    # --- internals ------------------------------------------------------------------------

    def _ensure(self, s: Session, conv_id: str, now: datetime, channel: str | None = None) -> Conversation:
        conv = s.get(Conversation, _check_conv_id(conv_id))
        if conv is not None:
            return conv
        try:
            # Savepoint: the app service and the action endpoint may create the row at once.
            with s.begin_nested():
                conv = Conversation(
                    id=conv_id, channel=channel or channel_of(conv_id), handoff_active=False, created_at=now
                )
                s.add(conv)
        except IntegrityError:
            conv = s.get(Conversation, conv_id)
            if conv is None:
                raise
        return conv

    def _lock(self, s: Session, conv: Conversation) -> None:
        """Serialize writers of one conversation until this transaction ends.

        A no-op UPDATE takes the row lock (PostgreSQL) or the database's write lock (SQLite)
        before the caller looks at the current state, so a concurrent caller waits and then sees
        what the first one committed: two simultaneous start_handoff calls open one handoff.
        """
        s.execute(
            update(Conversation)
            .where(Conversation.id == conv.id)
            .values(handoff_active=Conversation.handoff_active)
            .execution_options(synchronize_session=False)
        )
        s.refresh(conv)

    def _latest_handoff(self, s: Session, conv_id: str) -> Handoff | None:
        return s.execute(
            select(Handoff).where(Handoff.conversation_id == conv_id).order_by(Handoff.id.desc()).limit(1)
        ).scalar_one_or_none()

    def _state(self, s: Session, conv: Conversation) -> ConversationState:
        h = self._latest_handoff(s, conv.id)
        return ConversationState(
            conversation_id=conv.id,
            channel=conv.channel,
            handoff_active=conv.handoff_active,
            handoff=_handoff_out(h) if h is not None else None,
            created_at=conv.created_at,
            last_message_at=conv.last_message_at,
        )

    def _load(self, s: Session, conv_id: str) -> Conversation:
        conv = s.get(Conversation, conv_id)
        if conv is None:
            raise ConversationNotFound(conv_id)
        return conv

    # --- message log ----------------------------------------------------------------------

    def log_message(self, conv_id: str, direction: str, text: str, *, author: str | None = None) -> MessageOut:
        """Append one line. 'in'/'out' are delivered as they happen; 'staff' lines are queued."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        with self.db.session() as s:
            now = self.clock()
            conv = self._ensure(s, conv_id, now)
            conv.last_message_at = now
            m = ConversationMessage(
                conversation_id=conv.id,
                direction=direction,
                text=mask_pii(text),  # the chat masked merchant text already; this covers every writer
                author=author,
                created_at=now,
                delivered_at=None if direction == "staff" else now,
            )
            s.add(m)
            s.flush()
            return _message_out(m)

    def transcript(self, conv_id: str, limit: int = 200) -> list[MessageOut]:
        """The last ``limit`` lines, oldest first (photos described, not their bytes)."""
        with self.db.session() as s:
            rows = list(
                s.execute(
                    select(ConversationMessage)
                    .where(ConversationMessage.conversation_id == conv_id)
                    .order_by(ConversationMessage.id.desc())
                    .limit(max(1, min(int(limit), 1000)))
                ).scalars()
            )
            photos = {}
            if rows:
                for a in s.execute(
                    select(ConversationAttachment)
                    .options(defer(ConversationAttachment.data))
                    .where(
                        ConversationAttachment.conversation_id == conv_id,
                        ConversationAttachment.message_id.in_([m.id for m in rows]),
                    )
                ).scalars():
                    photos[a.message_id] = a
            return [_message_out(m, photos.get(m.id)) for m in reversed(rows)]

    # --- web sessions and offered buttons ---------------------------------------------------

    def claim(self, conv_id: str, channel: str | None = None) -> bool:
        """Create the conversation for a new session; False when it exists already (someone else's)."""
        with self.db.session() as s:
            if s.get(Conversation, _check_conv_id(conv_id)) is not None:
                return False
            try:
                with s.begin_nested():
                    s.add(
                        Conversation(
                            id=conv_id,
                            channel=channel or channel_of(conv_id),
                            handoff_active=False,
                            created_at=self.clock(),
                        )
                    )
            except IntegrityError:
                return False  # another request claimed it a moment ago
            return True

    def exists(self, conv_id: str) -> bool:
        with self.db.session() as s:
            return s.get(Conversation, conv_id) is not None

    def offer_buttons(self, conv_id: str, buttons: Iterable[dict[str, str]]) -> int:
        """Remember buttons the bot showed; a click may later send exactly these. Returns how many."""
        rows: dict[tuple[str, str], dict] = {}
        for b in buttons:
            payload, title = str(b.get("payload") or ""), str(b.get("title") or "")
            if not payload or len(payload) > BUTTON_PAYLOAD_MAX or len(title) > BUTTON_TITLE_MAX:
                if payload:
                    log.warning("button of %s not remembered (too long): %.60r", conv_id, payload)
                continue
            rows[(payload, title)] = {"payload": payload, "title": title, "payload_hash": payload_hash(payload)}
        if not rows:
            return 0
        with self.db.session() as s:
            now = self.clock()
            conv = self._ensure(s, conv_id, now)
            insert = _insert(s)
            stmt = insert(OfferedButton).values(
                [
                    {**r, "conversation_id": conv.id, "first_offered_at": now, "last_offered_at": now}
                    for r in rows.values()
                ]
            )
            s.execute(
                stmt.on_conflict_do_update(
                    index_elements=[OfferedButton.conversation_id, OfferedButton.payload_hash, OfferedButton.title],
                    set_={"last_offered_at": stmt.excluded.last_offered_at},
                )
            )
        return len(rows)

    def is_offered(self, conv_id: str, payload: str, title: str | None = None) -> bool:
        """Did the bot ever offer a button with this payload (and, when given, this title) here?"""
        if not payload or len(payload) > BUTTON_PAYLOAD_MAX:
            return False
        q = select(OfferedButton.id).where(
            OfferedButton.conversation_id == conv_id,
            OfferedButton.payload_hash == payload_hash(payload),
            OfferedButton.payload == payload,
        )
        if title is not None:
            q = q.where(OfferedButton.title == title)
        with self.db.session() as s:
            return s.execute(q.limit(1)).first() is not None

    # --- handoff --------------------------------------------------------------------------

    def start_handoff(
        self, conv_id: str, channel: str | None = None, ticket_number: str | None = None, reason: str = "request_human"
    ) -> ConversationState:
        """Give the conversation to a person; the chat layer keeps the bot silent from now on.

        Idempotent: while a handoff is active a second call only fills in a missing ticket number.
        """
        with self.db.session() as s:
            now = self.clock()
            conv = self._ensure(s, conv_id, now, channel)
            self._lock(s, conv)
            current = self._latest_handoff(s, conv.id)
            if conv.handoff_active and current is not None and current.ended_at is None:
                if ticket_number and not current.ticket_number:
                    current.ticket_number = ticket_number
            else:
                s.add(
                    Handoff(
                        conversation_id=conv.id,
                        ticket_number=ticket_number,
                        reason=(reason or "request_human")[:32],
                        started_at=now,
                    )
                )
                conv.handoff_active = True
            s.flush()
            log.info("conversation %s handed to a person (%s, ticket %s)", conv_id, reason, ticket_number or "-")
            return self._state(s, conv)

    def hand_back(self, conv_id: str, by: str, *, notice: str | None = HAND_BACK_NOTICE) -> ConversationState:
        """End the handoff: the bot answers again. A no-op when no handoff is active."""
        with self.db.session() as s:
            conv = self._load(s, conv_id)
            if conv.handoff_active:
                now = self.clock()
                s.execute(
                    update(Handoff)
                    .where(Handoff.conversation_id == conv.id, Handoff.ended_at.is_(None))
                    .values(ended_at=now, ended_by=(by or "staff")[:100])
                )
                conv.handoff_active = False
                if notice:
                    m = ConversationMessage(
                        conversation_id=conv.id, direction="out", text=notice, author="system", created_at=now
                    )
                    s.add(m)
                    s.flush()
                    push_to_conversation(s, self.settings, conv.id, notice, kind="notice", conversation_message_id=m.id)
                s.flush()
                log.info("conversation %s handed back to the bot by %s", conv_id, by)
            return self._state(s, conv)

    def handoff_active(self, conv_id: str) -> bool:
        with self.db.session() as s:
            conv = s.get(Conversation, conv_id)
            return bool(conv and conv.handoff_active)

    def acknowledge_handoff(self, conv_id: str) -> bool:
        """True only the first time during the current handoff: the merchant is told once that a person will answer."""
        with self.db.session() as s:
            done = s.execute(
                update(Handoff)
                .where(
                    Handoff.conversation_id == conv_id, Handoff.ended_at.is_(None), Handoff.acknowledged_at.is_(None)
                )
                .values(acknowledged_at=self.clock())
            )
            return bool(rowcount(done))

    def get_state(self, conv_id: str) -> ConversationState | None:
        with self.db.session() as s:
            conv = s.get(Conversation, conv_id)
            return self._state(s, conv) if conv is not None else None

    def get_detail(self, conv_id: str, limit: int = 200) -> ConversationDetail | None:
        state = self.get_state(conv_id)
        if state is None:
            return None
        return ConversationDetail(**state.model_dump(), messages=self.transcript(conv_id, limit))

    def active_handoffs(self, limit: int = 100) -> list[ConversationState]:
        """Conversations a person owns right now, longest waiting first."""
        with self.db.session() as s:
            rows = s.execute(
                select(Conversation)
                .join(Handoff, Handoff.conversation_id == Conversation.id)
                .where(Conversation.handoff_active.is_(True), Handoff.ended_at.is_(None))
                .order_by(Handoff.started_at)
                .limit(max(1, min(int(limit), 500)))
            ).scalars()
            return [self._state(s, c) for c in rows]

    def handoff_queue(self, limit: int = 100) -> list[QueueItem]:
        """The staff queue: each conversation a person owns now, once, longest waiting first,
        with its latest message and how many merchant messages wait for an answer."""
        with self.db.session() as s:
            first = (
                select(Handoff.conversation_id, func.min(Handoff.id).label("handoff_id"))
                .join(Conversation, Conversation.id == Handoff.conversation_id)
                .where(Conversation.handoff_active.is_(True), Handoff.ended_at.is_(None))
                .group_by(Handoff.conversation_id)
                .subquery()
            )
            rows = s.execute(
                select(Conversation, Handoff)
                .join(first, first.c.conversation_id == Conversation.id)
                .join(Handoff, Handoff.id == first.c.handoff_id)
                .order_by(Handoff.started_at, Conversation.id)
                .limit(max(1, min(int(limit), 500)))
            ).all()
            items = []
            for conv, h in rows:
                last = s.execute(
                    select(ConversationMessage)
                    .where(ConversationMessage.conversation_id == conv.id)
                    .order_by(ConversationMessage.id.desc())
                    .limit(1)
                ).scalar_one_or_none()
                last_staff_id = s.execute(
                    select(func.max(ConversationMessage.id)).where(
                        ConversationMessage.conversation_id == conv.id,
                        ConversationMessage.direction == "staff",
                        ConversationMessage.created_at >= h.started_at,
                    )
                ).scalar()
                merchant = select(ConversationMessage).where(
                    ConversationMessage.conversation_id == conv.id,
                    ConversationMessage.direction == "in",
                    ConversationMessage.created_at >= h.started_at,
                )
                if last_staff_id is not None:
                    merchant = merchant.where(ConversationMessage.id > last_staff_id)
                unanswered = s.execute(select(func.count()).select_from(merchant.subquery())).scalar() or 0
                last_in = s.execute(
                    select(func.max(ConversationMessage.created_at)).where(
                        ConversationMessage.conversation_id == conv.id, ConversationMessage.direction == "in"
                    )
                ).scalar()
                items.append(
                    QueueItem(
                        conversation_id=conv.id,
                        channel=conv.channel,
                        reason=h.reason,
                        ticket_number=h.ticket_number,
                        waiting_since=h.started_at,
                        last_message=LastMessage(
                            direction=last.direction, text=last.text[:120], created_at=last.created_at
                        )
                        if last is not None
                        else None,
                        last_merchant_at=last_in,
                        unanswered=int(unanswered),
                    )
                )
            return items

    # --- staff replies ----------------------------------------------------------------------

    def staff_reply(self, conv_id: str, text: str, by: str | None = None, *, actor: str | None = None) -> MessageOut:
        """Queue a staff message for the merchant (delivered by the chat layer).

        ``by`` is the signature the merchant sees; ``actor`` who sent it (account username or api:<key>)."""
        text = mask_pii((text or "").strip())
        if not text:
            raise ValueError("staff reply must not be empty")
        with self.db.session() as s:
            conv = self._load(s, conv_id)
            now = self.clock()
            conv.last_message_at = now
            m = ConversationMessage(
                conversation_id=conv.id,
                direction="staff",
                text=text,
                author=by,
                actor=actor or by,
                created_at=now,
                delivered_at=None,
            )
            s.add(m)
            s.flush()
            push_to_conversation(s, self.settings, conv.id, text, kind="staff", conversation_message_id=m.id)
            return _message_out(m)

    def pending_outgoing(self, conv_id: str) -> list[MessageOut]:
        """Messages queued for the merchant and not delivered yet, oldest first."""
        with self.db.session() as s:
            rows = s.execute(
                select(ConversationMessage)
                .where(
                    ConversationMessage.conversation_id == conv_id,
                    ConversationMessage.direction.in_(("staff", "out")),
                    ConversationMessage.delivered_at.is_(None),
                )
                .order_by(ConversationMessage.id)
            ).scalars()
            return [_message_out(m) for m in rows]

    def mark_delivered(self, message_ids: int | Iterable[int], conv_id: str | None = None) -> int:
        """Mark queued messages delivered; idempotent. With ``conv_id`` only that conversation's lines.

        Returns how many changed."""
        ids = [message_ids] if isinstance(message_ids, int) else list(message_ids)
        if not ids:
            return 0
        conds: list[ColumnElement[bool]] = [ConversationMessage.id.in_(ids), ConversationMessage.delivered_at.is_(None)]
        if conv_id is not None:
            conds.append(ConversationMessage.conversation_id == conv_id)
        with self.db.session() as s:
            result = s.execute(update(ConversationMessage).where(*conds).values(delivered_at=self.clock()))
            return rowcount(result)

    def handoff_before(self, conv_id: str, moment: datetime) -> HandoffOut | None:
        """The latest handoff of the conversation that ended at or before ``moment``."""
        with self.db.session() as s:
            h = s.execute(
                select(Handoff)
                .where(Handoff.conversation_id == conv_id, Handoff.ended_at.is_not(None), Handoff.ended_at <= moment)
                .order_by(Handoff.ended_at.desc(), Handoff.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            return _handoff_out(h) if h is not None else None

    def get_handoff(self, conv_id: str, handoff_id: int) -> HandoffOut | None:
        with self.db.session() as s:
            h = s.get(Handoff, handoff_id)
            return _handoff_out(h) if h is not None and h.conversation_id == conv_id else None

    # --- photos ----------------------------------------------------------------------------

    def add_photo(self, conv_id: str, photo: Photo, *, max_per_handoff: int = 20) -> MessageOut:
        """Keep a photo the merchant sent to the person handling the conversation (a '[图片]' line)."""
        with self.db.session() as s:
            conv = self._load(s, conv_id)
            current = self._latest_handoff(s, conv.id)
            if not conv.handoff_active or current is None or current.ended_at is not None:
                raise PhotoRefused("photo_no_handoff")
            sent = s.execute(
                select(func.count(ConversationAttachment.id)).where(
                    ConversationAttachment.conversation_id == conv.id,
                    ConversationAttachment.created_at >= current.started_at,
                )
            ).scalar_one()
            if sent >= max_per_handoff:
                raise PhotoRefused("photo_limit")
            now = self.clock()
            conv.last_message_at = now
            m = ConversationMessage(
                conversation_id=conv.id, direction="in", text=PHOTO_TEXT, created_at=now, delivered_at=now
            )
            s.add(m)
            s.flush()
            a = ConversationAttachment(
                conversation_id=conv.id,
                message_id=m.id,
                content_type=photo.content_type,
                size=len(photo.data),
                width=photo.width,
                height=photo.height,
                sha256=photo.sha256,
                data=photo.data,
                created_at=now,
            )
            s.add(a)
            s.flush()
            return _message_out(m, a)

    def get_attachment(self, conv_id: str, attachment_id: int) -> tuple[AttachmentOut, bytes] | None:
        """A photo's description and bytes, only when it belongs to ``conv_id``."""
        with self.db.session() as s:
            a = s.get(ConversationAttachment, attachment_id)
            if a is None or a.conversation_id != conv_id:
                return None
            return _attachment_out(a), bytes(a.data)

    # --- feedback ------------------------------------------------------------------------

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
            conv = self._ensure(s, conv_id, now)
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
                conv = self._ensure(s, conv_id, now)
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
