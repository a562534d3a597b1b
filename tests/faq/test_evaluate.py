"""Evaluation helpers: metrics, threshold fitting, cross-validation, qmatch preparation."""

from __future__ import annotations

import numpy as np

from bot.faq.calibrate import fit_thresholds
from bot.faq.evalset import load_eval
from bot.faq.evaluate import cross_validate_scores, evaluate_engine
from bot.faq.metrics import compute_metrics, decisions_from_scores, spearman
from scripts.qmatch import faq_clusters, qmatch_dir, read_pairs


def test_metrics_count_rejections_and_oos():
    ranked = [[0, 1], [1, 0], [2, 0], [0, 2]]
    decisions = ["answer", "none", "suggest", "none"]
    expected = [0, 1, 0, None]
    m = compute_metrics("x", ranked, decisions, expected)
    assert m.top1 == 2 / 3 and m.top3 == 1.0
    assert m.top1_thr == 1 / 3  # the second was right but rejected
    assert m.oos_r == 1.0 and m.oos_p == 0.5
    assert m.ans_prec == 1.0


def test_fit_thresholds_separates_in_and_out_of_scope():
    rng = np.random.default_rng(0)
    n_e = 5
    scores, expected = [], []
    for i in range(40):
        row = rng.uniform(0.1, 0.3, n_e)
        row[i % n_e] = 0.8
        scores.append(row)
        expected.append(i % n_e)
    for _ in range(20):
        scores.append(rng.uniform(0.1, 0.4, n_e))
        expected.append(None)
    th = fit_thresholds(np.array(scores), expected)
    assert 0.4 <= th.suggest <= 0.8 and th.answer >= th.suggest
    ranked, decisions = cross_validate_scores(np.array(scores), expected, k=4)
    m = compute_metrics("x", ranked, decisions, expected)
    assert m.top1_thr == 1.0 and m.oos_r == 1.0


def test_connected_components_and_negatives():
    pairs = [("a", "b", 1), ("b", "c", 1), ("d", "e", 1), ("a", "x", 0), ("y", "z", 0), ("c", "d", 0)]
    clusters, negatives = faq_clusters(pairs)
    assert clusters == [["a", "b", "c"], ["d", "e"]]
    assert negatives == ["x", "y", "z"]


def test_spearman_matches_definition():
    assert abs(spearman([1, 2, 3, 4], [10, 20, 30, 40]) - 1.0) < 1e-9
    assert abs(spearman([1, 2, 3, 4], [4, 3, 2, 1]) + 1.0) < 1e-9
    assert abs(spearman([0.1, 0.4, 0.35, 0.8], [0, 1, 0, 1]) - 0.8944) < 1e-3


def test_read_pairs_formats(tmp_path):
    (tmp_path / "x.csv").write_text("\ufeffsentence1,sentence2,label\n我要还款,怎么还款,1\n", encoding="utf-8")
    (tmp_path / "y.tsv").write_text("开通秒到\t怎么开秒到\t1\nbad line\n", encoding="utf-8")
    assert read_pairs(tmp_path / "x.csv") == [("我要还款", "怎么还款", 1)]
    assert read_pairs(tmp_path / "y.tsv") == [("开通秒到", "怎么开秒到", 1)]


def test_qmatch_dir_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("POSBOT_QMATCH_DIR", str(tmp_path))
    assert qmatch_dir() == tmp_path
    monkeypatch.delenv("POSBOT_QMATCH_DIR")
    assert qmatch_dir().parts[-3:] == ("shared", "data", "qmatch")


def test_evaluate_engine_on_fixture(shared_engine):
    ev = load_eval(shared_engine.faq_dir / "eval", shared_engine.kb)
    report = evaluate_engine(shared_engine, ev, folds=2, timing=False)
    assert [m.system for m in report.metrics] == ["ours (fused)", "dense only", "BM25 only"]
    fused = report.metrics[0]
    assert fused.n_in == 4 and fused.n_oos == 2 and fused.top3 == 1.0


def test_fit_thresholds_learns_the_negatives_veto():
    # in-scope and out-of-scope tops overlap; only the negatives' gap separates them
    rng = np.random.default_rng(1)
    scores, expected, gaps = [], [], []
    for i in range(60):
        row = rng.uniform(0.1, 0.2, 4)
        row[i % 4] = rng.uniform(0.5, 0.7)
        scores.append(row)
        expected.append(i % 4)
        gaps.append(float(rng.uniform(-0.4, -0.1)))
    for _ in range(30):
        row = rng.uniform(0.1, 0.2, 4)
        row[0] = rng.uniform(0.5, 0.7)
        scores.append(row)
        expected.append(None)
        gaps.append(float(rng.uniform(0.0, 0.3)))
    th = fit_thresholds(np.array(scores), expected, gaps)
    in_gaps, oos_gaps = gaps[:60], gaps[60:]
    assert th.neg_margin is not None and max(in_gaps) <= th.neg_margin < min(oos_gaps)
    decisions = decisions_from_scores(np.array(scores), th, gaps)
    assert all(d != "none" for d in decisions[:60]) and all(d == "none" for d in decisions[60:])
    no_neg = fit_thresholds(np.array(scores), expected)
    assert no_neg.neg_margin is None


def test_evaluation_leaves_leaked_wordings_out(shared_engine, tmp_path):
    import shutil

    from bot.faq.engine import FaqEngine

    kb_dir = tmp_path / "faq"
    shutil.copytree(shared_engine.faq_dir, kb_dir)
    neg = kb_dir / "negatives.yml"
    neg.write_text(neg.read_text(encoding="utf-8") + "  - 今天天气怎么样\n", encoding="utf-8")  # an eval question
    engine = FaqEngine(kb_dir, None, shared_engine.encoder)
    ev = load_eval(kb_dir / "eval", engine.kb)
    report = evaluate_engine(engine, ev, folds=2, timing=False)
    assert [leak.eval_text for leak in report.leaks] == ["今天天气怎么样"]
    assert "今天天气怎么样" in engine.kb.negatives  # the served KB is untouched
