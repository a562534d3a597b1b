"""Knowledge-base loading: every problem names the file and the entry id."""

from __future__ import annotations

import textwrap

import pytest

from bot.faq.evalset import load_eval
from bot.faq.kb import KbError, dedup_key
from bot.faq.loader import load_kb
from tests.faq.conftest import FIXTURES, write_yaml

PARAS = "[一一, 二二, 三三, 四四, 五五, 六六]"


def entry(eid: str, *, category="fault", question="问题", paraphrases=PARAS, answer="答案") -> str:
    return textwrap.dedent(
        f"""\
          - id: {eid}
            category: {category}
            question: {question}
            paraphrases: {paraphrases}
            answer: "{answer}"
        """
    )


def kb(tmp_path, **files: str):
    for name, body in files.items():
        write_yaml(tmp_path / f"{name}.yml", "entries:\n" + body)
    return tmp_path


def test_fixture_kb_loads_with_hashes():
    kb_ = load_kb(FIXTURES / "kb")
    assert len(kb_) == 8
    e = kb_.get("fault-printer-no-receipt")
    assert e.category == "fault" and e.subcategory == "printer" and e.escalate == "repair"
    assert len(e.paraphrases) >= 6 and e.source_file.endswith("fault.yml")
    assert len(kb_.content_hash) == 64 and len(kb_.index_hash) == 64


def test_eval_files_are_not_kb_entries():
    kb_ = load_kb(FIXTURES / "kb")
    assert all("eval" not in e.source_file for e in kb_.entries)
    ev = load_eval(FIXTURES / "kb" / "eval", kb_)
    assert len(ev.in_scope) == 4 and len(ev.out_of_scope) == 2


def test_duplicate_id_names_both_files(tmp_path):
    kb(
        tmp_path,
        a=entry("dup-id", question="甲"),
        b=entry("dup-id", question="乙", paraphrases="[七七, 八八, 九九, 十十, 百百, 千千]"),
    )
    with pytest.raises(KbError) as err:
        load_kb(tmp_path)
    assert err.value.file.endswith("b.yml") and err.value.entry_id == "dup-id"
    assert "a.yml" in str(err.value) and "duplicate id" in str(err.value)


def test_empty_answer(tmp_path):
    kb(tmp_path, a=entry("no-answer", answer="   "))
    with pytest.raises(KbError) as err:
        load_kb(tmp_path)
    assert err.value.entry_id == "no-answer" and "empty 'answer'" in str(err.value)
    assert "a.yml" in str(err.value)


def test_unknown_category(tmp_path):
    kb(tmp_path, a=entry("bad-cat", category="billing"))
    with pytest.raises(KbError, match=r"a\.yml: entry 'bad-cat': unknown category 'billing'"):
        load_kb(tmp_path)


def test_too_few_paraphrases(tmp_path):
    kb(tmp_path, a=entry("thin", paraphrases="[一一, 二二, 三三]"))
    with pytest.raises(KbError, match=r"entry 'thin': has 3 distinct paraphrase\(s\); at least 6"):
        load_kb(tmp_path)


def test_paraphrase_duplicated_across_entries_after_normalisation(tmp_path):
    kb(
        tmp_path,
        a=entry("first", paraphrases="[POS机不打单？, 二二, 三三, 四四, 五五, 六六]"),
        b=entry("second", question="别的问题", paraphrases="['pos机 不打单', 七七, 八八, 九九, 十十, 百百]"),
    )
    with pytest.raises(KbError) as err:
        load_kb(tmp_path)
    msg = str(err.value)
    assert err.value.file.endswith("b.yml") and err.value.entry_id == "second"
    assert "first" in msg and "a.yml" in msg


def test_all_problems_reported_at_once(tmp_path):
    kb(tmp_path, a=entry("one", category="nope") + entry("two", answer=""))
    with pytest.raises(KbError) as err:
        load_kb(tmp_path)
    assert {p.entry_id for p in err.value.problems} == {"one", "two"}


def test_yaml_syntax_error_names_file(tmp_path):
    write_yaml(tmp_path / "broken.yml", "entries:\n  - id: x\n    question: [unclosed\n")
    with pytest.raises(KbError) as err:
        load_kb(tmp_path)
    assert err.value.file.endswith("broken.yml") and "YAML" in str(err.value)


def test_eval_expected_id_must_exist(tmp_path):
    kb_ = load_kb(FIXTURES / "kb")
    write_yaml(tmp_path / "eval" / "x.yml", "questions:\n  - text: 随便问问\n    expected: no-such-entry\n")
    with pytest.raises(KbError, match="no-such-entry"):
        load_eval(tmp_path / "eval", kb_)


def test_dedup_key_ignores_case_width_punctuation_space():
    assert dedup_key("ＰＯＳ机 不打单？") == dedup_key("pos机不打单") == dedup_key(" POS机，不打单! ")


# --- negatives ---------------------------------------------------------------------------


def negatives_file(tmp_path, body: str):
    return write_yaml(tmp_path / "negatives.yml", body)


def test_negatives_load_and_are_not_entries(tmp_path):
    kb(tmp_path, a=entry("one", question="刷卡机不打单"))
    negatives_file(tmp_path, "negatives:\n  - 信用卡怎么还款\n  - 今天天气怎么样\n")
    kb_ = load_kb(tmp_path)
    assert [e.id for e in kb_.entries] == ["one"]
    assert kb_.negatives == ("信用卡怎么还款", "今天天气怎么样")
    assert len(kb_.negatives_hash) == 64
    assert kb_.files[-1].name == "negatives.yml"


def test_fixture_kb_has_negatives():
    assert len(load_kb(FIXTURES / "kb").negatives) == 6


def test_negatives_edit_changes_content_hash_not_index_hash(tmp_path):
    kb(tmp_path, a=entry("one"))
    path = negatives_file(tmp_path, "negatives:\n  - 信用卡怎么还款\n")
    before = load_kb(tmp_path)
    path.write_text("negatives:\n  - 信用卡怎么还款\n  - 花呗怎么还\n", encoding="utf-8")
    after = load_kb(tmp_path)
    assert after.content_hash != before.content_hash
    assert after.index_hash == before.index_hash  # entry vectors stay valid
    assert after.negatives_hash != before.negatives_hash


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("negatives:\n  - 信用卡怎么还款\n  - ''\n", "empty or non-text negative"),
        ("negatives:\n  - 信用卡怎么还款\n  - '😀？'\n", "empty or non-text negative"),
        ("negatives:\n  - 信用卡怎么还款\n  - [a, b]\n", "empty or non-text negative"),
        ("negatives:\n  - 信用卡怎么还款？\n  - 信用卡 怎么还款\n", "duplicates '信用卡怎么还款？'"),
        ("negatives:\n  - POS机不打单？\n", "is a wording of entry 'one'"),
        ("negatives: 信用卡怎么还款\n", "'negatives:' must be a list"),
    ],
)
def test_invalid_negatives(tmp_path, body, message):
    kb(tmp_path, a=entry("one", paraphrases="['pos机 不打单', 二二, 三三, 四四, 五五, 六六]"))
    negatives_file(tmp_path, body)
    with pytest.raises(KbError) as err:
        load_kb(tmp_path)
    assert message in str(err.value)
    assert err.value.file.endswith("negatives.yml")


def test_file_with_neither_entries_nor_negatives(tmp_path):
    kb(tmp_path, a=entry("one"))
    write_yaml(tmp_path / "other.yml", "questions:\n  - 随便\n")
    with pytest.raises(KbError, match=r"other\.yml: expected a top-level 'entries:' \(or 'negatives:'\) list"):
        load_kb(tmp_path)


# --- eval leakage ------------------------------------------------------------------------


def test_eval_leaks_exact_and_near(tmp_path):
    from bot.faq.evalset import eval_leaks, without_leaks

    kb(
        tmp_path,
        a=entry("one", question="刷卡机不打单", paraphrases="[换了新色带还是不转, 二二, 三三, 四四, 五五, 六六]"),
    )
    negatives_file(tmp_path, "negatives:\n  - 个人所得税怎么退税\n  - 信用卡年费怎么免\n  - 社保怎么交\n")
    write_yaml(
        tmp_path / "eval" / "e.yml",
        "questions:\n  - text: 换了新色带还是不转\n    expected: one\n  - text: 机器不出小票\n    expected: one\n"
        "out_of_scope:\n  - 信用卡年费怎么免？\n  - 个人所得税怎么退\n  - 今天天气怎么样\n",
    )
    kb_ = load_kb(tmp_path)
    leaks = eval_leaks(kb_, load_eval(tmp_path / "eval", kb_))
    found = {(leak.eval_text, leak.kb_text, leak.owner, leak.exact) for leak in leaks}
    assert found == {
        ("换了新色带还是不转", "换了新色带还是不转", "one", True),
        ("信用卡年费怎么免？", "信用卡年费怎么免", "negatives", True),
        ("个人所得税怎么退", "个人所得税怎么退税", "negatives", False),
    }
    assert "e.yml" in str(leaks[0])
    clean = without_leaks(kb_, leaks)
    assert clean.negatives == ("社保怎么交",)
    assert "换了新色带还是不转" not in clean.get("one").texts and len(clean.get("one").texts) == 6
    assert clean.index_hash != kb_.index_hash
