"""Fixtures of the channel tests: the app's channel wiring on a real database, against the Tencent
API stand-in and a scripted Rasa, both real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from bot.core.settings import Settings
from tests.conftest import WECHAT_TEST_SETTINGS as WX
from tests.tencent_standin import TencentStandIn
from tests.wechat_side import WeChatSide, WeComSide

from .fake_rasa import FakeRasa

WECOM_TOKEN = "wecom-test-token"
WECOM_AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj"


@pytest.fixture
def standin():
    s = TencentStandIn(appid=WX["wechat_app_id"]).start()
    yield s
    s.stop()


@pytest.fixture
def fake_rasa():
    r = FakeRasa().start()
    yield r
    r.stop()


def channel_settings(tmp_path, standin, fake_rasa, **overrides) -> Settings:
    values = dict(
        WX,
        data_dir=tmp_path,
        rasa_url=fake_rasa.url,
        wechat_app_secret=standin.secret,
        wechat_api_base=standin.url,
        wecom_api_base=standin.url,
        wecom_corp_id=standin.corp_id,
        wecom_agent_id=standin.agent_id,
        wecom_secret=standin.corp_secret,
        wecom_token=WECOM_TOKEN,
        wecom_aes_key=WECOM_AES_KEY,
        wechat_passive_reply_s=1.0,
        push_max_attempts=3,
        push_backoff_base_s=1.0,
        push_backoff_max_s=10.0,
        outbox_worker_enabled=False,  # the tests drive the worker, with a clock they control
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)


class ShiftClock:
    """The real time plus what the test advanced: rows enqueued "now" are due at once, backoff can be skipped."""

    def __init__(self):
        self.shift = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift

    def advance(self, seconds: float) -> None:
        self.shift += timedelta(seconds=seconds)


class Harness:
    """One app instance: the wechat/wecom/conversations/deliveries routers and a channel-outbox worker."""

    def __init__(self, settings: Settings, database, standin: TencentStandIn, rasa: FakeRasa):
        self.settings, self.db, self.standin, self.rasa = settings, database, standin, rasa
        self.clock = ShiftClock()

    async def start(self) -> Harness:
        from bot.api import conversations, deliveries, wechat
        from bot.api.errors import install_error_handlers
        from bot.channels.outbox import ChannelOutboxWorker
        from bot.channels.tencent import build_senders
        from bot.chat.service import ChatService
        from bot.conversations.service import ConversationService
        from bot.core.app import start_channels
        from bot.core.services import Services
        from bot.core.shared_state import DatabaseState
        from bot.rasa.client import RasaClient
        from bot.tickets.apikeys import ApiKeyStore
        from bot.tickets.service import TicketService

        app = FastAPI()
        install_error_handlers(app)
        for module in (wechat, conversations, deliveries):
            app.include_router(module.router)
        self.services = Services(
            settings=self.settings,
            db=self.db,
            faq=None,  # type: ignore[arg-type]
            tickets=TicketService(self.db, self.settings),
            conversations=ConversationService(self.db, self.settings),
        )
        app.state.services = self.services
        self.rasa_client = RasaClient(self.settings.rasa_url, "", 30)
        app.state.chat = ChatService(self.services, self.rasa_client)
        self.channels, _ = await start_channels(app, self.settings, self.services)
        self.state = DatabaseState(self.db)
        self.worker = ChannelOutboxWorker(
            self.db, self.settings, build_senders(self.settings, self.state), clock=self.clock
        )
        self.app = app
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://posbot.test", timeout=30)
        key = ApiKeyStore(self.db).create("staff", ["tickets:read", "tickets:write"])
        self.staff = {"X-API-Key": key.token}
        return self

    async def stop(self) -> None:
        for c in self.channels:
            await c.turns.drain(5)
        await self.worker.stop()
        await self.http.aclose()
        await self.rasa_client.aclose()

    def wechat(self, mode: str = "safe", **kwargs) -> WeChatSide:
        return WeChatSide(
            WX["wechat_token"], WX["wechat_aes_key"], WX["wechat_app_id"], mode=mode, standin=self.standin, **kwargs
        )

    def wecom(self, **kwargs) -> WeComSide:
        side = WeComSide(WECOM_TOKEN, WECOM_AES_KEY, self.standin.corp_id, self.standin.agent_id, **kwargs)
        self.standin.add_wecom_user(side.userid)
        return side

    async def post(self, side, inner_xml: str, path: str = "/wechat", **kwargs) -> tuple[int, str]:
        params, body = side.request(inner_xml, **kwargs)
        r = await self.http.post(path, params=params, content=body)
        return r.status_code, (side.reply(r.text) if r.status_code == 200 else r.text)

    async def say(self, side, text: str) -> str:
        status, reply = await self.post(
            side, side.text_xml(text), "/wecom" if isinstance(side, WeComSide) else "/wechat"
        )
        assert status == 200, reply
        return reply

    async def drain(self, rounds: int = 20) -> int:
        """Run the channel outbox until nothing is due; returns how many sends were attempted."""
        total = 0
        for _ in range(rounds):
            n = await self.worker.run_once()
            if n == 0:
                return total
            total += n
        raise AssertionError("channel outbox did not drain")

    async def settle(self) -> None:
        """Let background turns (slow answers) finish and reach the outbox."""
        for c in self.channels:
            await c.turns.drain(30)
        await asyncio.sleep(0.05)


@pytest.fixture
async def harness(tmp_path, database, standin, fake_rasa):
    h = await Harness(channel_settings(tmp_path, standin, fake_rasa), database, standin, fake_rasa).start()
    yield h
    await h.stop()


@pytest.fixture
async def make_harness(tmp_path, database, standin, fake_rasa):
    """Harnesses with other settings (plaintext mode, no AppSecret, ...) on the same database."""
    made: list[Harness] = []

    async def make(**overrides) -> Harness:
        h = await Harness(
            channel_settings(tmp_path, standin, fake_rasa, **overrides), database, standin, fake_rasa
        ).start()
        made.append(h)
        return h

    yield make
    for h in made:
        await h.stop()
