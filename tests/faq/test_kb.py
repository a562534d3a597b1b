"""Knowledge-base loading: every problem names the file and the entry id."""

from __future__ import annotations

import textwrap

import pytest

from bot.faq.kb import KbError, dedup_key, load_eval, load_kb
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
    kb(tmp_path, a=entry("dup-id", question="甲"), b=entry("dup-id", question="乙", paraphrases="[七七, 八八, 九九, 十十, 百百, 千千]"))
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
