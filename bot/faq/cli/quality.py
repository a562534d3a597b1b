"""``posbot faq eval``, ``calibrate`` and ``labels``: measure the engine, fit its bands, label the real set."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.faq.cli import common, describe, fail_kb, faq, load_settings, open_engine

# Imports inside the commands are deliberate: `posbot faq --help` then loads click only, not the engine.


# eval and calibrate fit the fusion weights alike: one option, one help text.
real_share_option = click.option(
    "--real-share",
    type=click.FloatRange(0.0, 10.0),
    default=None,
    help="Weight of the real dev set against the written one in the fit (default 0.25).",
)


@faq.command(name="eval")
@common
@click.option("--folds", default=5, show_default=True, help="Cross-validation folds for the reported numbers.")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False), help="Also write the tables as markdown.")
@click.option("--no-timing", is_flag=True, help="Skip the per-query latency measurement.")
@click.option(
    "--coverage/--no-coverage",
    "coverage_list",
    default=True,
    show_default=True,
    help="Print the real questions no entry answers (printed only, never stored).",
)
@real_share_option
@click.option(
    "--db",
    "from_db",
    is_flag=True,
    help="Evaluate the database's live KB (seeded from --faq-dir when empty) instead of the YAML files.",
)
def eval_cmd(faq_dir, index_dir, encoder, folds, markdown_path, no_timing, coverage_list, real_share, from_db) -> None:
    """Evaluate on data/faq/eval (top-1/top-3/MRR, out-of-scope, latency) and, when
    ../shared/data/merchant_questions/dev.tsv is there, on the real dev set (routing, right
    answers, out-of-scope rejection, coverage gaps)."""
    from rich.console import Console
    from rich.table import Table

    from bot.faq.evalset import eval_dir_of, load_eval
    from bot.faq.evaluate import evaluate_engine
    from bot.faq.kb import KbError
    from bot.faq.metrics import METRIC_COLUMNS, fmt, metrics_markdown, sweep_markdown

    s = load_settings(faq_dir, index_dir, encoder)
    db = None
    if from_db:
        from bot.core.db import Database

        s = s.model_copy(update={"faq_source": "db"})
        db = Database(s.effective_database_url)
    try:
        engine = open_engine(s, db=db)
        evalset = load_eval(eval_dir_of(s.faq_dir), engine.kb)
    except KbError as exc:
        fail_kb(exc)
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
    text = (
        f"### Held-out ({folds}-fold CV)\n\n{metrics_markdown(report.metrics)}\n\n"
        f"### Fit on all (in-sample)\n\n{metrics_markdown(report.in_sample)}\n\n"
        f"### Out-of-scope threshold trade-off (fused, whole eval set)\n\n{sweep_markdown(report.sweep)}\n"
    )
    real_md = _real_report(engine, evalset, folds, console, coverage_list, real_share)
    if real_md:
        text += "\n" + real_md
    if markdown_path:
        Path(markdown_path).write_text(text, encoding="utf-8")
        click.echo(f"wrote {markdown_path}")


def _real_report(engine, evalset, folds, console, coverage_list: bool, share: float | None) -> str | None:
    """The real dev set next to the written one: routing, answers, out-of-scope, coverage gaps."""
    from bot.faq.coverage import REAL_SHARE, evaluate_coverage, summary_markdown
    from bot.faq.metrics import metrics_markdown
    from bot.faq.realset import check_labels, labels_path, load_labels, load_real, real_dev_path, stale_labels

    real = load_real()
    if real is None:
        click.secho(f"real dev set not found at {real_dev_path()}: skipped (only the written eval set)", fg="yellow")
        return None
    labels = load_labels(labels_path(engine.faq_dir))
    why = stale_labels(labels_path(engine.faq_dir), [e.id for e in engine.entries])
    if why:
        click.secho(
            f"warning: {why}; re-label (`posbot faq labels`) before trusting the real-set figures",
            fg="yellow",
            err=True,
        )
    bad = check_labels(labels, {e.id for e in engine.entries})
    for b in bad:
        click.secho(f"label {b} (ignored; fix with `posbot faq labels`)", fg="yellow", err=True)
    unlabelled = sum(1 for q in real if q.in_scope and q.key not in labels)
    rep = evaluate_coverage(engine, evalset, real, labels, folds=folds, share=REAL_SHARE if share is None else share)
    md = (
        f"### Written + real, calibrated together ({folds}-fold CV, real set weighted {rep.share:g}x the written one)\n\n"
        f"Written eval set, held out:\n\n{metrics_markdown([rep.written_cv])}\n\n"
        f"Real dev set ({rep.real_cv.n_in} in scope, {rep.real_cv.n_oos} out of scope; "
        f"{rep.real_cv.labelled} labelled, {rep.real_cv.covered} answered by an entry or the code table "
        f"by our labels; {rep.n_fit_real} enter the fit):\n\n{summary_markdown([rep.real_cv, rep.real_production])}\n"
    )
    console.print(md)
    if unlabelled:
        click.secho(f"{unlabelled} in-scope real question(s) have no label: `posbot faq labels --todo`", fg="yellow")
    gaps = rep.gaps()
    click.echo(f"coverage: {len(gaps)} in-scope real question(s) not covered by an entry or not routed")
    if coverage_list:
        for o in gaps:
            why = "no entry answers it" if o.labels == () else "unlabelled" if o.labels is None else "not routed"
            click.echo(f"  [{o.question.topic}] {o.kind:8s} {why:20s} {o.question.text}  -> {o.top_entry}")
    return md


@faq.command()
@common
@click.option(
    "--write-file/--no-write-file",
    default=None,
    help="Write data/faq/calibration.json (default: only when the real dev set was used).",
)
@real_share_option
@click.option(
    "--stale-labels-ok",
    "stale_ok",
    is_flag=True,
    help="Calibrate even though the real-set labels were written for another KB version.",
)
def calibrate(faq_dir, index_dir, encoder, write_file, real_share, stale_ok) -> None:
    """Fit fusion weights and thresholds (written eval set + the real dev set when present);
    store them in the index manifest and, with the real set, in data/faq/calibration.json."""
    from bot.faq.calibrate import calibrate_engine
    from bot.faq.coverage import REAL_SHARE, combined_fit
    from bot.faq.evalset import eval_dir_of, load_eval
    from bot.faq.kb import KbError
    from bot.faq.realset import labels_path, load_labels, load_real, real_dev_path, stale_labels
    from bot.faq.scoring import MODES
    from bot.faq.snapshot import write_committed_calibration

    s = load_settings(faq_dir, index_dir, encoder)
    try:
        engine = open_engine(s)
        evalset = load_eval(eval_dir_of(s.faq_dir), engine.kb)
    except KbError as exc:
        fail_kb(exc)
    if not evalset.in_scope or not evalset.out_of_scope:
        click.secho("calibration needs both in-scope questions and out_of_scope examples", fg="red", err=True)
        sys.exit(1)
    fitted = calibrate_engine(engine, evalset)  # dense/lexical modes (and fused, replaced below)
    real = load_real()
    info = engine.manifest.calibration
    why = stale_labels(labels_path(s.faq_dir), [e.id for e in engine.entries]) if real is not None else None
    if why and not stale_ok:
        click.secho(
            f"{why}. A stale [] label counts a now-right answer as wrong and pushes the answer band up. "
            "Re-label (`posbot faq labels --todo`, `--set`, then `--confirm`) or pass --stale-labels-ok.",
            fg="red",
            err=True,
        )
        sys.exit(1)
    if real is not None:
        share = REAL_SHARE if real_share is None else real_share
        fusion, th = combined_fit(engine, evalset, real, load_labels(labels_path(s.faq_dir)), share=share)
        fitted["fused"] = (fusion, th)
        info = {
            **info,
            "real_questions": len(real),
            "real_share": share,
            "fitted_on": "written eval set + real dev set",
        }
        engine.store_calibration({m: t for m, (_, t) in fitted.items()}, fusion, info)
        click.echo(f"fitted on the written eval set and {len(real)} real dev questions")
    else:
        info = {**info, "fitted_on": "written eval set"}
        click.secho(
            f"real dev set not found at {real_dev_path()}: fitted on the written eval set only "
            "(data/faq/calibration.json is left as it is unless --write-file)",
            fg="yellow",
        )
    fusion = fitted["fused"][0]
    click.echo(
        f"fusion: dense_max {fusion.w_max:.1f}, dense_mean {fusion.w_mean:.1f}, lexical {fusion.w_lex:.1f}, "
        f"classifier {fusion.w_clf:.1f}"
    )
    for mode, (_, th) in fitted.items():
        closest = "" if th.closest is None else f", closest entries offered from {th.closest:.4f}"
        click.echo(f"{mode:8s} {describe(th)}{closest}")
    click.echo(f"stored in {s.effective_faq_index_dir / 'manifest.json'}")
    if write_file or (write_file is None and real is not None):
        path = write_committed_calibration(s.faq_dir, engine.encoder.id, {m: fitted[m][1] for m in MODES}, fusion, info)
        click.echo(f"wrote {path} (commit it: every checkout serves these bands)")


@faq.command()
@click.option("--todo", is_flag=True, help="Only the in-scope real questions without a label.")
@click.option(
    "--set",
    "assign",
    nargs=2,
    multiple=True,
    metavar="HASH IDS",
    help="Label a question: its hash and comma-separated entry ids ('' = no entry answers it; 'code').",
)
@click.option(
    "--confirm", is_flag=True, help="Record that every label was checked against the current KB (after re-labelling)."
)
@click.option("--faq-dir", type=click.Path(file_okay=False), help="KB directory (default: settings.faq_dir).")
def labels(todo, assign, confirm, faq_dir) -> None:
    """Our labels for the real dev questions (data/faq/eval/real_labels.yml, keyed by hash).

    Without options: check them against the KB and list every real question with its hash and
    label (the text is read from ../shared and printed, never stored)."""
    from bot.faq.kb import KbError
    from bot.faq.loader import load_kb
    from bot.faq.realset import (
        CODE_LABEL,
        check_labels,
        labels_path,
        load_labels,
        load_real,
        real_dev_path,
        save_labels,
        stale_labels,
    )

    s = load_settings(faq_dir, None, None)
    try:
        ids = {e.id for e in load_kb(s.faq_dir).entries}
    except KbError as exc:
        fail_kb(exc)
    path = labels_path(s.faq_dir)
    current = load_labels(path)
    real = load_real()
    keys = {q.key for q in real} if real else set()
    if assign:
        for key, value in assign:
            new = tuple(i.strip() for i in value.split(",") if i.strip())
            unknown = [i for i in new if i != CODE_LABEL and i not in ids]
            if unknown:
                click.secho(f"{key}: unknown entry id(s) {', '.join(unknown)}", fg="red", err=True)
                sys.exit(1)
            if real is not None and key not in keys:
                click.secho(f"{key}: no real dev question has this hash", fg="red", err=True)
                sys.exit(1)
            current[key] = new
        save_labels(current, path, ids)
        click.echo(f"saved {len(assign)} label(s) in {path}")
        return
    if confirm:
        save_labels(current, path, ids)
        click.echo(f"labels confirmed for this KB ({len(ids)} entries) in {path}")
        return
    problems = check_labels(current, ids)
    for p in problems:
        click.secho(f"unknown entry in label {p}", fg="red")
    why = stale_labels(path, ids)
    if why:
        click.secho(f"{why}: re-check the [] labels, then `posbot faq labels --confirm`", fg="yellow")
    if real is None:
        click.secho(f"real dev set not found at {real_dev_path()}: only the labels were checked", fg="yellow")
    else:
        for q in real:
            if not q.in_scope or (todo and q.key in current):
                continue
            lab = current.get(q.key)
            shown = "UNLABELLED" if lab is None else ",".join(lab) or "[] no entry"
            click.echo(f"{q.key}  [{q.topic}]  {shown:40s}  {q.text}")
        stale = sorted(set(current) - keys)
        if stale:
            click.secho(f"{len(stale)} label(s) match no real question (question edited or removed)", fg="yellow")
    if problems:
        sys.exit(1)
