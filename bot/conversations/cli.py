"""``posbot conversations ...``: retention of merchant conversations from a shell (or a cron job).

Works on the database of the current settings (``Settings.effective_database_url``), which is
also Rasa's tracker store.
"""

from __future__ import annotations

import re
from datetime import timedelta

import click

from bot.core.settings import get_settings

AGE_RE = re.compile(r"(\d{1,5})([dw]?)")


class Age(click.ParamType):
    """An age in days: ``90d``, ``12w`` or a bare number of days."""

    name = "age"

    def convert(self, value, param, ctx):
        if isinstance(value, timedelta):
            return value
        m = AGE_RE.fullmatch(str(value).strip().lower())
        if not m or int(m.group(1)) == 0:
            self.fail(f"{value!r} is not an age such as 180d or 26w", param, ctx)
        n = int(m.group(1))
        return timedelta(weeks=n) if m.group(2) == "w" else timedelta(days=n)


@click.group()
def conversations() -> None:
    """Merchant conversations: retention, masking of data stored before masking existed."""


@conversations.command("prune")
@click.option(
    "--older-than",
    type=Age(),
    default=None,
    help="Delete conversations with no message for this long (default: POSBOT_CONVERSATION_RETENTION_DAYS).",
)
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def prune_command(older_than: timedelta | None, dry_run: bool) -> None:
    """Delete old conversations: transcripts, photos, the phone vault and Rasa's tracker events."""
    from sqlalchemy.exc import OperationalError, ProgrammingError  # local import: keeps `posbot --help` fast

    from bot.conversations.retention import prune
    from bot.core.db import Database

    settings = get_settings()
    age = older_than or timedelta(days=settings.conversation_retention_days)
    db = Database(settings.effective_database_url)
    try:
        report = prune(db, age, dry_run=dry_run)
    except (OperationalError, ProgrammingError) as exc:
        raise click.ClickException(f"database error ({exc.orig}); did you run `posbot db upgrade`?") from exc
    finally:
        db.dispose()
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"conversations quiet since before {report.cutoff.isoformat(timespec='seconds')} ({age.days} days):")
    for label, n in report.counts.items():
        click.echo(f"  {label:<36} {verb} {n}")
    if dry_run:
        click.echo("dry run: nothing was deleted", err=True)


@conversations.command("mask-existing")
@click.option("--dry-run", is_flag=True, help="Only count the rows that still hold personal data in clear.")
def mask_existing_command(dry_run: bool) -> None:
    """Mask phone, bank-card and ID numbers stored in clear by versions before masking at the door."""
    from sqlalchemy.exc import OperationalError, ProgrammingError  # local import: keeps `posbot --help` fast

    from bot.conversations.remask import mask_existing
    from bot.core.db import Database

    db = Database(get_settings().effective_database_url)
    try:
        changed = mask_existing(db, dry_run=dry_run)
    except (OperationalError, ProgrammingError) as exc:
        raise click.ClickException(f"database error ({exc.orig}); did you run `posbot db upgrade`?") from exc
    finally:
        db.dispose()
    verb = "would mask" if dry_run else "masked"
    for label, n in changed.items():
        click.echo(f"  {label:<30} {verb} {n}")
    if dry_run:
        click.echo("dry run: nothing was changed", err=True)
