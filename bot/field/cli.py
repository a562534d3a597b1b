"""``posbot field ...``: the care reminders from a shell (cron or a systemd timer)."""

from __future__ import annotations

import click

from bot.core.db import Database
from bot.core.settings import get_settings


@click.group()
def field() -> None:
    """Field service: periodic care reminders."""


@field.command("remind")
def remind() -> None:
    """Send the care reminders that are due (idempotent; run it daily)."""
    from bot.field.reminders import send_due  # local import: keeps `posbot --help` fast

    settings = get_settings()
    db = Database(settings.effective_database_url)
    try:
        click.echo(f"queued {send_due(db, settings)} care reminder(s)")
    finally:
        db.dispose()
