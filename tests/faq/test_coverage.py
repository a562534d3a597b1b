"""The real dev set: loading, labels by hash, coverage and calibration on written + real.

Uses a small TSV of our own (the real questions never enter the repository)."""

from __future__ import annotations

import numpy as np
import pytest

from bot.faq.calibrate import fit_thresholds
from bot.faq.coverage import RealOutcome, evaluate_coverage, summarise
from bot.faq.evalset import eval_dir_of, load_eval
from bot.faq.metrics import compute_metrics, is_right
from bot.faq.realset import (
    LabelError,
    RealQuestion,
    check_labels,
    labels_path,
    load_labels,
    load_real,
    question_key,
    real_dev_path,
    save_labels,
)

ROWS = [
    ("请问刷卡机打不出单子了咋整", "fault_printer", "fault"),
    ("屏幕完全不亮了", "fault_device", "fault"),
    ("收款的卡想换一张", "settlement", "settlement"),
    ("机器显示返回码51", "fault_card", "account|fault"),
    ("pos机外壳颜色能换吗", "fault_device", "fault"),
    ("今天股市怎么样", "out_of_scope", "out_of_scope"),
    ("推荐一部好看的电影", "out_of_scope", "out_of_scope"),
]


@pytest.fixture
def real_tsv(tmp_path, monkeypatch):
    path = tmp_path / "dev.tsv"
    lines = ["question\ttopic\taccept\tsource"] + [f"{q}\t{t}\t{a}\twritten" for q, t, a in ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("POSBOT_REAL_DEV", str(path))
    return path


def test_real_set_is_found_beside_the_checkout_or_skipped(tmp_path, monkeypatch):
    monkeypatch.delenv("POSBOT_REAL_DEV", raising=False)
    assert real_dev_path(tmp_path / "repo") == tmp_path / "shared" / "data" / "merchant_questions" / "dev.tsv"
    assert load_real(tmp_path / "nowhere.tsv") is None


def test_loading_and_keys(real_tsv):
    real = load_real()
    assert [q.in_scope for q in real] == [True] * 5 + [False] * 2
    assert real[3].accept == ("account", "fault")
    # the key ignores case, width, spaces and punctuation, and is not the text
    assert question_key("POS机 不打单？") == question_key("pos机不打单") and len(question_key("x")) == 16
    assert "打" not in question_key("打不出单")


def test_labels_round_trip_and_checks(tmp_path):
    path = labels_path(tmp_path / "faq")
    save_labels({"0123456789abcdef": ("fees-rate",), "fedcba9876543210": ()}, path)
    text = path.read_text(encoding="utf-8")
    assert "0123456789abcdef: [fees-rate]" in text and "fedcba9876543210: []" in text
    assert load_labels(path) == {"0123456789abcdef": ("fees-rate",), "fedcba9876543210": ()}
    assert check_labels(load_labels(path), {"other"}) == ["0123456789abcdef: unknown entry 'fees-rate'"]
    path.write_text("labels:\n  short: [a]\n", encoding="utf-8")
    with pytest.raises(LabelError):
        load_labels(path)
    assert load_labels(tmp_path / "none.yml") == {}


def test_multi_label_expected_counts_any_listed_entry():
    assert is_right(2, frozenset({1, 2})) and not is_right(3, frozenset({1, 2}))
    assert not is_right(0, frozenset()) and not is_right(0, None) and is_right(0, 0)
    m = compute_metrics("x", [[2, 1], [0, 1]], ["answer", "answer"], [frozenset({1, 2}), frozenset({1})])
    assert m.top1 == 0.5 and m.top3 == 1.0 and m.ans_prec == 0.5


def test_weights_move_the_thresholds():
    # two in-scope questions scoring low and heavily weighted pull the suggest band down
    scores = np.array([[0.9, 0.1], [0.8, 0.1], [0.1, 0.35], [0.1, 0.3], [0.5, 0.1], [0.45, 0.1], [0.2, 0.1]])
    expected = [0, 0, 1, 1, None, None, None]
    plain = fit_thresholds(scores, expected)
    weighted = fit_thresholds(scores, expected, weights=np.array([1, 1, 10, 10, 1, 1, 1.0]))
    assert plain.suggest > 0.5 and weighted.suggest < 0.3


def test_coverage_report_on_our_own_questions(shared_engine, real_tsv):
    evalset = load_eval(eval_dir_of(shared_engine.faq_dir), shared_engine.kb)
    real = load_real()
    labels = {
        real[0].key: ("fault-printer-no-receipt",),
        real[1].key: ("fault-screen-black",),
        real[2].key: ("settlement-change-card",),
        real[3].key: ("code",),
        real[4].key: (),
    }
    rep = evaluate_coverage(shared_engine, evalset, real, labels, folds=2)
    prod = rep.real_production
    assert prod.n_in == 5 and prod.n_oos == 2 and prod.labelled == 5 and prod.covered == 4
    by_text = {o.question.text: o for o in rep.outcomes}
    assert by_text["机器显示返回码51"].kind == "code" and by_text["机器显示返回码51"].answered_right
    assert by_text["今天股市怎么样"].kind == "none"
    gaps = [o.question.text for o in rep.gaps()]
    assert "pos机外壳颜色能换吗" in gaps  # labelled: no entry answers it
    assert 0.0 <= rep.real_cv.routed <= 1.0 and rep.written_cv.n_in == len(evalset.in_scope)
    assert rep.n_fit_real == 4 + 2  # labelled in-scope questions but the code one, and the out-of-scope ones


def test_summary_counts_wrong_answers_to_uncovered_questions():
    q = RealQuestion("x", "fees", ("fees",), "s")
    outs = [
        RealOutcome(q, "answer", "answer", "fees-rate", "fees", ("fees-rate",)),
        RealOutcome(q, "answer", "answer", "fees-rate", "fees", ()),  # answered, but no entry answers it
        RealOutcome(q, "clarify", "none", None, None, None),
    ]
    s = summarise("t", outs)
    assert s.answered_right == pytest.approx(1 / 3) and s.wrong_answers == 1 and s.routed == pytest.approx(2 / 3)
    assert s.kinds_in == {"answer": 2, "clarify": 1}


def test_stale_labels_are_detected(tmp_path):
    from bot.faq.realset import stale_labels

    path = labels_path(tmp_path / "faq")
    assert stale_labels(path, ["a"]) is None  # no labels yet: nothing to be stale
    save_labels({"0123456789abcdef": ()}, path, ["a", "b"])
    assert stale_labels(path, ["b", "a"]) is None
    assert "2 entries" in stale_labels(path, ["a", "b", "c"])
    save_labels({"0123456789abcdef": ()}, path)  # written without saying for which KB
    assert "do not say" in stale_labels(path, ["a"])
