"""Brands, domain vocabulary, fillers and typos (data/lexicon) and the Rasa files made from them."""

from __future__ import annotations

import pytest

from bot.faq.encoders import normalize_text
from bot.faq.lexicon import LexiconError, default_lexicon, fingerprint, load_lexicon
from tests.faq.conftest import write_yaml


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("拉卡拉POS机不打单", "pos机不打单"),
        ("请问一下，乐刷POS机刷卡失败", "pos机刷卡失败"),
        ("你好我想问一下快钱pos机怎么激活", "pos机怎么激活"),
        ("您好！银联商务的机器不到账", "机器不到账"),
        ("POS機的小票紙用完了還能刷卡嗎😭", "pos机的小票纸用完了还能刷卡吗"),
        ("刷咔失败怎么办", "刷卡失败怎么办"),
        ("破死机手序费多少", "pos机手续费多少"),
    ],
)
def test_normalised_query_is_the_question(text, expected):
    assert normalize_text(text) == expected


@pytest.mark.parametrize(
    "text",
    ["拉卡拉怎么样", "你好", "想快点到钱", "交易中付款失败", "请问"],
)
def test_text_that_is_only_a_brand_or_a_greeting_keeps_it(text):
    # a brand alone is the question; "快钱"/"中付" inside ordinary words are not brands
    assert normalize_text(text) == text


def test_brands_are_recognised_with_their_aliases():
    lx = default_lexicon()
    assert lx.find_brand("我的lakala机器").name == "拉卡拉"
    assert lx.find_brand("Verifone VX520").name == "惠尔丰"
    assert lx.find_brand("中付的机器坏了").name == "中付"
    assert lx.find_brand("交易中付款失败") is None
    assert lx.find_brand("paxos") is None and lx.find_brand("pax的机器").name == "百富"
    assert [b.name for b in lx.find_brands("拉卡拉和新大陆")] == ["拉卡拉", "新大陆"]
    assert lx.brand("随性付").name == "随行付" and lx.brand("nobody") is None


@pytest.mark.parametrize(
    ("text", "level", "area"),
    [
        ("POS机电池鼓包了", "core", "fault"),
        ("刷卡的钱没到账", "domain", "settlement"),
        ("手续费怎么这么高", "domain", "fees"),
        ("拉卡拉怎么样", "core", None),
        ("今天天气怎么样", "none", None),
        ("信用卡怎么分期还款", "none", None),
        ("POS機怎麼激活", "core", "activation"),
    ],
)
def test_domain_signal(text, level, area):
    sig = default_lexicon().domain_signal(text)
    assert sig.level == level
    assert (sig.areas[0] if sig.areas else None) == area
    assert sig.in_domain == (level != "none")


def test_generated_rasa_files_are_current():
    from bot.faq.nlu_data import generated_files

    stale = [str(p) for p, text in generated_files().items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    assert stale == [], "run `posbot faq lexicon --write`"


def test_rasa_brand_data_lists_every_spelling_once():
    doc = default_lexicon().rasa_brands()
    lookup = next(i for i in doc["nlu"] if i.get("lookup") == "brand")["examples"].splitlines()
    synonyms = {i["synonym"]: i["examples"].splitlines() for i in doc["nlu"] if "synonym" in i}
    assert "- 拉卡拉" in lookup and "- 快钱" not in lookup  # contextual spellings are in the regex
    assert len(lookup) == len(set(lookup))
    assert "- 随性付" in synonyms["随行付"]


def test_fingerprint_follows_the_lexicon(tmp_path):
    write_yaml(tmp_path / "brands.yml", "brands:\n  - {name: 甲, kind: provider, aliases: [甲支付]}\n")
    write_yaml(
        tmp_path / "domain.yml",
        "core: [pos机]\ndomain: [到账]\nareas: {fees: [费率]}\nfillers: [请问]\ntypos: {刷咔: 刷卡}\n",
    )
    a = load_lexicon(tmp_path)
    write_yaml(tmp_path / "brands.yml", "brands:\n  - {name: 甲, kind: provider, aliases: [甲支付, 甲付]}\n")
    b = load_lexicon(tmp_path)
    assert fingerprint(a) != fingerprint(b)
    assert b.clean("甲付pos机坏了") == "pos机坏了"


def test_invalid_lexicon_lists_every_problem(tmp_path):
    write_yaml(
        tmp_path / "brands.yml",
        "brands:\n  - {name: 甲, kind: shop}\n  - {name: 乙, kind: maker, aliases: [甲]}\n"
        "  - {name: 丙, kind: maker, contextual: [丁]}\n  - {kind: maker}\n",
    )
    write_yaml(tmp_path / "domain.yml", "core: [pos机]\ndomain: [pos机]\nareas: {lottery: [彩票]}\ntypos: {a: a}\n")
    with pytest.raises(LexiconError) as err:
        load_lexicon(tmp_path)
    text = "\n".join(err.value.problems)
    for expected in (
        "kind 'shop'",
        "'甲' also belongs",
        "contextual '丁'",
        "needs a 'name'",
        "both core and domain",
        "unknown area 'lottery'",
        "maps to itself",
    ):
        assert expected in text, expected


@pytest.mark.parametrize(
    "text, vague",
    [
        ("机器有点问题", True),
        ("我的pos机坏了怎么办？", True),
        ("請問刷卡機出問題了", True),  # traditional characters and a filler
        ("有点问题", True),
        ("打印机有问题", False),  # says which part
        ("刷卡有问题", False),
        ("机器黑屏了", False),
        ("机器", False),  # no problem named at all
        ("你好", False),
    ],
)
def test_a_vague_complaint_names_no_problem(text, vague):
    assert default_lexicon().is_vague(text) is vague
