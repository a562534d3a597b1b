"""``posbot faq validate``, ``lexicon``, ``codes``, ``export`` and ``import``: check and move the KB data."""

from __future__ import annotations

import sys

import click

from bot.faq.cli import fail_kb, faq, load_settings

# Imports inside the commands are deliberate: `posbot faq --help` then loads click only, not the engine.


@faq.command()
@click.option("--write", is_flag=True, help="Write the generated Rasa files instead of checking them.")
def lexicon(write) -> None:
    """Check (or --write) the Rasa files generated from data/lexicon and the code table:
    data/nlu/brands.yml and data/nlu/response_codes.yml."""
    from bot.faq.nlu_data import generated_files

    stale = []
    for path, text in generated_files().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if write:
            path.write_text(text, encoding="utf-8")
            click.echo(f"wrote {path}")
        else:
            stale.append(path)
    for p in stale:
        click.secho(f"{p} is out of date: run `posbot faq lexicon --write`", fg="red", err=True)
    if stale:
        sys.exit(1)
    if not write:
        click.echo("generated NLU files are up to date")


@faq.command()
@click.argument("code", required=False)
def codes(code) -> None:
    """Validate the response-code table, or show one code."""
    from bot.faq.codes import CodeTableError, default_codes, lookup

    try:
        table = default_codes()
    except CodeTableError as exc:
        fail_kb(exc)
    if not code:
        sides: dict[str, int] = {}
        for c in table:
            sides[c.side] = sides.get(c.side, 0) + 1
        click.echo(
            f"OK: {len(table)} codes ({', '.join(f'{k} {v}' for k, v in sorted(sides.items()))}), "
            f"{sum(c.varies for c in table)} vary by acquirer"
        )
        return
    m = lookup(code, table)
    if m.entry is None:
        click.secho(f"{code}: not in the table", fg="yellow")
        sys.exit(1)
    e = m.entry
    click.echo(f"{e.code}  {e.meaning}  [{e.side_label}]{'  (varies by acquirer)' if e.varies else ''}")
    for i, step in enumerate(e.steps, 1):
        click.echo(f"  {i}. {step}")


@faq.command()
@click.option("--faq-dir", type=click.Path(file_okay=False), help="KB directory (default: settings.faq_dir).")
def validate(faq_dir) -> None:
    """Check every KB and eval file; exit 1 listing each problem with its file and entry id.

    Eval questions copied into the KB or the negatives are problems too (exact copies:
    exit 1; near copies: warnings): the eval set must stay held out."""
    from bot.faq.evalset import eval_dir_of, eval_leaks, load_eval
    from bot.faq.kb import KbError
    from bot.faq.loader import load_kb

    s = load_settings(faq_dir, None, None)
    try:
        kb = load_kb(s.faq_dir)
        evalset = load_eval(eval_dir_of(s.faq_dir), kb)
    except KbError as exc:
        fail_kb(exc)
    for w in kb.warnings:
        click.secho(f"warning: {w}", fg="yellow")
    leaks = eval_leaks(kb, evalset)
    for leak in leaks:
        if not leak.exact:
            click.secho(f"warning: {leak}", fg="yellow")
    exact = [leak for leak in leaks if leak.exact]
    if exact:
        for leak in exact:
            click.secho(str(leak), fg="red", err=True)
        click.secho(
            f"{len(exact)} eval question(s) copied into the KB or the negatives: the eval set must stay held out",
            fg="red",
            err=True,
        )
        sys.exit(1)
    counts: dict[str, int] = {}
    for e in kb.entries:
        counts[e.category] = counts.get(e.category, 0) + 1
    cats = ", ".join(f"{c} {n}" for c, n in sorted(counts.items()))
    extra = _validate_side_data(s.faq_dir, {e.id for e in kb.entries})
    click.echo(
        f"OK: {len(kb.entries)} entries in {len(kb.files)} files ({cats}), "
        f"{sum(e.provider_specific for e in kb.entries)} provider-specific, {len(kb.negatives)} negatives; "
        f"eval: {len(evalset.in_scope)} questions, {len(evalset.out_of_scope)} out-of-scope; {extra}"
    )


def _validate_side_data(faq_dir, entry_ids: set[str]) -> str:
    """The code table and the lexicon (exit 1 on a problem) and the real-set labels (a label
    naming an entry the KB no longer has is a warning: re-label with `posbot faq labels`)."""
    from bot.faq.codes import CodeTableError, default_codes
    from bot.faq.lexicon import LexiconError, default_lexicon
    from bot.faq.realset import LabelError, check_labels, labels_path, load_labels

    try:
        codes = default_codes()
        lexicon = default_lexicon()
        labels = load_labels(labels_path(faq_dir))
    except (CodeTableError, LexiconError, LabelError) as exc:
        fail_kb(exc)
    for b in check_labels(labels, entry_ids):
        click.secho(f"warning: real-set label {b} (re-label with `posbot faq labels`)", fg="yellow")
    return f"{len(codes)} response codes, {len(lexicon.brands)} brands, {len(labels)} real-set labels"


@faq.command(name="export")
@click.argument("directory", type=click.Path(file_okay=False))
def export_cmd(directory) -> None:
    """Write the database's live knowledge base as YAML files into DIRECTORY (the data/faq format)."""
    from bot.faq.store import KbStore
    from bot.tickets.cli import _database

    with _database() as db:
        store = KbStore(db, load_settings(None, None, None).faq_dir)
        if store.revision() is None:
            raise click.ClickException(
                "the database holds no knowledge base yet (the app seeds it on first start, "
                "or run `posbot faq import data/faq`)"
            )
        files = store.export_dir(directory)
        counts = store.counts()
    click.echo(
        f"wrote {len(files)} file(s), {counts['entries']} entries to {directory} "
        f"({counts['retired']} retired entries stay in the database only)"
    )


@faq.command(name="import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--by", "actor", default="cli", show_default=True, help="Who the versions are recorded for.")
def import_cmd(directory, actor) -> None:
    """Make the database's live knowledge base the YAML files of DIRECTORY: all or nothing.

    Changed entries become new versions, entries missing from the files are retired (kept).
    Every app instance serves the result within seconds."""
    from bot.faq.kb import KbError
    from bot.faq.store import KbStore
    from bot.tickets.cli import _database

    with _database() as db:
        try:
            counts = KbStore(db, load_settings(None, None, None).faq_dir).import_dir(directory, actor)
        except KbError as exc:
            fail_kb(exc)
    click.echo(", ".join(f"{v} {k}" for k, v in counts.items()))
