"""``posbot faq build`` and ``posbot faq search``: make the persisted index and query it."""

from __future__ import annotations

import click

from bot.faq.cli import common, describe, fail_kb, faq, load_settings, open_engine

# Imports inside the commands are deliberate: `posbot faq --help` then loads click only, not the engine.


@faq.command()
@common
@click.option("--force", is_flag=True, help="Re-encode everything even if the stored index matches.")
@click.option(
    "--calibrate/--no-calibrate",
    default=True,
    show_default=True,
    help="Calibrate on data/faq/eval when the manifest has no calibration of the current scheme yet.",
)
def build(faq_dir, index_dir, encoder, force, calibrate) -> None:
    """Build (or reuse) the persisted index; shows a progress bar while encoding."""
    from bot.faq.calibrate import calibrate_engine
    from bot.faq.evalset import eval_dir_of, load_eval
    from bot.faq.kb import KbError

    s = load_settings(faq_dir, index_dir, encoder)
    try:
        engine = open_engine(s)
        if force:
            engine.rebuild(progress=True)
        # a committed calibration (data/faq/calibration.json) serves as it is: re-fitting on the
        # written set alone would drop the real questions it was fitted on
        need = calibrate and engine.status()["calibration"] == "defaults"
        evalset = load_eval(eval_dir_of(s.faq_dir), engine.kb) if need else None
    except KbError as exc:
        fail_kb(exc)
    m = engine.manifest
    state = "built" if engine.builds else "up to date (reused)"
    click.echo(
        f"FAQ index {state}: {m.n_entries} entries, {m.n_vectors} wordings, {m.index_type}, "
        f"encoder {m.encoder_id}, in {s.effective_faq_index_dir}"
    )
    if evalset is not None and evalset.in_scope and evalset.out_of_scope:
        th = calibrate_engine(engine, evalset)["fused"][1]
        click.echo(f"calibrated on {len(evalset)} eval questions: {describe(th)}")


@faq.command()
@common
@click.argument("query")
@click.option("-k", default=5, show_default=True, type=click.IntRange(1, 20))
@click.option("--mode", type=click.Choice(["fused", "dense", "lexical"]), default="fused", show_default=True)
def search(faq_dir, index_dir, encoder, query, k, mode) -> None:
    """Search the KB and show the decision and the ranked entries."""
    from rich.console import Console
    from rich.table import Table

    from bot.faq.kb import KbError

    try:
        engine = open_engine(load_settings(faq_dir, index_dir, encoder), progress=True)
    except KbError as exc:
        fail_kb(exc)
    res = engine.search(query, k=k, mode=mode)
    ranked = engine.rank(query, k, mode=mode)
    th = engine.thresholds(mode)
    console = Console()
    colour = {"answer": "green", "suggest": "yellow", "none": "red"}[res.decision]
    gap = "" if ranked.neg_gap is None else f"; best negative - best entry {ranked.neg_gap:+.3f}"
    console.print(f"decision: [bold {colour}]{res.decision}[/]  ({describe(th)}{gap})")
    table = Table(show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("id", no_wrap=True)  # ids are what people copy: never cut them
    table.add_column("category")
    table.add_column("question", overflow="fold")
    for i, (idx, score) in enumerate(zip(ranked.entry_idx, ranked.scores), start=1):
        e = engine.entries[int(idx)]
        table.add_row(str(i), f"{score:.3f}", e.id, e.category, e.question)
    console.print(table)
    if res.decision == "answer":
        console.print(res.results[0].answer)
