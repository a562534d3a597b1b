"""``posbot apikey ...`` and ``posbot tickets ...``: API keys, tickets and the outbox from a shell.

Both groups work on the database of the current settings
(``Settings.effective_database_url``); run ``posbot db upgrade`` first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.core.db import Database
from bot.core.settings import get_settings
from bot.tickets.apikeys import KEY_SCOPES


@contextmanager
def _database() -> Iterator[Database]:
    db = Database(get_settings().effective_database_url)
    try:
        yield db
    except (OperationalError, ProgrammingError) as exc:
        # Usually a database that was never migrated; say so instead of a traceback.
        raise click.ClickException(f"database error ({exc.orig}); did you run `posbot db upgrade`?") from exc
    finally:
        db.dispose()


def _service(db: Database):
    from bot.tickets.service import TicketService  # local import: keeps `posbot --help` fast

    return TicketService(db, get_settings())


def _ts(value) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


# --- apikey -------------------------------------------------------------------------------


@click.group()
def apikey() -> None:
    """Create, list and revoke API keys of the internal REST API."""


@apikey.command("create")
@click.option("--name", required=True, help="Who uses the key (shown in lists and ticket events).")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(KEY_SCOPES),
    help="Repeat for several scopes.",
)
def apikey_create(name: str, scopes: tuple[str, ...]) -> None:
    """Create a key and print it once: only its hash is stored."""
    from bot.tickets.apikeys import ApiKeyStore  # local import: keeps `posbot --help` fast

    with _database() as db:
        try:
            new = ApiKeyStore(db).create(name, list(scopes))
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from exc
    click.echo(f"id:     {new.info.id}")
    click.echo(f"name:   {new.info.name}")
    click.echo(f"scopes: {' '.join(new.info.scopes)}")
    click.echo(f"key:    {new.token}")
    click.echo("Store the key now: it cannot be shown again.", err=True)


@apikey.command("list")
def apikey_list() -> None:
    """List keys (prefix only; the keys themselves are not stored)."""
    from bot.tickets.apikeys import ApiKeyStore  # local import: keeps `posbot --help` fast

    with _database() as db:
        keys = ApiKeyStore(db).list()
    if not keys:
        click.echo("no API keys")
        return
    click.echo(f"{'ID':>4}  {'PREFIX':<16}  {'NAME':<20}  {'CREATED':<25}  {'REVOKED':<25}  SCOPES")
    for k in keys:
        click.echo(
            f"{k.id:>4}  {k.prefix:<16}  {k.name[:20]:<20}  {_ts(k.created_at):<25}  "
            f"{_ts(k.revoked_at):<25}  {' '.join(k.scopes)}"
        )


@apikey.command("revoke")
@click.argument("key_id", type=int)
def apikey_revoke(key_id: int) -> None:
    """Revoke key KEY_ID; requests with it get 401 from now on."""
    from bot.tickets.apikeys import ApiKeyNotFound, ApiKeyStore  # local import: keeps `posbot --help` fast

    with _database() as db:
        try:
            info = ApiKeyStore(db).revoke(key_id)
        except ApiKeyNotFound:
            raise click.ClickException(f"no API key with id {key_id}") from None
    click.echo(f"revoked {info.id} ({info.prefix}, {info.name}) at {_ts(info.revoked_at)}")


# --- tickets ------------------------------------------------------------------------------


@click.group()
def tickets() -> None:
    """Look at tickets and operate the webhook outbox."""


@tickets.command("list")
@click.option("--status", type=click.Choice(["open", "in_progress", "resolved", "closed"]))
@click.option("--category", type=click.Choice(["repair", "settlement", "activation", "handoff", "other"]))
@click.option("--merchant", "merchant_id", help="15-digit merchant id.")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--cursor", help="next_cursor printed by the previous page.")
def tickets_list(status, category, merchant_id, limit, cursor) -> None:
    """Newest tickets first."""
    from pydantic import ValidationError  # local import: keeps `posbot --help` fast

    from bot.tickets import TicketError  # local import: keeps `posbot --help` fast
    from bot.tickets.schemas import TicketFilters

    try:
        filters = TicketFilters(status=status, category=category, merchant_id=merchant_id)
    except ValidationError as exc:
        raise click.BadParameter("; ".join(e["msg"] for e in exc.errors())) from None
    with _database() as db:
        try:
            page = _service(db).list(filters, cursor=cursor, limit=limit)
        except TicketError as exc:
            raise click.ClickException(exc.message) from None
    if not page.items:
        click.echo("no tickets")
    for t in page.items:
        click.echo(
            f"{t.number}  {t.status.value:<11}  {t.priority.value:<6}  {t.category.value:<10}  "
            f"{t.merchant_id}  {_ts(t.created_at)}  {t.assignee or '-'}"
        )
    if page.next_cursor:
        click.echo(f"next: --cursor {page.next_cursor}")


@tickets.command("show")
@click.argument("number")
def tickets_show(number: str) -> None:
    """A ticket and its event log."""
    from bot.tickets import TicketError  # local import: keeps `posbot --help` fast

    with _database() as db:
        service = _service(db)
        try:
            ticket = service.get(number)
            events = service.events(number)
        except TicketError as exc:
            raise click.ClickException(exc.message) from None
    data = ticket.model_dump(mode="json")
    transcript = data.pop("transcript")
    for field, value in data.items():
        click.echo(f"{field:>21}: {value if value is not None else '-'}")
    click.echo(f"{'transcript':>21}: {len(transcript)} lines")
    click.echo("events:")
    for ev in events:
        click.echo(
            f"  {ev.id:>6}  {_ts(ev.created_at)}  {ev.type.value:<16}  {ev.actor:<20}  "
            f"{json.dumps(ev.data, ensure_ascii=False)}"
        )


@tickets.command("outbox-dead")
@click.option("--limit", type=click.IntRange(1, 100), default=50, show_default=True)
def tickets_outbox_dead(limit: int) -> None:
    """Dead-lettered webhook events (retry them with outbox-retry)."""
    with _database() as db:
        page = _service(db).dead_events(limit=limit)
    if not page.items:
        click.echo("no dead events")
    for e in page.items:
        click.echo(f"{e.event_id}  {e.ticket_number}  {e.event_type:<24}  attempts={e.attempts}  {e.last_error or ''}")


@tickets.command("outbox-retry")
@click.argument("event_id")
def tickets_outbox_retry(event_id: str) -> None:
    """Re-queue outbox event EVENT_ID for delivery (fresh attempt budget)."""
    from bot.tickets import TicketError  # local import: keeps `posbot --help` fast

    with _database() as db:
        try:
            e = _service(db).retry_event(event_id)
        except TicketError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(f"re-queued {e.event_id} ({e.event_type} of {e.ticket_number})")
