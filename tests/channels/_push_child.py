"""Child process of test_push_crash.py: a staff reply to a WeChat merchant is committed, then we are SIGKILLed.

    python -m tests.channels._push_child DB_URL API_BASE APPID SECRET OPENID

The reply and its channel-outbox row are committed in one transaction; no worker runs here,
so nothing is sent before the parent kills us.
"""

from __future__ import annotations

import sys
import time

from bot.conversations.service import ConversationService
from bot.core.db import Database
from bot.core.settings import Settings


def main() -> None:
    db_url, api_base, appid, secret, openid = sys.argv[1:6]
    settings = Settings(_env_file=None, wechat_app_id=appid, wechat_app_secret=secret, wechat_api_base=api_base)
    convs = ConversationService(Database(db_url), settings)
    conv = f"wechat:{openid}"
    convs.log_message(conv, "in", "转人工")
    convs.start_handoff(conv, "wechat", None, "request_human")
    convs.staff_reply(conv, "您好，我是客服小王，马上为您处理", by="王")
    print(conv, flush=True)
    time.sleep(600)  # the parent kills us long before


if __name__ == "__main__":
    main()
