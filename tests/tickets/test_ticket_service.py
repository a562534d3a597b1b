"""TicketService in process (as the chat actions use it), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy import func, select

from bot.tickets import (
    IllegalTransition,
    InvalidCursor,
    InvalidIdempotencyKey,
    NotificationNotFound,
    TicketNotFound,
)
from bot.tickets.models import AppendOnlyViolation, OutboxEvent, Ticket, TicketEvent
from bot.tickets.schemas import TicketCreate, TicketFilters, TicketPatch
from bot.tickets.service import TicketService
from bot.tickets.states import TRANSITIONS, Status, check_transition

from .helpers import MERCHANT, FakeClock, ticket_data, ticket_fields

OTHER_MERCHANT = "987654321098765"


def _count(database, model) -> int:
    with database.session() as s:
        return s.scalar(select(func.count()).select_from(model))


# --- creation ---------------------------------------------------------------------------


def test_create_and_get_round_trip(service):
    created = service.create(
        ticket_data(
            category="settlement",
            terminal_id=None,
            settlement_date=date(2024, 5, 30),
            settlement_amount="1288.50",
            channel="wechat",
            sender_id="oWx_merchant_1",
            priority="high",
            transcript=[
                {"role": "user", "text": "昨天的钱没到账", "at": "2024-05-31T09:00:00+08:00"},
                {"role": "bot", "text": "请提供商户号", "intent": "ignored extra key"},
            ],
        ),
        actor="bot",
    )
    got = service.get(created.number)
    assert got == created
    assert got.status == Status.OPEN and got.assignee is None and got.version == 1
    assert got.settlement_amount == Decimal("1288.50")
    assert got.settlement_date == date(2024, 5, 30)
    assert got.created_at.tzinfo is not None and got.created_at.utcoffset() == timedelta(0)
    assert got.transcript[0]["role"] == "user" and got.transcript[1] == {
        "role": "bot",
        "text": "请提供商户号",
        "at": None,
    }
    [event] = service.events(created.number)
    assert event.type == "created" and event.actor == "bot"


def test_unknown_ticket_raises_not_found(service):
    with pytest.raises(TicketNotFound) as exc:
        service.get("GD20000101-0001")
    assert exc.value.status_code == 404
    with pytest.raises(TicketNotFound):
        service.update("nope", TicketPatch(status="in_progress"), actor="x")
    with pytest.raises(TicketNotFound):
        service.add_comment("nope", "alice", "hi")
    with pytest.raises(TicketNotFound):
        service.events("nope")


@pytest.mark.parametrize(
    ("overrides", "field", "zh"),
    [
        ({"merchant_id": "12345"}, "merchant_id", "商户号"),
        ({"merchant_id": "12345678901234a"}, "merchant_id", "15位数字"),
        ({"merchant_id": 123456789012345}, "merchant_id", "字符串"),
        ({"terminal_id": "1234"}, "terminal_id", "终端号"),
        ({"contact_phone": "12800138000"}, "contact_phone", "手机号"),
        ({"contact_phone": "1380013800"}, "contact_phone", "手机号"),
        ({"description": "   "}, "description", "不能为空"),
        ({"description": "长" * 2001}, "description", "2000"),
        ({"category": "refund"}, "category", "工单类别"),
        ({"priority": "asap"}, "priority", "优先级"),
        ({"terminal_id": None}, "terminal_id", "终端号"),  # repair without a device
        ({"settlement_amount": "-1"}, "settlement_amount", "金额"),
        ({"settlement_amount": "1.234"}, "settlement_amount", "两位小数"),
        ({"settlement_date": "2024-13-01"}, "settlement_date", "日期"),
        ({"unexpected": 1}, "unexpected", "不是可接受的字段"),
        ({"transcript": [{"role": "robot", "text": "x"}]}, "transcript.0.role", "必须是以下之一"),
    ],
)
def test_validation_messages_are_bilingual_and_name_the_field(overrides, field, zh):
    with pytest.raises(ValidationError) as exc:
        TicketCreate(**ticket_fields(**overrides))
    errors = exc.value.errors()
    assert len(errors) == 1, errors
    [error] = errors
    assert ".".join(str(p) for p in error["loc"]) == field
    msg = error["msg"]
    assert zh in msg and field.rsplit(".", 1)[-1] in msg.split(" / ", 1)[1], msg


def test_device_serial_alone_is_enough_for_repair():
    t = TicketCreate(**ticket_fields(terminal_id=None, device_serial="SN-2024-0001"))
    assert t.device_serial == "SN-2024-0001"


def test_sql_ish_strings_are_stored_literally(service, database):
    nasty = "'); DROP TABLE tickets; -- \" OR 1=1; <script>alert(1)</script> \\x00"
    t = service.create(ticket_data(description=nasty, sender_id="x' OR '1'='1"))
    assert service.get(t.number).description == nasty
    assert service.list_for_sender("api", "x' OR '1'='1")[0].number == t.number
    assert service.list_for_sender("api", "anything' OR '1'='1") == []
    assert _count(database, Ticket) == 1


def test_transcript_keeps_the_last_lines_only():
    lines = [{"role": "user", "text": f"line {i}"} for i in range(150)]
    t = TicketCreate(**ticket_fields(transcript=lines))
    assert len(t.transcript) == 100 and t.transcript[0].text == "line 50"


# --- idempotency --------------------------------------------------------------------------


def test_same_idempotency_key_returns_the_same_ticket(service, database):
    first = service.create_ex(ticket_data(), idempotency_key="chat-42-handoff")
    again = service.create_ex(ticket_data(description="不同的描述"), idempotency_key="chat-42-handoff")
    other = service.create_ex(ticket_data(), idempotency_key="chat-43-handoff")
    assert first.created and not again.created and other.created
    assert again.ticket.number == first.ticket.number
    assert again.ticket.description == first.ticket.description
    assert other.ticket.number != first.ticket.number
    assert _count(database, Ticket) == 2
    assert _count(database, OutboxEvent) == 2  # the replay wrote nothing


@pytest.mark.parametrize("key", ["", "x" * 129, "has space", "换行\n"])
def test_malformed_idempotency_key_is_refused(sqlite_url, settings, key):
    from bot.core.db import Database

    db = Database(sqlite_url)  # refused before any query: no migration needed
    with pytest.raises(InvalidIdempotencyKey):
        TicketService(db, settings).create(ticket_data(), idempotency_key=key)
    db.dispose()


def test_concurrent_same_key_creates_one_ticket(service, database):
    n = 8
    barrier = threading.Barrier(n)
    results, errors = [], []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(service.create_ex(ticket_data(), idempotency_key="same-key"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({r.ticket.number for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert _count(database, Ticket) == 1
    assert _count(database, TicketEvent) == 1


# --- state machine ------------------------------------------------------------------------


def test_transition_table():
    legal = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert legal == {
        (Status.OPEN, Status.IN_PROGRESS),
        (Status.OPEN, Status.RESOLVED),
        (Status.IN_PROGRESS, Status.OPEN),
        (Status.IN_PROGRESS, Status.RESOLVED),
        (Status.RESOLVED, Status.CLOSED),
        (Status.RESOLVED, Status.OPEN),
    }
    for a in Status:
        assert check_transition(a, a) is False
        for b in Status:
            if a != b and (a, b) not in legal:
                with pytest.raises(IllegalTransition):
                    check_transition(a, b)


def test_full_lifecycle_records_events(service):
    t = service.create(ticket_data(channel="web", sender_id="web-session-1"))
    t = service.update(t.number, TicketPatch(status="in_progress", assignee="alice"), actor="staff:lead")
    assert t.status == "in_progress" and t.assignee == "alice"
    t = service.update(t.number, TicketPatch(status="resolved", note="已远程重置参数"), actor="staff:alice")
    assert t.resolution == "已远程重置参数"
    t = service.update(t.number, TicketPatch(status="open", note="商户反馈仍不出纸"), actor="staff:alice")
    assert t.status == "open" and t.resolution is None
    t = service.update(t.number, TicketPatch(status="resolved"), actor="staff:alice")
    t = service.update(t.number, TicketPatch(status="closed", priority="low"), actor="staff:alice")
    assert t.status == "closed" and t.priority == "low"
    types = [e.type.value for e in service.events(t.number)]
    assert types == [
        "created",
        "status_changed",
        "assigned",
        "notification",  # picked up
        "status_changed",
        "notification",  # resolved
        "status_changed",
        "notification",  # reopened
        "status_changed",
        "notification",  # resolved again
        "status_changed",  # closed: the merchant was already told
        "priority_changed",
    ]
    changes = [e.data for e in service.events(t.number) if e.type == "status_changed"]
    assert [(c["from"], c["to"]) for c in changes] == [
        ("open", "in_progress"),
        ("in_progress", "resolved"),
        ("resolved", "open"),
        ("open", "resolved"),
        ("resolved", "closed"),
    ]


def test_illegal_transition_changes_nothing(service, database):
    t = service.create(ticket_data())
    before_events = _count(database, TicketEvent)
    before_outbox = _count(database, OutboxEvent)
    with pytest.raises(IllegalTransition) as exc:
        # Priority would be legal, but the patch is all or nothing.
        service.update(t.number, TicketPatch(status="closed", priority="urgent"), actor="x")
    assert exc.value.status_code == 409
    after = service.get(t.number)
    assert after.status == "open" and after.priority == "normal" and after.version == t.version
    assert _count(database, TicketEvent) == before_events
    assert _count(database, OutboxEvent) == before_outbox


def test_closed_is_final(service):
    t = service.create(ticket_data())
    service.update(t.number, TicketPatch(status="resolved"), actor="x")
    service.update(t.number, TicketPatch(status="closed"), actor="x")
    for target in ("open", "in_progress", "resolved"):
        with pytest.raises(IllegalTransition):
            service.update(t.number, TicketPatch(status=target), actor="x")


def test_same_status_is_a_no_op(service):
    t = service.create(ticket_data())
    again = service.update(t.number, TicketPatch(status="open"), actor="x")
    assert again.version == t.version
    assert [e.type for e in service.events(t.number)] == ["created"]


def test_unassign_with_explicit_null(service):
    t = service.create(ticket_data())
    service.update(t.number, TicketPatch(assignee="bob"), actor="x")
    t = service.update(t.number, TicketPatch.model_validate({"assignee": None}), actor="x")
    assert t.assignee is None
    assigned = [e.data for e in service.events(t.number) if e.type == "assigned"]
    assert assigned == [{"from": None, "to": "bob"}, {"from": "bob", "to": None}]


def test_note_without_status_change_becomes_a_comment(service):
    t = service.create(ticket_data())
    service.update(t.number, TicketPatch(priority="high", note="商户很着急"), actor="staff:bob")
    events = service.events(t.number)
    assert [e.type for e in events] == ["created", "priority_changed", "commented"]
    assert events[-1].data == {"author": "staff:bob", "body": "商户很着急", "reply_to_merchant": False}


def test_empty_patch_is_refused():
    with pytest.raises(ValidationError) as exc:
        TicketPatch(note="only a note")
    assert "至少" in exc.value.errors()[0]["msg"]
    with pytest.raises(ValidationError):
        TicketPatch.model_validate({"status": None})


def test_concurrent_conflicting_transitions_one_wins(service):
    """From resolved, "close" and "reopen" race: exactly one applies, the other is illegal afterwards."""
    for _ in range(3):
        t = service.create(ticket_data())
        service.update(t.number, TicketPatch(status="resolved"), actor="x")
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def move(target: str, t=t, barrier=barrier, outcomes=outcomes) -> None:
            barrier.wait()
            try:
                service.update(t.number, TicketPatch(status=target), actor=f"staff:{target}")
                outcomes.append("ok")
            except IllegalTransition:
                outcomes.append("illegal")

        threads = [threading.Thread(target=move, args=(s,)) for s in ("closed", "open")]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert sorted(outcomes) == ["illegal", "ok"]
        moves = [e.data for e in service.events(t.number) if e.type == "status_changed"]
        assert len(moves) == 2 and moves[1]["from"] == "resolved"


# --- listing ------------------------------------------------------------------------------


def _seed(database, settings):
    clock = FakeClock(datetime(2024, 6, 1, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai
    service = TicketService(database, settings, clock=clock)
    made = []
    specs = [
        ("repair", MERCHANT),
        ("settlement", MERCHANT),
        ("repair", OTHER_MERCHANT),
        ("activation", MERCHANT),
        ("repair", MERCHANT),
        ("other", OTHER_MERCHANT),
        ("repair", MERCHANT),
    ]
    for category, merchant in specs:
        made.append(service.create(ticket_data(category=category, merchant_id=merchant)))
        clock.advance(3600)
    return service, made


def test_filters_and_cursor_pagination(database, settings):
    service, made = _seed(database, settings)
    service.update(made[0].number, TicketPatch(status="in_progress"), actor="x")
    service.update(made[4].number, TicketPatch(status="resolved"), actor="x")

    # Walk all pages of 3: newest first, nothing lost, nothing repeated.
    seen, cursor, pages = [], None, 0
    while True:
        page = service.list(cursor=cursor, limit=3)
        seen += [t.number for t in page.items]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert seen == [t.number for t in reversed(made)]

    repairs = service.list(TicketFilters(category="repair", merchant_id=MERCHANT))
    assert [t.number for t in repairs.items] == [made[6].number, made[4].number, made[0].number]
    assert repairs.next_cursor is None

    page1 = service.list(TicketFilters(category="repair"), limit=2)
    page2 = service.list(TicketFilters(category="repair"), cursor=page1.next_cursor, limit=2)
    assert [t.number for t in page1.items + page2.items] == [made[i].number for i in (6, 4, 2, 0)]
    assert page2.next_cursor is None

    assert [t.number for t in service.list(TicketFilters(status="resolved")).items] == [made[4].number]

    # created_from inclusive, created_to exclusive; naive datetimes are Shanghai time.
    window = service.list(
        TicketFilters(created_from=datetime(2024, 6, 1, 10, 0), created_to=datetime(2024, 6, 1, 12, 0))
    )
    assert [t.number for t in window.items] == [made[2].number, made[1].number]
    aware = service.list(TicketFilters(created_from=datetime(2024, 6, 1, 4, 0, tzinfo=UTC)))
    assert [t.number for t in aware.items] == [made[i].number for i in (6, 5, 4, 3)]


def test_invalid_cursor(service):
    with pytest.raises(InvalidCursor):
        service.list(cursor="garbage!")
    with pytest.raises(InvalidCursor):
        service.list(cursor="bzE6MTI")  # a cursor of another kind ("o1:12")


def test_find_open_for_merchant_and_list_for_sender(service):
    a = service.create(ticket_data(channel="wechat", sender_id="oA"))
    b = service.create(ticket_data(channel="wechat", sender_id="oA"))
    c = service.create(ticket_data(merchant_id=OTHER_MERCHANT, channel="web", sender_id="oA"))
    service.update(b.number, TicketPatch(status="in_progress"), actor="x")
    service.update(a.number, TicketPatch(status="resolved"), actor="x")
    assert [t.number for t in service.find_open_for_merchant(MERCHANT)] == [b.number]
    assert [t.number for t in service.list_for_sender("wechat", "oA")] == [b.number, a.number]
    assert [t.number for t in service.list_for_sender("web", "oA")] == [c.number]
    assert service.list_for_sender("wechat", "nobody") == []


# --- comments and the append-only event log ----------------------------------------------


def test_comments_are_events(service):
    t = service.create(ticket_data())
    ev = service.add_comment(t.number, "alice", "已电话联系商户")
    assert ev.type == "commented" and ev.actor == "alice" and ev.data["body"] == "已电话联系商户"
    assert service.events(t.number)[-1] == ev
    with pytest.raises(ValidationError) as exc:
        service.add_comment(t.number, "alice", "")
    assert "body" in exc.value.errors()[0]["msg"]


def test_event_log_is_append_only_in_code(service, database):
    t = service.create(ticket_data())
    with pytest.raises(AppendOnlyViolation):
        with database.session() as s:
            ev = s.execute(select(TicketEvent)).scalars().first()
            ev.actor = "forged"
    with pytest.raises(AppendOnlyViolation):
        with database.session() as s:
            s.delete(s.execute(select(TicketEvent)).scalars().first())
    assert service.events(t.number)[0].actor == "system"


@pytest.mark.parametrize(
    "sql",
    ["UPDATE ticket_events SET actor = 'forged'", "DELETE FROM ticket_events"],
)
def test_event_log_is_append_only_in_the_database(service, database, sql):
    service.create(ticket_data())
    with pytest.raises(sa.exc.DBAPIError) as exc:
        with database.engine.begin() as conn:
            conn.execute(sa.text(sql))
    assert "append-only" in str(exc.value)
    assert _count(database, TicketEvent) == 1


# --- outbox rows are part of the ticket transaction --------------------------------------


def test_outbox_rows_follow_ticket_events(service, database):
    t = service.create(ticket_data(channel="wechat", sender_id="oB"))
    service.update(t.number, TicketPatch(status="in_progress", assignee="alice", priority="high"), actor="x")
    service.add_comment(t.number, "alice", "处理中")
    service.update(t.number, TicketPatch(status="resolved", note="好了"), actor="x")
    with database.session() as s:
        rows = s.execute(select(OutboxEvent).order_by(OutboxEvent.id)).scalars().all()
        kinds = [r.event_type for r in rows]
        assert kinds == [
            "ticket.created",
            "ticket.status_changed",
            "ticket.assigned",
            "ticket.priority_changed",
            "ticket.commented",
            "ticket.status_changed",
        ]  # the notification event stays internal
        assert all(r.status == "pending" and r.attempts == 0 for r in rows)
        created, last = rows[0].payload, rows[-1].payload
        assert created["ticket"]["transcript"] == [] and "transcript" not in last["ticket"]
        assert last["ticket"]["status"] == "resolved" and last["data"]["note"] == "好了"
        assert len({r.event_id for r in rows}) == len(rows)


# --- notifications -------------------------------------------------------------------------


def test_resolving_notifies_the_merchant_channel(service):
    t = service.create(ticket_data(channel="wechat", sender_id="oMerchant"))
    assert service.pending_notifications("wechat", "oMerchant") == []
    service.update(t.number, TicketPatch(status="resolved", note="已为您重新激活终端"), actor="staff:alice")
    [n] = service.pending_notifications("wechat", "oMerchant")
    # A templated message: the internal note is not sent.
    assert n.text == f"您的工单 {t.number} 已处理完成✅ 如果问题还在，直接说“转人工”，客服会接着帮您处理。"
    assert "重新激活" not in n.text
    assert n.ticket_number == t.number and n.sent_at is None
    assert service.pending_notifications("wechat") == [n]
    assert service.pending_notifications("web", "oMerchant") == []

    sent = service.mark_sent(n.id)
    assert sent.sent_at is not None
    assert service.mark_sent(n.id).sent_at == sent.sent_at  # idempotent
    assert service.pending_notifications("wechat", "oMerchant") == []
    with pytest.raises(NotificationNotFound):
        service.mark_sent(999999)

    notif_events = [e for e in service.events(t.number) if e.type == "notification"]
    assert notif_events[0].data == {"notification_id": n.id, "channel": "wechat", "text": n.text}


def test_a_note_marked_as_a_reply_is_quoted_under_the_status_message(service):
    t = service.create(ticket_data(channel="web", sender_id="web:s1"))
    service.update(
        t.number, TicketPatch(status="resolved", note="已为您寄出新的纸卷", reply_to_merchant=True), actor="staff:alice"
    )
    [n] = service.pending_notifications("web", "web:s1")
    assert n.text == (
        f"您的工单 {t.number} 已处理完成✅ 如果问题还在，直接说“转人工”，客服会接着帮您处理。\n客服留言：已为您寄出新的纸卷"
    )
    assert service.told_resolution(t.number) == "已为您寄出新的纸卷"


def test_the_merchant_hears_pick_up_and_reopen_but_not_internal_moves(service):
    t = service.create(ticket_data(channel="web", sender_id="web:s2"))
    service.update(t.number, TicketPatch(status="in_progress", note="先查日志"), actor="x")
    service.update(t.number, TicketPatch(status="open"), actor="x")  # back to the queue
    service.update(t.number, TicketPatch(status="resolved"), actor="x")
    service.update(t.number, TicketPatch(status="open", note="商户说还是不行"), actor="x")  # reopened
    texts = [n.text for n in service.pending_notifications("web", "web:s2")]
    assert texts == [
        f"您的工单 {t.number} 客服已开始处理，有进展会在这里通知您。",
        f"您的工单 {t.number} 已处理完成✅ 如果问题还在，直接说“转人工”，客服会接着帮您处理。",
        f"您的工单 {t.number} 已重新打开，客服会继续跟进，有进展会在这里通知您。",
    ]
    assert service.told_resolution(t.number) is None


def test_comments_are_internal_unless_marked_as_a_reply(service):
    t = service.create(ticket_data(channel="web", sender_id="web:s3"))
    service.add_comment(t.number, "alice", "商户脾气不太好")
    assert service.pending_notifications("web", "web:s3") == []
    service.add_comment(t.number, "alice", "师傅明天上午到店", reply_to_merchant=True)
    [n] = service.pending_notifications("web", "web:s3")
    assert n.text == f"关于您的工单 {t.number}，客服回复：师傅明天上午到店"
    # A PATCH with only a note is a comment too.
    service.update(t.number, TicketPatch(priority="high", note="加急处理中", reply_to_merchant=True), actor="x")
    assert [n.text for n in service.pending_notifications("web", "web:s3")][-1] == (
        f"关于您的工单 {t.number}，客服回复：加急处理中"
    )


def test_preview_is_exactly_what_is_then_sent(service):
    from bot.tickets.schemas import MerchantPreviewIn

    t = service.create(ticket_data(channel="web", sender_id="web:s4"))
    change = {"status": "resolved", "note": "已远程重置", "reply_to_merchant": True}
    preview = service.preview(t.number, MerchantPreviewIn(**change))
    assert preview.recipient == "web:s4"
    assert service.pending_notifications("web", "web:s4") == []  # a preview sends nothing
    assert service.get(t.number).status == "open"
    service.update(t.number, TicketPatch(**change), actor="x")
    assert [n.text for n in service.pending_notifications("web", "web:s4")] == preview.messages
    with pytest.raises(IllegalTransition):
        service.preview(t.number, MerchantPreviewIn(status="in_progress"))  # resolved → in_progress


def test_preview_of_an_internal_change_is_empty(service):
    from bot.tickets.schemas import MerchantPreviewIn

    t = service.create(ticket_data(channel="web", sender_id="web:s5"))
    assert service.preview(t.number, MerchantPreviewIn(note="内部备注")).messages == []
    api_ticket = service.create(ticket_data())
    preview = service.preview(api_ticket.number, MerchantPreviewIn(status="resolved"))
    assert (preview.recipient, preview.messages) == (None, [])


def test_a_reply_needs_a_note(service):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="note"):
        TicketPatch(status="resolved", reply_to_merchant=True)


def test_no_notification_without_a_chat_user(service, database):
    t = service.create(ticket_data())  # API ticket, no sender_id
    service.update(t.number, TicketPatch(status="resolved"), actor="x")
    assert service.pending_notifications("api") == []
    assert "notification" not in [e.type for e in service.events(t.number)]
