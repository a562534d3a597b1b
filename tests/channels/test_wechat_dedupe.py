"""De-duplication of WeChat's retries on a real database (SQLite and PostgreSQL).

The store and answer_once run against migrated databases from tests/conftest.py; the
channel test plays WeChat's side (encrypt, post the same message twice) with the Rasa
turn replaced by a counter, since a real turn needs the trained model (tests/e2e covers it).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto

from bot.channels.wechat_dedupe import KEY_MAX, WeChatMessageStore, answer_once, message_key
from bot.core.db import Database
from tests.conftest import WECHAT_TEST_SETTINGS as WX


class Clock:
    def __init__(self):
        self.now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(database, clock):
    return WeChatMessageStore(database, clock=clock)


class Counter:
    """An answer() that counts its calls and can be held back, like a slow Rasa turn."""

    def __init__(self, text: str = "您好", delay_s: float = 0.0):
        self.text, self.delay_s, self.calls = text, delay_s, 0

    async def __call__(self) -> str:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        return self.text


# --- schema -------------------------------------------------------------------------------


def test_migration_matches_the_model(database):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import bot.core.models  # noqa: F401  (all tables on Base.metadata)
    from bot.core.db import Base

    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert [d for d in diff if "wechat_messages" in repr(d)] == []


def test_migration_downgrades_and_upgrades_again(db_url):
    import sqlalchemy as sa
    from alembic import command

    from bot.core.db import alembic_config, make_engine, upgrade

    upgrade(db_url)
    command.downgrade(alembic_config(db_url), "0002_conversations")
    engine = make_engine(db_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
        assert "wechat_messages" not in tables and "conversations" in tables
    finally:
        engine.dispose()
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        assert "wechat_messages" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


# --- the store ----------------------------------------------------------------------------


def test_first_claim_wins_and_a_retry_sees_it_in_progress(store):
    assert store.claim("msg:1", "oFan1") is True
    assert store.claim("msg:1", "oFan1") is False
    assert store.reply("msg:1") is None  # still running
    assert store.claim("msg:2", "oFan1") is True  # another message is not a retry


def test_a_stored_reply_is_returned_to_a_retry(store):
    store.claim("msg:1", "oFan1")
    store.finish("msg:1", "刷卡机激活步骤……")
    assert store.claim("msg:1", "oFan1") is False
    assert store.reply("msg:1") == "刷卡机激活步骤……"
    # "Nothing to say" is an answer too, not "still running".
    store.claim("msg:2", "oFan1")
    store.finish("msg:2", "")
    assert store.reply("msg:2") == ""


def test_concurrent_claims_from_several_instances_have_exactly_one_winner(database):
    # Separate Database objects: separate pools, as separate app instances would have.
    instances = [Database(database.url) for _ in range(4)]
    stores = [WeChatMessageStore(db) for db in instances for _ in range(2)]
    barrier = threading.Barrier(len(stores))
    results: list[bool] = []

    def claim(s: WeChatMessageStore) -> None:
        barrier.wait()
        results.append(s.claim("msg:42", "oFan1"))

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        for db in instances:
            db.dispose()
    assert sorted(results) == [False] * (len(stores) - 1) + [True]


def test_claims_prune_rows_older_than_a_day(store, clock):
    store.claim("msg:old", "oFan1")
    store.finish("msg:old", "旧回复")
    clock.now += timedelta(hours=23)
    store.claim("msg:recent", "oFan1")
    assert store.reply("msg:old") == "旧回复"  # younger than a day: kept

    clock.now += timedelta(hours=2)
    store.claim("msg:new", "oFan1")  # a new message prunes what expired
    assert store.claim("msg:old", "oFan1") is True  # gone, so claimable again
    assert store.reply("msg:recent") is None and store.claim("msg:recent", "oFan1") is False

    clock.now += timedelta(days=2)
    assert store.prune() == 3
    assert store.prune() == 0


# --- answer_once --------------------------------------------------------------------------


async def test_a_retry_after_the_answer_gets_the_same_text_without_a_second_turn(store):
    answer = Counter("请回复数字选择：\n1. 是\n2. 否")
    first = await answer_once(store, "msg:7", "oFan1", answer)
    retry = await answer_once(store, "msg:7", "oFan1", answer)
    assert retry == first and answer.calls == 1


async def test_a_retry_during_the_first_attempt_waits_for_its_answer(store):
    answer = Counter("结算一般T+1到账", delay_s=0.5)
    first = asyncio.create_task(answer_once(store, "msg:8", "oFan1", answer))
    await asyncio.sleep(0.1)  # the first attempt has claimed the message and is "in Rasa"
    started = time.monotonic()
    retry = await answer_once(store, "msg:8", "oFan1", answer, wait_s=4.0, poll_s=0.05)
    assert retry == "结算一般T+1到账" and time.monotonic() - started < 2
    assert await first == retry and answer.calls == 1


async def test_a_retry_gives_up_waiting_with_no_reply(store):
    answer = Counter("太慢了", delay_s=1.5)
    first = asyncio.create_task(answer_once(store, "msg:9", "oFan1", answer))
    await asyncio.sleep(0.1)
    assert await answer_once(store, "msg:9", "oFan1", answer, wait_s=0.3, poll_s=0.05) == ""
    assert await first == "太慢了" and answer.calls == 1
    # The next retry finds the stored reply.
    assert await answer_once(store, "msg:9", "oFan1", answer) == "太慢了"


async def test_concurrent_copies_of_one_message_make_one_turn(store):
    answer = Counter("您好，请问有什么可以帮您？", delay_s=0.2)
    replies = await asyncio.gather(
        *(answer_once(store, "msg:10", "oFan1", answer, wait_s=4.0, poll_s=0.05) for _ in range(5))
    )
    assert answer.calls == 1
    assert replies == ["您好，请问有什么可以帮您？"] * 5


async def test_a_failed_first_attempt_is_not_run_again(store):
    async def boom() -> str:
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        await answer_once(store, "msg:11", "oFan1", boom)
    answer = Counter("不该出现")
    started = time.monotonic()
    assert await answer_once(store, "msg:11", "oFan1", answer) == ""  # "success", at once
    assert answer.calls == 0 and time.monotonic() - started < 3  # no 4 s wait


# --- keys ---------------------------------------------------------------------------------


def _xml(openid: str, create_time: int, body: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime>{body}</xml>"
    )


def test_message_keys():
    text = parse_message(_xml("oFan1", 1700000000, "<MsgType>text</MsgType><Content>是</Content><MsgId>6123</MsgId>"))
    assert message_key(text) == "msg:6123"
    subscribe = parse_message(_xml("oFan1", 1700000000, "<MsgType>event</MsgType><Event>subscribe</Event>"))
    location = parse_message(
        _xml(
            "oFan1",
            1700000000,
            "<MsgType>event</MsgType><Event>LOCATION</Event><Latitude>1</Latitude>"
            "<Longitude>2</Longitude><Precision>3</Precision>",
        )
    )
    assert message_key(subscribe) == "event:oFan1:1700000000:subscribe"
    assert message_key(location) != message_key(subscribe)  # two events in one second are two events
    long = parse_message(_xml("o" * 300, 1700000000, "<MsgType>event</MsgType><Event>subscribe</Event>"))
    assert len(message_key(long)) <= KEY_MAX


# --- the channel: retries are re-rendered and re-encrypted per request ----------------------


async def test_channel_answers_a_retried_message_once_and_encrypts_each_reply(database, tmp_path):
    from bot.channels.wechat import WeChatChannel
    from bot.core.settings import Settings

    settings = Settings(_env_file=None, data_dir=tmp_path, **WX)
    from bot.core.shared_state import DatabaseState

    channel = WeChatChannel(settings, chat=None, messages=WeChatMessageStore(database), state=DatabaseState(database))  # type: ignore[arg-type]
    answer = Counter("已为您登记")
    channel.turns._answer = lambda msg: answer()  # the Rasa turn; e2e tests run the real one
    crypto = WeChatCrypto(WX["wechat_token"], WX["wechat_aes_key"], WX["wechat_app_id"])
    inner = _xml("oFan1", int(time.time()), "<MsgType>text</MsgType><Content>是</Content><MsgId>77</MsgId>")

    async def post(nonce: str) -> str:
        ts = str(int(time.time()))
        root = ElementTree.fromstring(crypto.encrypt_message(inner, nonce, ts))
        params = {
            "signature": hashlib.sha1("".join(sorted([WX["wechat_token"], ts, nonce])).encode()).hexdigest(),
            "timestamp": ts,
            "nonce": nonce,
            "encrypt_type": "aes",
            "msg_signature": root.findtext("MsgSignature"),
        }
        body = f"<xml><Encrypt><![CDATA[{root.findtext('Encrypt')}]]></Encrypt></xml>".encode()
        xml = await channel.handle(body, params)
        reply = ElementTree.fromstring(xml)
        assert reply.findtext("Nonce") == nonce  # encrypted for this request
        plain = crypto.decrypt_message(xml, reply.findtext("MsgSignature"), reply.findtext("TimeStamp"), nonce)
        return ElementTree.fromstring(plain).findtext("Content")

    assert await post("nonce1") == "已为您登记"
    assert await post("nonce2") == "已为您登记"
    assert answer.calls == 1
