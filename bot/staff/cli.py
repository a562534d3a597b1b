"""``posbot staff ...``: accounts of the /staff workspace (run ``posbot db upgrade`` first).

posbot staff create lihua --role admin --name 李华      # asks for the password twice
echo "$PW" | posbot staff create ops1 --role agent --password-stdin
posbot staff disable lihua                              # sessions end at once
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from bot.staff.accounts import PASSWORD_MIN, ROLE_LABELS, ROLES, StaffError, StaffNotFound


def _store(db):
    from bot.staff.accounts import StaffStore  # local import: keeps `posbot --help` fast

    return StaffStore(db)


def _database():
    from bot.tickets.cli import _database as tickets_database  # local import: keeps `posbot --help` fast

    return tickets_database()


@contextmanager
def _accounts(username: str) -> Iterator:
    """The account store, with its errors turned into the command's one-line message."""
    with _database() as db:
        try:
            yield _store(db)
        except StaffNotFound:
            raise click.ClickException(f"no account named {username!r}") from None
        except StaffError as exc:
            raise click.ClickException(str(exc)) from None


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return click.prompt(f"Password (at least {PASSWORD_MIN} characters)", hide_input=True, confirmation_prompt=True)


@click.group()
def staff() -> None:
    """Create, list, disable staff accounts of /staff (roles: viewer, maintainer, agent, editor, admin)."""


@staff.command("create")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    required=True,
    help="viewer: read; maintainer: field queue; agent: + reply, tickets; editor: + FAQ; admin: all.",
)
@click.option(
    "--name", "display_name", default=None, help="Display name staff and records show (default: the username)."
)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin (scripts).")
def staff_create(username: str, role: str, display_name: str | None, password_stdin: bool) -> None:
    """Create an account; the password is asked for (never an argument: shells keep history)."""
    password = _read_password(password_stdin)
    with _accounts(username) as store:
        info = store.create(username, role, password, display_name)
    click.echo(f"created {info.username} ({info.display_name}), role {info.role} ({ROLE_LABELS[info.role]})")


@staff.command("disable")
@click.argument("username")
def staff_disable(username: str) -> None:
    """Disable an account: it cannot sign in, and its open sessions stop working now."""
    with _accounts(username) as store:
        info = store.disable(username)
    click.echo(f"disabled {info.username}")


@staff.command("enable")
@click.argument("username")
def staff_enable(username: str) -> None:
    """Allow a disabled account to sign in again."""
    with _accounts(username) as store:
        info = store.enable(username)
    click.echo(f"enabled {info.username}")


@staff.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from the first line of stdin.")
def staff_passwd(username: str, password_stdin: bool) -> None:
    """Set a new password; the account's open sessions end."""
    password = _read_password(password_stdin)
    with _accounts(username) as store:
        info = store.set_password(username, password)
    click.echo(f"password of {info.username} changed; its sessions ended")


@staff.command("list")
def staff_list() -> None:
    """Every account, with role and state."""
    with _database() as db:
        rows = _store(db).list()
    click.echo(f"{'USERNAME':<20}  {'ROLE':<7}  {'STATE':<8}  DISPLAY NAME")
    for r in rows:
        click.echo(f"{r.username:<20}  {r.role:<7}  {'active' if r.active else 'disabled':<8}  {r.display_name}")
