"""``posbot faq`` commands against the fixture KB."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bot.faq.cli import faq


@pytest.fixture
def run(kb_dir, index_dir, encoder, monkeypatch, tmp_path):
    from bot.settings import get_settings

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
