"""Channel-independent chat core: every channel (web widget, WeChat) sends merchant text through here.

It records the conversation, keeps the bot silent while a person has the conversation
(handoff), and turns Rasa being down or slow into a polite answer instead of an error page.

Personal data never gets past it: phones, bank-card and resident ID numbers in the merchant's
text are masked (``bot.masking``) before the text is logged or sent to Rasa; the phones are
kept, encrypted and for a while, in the phone vault (``bot.conversations.vault``) so the
ticket form can file the real contact number.

It also decides what of the merchant's input Rasa may take as more than words:

* a button ``title`` sent by the merchant's client (the web widget) is accepted only together
  with the payload of a button the bot offered in this conversation (``check_click``,
  ``ChatInputError``); WeChat's numbered replies take both from the offered buttons;
* text in Rasa's intent syntax (``/intent{...}``) reaches Rasa as an intent only when it
  equals the payload of a button the bot offered earlier in this conversation. Old buttons
  stay valid (the dialogue answers a stale click politely); anything else is sent as the
  plain words, so typing ``/request_human`` or ``/inform{"merchant_id":...}`` sets nothing.

The buttons offered are stored per conversation (``ConversationService.offer_buttons``), so
every app instance and channel (WeChat maps a numbered reply to a payload) checks the same list.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from anyio import to_thread
from sqlalchemy.exc import InterfaceError, OperationalError

from bot.conversations import hours
from bot.conversations.vault import PhoneVault
from bot.core.services import Services
from bot.masking import PHONE, find_pii, mask_pii
from bot.rasa.client import BotMessage, RasaClient, RasaUnavailable
from bot.vocabulary import conversation_id

log = logging.getLogger(__name__)

SENDER_RE = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")
INTENT_PREFIX = "/"  # rasa.shared.constants.INTENT_MESSAGE_PREFIX

RASA_DOWN_TEXT = "抱歉，系统暂时有点忙，没能及时回复您。请稍后再发一次；着急的话可以拨打客服热线（见机身背面标签）。"


def handoff_notice(services: Services, now: datetime | None = None) -> str:
    """While a person owns the conversation: when they will answer (the handoff reply's wording).

    The merchant's first message during a handoff gets it as the acknowledgement, on every
    channel (later ones none), and the web chat API returns it as ``notice`` for the banner.
    """
    return hours.waiting_notice(hours.from_settings(services.settings), now or datetime.now(UTC))


class ChatInputError(ValueError):
    """Input the merchant's channel must refuse (HTTP 422 on the web)."""

    def __init__(self, field_name: str, code: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.code = code
        self.message = message


@dataclass
class ChatReply:
    messages: list[BotMessage] = field(default_factory=list)
    status: str = "ok"  # ok | handoff | rasa_unavailable
    notice: str | None = None  # status handoff: handoff_notice(), for the widget's banner


def is_intent_syntax(text: str) -> bool:
    """Would Rasa read this as ``/intent{...}``? (Rasa strips the text before looking.)"""
    return text.strip().startswith(INTENT_PREFIX)


def as_plain_text(text: str) -> str:
    """The merchant's words without the leading slashes that would make Rasa take them as an intent."""
    t = text.strip()
    while t.startswith(INTENT_PREFIX):
        t = t[len(INTENT_PREFIX) :].strip()
    return t or "／"  # a full-width solidus: never Rasa's prefix


class ChatService:
    def __init__(self, services: Services, rasa: RasaClient):
        self.services = services
        self.rasa = rasa
        self._vault = None

    @property
    def vault(self):
        """The process's phone vault (``Services.vault``); built here for a bare services object."""
        if self._vault is None:
            vault = getattr(self.services, "vault", None)
            if vault is None:
                vault = PhoneVault.from_settings(self.services.db, self.services.settings)
            self._vault = vault
        return self._vault

    async def handle(
        self,
        channel: str,
        sender_id: str,
        text: str,
        display_text: str | None = None,
        timeout_s: float | None = None,
        *,
        metadata: dict[str, Any] | None = None,
        trusted: bool = False,
    ) -> ChatReply:
        """One merchant message in, the bot's messages out.

        ``display_text`` is what the transcript shows instead of ``text`` (a button's title,
        "(语音) …"); the channel vouches for it (the web API runs ``check_click`` first).
        ``metadata`` goes to Rasa with the message (e.g. ``{"verified_merchant_id": ...}``);
        ``trusted`` marks text the channel itself generated (WeChat's subscribe event, a
        configured menu payload), which may use intent syntax freely.
        """
        conv = conversation_id(channel, sender_id)
        convs = self.services.conversations

        # Database calls are synchronous: keep them off the event loop (one worker-thread hop
        # for each side of the Rasa call; every hop waits for a thread).
        def log_in() -> tuple[str, bool]:
            # Personal data is masked here, before anything is stored or reaches Rasa.
            masked = self.mask_at_door(conv, text)
            to_rasa = masked if trusted else self._for_rasa(conv, masked)
            return to_rasa, convs.log_turn(conv, "in", [mask_pii(display_text) if display_text else masked])

        to_rasa, in_handoff = await to_thread.run_sync(log_in)
        if in_handoff:
            # A person owns the conversation: the bot stays silent, staff see the message in the transcript.
            return await self._during_handoff(conv)
        try:
            messages = await self.rasa.send(conv, to_rasa, timeout_s, metadata=metadata)
        except RasaUnavailable as e:
            log.warning("rasa unavailable for %s: %s", conv, e)
            return ChatReply(messages=[BotMessage(text=RASA_DOWN_TEXT)], status="rasa_unavailable")

        def _record() -> bool:
            # One transaction; the flag says whether an action has just handed the conversation to a person.
            return convs.log_turn(conv, "out", [m.text for m in messages], [b for m in messages for b in m.buttons])

        try:
            handed_off = await to_thread.run_sync(_record)
        except (OperationalError, InterfaceError) as e:
            # The database went away after Rasa answered: Rasa has the turn, so the merchant gets
            # the answer (asking to resend would make it a second turn); the transcript misses
            # the bot's lines of this one turn.
            log.warning("bot reply for %s not recorded: database unavailable (%s)", conv, type(e).__name__)
            return ChatReply(messages=messages, status="ok")
        if handed_off:
            return ChatReply(messages=messages, status="handoff", notice=handoff_notice(self.services))
        return ChatReply(messages=messages, status="ok")

    async def check_click(self, channel: str, sender_id: str, payload: str, title: str) -> None:
        """A button title typed into the transcript must belong to a button offered with ``payload``.

        For channels where the merchant's client sends the title (the web widget); ChatInputError otherwise.
        """
        conv = conversation_id(channel, sender_id)
        if not await to_thread.run_sync(self.services.conversations.is_offered, conv, payload, title):
            raise ChatInputError(
                "title",
                "unknown_button",
                "按钮已失效，请直接输入您的问题 / title must belong to a button offered in this conversation",
            )

    def mask_at_door(self, conv: str, text: str) -> str:
        """The merchant's text with phones, card and ID numbers masked; the phones are kept in the
        vault so the ticket form can still put the real number on the ticket (synchronous)."""
        found = find_pii(text)
        for f in found:
            if f.kind == PHONE:
                self.vault.keep(conv, f.value)
        return mask_pii(text) if found else text

    def _for_rasa(self, conv: str, text: str) -> str:
        """Intent syntax counts only as the payload of a button offered here; else the plain words.

        Synchronous (a database read): called inside the worker-thread hop that logs the message."""
        if not is_intent_syntax(text):
            return text
        if self.services.conversations.is_offered(conv, text.strip()):
            return text.strip()
        return as_plain_text(text)

    async def handle_unreadable(self, channel: str, sender_id: str, display_text: str, reply_text: str) -> ChatReply:
        """A message the bot cannot read (a picture, a location): kept for staff, answered with ``reply_text``."""
        conv = conversation_id(channel, sender_id)
        convs = self.services.conversations
        await to_thread.run_sync(convs.log_message, conv, "in", mask_pii(display_text))
        if await to_thread.run_sync(convs.handoff_active, conv):
            return await self._during_handoff(conv)
        await to_thread.run_sync(convs.log_message, conv, "out", reply_text)
        return ChatReply(messages=[BotMessage(text=reply_text)])

    async def close(self, channel: str, sender_id: str, display_text: str) -> None:
        """The merchant left the channel (unsubscribed): end any handoff and start afresh next time."""
        conv = conversation_id(channel, sender_id)
        convs = self.services.conversations
        display_text = mask_pii(display_text)
        await to_thread.run_sync(convs.log_message, conv, "in", display_text)
        await to_thread.run_sync(lambda: convs.hand_back(conv, f"{channel}:{display_text}", notice=None))
        await self.rasa.restart(conv)

    async def _during_handoff(self, conv: str) -> ChatReply:
        notice = handoff_notice(self.services)
        if not await to_thread.run_sync(self.services.conversations.acknowledge_handoff, conv):
            return ChatReply(messages=[], status="handoff", notice=notice)
        await to_thread.run_sync(self.services.conversations.log_message, conv, "out", notice)
        return ChatReply(messages=[BotMessage(text=notice)], status="handoff", notice=notice)


# --- what waits for the merchant outside the request/response cycle --------------------


@dataclass
class Update:
    text: str
    source: str  # "staff" (a person replying during handoff) | "system" (notices, ticket notifications)
    id: str = ""  # "m<message id>" or "n<notification id>": what the channel acknowledges
    author: str | None = None  # the staff member who replied
    created_at: datetime | None = None
    rating_subject: str | None = None  # "handoff:<id>" / "ticket:<number>": ask for a 1-5 rating


RATING_DONE_STATUSES = ("resolved", "closed")


def pending_updates(services: Services, channel: str, sender_id: str) -> list[Update]:
    """Staff replies, notices and ticket notifications not yet acknowledged, oldest first (synchronous)."""
    conv = conversation_id(channel, sender_id)
    convs, tickets = services.conversations, services.tickets
    out: list[Update] = []
    for m in convs.pending_outgoing(conv):
        subject = None
        if m.direction == "out" and m.author == "system":
            # the hand-back notice: the handoff it closes can be rated
            h = convs.handoff_before(conv, m.created_at)
            subject = f"handoff:{h.id}" if h is not None else None
        out.append(
            Update(
                text=m.text,
                source="staff" if m.direction == "staff" else "system",
                id=f"m{m.id}",
                author=m.author if m.direction == "staff" else None,
                created_at=m.created_at,
                rating_subject=subject,
            )
        )
    for n in tickets.pending_notifications(channel, conv):
        subject = None
        ticket = _ticket_or_none(tickets, n.ticket_number)
        if ticket is not None and str(getattr(ticket.status, "value", ticket.status)) in RATING_DONE_STATUSES:
            subject = f"ticket:{n.ticket_number}"
        out.append(Update(text=n.text, source="system", id=f"n{n.id}", created_at=n.created_at, rating_subject=subject))
    for u in out:
        if u.rating_subject and convs.rating_by_key(rating_key(conv, u.rating_subject)) is not None:
            u.rating_subject = None  # rated already
    return out


def acknowledge_updates(services: Services, channel: str, sender_id: str, ids: list[str]) -> int:
    """Mark the given updates delivered; ids of other conversations are ignored. Returns how many changed."""
    conv = conversation_id(channel, sender_id)
    message_ids = [int(i[1:]) for i in ids if i.startswith("m") and i[1:].isdigit()]
    notification_ids = {int(i[1:]) for i in ids if i.startswith("n") and i[1:].isdigit()}
    done = services.conversations.mark_delivered(message_ids, conv_id=conv) if message_ids else 0
    if notification_ids:
        for n in services.tickets.pending_notifications(channel, conv):
            if n.id in notification_ids:
                services.tickets.mark_sent(n.id)
                done += 1
    return done


async def collect_updates(services: Services, channel: str, sender_id: str) -> list[Update]:
    """Pending updates, acknowledged at once: for channels whose reply itself is the delivery (WeChat)."""

    def _collect() -> list[Update]:
        items = pending_updates(services, channel, sender_id)
        acknowledge_updates(services, channel, sender_id, [u.id for u in items])
        return items

    return await to_thread.run_sync(_collect)


# --- ratings of a handoff or a resolved ticket ---------------------------------------------

RATING_SUBJECT_RE = re.compile(r"^(handoff):(\d{1,18})$|^(ticket):([A-Za-z0-9-]{1,40})$")


class RatingRefused(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def rating_key(conv: str, subject: str) -> str:
    return f"rate|{conv}|{subject}"


def rate(services: Services, channel: str, sender_id: str, subject: str, rating: int):
    """Store a 1-5 rating of a handoff that ended or a ticket resolved in this conversation.

    Returns ``(RatingOut, created)``; rating the same subject again keeps the first rating.
    """
    conv = conversation_id(channel, sender_id)
    m = RATING_SUBJECT_RE.fullmatch(subject or "")
    if not m:
        raise RatingRefused("评价对象不正确 / subject must be handoff:<id> or ticket:<number>")
    if m.group(1):
        h = services.conversations.get_handoff(conv, int(m.group(2)))
        if h is None or h.ended_at is None:
            raise RatingRefused(
                "这次人工服务还没有结束，暂时不能评价 / no ended handoff with this id in this conversation"
            )
    else:
        ticket = _ticket_or_none(services.tickets, m.group(4))
        if ticket is None or ticket.sender_id != conv:
            raise RatingRefused("没有找到这张工单 / no ticket with this number in this conversation")
        if str(getattr(ticket.status, "value", ticket.status)) not in RATING_DONE_STATUSES:
            raise RatingRefused("工单处理完成后才能评价 / the ticket is not resolved yet")
    key = rating_key(conv, subject)
    existing = services.conversations.rating_by_key(key)
    if existing is not None:
        return existing, False
    return services.conversations.record_rating(conv, rating, dedupe_key=key), True


def _ticket_or_none(tickets, number: str):
    try:
        return tickets.get(number)
    except Exception:  # unknown number (TicketNotFound) or one the ticket service cannot parse
        return None
