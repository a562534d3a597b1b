"""A process dies between committing a staff reply and sending it to WeChat: after a restart it is sent, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from bot.channels.outbox import ChannelMessage, ChannelOutboxWorker
from bot.channels.tencent import build_senders
from bot.core.settings import Settings
from bot.core.shared_state import DatabaseState
from tests.wechat_side import new_openid

REPO = Path(__file__).resolve().parents[2]


async def test_killed_after_commit_before_send_delivers_after_restart_once(database, db_url, standin):
    openid = new_openid()
    standin.interact(openid)
    database.engine.dispose()  # no pooled connection shared with the child
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.channels._push_child",
            db_url,
            standin.url,
            standin.appid,
            standin.secret,
            openid,
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        conv = proc.stdout.readline().strip()
        assert conv == f"wechat:{openid}", "child did not commit the reply"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert standin.sent == []  # nothing left the dead process

    # "Restart": a fresh app instance's worker finds the committed row.
    settings = Settings(
        _env_file=None, wechat_app_id=standin.appid, wechat_app_secret=standin.secret, wechat_api_base=standin.url
    )
    worker = ChannelOutboxWorker(database, settings, build_senders(settings, DatabaseState(database)))
    try:
        assert await worker.run_once() == 1
        assert await worker.run_once() == 0
    finally:
        await worker.stop()
    again = ChannelOutboxWorker(database, settings, build_senders(settings, DatabaseState(database)))
    try:
        assert await again.run_once() == 0  # a second restart sends nothing more
    finally:
        await again.stop()
    assert standin.texts(openid) == ["您好，我是客服小王，马上为您处理"]
    with database.session() as s:
        [row] = s.execute(select(ChannelMessage)).scalars().all()
    assert (row.status, row.attempts) == ("delivered", 1)
