"""Child process of test_outbox_crash.py: creates a ticket, then waits to be SIGKILLed.

    python -m tests.tickets._outbox_child DB_URL idle
    python -m tests.tickets._outbox_child DB_URL deliver WEBHOOK_URL SECRET

``idle``: the ticket (and its outbox row) is committed, nothing is delivered.
``deliver``: a worker claims the row and POSTs it; the receiver holds the request
until the parent kills this process, so the delivery is never recorded.
"""

from __future__ import annotations

import asyncio
import sys
import time

from bot.core.db import Database
from bot.core.settings import Settings
from bot.tickets.outbox import OutboxWorker
from bot.tickets.schemas import TicketCreate
from bot.tickets.service import TicketService


def main() -> None:
    db_url, mode = sys.argv[1], sys.argv[2]
    webhook, secret = (sys.argv[3], sys.argv[4]) if mode == "deliver" else ("", "")
    settings = Settings(_env_file=None, ticket_webhook_url=webhook, ticket_webhook_secret=secret, outbox_timeout_s=120)
    db = Database(db_url)
    ticket = TicketService(db, settings).create(
        TicketCreate(
            category="repair",
            merchant_id="123456789012345",
            terminal_id="12345678",
            contact_phone="13800138000",
            description="进程在投递前被杀死",
        ),
        idempotency_key="crash-test",
    )
    print(ticket.number, flush=True)
    if mode == "deliver":
        asyncio.run(OutboxWorker(db, settings, lease_seconds=60).run_once())
    time.sleep(600)  # the parent kills us long before


if __name__ == "__main__":
    main()
