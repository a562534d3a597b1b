"""At most one open handoff per conversation, also when two requests start one at the same moment.

Rasa's action server and the app may both decide to hand a conversation to a person at once
(a double click, two instances). Two open handoffs would show staff the conversation twice and
leave one open forever after hand-back.
"""

from __future__ import annotations

import threading

import sqlalchemy as sa

from bot.conversations.service import ConversationService


def _open_handoffs(db, conv: str) -> int:
    with db.engine.connect() as c:
        return c.execute(
            sa.text("SELECT count(*) FROM conversation_handoffs WHERE conversation_id = :c AND ended_at IS NULL"),
            {"c": conv},
        ).scalar_one()


def test_starting_twice_keeps_one_open_handoff(database):
    svc = ConversationService(database)
    svc.start_handoff("web:a1", ticket_number=None)
    svc.start_handoff("web:a1", ticket_number="GD20250101-ABCDEF")
    assert _open_handoffs(database, "web:a1") == 1
    assert svc.get_state("web:a1").handoff.ticket_number == "GD20250101-ABCDEF"
    svc.hand_back("web:a1", by="客服小王")
    svc.start_handoff("web:a1")
    assert _open_handoffs(database, "web:a1") == 1  # a new one after the first ended


def test_concurrent_starts_open_one_handoff(database):
    svc = ConversationService(database)
    rounds, threads_per_round = 8, 6
    errors: list[BaseException] = []
    for n in range(rounds):
        conv = f"web:race{n}"
        svc.claim(conv, "web")  # the conversation exists, as it does once the merchant wrote
        barrier = threading.Barrier(threads_per_round)

        def start(conv=conv, barrier=barrier):
            try:
                barrier.wait()
                svc.start_handoff(conv)
            except BaseException as e:  # noqa: BLE001 (reported below)
                errors.append(e)

        threads = [threading.Thread(target=start) for _ in range(threads_per_round)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert _open_handoffs(database, conv) == 1, f"round {n}"
    assert not errors, errors
