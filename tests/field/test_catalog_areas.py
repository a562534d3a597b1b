"""What can be ordered (sizes, ribbons, parts; quantities) and the service area of an address."""

from __future__ import annotations

import pytest

from bot.field.areas import check_address, service_area
from bot.field.catalog import BY_CODE, find_item, parse_quantity


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("57×50的", "paper_57x50"),
        ("57*50 热敏纸", "paper_57x50"),
        ("要80x80的打印纸", "paper_80x80"),
        ("80X60", "paper_80x60"),
        ("色带没了", "ribbon_needle"),
        ("色代", "ribbon_needle"),  # a common typo
        ("打印头坏了要换", "part_print_head"),
        ("充电器", "part_charger"),
        ("paper_57x40", "paper_57x40"),  # a button payload
    ],
)
def test_items_by_their_names(text, code):
    item, problem = find_item(text)
    assert problem is None and item.code == code


def test_paper_without_a_size_asks_which_size():
    item, problem = find_item("打印纸")
    assert item is None and "57×50mm、57×40mm、80×80mm、80×60mm" in problem


def test_a_size_we_do_not_have_names_the_sizes_we_do():
    item, problem = find_item("76×76的纸")
    assert item is None and problem.startswith("没有 76×76 这种规格的纸")


def test_something_else_is_not_an_item():
    assert find_item("你好")[0] is None


@pytest.mark.parametrize(
    ("text", "n"), [("5", 5), ("五卷", 5), ("要十卷", 10), ("两个", 2), ("二十", 20), ("50卷", 50)]
)
def test_quantities(text, n):
    assert parse_quantity(text, BY_CODE["paper_80x80"], 50) == (n, None)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0", "数量至少是1卷"),
        ("500", "一次最多能申请50卷，需要更多可以分次申请，或说“转人工”联系客服"),
        ("很多", "需要一个具体的数字，比如“5卷”，一次最多50卷"),
        ("2.5", "数量要是1到50之间的整数（单位：卷）"),
        ("嗯", "没看到数量，请直接说要几卷，比如“5卷”"),
    ],
)
def test_impossible_quantities_say_why(text, problem):
    assert parse_quantity(text, BY_CODE["paper_80x80"], 50) == (None, problem)


def test_parts_have_their_own_limit_and_unit():
    assert parse_quantity("6", BY_CODE["part_battery"], 5) == (
        None,
        "一次最多能申请5块，需要更多可以分次申请，或说“转人工”联系客服",
    )


@pytest.mark.parametrize(
    ("address", "area"),
    [
        ("浙江省杭州市西湖区文三路100号", "杭州市西湖区"),
        ("上海市浦东新区张江路1号", "上海市浦东新区"),
        ("北京朝阳区建国路88号", "北京市朝阳区"),
        ("江苏省昆山市玉山镇人民路1号", "昆山市"),
        ("广东省佛山市顺德区大良街道新桂路2号", "佛山市顺德区"),
    ],
)
def test_service_area_from_the_address(address, area):
    assert service_area(address) == area
    assert check_address(address) == (address, area, None)


@pytest.mark.parametrize("address", ["文三路100号", "门口", "/inform"])
def test_an_address_without_city_or_district_is_asked_again(address):
    found, area, problem = check_address(address)
    assert found is None and area is None and problem
