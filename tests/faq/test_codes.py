"""The response-code table: validation, lookup and finding codes the way merchants quote them."""

from __future__ import annotations

import pytest

from bot.faq.codes import (
    CODE_MENTION,
    CodeTableError,
    canonical_code,
    default_codes,
    find_code,
    find_codes,
    load_codes,
    lookup,
)
from tests.faq.conftest import write_yaml


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("返回码05", "05"),
        ("显示61", "61"),
        ("提示12无效交易", "12"),
        ("错误代码A7", "A7"),
        ("交易失败 33", "33"),
        ("报错 96", "96"),
        ("机器显示A7是不是卡被封了", "A7"),
        ("屏幕弹出“28-密码次数超限”", "28"),
        ("05是什么意思", "05"),
        ("提示【a0】", "A0"),
        ("应答码：14", "14"),
        ("显示５１", "51"),  # full-width digits
        ("显示5", "05"),  # a single digit is how some terminals print 05
    ],
)
def test_codes_are_found_in_the_forms_merchants_use(text, code):
    m = find_code(text)
    assert m is not None and m.code == code and m.known


@pytest.mark.parametrize(
    "text",
    [
        "刷卡失败10次",
        "显示3000元",
        "刷了3000块钱没到账",
        "机器显示10点到账",
        "刷卡机屏幕上写着交换中心异常",
        "显示4g信号",
        "5月3号签到失败",
    ],
)
def test_numbers_that_are_not_codes_are_left_alone(text):
    assert find_codes(text) == []


def test_unknown_and_malformed_codes_are_still_found():
    [m] = find_codes("错误码9999")
    assert m.code == "9999" and not m.known and not m.well_formed
    [m] = find_codes("收款机状态码l1代表什么")
    assert m.code == "L1" and not m.known and m.well_formed


def test_two_codes_in_one_message_known_first():
    found = find_codes("先显示B9后来又提示55")
    assert [m.code for m in found] == ["B9", "55"]
    assert find_code("先显示B9后来又提示55").code == "55"


def test_the_table_covers_the_common_codes_with_sides_and_steps():
    table = default_codes()
    for code in ("00", "01", "03", "04", "05", "12", "13", "14", "33", "41", "51", "54", "55", "61", "96", "A0"):
        e = table.get(code)
        assert e is not None and e.meaning and e.steps, code
    assert table.get("51").side == "cardholder"
    assert table.get("03").side == "merchant"
    assert table.get("96").side == "acquirer"
    assert table.get("00").success and not table.get("05").success
    assert table.get("A7").varies and not table.get("51").varies


def test_lookup_and_canonical_forms():
    assert canonical_code(" a7 ") == "A7"
    assert canonical_code("五") is None and canonical_code("") is None and canonical_code(None) is None
    assert lookup("5").code == "05" and lookup("5").known
    assert not lookup("ZZ").known


def test_rasa_pattern_is_the_same_one():
    from bot.faq.codes import rasa_regex

    assert rasa_regex() == CODE_MENTION.pattern


def test_invalid_tables_list_every_problem(tmp_path):
    path = write_yaml(
        tmp_path / "codes.yml",
        """
advice:
  a: [先试一下]
  empty: []
codes:
  - {code: 5, meaning: x, side: merchant, advice: a}
  - {code: "05", meaning: "", side: merchant, advice: a}
  - {code: "06", meaning: x, side: nobody, advice: a}
  - {code: "07", meaning: x, side: merchant, advice: missing}
  - {code: "08", meaning: x, side: merchant}
  - {code: "09", meaning: x, side: merchant, advice: a, steps: [b]}
  - {code: "10", meaning: x, side: merchant, advice: a}
  - {code: "10", meaning: y, side: merchant, advice: a}
""",
    )
    with pytest.raises(CodeTableError) as err:
        load_codes(path)
    text = "\n".join(err.value.problems)
    for expected in (
        "advice 'empty'",
        "code '5'",
        "code '05': empty 'meaning'",
        "code '06': side",
        "unknown advice",
        "code '08': needs",
        "code '09': give",
        "code '10': defined twice",
    ):
        assert expected in text, expected


def test_unreadable_table(tmp_path):
    with pytest.raises(CodeTableError):
        load_codes(tmp_path / "missing.yml")
    with pytest.raises(CodeTableError):
        load_codes(write_yaml(tmp_path / "bad.yml", "codes: {not: a list}"))
