"""Rasa's REST channel as the app needs it (bot/rasa_ext/rest_channel.py), run in .venv-rasa.

A turn that fails inside Rasa (lock store or tracker store unreachable) is answered with 503, so the
app apologises (bot.chat.service.RASA_DOWN_TEXT); Rasa's own channel answered it with 200 and no messages,
which the merchant saw as silence. A turn that works is answered exactly as before.
"""

from __future__ import annotations

import json
import subprocess
import textwrap

from bot.rasa.project import PROJECT_ROOT, RASA_VENV, rasa_env

PROBE = textwrap.dedent(
    """
    import asyncio, json, sys
    from types import SimpleNamespace
    from rasa.core.channels import rest
    from bot.rasa_ext.rest_channel import RestInput

    async def answers(msg):
        await msg.output_channel.send_text_message(msg.sender_id, "您好")

    async def fails(msg):
        raise ConnectionError("lock store down")

    def webhook(channel, on_new_message):
        bp = channel.blueprint(on_new_message)
        return next(r.handler for r in bp._future_routes if r.uri.endswith("/webhook"))

    request = SimpleNamespace(json={"sender": "web:x", "message": "你好"}, args={})
    out = {"name": RestInput.name()}
    for label, channel in (("ours", RestInput()), ("rasa", rest.RestInput())):
        for name, fn in (("answers", answers), ("fails", fails)):
            r = asyncio.run(webhook(channel, fn)(request))
            out[f"{label}_{name}"] = [r.status, json.loads(r.body)]
    print(json.dumps(out, ensure_ascii=False))
    """
)


def test_a_failed_turn_is_a_503_and_a_good_one_unchanged():
    r = subprocess.run(
        [str(RASA_VENV / "bin" / "python"), "-c", PROBE],
        cwd=PROJECT_ROOT,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["name"] == "rest"  # same URL: /webhooks/rest/webhook
    assert out["rasa_fails"] == [200, []]  # what Rasa's own channel does: silence
    assert out["ours_fails"] == [503, {"error": "turn_failed", "reason": "ConnectionError"}]
    assert out["ours_answers"] == out["rasa_answers"] == [200, [{"recipient_id": "web:x", "text": "您好"}]]
