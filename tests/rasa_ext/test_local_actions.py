"""The per-turn hook run by Rasa in-process (bot/rasa_ext/local_actions.py), in .venv-rasa.

Rasa's own ``action_extract_slots`` runs with *no* action endpoint: only the in-process hook
can set these slots, so each case proves the hook ran there and did what it does through
the endpoint (tests/custom_actions/test_common.py checks the same action in the app).
"""

from __future__ import annotations

import json
import subprocess
import textwrap

from bot.rasa.project import PROJECT_ROOT, RASA_VENV, rasa_env

PROBE = textwrap.dedent(
    """
    import asyncio, json
    import bot.rasa_ext
    from rasa.core.actions.action import ActionExtractSlots
    from rasa.core.channels import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load("domain.yml")
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    cases = {
        "angry": ("你们这破机器天天坏，气死我了，我要投诉", "report_fault", {}),
        "angry_again": ("我要投诉", "request_human", {"urgent": True}),
        "button": ('/give_feedback{"feedback":"down"}', "give_feedback", {}),
        "moved_on": ("你好", "greet", {"pending_question": "resolved"}),
        "answered": ("解决了", "affirm", {"pending_question": "resolved"}),
        "fallbacks_end": ("谢谢", "thanks", {"fallback_count": 2.0}),
        "fallbacks_go_on": ("那个", "nlu_fallback", {"fallback_count": 2.0}),
        # 没解决 under an earlier answer (its step is not the question asked last)
        "stale": ('/deny{"faq_id":"fault-printer-no-paper","step":"resolved-aaaaaa"}', "deny",
                  {"pending_question": "resolved", "question_step": "resolved-bbbbbb"},
                  [{"entity": "step", "value": "resolved-aaaaaa"}]),
        "current": ('/deny{"faq_id":"fault-printer-no-paper","step":"resolved-bbbbbb"}', "deny",
                    {"pending_question": "resolved", "question_step": "resolved-bbbbbb"},
                    [{"entity": "step", "value": "resolved-bbbbbb"}]),
        "typed_on": ("昨天的钱没到账", "settlement_problem",
                     {"pending_question": "resolved", "question_step": "resolved-bbbbbb"}),
    }
    HOOK_SLOTS = {"urgent", "pending_question", "fallback_count", "stale_button", "question_step"}

    async def run(text, intent, slots, entities=()):
        tracker = DialogueStateTracker.from_events(
            "web:probe", [ActionExecuted("action_listen")] + [SlotSet(k, v) for k, v in slots.items()]
            + [UserUttered(text, {"name": intent, "confidence": 0.9}, list(entities))], domain.slots)
        events = await ActionExtractSlots(None).run(CollectingOutputChannel(), nlg, tracker, domain)
        return [[e.key, e.value] for e in events if isinstance(e, SlotSet) and e.key in HOOK_SLOTS]

    out = {"installed": getattr(ActionExtractSlots, "_posbot_local_actions", False)}
    out.update({name: asyncio.run(run(*case)) for name, case in cases.items()})
    print(json.dumps(out, ensure_ascii=False))
    """
)


def test_rasa_runs_the_turn_hook_itself():
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
    assert out["installed"] is True
    assert out["angry"] == [["urgent", True]]
    assert out["angry_again"] == []  # already flagged: nothing new
    assert out["button"] == []  # button payloads never count as anger
    assert out["moved_on"] == [["pending_question", None]]  # a late "好的" cannot trigger an old offer
    assert out["answered"] == []
    assert out["fallbacks_end"] == [["fallback_count", 0.0]]
    assert out["fallbacks_go_on"] == []
    # buttons that know their moment (conv-flows): flagged in Rasa's own process too
    assert out["stale"] == [["stale_button", True], ["pending_question", None]]
    assert out["current"] == []
    assert out["typed_on"] == [["pending_question", None], ["question_step", None]]  # its buttons are out of date
