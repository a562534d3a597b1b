"""What merchants type into the ticket form: parsed values and the problems named on a re-ask."""

from __future__ import annotations

from datetime import date

import pytest

from actions.validators import (
    parse_amount,
    parse_date,
    parse_description,
    parse_device_serial,
    parse_merchant_id,
    parse_phone,
    parse_rating,
    parse_terminal_id,
)

TODAY = date(2026, 11, 25)  # a Wednesday


@pytest.mark.parametrize(
    "text, expected",
    [
        ("898310048161234", ("898310048161234", None)),
        ("商户号是898310048161234", ("898310048161234", None)),
        ("8983 1004 8161 234", ("898310048161234", None)),
        ("８９８３１００４８１６１２３４", ("898310048161234", None)),
        ("12345", (None, "商户号是15位数字，您发的是5位")),
        ("不知道", (None, "没有看到数字哦，商户号是15位数字")),
    ],
)
def test_merchant_id(text, expected):
    assert parse_merchant_id(text) == expected


def test_terminal_id():
    assert parse_terminal_id("终端号 21450093") == ("21450093", None)
    assert parse_terminal_id("2145009") == (None, "终端号是8位数字，您发的是7位")
    # The eight digits at the end of a serial number are not a terminal id.
    assert parse_terminal_id("SN: N910SN00123456")[0] is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("SN: N910SN00123456", "N910SN00123456"),
        ("序列号是vx520c01234589", "VX520C01234589"),
        ("21450093", None),
        ("SN", None),
        ("不知道", None),
    ],
)
def test_device_serial(text, expected):
    assert parse_device_serial(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("13812345678", ("13812345678", None)),
        ("+86 138-1234-5678", ("13812345678", None)),
        ("12345678901", (None, "手机号应该是1开头、第二位是3到9的11位号码")),
        ("1381234567", (None, "手机号是11位数字，您发的是10位")),
        ("没有", (None, "没有看到号码哦，手机号是11位数字")),
    ],
)
def test_phone(text, expected):
    assert parse_phone(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("3000", "3000.00"),
        ("3000块", "3000.00"),
        ("1,280.50元", "1280.50"),
        ("1.5万", "15000.00"),
        ("两万", "20000.00"),
        ("四千八", "4800.00"),
        ("三十五块", "35.00"),
        ("一千二百三十四元", "1234.00"),
        ("大概五百块钱", "500.00"),
    ],
)
def test_amount(text, expected):
    assert parse_amount(text) == (expected, None)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("0", "金额要大于0"),
        ("-5", "金额要大于0"),
        ("12.345", "金额最多保留两位小数（精确到分）"),
        ("很多钱", "没有看到金额，请直接发数字，比如 1280 或 1280.50"),
        ("20000000", "金额太大了，请核对一下（单位是元）"),
    ],
)
def test_bad_amount(text, problem):
    assert parse_amount(text) == (None, problem)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("今天", "2026-11-25"),
        ("昨天", "2026-11-24"),
        ("昨天下午", "2026-11-24"),
        ("前天", "2026-11-23"),
        ("大前天", "2026-11-22"),
        ("11月20号", "2026-11-20"),
        ("11月20日", "2026-11-20"),
        ("十一月二十号", "2026-11-20"),
        ("2026-11-20", "2026-11-20"),
        ("2026年11月20日", "2026-11-20"),
        ("11/20", "2026-11-20"),
        ("12月30日", "2025-12-30"),  # a month still to come this year means last year
        ("20号", "2026-11-20"),
        ("上周五", "2026-11-20"),
    ],
)
def test_date(text, expected):
    assert parse_date(text, TODAY) == (expected, None)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("明天", "交易日期不能晚于今天"),
        ("2026-11-30", "交易日期不能晚于今天"),
        ("2月30日", "这个日期不存在，请核对一下"),
        ("上周", "需要具体到哪一天，比如“11月20日”"),
        ("不记得了", "没看懂是哪天，可以说“昨天”“前天”或“11月20日”"),
        ("2024-01-01", "这个日期超过一年了，请核对一下"),
    ],
)
def test_bad_date(text, problem):
    assert parse_date(text, TODAY) == (None, problem)


def test_description():
    assert parse_description("  打印机   不出纸 ") == ("打印机 不出纸", None)
    assert parse_description("坏") == (None, "描述有点太短了，请多说几个字")
    assert parse_description("/affirm") == (None, "请用文字简单描述一下问题")
    assert len(parse_description("坏" * 900)[0]) == 500


@pytest.mark.parametrize(
    "text, expected", [("5", 5), ("5分", 5), ("五星", 5), ("满分", 5), ("两星", 2), ("还行吧", None)]
)
def test_rating(text, expected):
    assert parse_rating(text) == expected
