"""``posbot`` command line: one group, with a sub-group per concept (db, faq, apikey, ...).

Sub-groups live next to the code they drive (``bot/faq/cli/``, ``bot/tickets/cli.py``)
and are attached here, so this file never grows into a module that knows everything.
"""

from __future__ import annotations

import importlib

import click

# (module, attribute) of each sub-command; imported lazily so `posbot --help` stays fast.
SUBCOMMANDS = {
    "db": ("bot.cli.core", "db"),
    "settings": ("bot.cli.core", "show_settings"),
    "rasa": ("bot.cli.core", "rasa"),
    "up": ("bot.cli.core", "serve"),
    "faq": ("bot.faq.cli", "faq"),
    "apikey": ("bot.tickets.cli", "apikey"),
    "tickets": ("bot.tickets.cli", "tickets"),
    "staff": ("bot.staff.cli", "staff"),
    "conversations": ("bot.conversations.cli", "conversations"),
    "docs": ("bot.cli.reference", "docs"),
    "field": ("bot.field.cli", "field"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx, name):
        if name not in SUBCOMMANDS:
            return None
        module, attr = SUBCOMMANDS[name]
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup)
def main() -> None:
    """POS merchant support assistant: database, FAQ index, API keys, Rasa helpers."""


if __name__ == "__main__":
    main()
