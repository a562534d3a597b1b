"""The live knowledge base in the database (bot/faq/store.py), on SQLite and PostgreSQL.

Seed from YAML, export back byte for byte, import without changes, edit with versions,
revert, retire, validation as strict as the YAML loader, and the engine following the
database's KB revision.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.faq.kb import KbError
from bot.faq.loader import load_kb
from bot.faq.store import KbStore, StoreError

from .conftest import FIXTURES

SEED = Path(__file__).resolve().parents[2] / "data" / "faq"


def _semantic(kb):
    return (
        [
            (e.id, e.category, e.subcategory, e.question, e.paraphrases, e.answer, e.escalate, e.provider_specific)
            for e in kb.entries
        ],
        kb.negatives,
    )


@pytest.fixture
def store(database, kb_dir) -> KbStore:
    s = KbStore(database, kb_dir)
    assert s.ensure_seeded() is True
    return s


def entry(store, entry_id):
    return store.get(entry_id)


def fields(view, **over):
    data = {
        k: getattr(view, k)
        for k in ("category", "subcategory", "question", "paraphrases", "answer", "escalate", "provider_specific")
    }
    return data | over


def versions_count(database) -> int:
    with database.engine.connect() as c:
        return c.execute(sa.text("SELECT count(*) FROM faq_versions")).scalar()


def test_the_seed_round_trips_byte_for_byte_and_importing_the_export_changes_nothing(database, tmp_path):
    store = KbStore(database, SEED)
    assert store.ensure_seeded() is True
    assert store.ensure_seeded() is False  # a second instance starting finds it seeded
    served = store.load()
    seed = load_kb(SEED)
    assert _semantic(served) == _semantic(seed)
    assert served.index_hash == seed.index_hash  # the index built from the DB is the YAML's index

    out = tmp_path / "export"
    written = store.export_dir(out)
    assert sorted(p.name for p in written) == sorted(p.name for p in SEED.glob("*.yml"))
    for path in written:
        assert path.read_bytes() == (SEED / path.name).read_bytes(), path.name

    rev, n_versions = store.revision(), versions_count(database)
    counts = store.import_dir(out, "tester")
    assert counts == {"created": 0, "updated": 0, "retired": 0, "unchanged": len(seed.entries)}
    assert store.revision() == rev and versions_count(database) == n_versions
    again = tmp_path / "again"
    store.export_dir(again)
    assert {p.name: p.read_bytes() for p in again.iterdir()} == {p.name: p.read_bytes() for p in out.iterdir()}


def test_an_edit_is_a_version_and_a_revert_brings_the_old_answer_back(store):
    before = entry(store, "settlement-t1-arrival")
    rev = store.revision()
    edited = store.update(
        "settlement-t1-arrival",
        fields(before, answer="新的到账说明：一般下一个工作日到账。"),
        "editor1",
        expected_version=before.version,
    )
    assert edited.version == before.version + 1 and edited.updated_by == "editor1"
    assert store.revision() == rev + 1
    assert store.load().get("settlement-t1-arrival").answer == "新的到账说明：一般下一个工作日到账。"

    history = store.versions("settlement-t1-arrival")
    assert [v.version for v in history] == [2, 1]
    assert history[0].actor == "editor1" and history[0].action == "edit"
    assert history[0].before["answer"] == before.answer and history[0].after["answer"].startswith("新的到账说明")
    assert history[1].action == "seed" and history[1].before is None

    diff = {f["field"]: f for f in store.compare("settlement-t1-arrival", 1, 2)}
    assert diff["answer"]["changed"] and not diff["question"]["changed"]
    assert {"op": "add", "text": "新的到账说明：一般下一个工作日到账。"} in diff["answer"]["lines"]
    assert any(line["op"] == "del" for line in diff["answer"]["lines"])

    reverted = store.revert("settlement-t1-arrival", 1, "editor2")
    assert reverted.version == 3 and reverted.answer == before.answer
    top = store.versions("settlement-t1-arrival")[0]
    assert top.action == "revert" and top.actor == "editor2" and "第 1 版" in top.note
    assert store.load().get("settlement-t1-arrival").answer == before.answer
    with pytest.raises(StoreError) as same:
        store.revert("settlement-t1-arrival", 1, "editor2")  # already that content: nothing to save
    assert same.value.status == 409


def test_a_stale_page_cannot_overwrite_a_newer_save(store):
    seen = entry(store, "fees-rate")
    store.update("fees-rate", fields(seen, answer="第一个标签页保存的答案。"), "a", expected_version=seen.version)
    with pytest.raises(StoreError) as late:
        store.update("fees-rate", fields(seen, answer="第二个标签页的旧内容。"), "b", expected_version=seen.version)
    assert late.value.status == 409 and "刷新" in late.value.message
    assert entry(store, "fees-rate").answer == "第一个标签页保存的答案。"


def test_invalid_edits_are_refused_with_every_problem_in_chinese_and_nothing_changes(store, database):
    rev, n = store.revision(), versions_count(database)
    victim = entry(store, "fees-rate")
    other = entry(store, "fault-screen-black")
    with pytest.raises(StoreError) as bad:
        store.update(
            "fees-rate",
            fields(victim, answer="   ", paraphrases=[*victim.paraphrases[:2], other.paraphrases[0]], category="money"),
            "editor1",
        )
    err = bad.value
    assert err.status == 422
    zh = [p.zh for p in err.problems]
    assert "答案不能为空" in zh
    assert any("请选择分类" in m for m in zh)
    assert any("至少要有 6 条" in m for m in zh)
    # the duplicate of another entry's wording is named by text and entry (it fails with the rest)
    with pytest.raises(StoreError) as dup:
        store.add_wording("fees-rate", other.paraphrases[0], "editor1")
    assert any(other.paraphrases[0] in p.zh and "fault-screen-black" in p.zh for p in dup.value.problems)
    with pytest.raises(StoreError) as bad_id:
        store.create(
            fields(victim, question="新问题", paraphrases=[f"新问法{i}" for i in range(6)]) | {"id": "Fees Rate!"}, "e"
        )
    assert any(p.field == "id" and "小写" in p.zh for p in bad_id.value.problems)
    with pytest.raises(StoreError) as taken:
        store.create(fields(victim) | {"id": "fees-rate"}, "e")
    assert taken.value.status == 409
    with pytest.raises(StoreError) as blank:
        store.add_wording("fees-rate", "  ", "e")
    assert blank.value.status == 422
    assert store.revision() == rev and versions_count(database) == n
    assert entry(store, "fees-rate") == victim


def test_wordings_are_added_and_removed_one_at_a_time(store):
    e = entry(store, "fault-printer-no-receipt")
    added = store.add_wording("fault-printer-no-receipt", "  小票机罢工了  ", "editor1")
    assert added.paraphrases[-1] == "小票机罢工了"
    with pytest.raises(StoreError) as twice:
        store.add_wording("fault-printer-no-receipt", "小票机罢工了！", "editor1")  # same after normalising
    assert twice.value.status == 409
    n = len(added.paraphrases)
    with pytest.raises(StoreError) as stale:
        store.remove_wording("fault-printer-no-receipt", n, "editor1", expected_text="别的问法")
    assert stale.value.status == 409
    with pytest.raises(StoreError) as missing:
        store.remove_wording("fault-printer-no-receipt", n + 5, "editor1")
    assert missing.value.status == 404
    removed = store.remove_wording("fault-printer-no-receipt", n, "editor1", expected_text="小票机罢工了")
    assert removed.paraphrases == e.paraphrases
    assert [v.action for v in store.versions("fault-printer-no-receipt")][:2] == ["remove_wording", "add_wording"]


def test_a_retired_entry_is_not_served_but_kept_and_a_revert_restores_it(store):
    store.retire("fees-rate", "editor1")
    assert store.load().get("fees-rate") is None
    assert entry(store, "fees-rate").retired
    assert [v.id for v in store.find(retired=True)] == ["fees-rate"]
    with pytest.raises(StoreError):
        store.retire("fees-rate", "editor1")
    # its wordings no longer block anyone; a new entry may not take its id though
    restored = store.revert("fees-rate", 1, "editor1")
    assert not restored.retired and store.load().get("fees-rate") is not None


def test_create_puts_a_new_entry_in_its_category_file_and_export_writes_it(store, tmp_path):
    new = store.create(
        {
            "id": "fees-invoice-new",
            "category": "fees",
            "question": "手续费能开发票吗？",
            "paraphrases": [
                "手续费发票怎么开",
                "能开手续费发票吗",
                "刷卡手续费开票",
                "要手续费的发票",
                "手续费票据",
                "开具手续费发票",
            ],
            "answer": "可以：1. 打开服务商App；2. 在发票里申请。",
            "escalate": None,
            "provider_specific": True,
        },
        "editor1",
    )
    assert new.source == "fees.yml" and new.version == 1
    store.export_dir(tmp_path / "out")
    kb = load_kb(tmp_path / "out")
    assert kb.get("fees-invoice-new").provider_specific and kb.get("fees-invoice-new").answer.startswith("可以")


def test_import_is_all_or_nothing_and_retires_what_the_files_drop(store, kb_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(kb_dir, broken)
    text = (broken / "settlement.yml").read_text(encoding="utf-8")
    (broken / "settlement.yml").write_text(text.replace("id: fees-rate", "id: Fees Rate"), encoding="utf-8")
    rev = store.revision()
    with pytest.raises(KbError):
        store.import_dir(broken, "cli")
    assert store.revision() == rev

    smaller = tmp_path / "smaller"
    shutil.copytree(FIXTURES / "kb", smaller)
    (smaller / "fault.yml").unlink()
    counts = store.import_dir(smaller, "cli")
    assert counts["retired"] == 4 and store.revision() == rev + 1
    assert store.load().get("fault-screen-black") is None and entry(store, "fault-screen-black").retired
    back = store.import_dir(FIXTURES / "kb", "cli")
    assert back["updated"] == 4 and store.load().get("fault-screen-black") is not None


def test_the_engine_follows_the_database_revision(database, kb_dir, index_dir, encoder):
    from bot.faq.engine import FaqEngine
    from bot.faq.store import DbSource

    store = KbStore(database, kb_dir)
    store.ensure_seeded()
    engine = FaqEngine(kb_dir, index_dir, encoder, source=DbSource(store))
    assert engine.check_for_changes() is False
    q = "刷卡的钱什么时候到账"
    assert engine.search(q).results[0].id == "settlement-t1-arrival"
    builds = engine.builds
    e = store.get("settlement-t1-arrival")
    store.update("settlement-t1-arrival", fields(e, answer="改过的答案：T+1 到账。"), "editor1")
    assert engine.check_for_changes() is True
    assert engine.search(q).results[0].answer == "改过的答案：T+1 到账。"
    assert engine.builds == builds  # an answer-only edit re-encodes nothing
    store.add_wording("settlement-t1-arrival", "货款哪天能到我卡上", "editor1")
    assert engine.check_for_changes() is True and engine.builds == builds + 1
    assert engine.get("settlement-t1-arrival").paraphrases[-1] == "货款哪天能到我卡上"
    # what a reload built (reused vectors and tokens) scores exactly like an engine built from scratch
    fresh = FaqEngine(kb_dir, index_dir.parent / "fresh-index", encoder, source=DbSource(store))
    for query in (q, "打印机不出小票", "手续费多少", "怎么换结算卡"):
        got, want = engine.search(query, k=5), fresh.search(query, k=5)
        assert got.decision == want.decision
        assert [(h.id, h.score) for h in got.results] == [(h.id, h.score) for h in want.results]
    store.retire("settlement-t1-arrival", "editor1")
    engine.check_for_changes()
    assert engine.get("settlement-t1-arrival") is None
    assert all(
        h.id != "settlement-t1-arrival" for h in engine.search(q, closest=True).closest + engine.search(q).results
    )


FAQ_TABLES = ("faq_entries", "faq_negatives", "faq_sources", "faq_versions", "faq_revision")


def _ours(diff) -> bool:
    if isinstance(diff, list):  # column modifications come grouped
        return any(_ours(d) for d in diff)
    for part in diff[1:]:
        table = getattr(part, "table", None)
        name = getattr(table, "name", None) or getattr(part, "name", None)
        if (isinstance(part, str) and part in FAQ_TABLES) or name in FAQ_TABLES:
            return True
    return False


def test_the_migration_creates_exactly_what_the_models_describe_and_downgrades(db_url):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import bot.core.models  # noqa: F401
    from bot.core.db import Base, alembic_config, make_engine, upgrade

    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert [d for d in compare_metadata(ctx, Base.metadata) if _ours(d)] == []
        command.downgrade(alembic_config(db_url), "0008_conversation_pii")
        assert not set(sa.inspect(engine).get_table_names()) & set(FAQ_TABLES)
    finally:
        engine.dispose()


def test_export_keeps_text_that_yaml_would_misread(store, tmp_path):
    tricky = [
        "yes",
        "null",
        "123",
        "- 不是列表",
        "问: 冒号后有空格",
        "#不是注释",
        "  前后空格  ",
        "'单引号' 和 \"双引号\"",
        "@符号开头",
        "%百分号",
        "多行\n  缩进的第二行",
    ]
    answer = "第一行\n\n  缩进两格的第二段\n最后一行带冒号: 和井号 # 号"
    store.create(
        {
            "id": "general-tricky",
            "category": "general",
            "question": "? 问号开头的问题",
            "paraphrases": tricky,
            "answer": answer,
        },
        "editor1",
    )
    out = tmp_path / "out"
    store.export_dir(out)
    exported = load_kb(out).get("general-tricky")
    assert exported.question == "? 问号开头的问题"
    assert list(exported.paraphrases) == [t.strip() for t in tricky]
    assert exported.answer == answer
    assert _semantic(load_kb(out)) == _semantic(store.load())
