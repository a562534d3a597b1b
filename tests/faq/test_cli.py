"""``posbot faq`` commands against the fixture KB."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bot.faq.cli import faq


@pytest.fixture
def run(kb_dir, index_dir, encoder, monkeypatch, tmp_path):
    from bot.core.settings import get_settings

    monkeypatch.setenv("POSBOT_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args):
        opts = ["--faq-dir", str(kb_dir)]
        if args[0] != "validate":
            opts += ["--index-dir", str(index_dir)]
        return runner.invoke(faq, [args[0], *opts, *args[1:]])

    yield invoke
    get_settings.cache_clear()


def test_validate_ok(run):
    r = run("validate")
    assert r.exit_code == 0, r.output
    assert "OK: 8 entries" in r.output


def test_validate_fails_with_file_and_id(run, kb_dir):
    path = kb_dir / "settlement.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("category: fees", "category: money"), encoding="utf-8")
    r = run("validate")
    assert r.exit_code == 1
    assert "settlement.yml" in r.output and "fees-rate" in r.output and "money" in r.output


def test_build_then_reuse(run, index_dir):
    import json

    r = run("build")
    assert r.exit_code == 0, r.output
    assert "built" in r.output and "calibrated on 6 eval questions" in r.output
    assert json.loads((index_dir / "manifest.json").read_text())["thresholds"]["fused"]["suggest"] > 0
    r = run("build")
    assert "up to date (reused)" in r.output and "calibrated" not in r.output


def test_search_shows_decision_and_table(run):
    r = run("search", "刷卡机不出小票")
    assert r.exit_code == 0, r.output
    assert "decision: answer" in r.output and "fault-printer-no-receipt" in r.output


def test_calibrate_and_eval(run, tmp_path):
    r = run("calibrate")
    assert r.exit_code == 0, r.output
    assert "stored in" in r.output
    md = tmp_path / "eval.md"
    r = run("eval", "--folds", "2", "--no-timing", "--markdown", str(md))
    assert r.exit_code == 0, r.output
    assert "ours (fused)" in md.read_text(encoding="utf-8")


def test_validate_rejects_eval_questions_copied_into_negatives(run, kb_dir):
    neg = kb_dir / "negatives.yml"
    neg.write_text(neg.read_text(encoding="utf-8") + "  - 给我讲个笑话\n", encoding="utf-8")
    r = run("validate")
    assert r.exit_code == 1
    assert "给我讲个笑话" in r.output and "held out" in r.output


def test_validate_counts_negatives(run):
    r = run("validate")
    assert "6 negatives" in r.output


def _own_real_set(tmp_path, monkeypatch):
    """A small dev.tsv of our own questions in the real set's format."""
    rows = [
        ("请问刷卡机打不出单子了咋整", "fault_printer", "fault"),
        ("屏幕完全不亮了", "fault_device", "fault"),
        ("收款的卡想换一张", "settlement", "settlement"),
        ("机器显示返回码51", "fault_card", "account|fault"),
        ("今天股市怎么样", "out_of_scope", "out_of_scope"),
        ("推荐一部好看的电影", "out_of_scope", "out_of_scope"),
    ]
    path = tmp_path / "dev.tsv"
    path.write_text(
        "question\ttopic\taccept\tsource\n" + "".join(f"{q}\t{t}\t{a}\twritten\n" for q, t, a in rows), encoding="utf-8"
    )
    monkeypatch.setenv("POSBOT_REAL_DEV", str(path))
    return rows


def test_eval_without_the_real_set_says_so(run):
    r = run("eval", "--folds", "2", "--no-timing")
    assert r.exit_code == 0, r.output
    assert "real dev set not found" in r.output


def test_labels_then_eval_and_calibrate_with_the_real_set(run, kb_dir, tmp_path, monkeypatch):
    import json

    from bot.faq.realset import question_key

    rows = _own_real_set(tmp_path, monkeypatch)
    r = run_plain(kb_dir, "labels", "--todo")
    assert r.exit_code == 0, r.output
    assert r.output.count("UNLABELLED") == 4  # in-scope rows only
    k = question_key(rows[0][0])
    assert run_plain(kb_dir, "labels", "--set", k, "no-such-entry").exit_code == 1
    assert run_plain(kb_dir, "labels", "--set", "0123456789abcdef", "fees-rate").exit_code == 1  # no such question
    r = run_plain(
        kb_dir,
        "labels",
        "--set",
        k,
        "fault-printer-no-receipt",
        "--set",
        question_key(rows[3][0]),
        "code",
        "--set",
        question_key(rows[1][0]),
        "",
    )
    assert r.exit_code == 0, r.output
    labels = (kb_dir / "eval" / "real_labels.yml").read_text(encoding="utf-8")
    assert f"{k}: [fault-printer-no-receipt]" in labels and rows[0][0] not in labels
    r = run_plain(kb_dir, "labels")
    assert "[] no entry" in r.output and "UNLABELLED" in r.output

    md = tmp_path / "eval.md"
    r = run("eval", "--folds", "2", "--no-timing", "--markdown", str(md))
    assert r.exit_code == 0, r.output
    text = md.read_text(encoding="utf-8")
    assert "Written + real, calibrated together" in text and "real dev set, production calibration" in text
    assert rows[0][0] not in text  # the coverage list is printed, never written
    assert "coverage:" in r.output

    r = run("calibrate")
    assert r.exit_code == 0, r.output
    assert "fitted on the written eval set and 6 real dev questions" in r.output
    doc = json.loads((kb_dir / "calibration.json").read_text(encoding="utf-8"))
    assert doc["encoder_family"] == "usem3" and doc["fitted_on"] == "written eval set + real dev set"
    assert set(doc["thresholds"]) == {"fused", "dense", "lexical"}


def test_calibrate_without_the_real_set_leaves_the_committed_file(run, kb_dir):
    r = run("calibrate")
    assert r.exit_code == 0, r.output
    assert "fitted on the written eval set only" in r.output
    assert not (kb_dir / "calibration.json").exists()


def test_committed_calibration_is_served_and_not_refit_by_build(run, kb_dir, index_dir, encoder):
    import json

    from bot.faq.engine import FaqEngine

    doc = {
        "version": 2,
        "encoder_family": "usem3",
        "fusion": {"w_max": 0.2, "w_mean": 0.1, "w_lex": 0.6, "w_clf": 0.1},
        "thresholds": {"fused": {"answer": 0.9, "suggest": 0.1, "margin": 0.02, "neg_margin": 0.3, "closest": 0.05}},
    }
    (kb_dir / "calibration.json").write_text(json.dumps(doc), encoding="utf-8")
    r = run("build")
    assert r.exit_code == 0, r.output
    assert "calibrated on" not in r.output
    eng = FaqEngine(kb_dir, index_dir, encoder)
    assert eng.status()["calibration"] == "committed"
    assert eng.thresholds().answer == 0.9 and eng.thresholds().closest == 0.05
    doc["encoder_family"] = "st:other"
    (kb_dir / "calibration.json").write_text(json.dumps(doc), encoding="utf-8")
    assert FaqEngine(kb_dir, index_dir, encoder).status()["calibration"] == "defaults"


def test_lexicon_and_codes_commands(kb_dir):
    r = run_plain(kb_dir, "lexicon")
    assert r.exit_code == 0 and "up to date" in r.output
    r = run_plain(kb_dir, "codes")
    assert r.exit_code == 0 and "codes (" in r.output
    r = run_plain(kb_dir, "codes", "a7")
    assert r.exit_code == 0 and r.output.startswith("A7 ") and "1. " in r.output
    assert run_plain(kb_dir, "codes", "B9").exit_code == 1


def run_plain(kb_dir, command, *args):
    """Commands that take only --faq-dir (or nothing)."""
    opts = ["--faq-dir", str(kb_dir)] if command in ("labels",) else []
    return CliRunner().invoke(faq, [command, *opts, *args])


def test_calibrate_refuses_labels_written_for_another_kb(run, kb_dir, tmp_path, monkeypatch):
    rows = _own_real_set(tmp_path, monkeypatch)
    from bot.faq.realset import question_key

    labels = kb_dir / "eval" / "real_labels.yml"
    labels.write_text(
        f"kb: {{entries: 3, fingerprint: 0000000000000000}}\nlabels:\n  {question_key(rows[1][0])}: []\n",
        encoding="utf-8",
    )
    r = run("calibrate")
    assert r.exit_code == 1
    assert "written for a KB of 3 entries" in r.output and not (kb_dir / "calibration.json").exists()
    r = run_plain(kb_dir, "labels")
    assert "written for a KB of 3 entries" in r.output
    assert run_plain(kb_dir, "labels", "--confirm").exit_code == 0
    r = run("calibrate")
    assert r.exit_code == 0, r.output
    assert (kb_dir / "calibration.json").exists()
