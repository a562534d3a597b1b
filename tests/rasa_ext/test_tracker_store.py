"""The Rasa tracker store (bot/rasa_ext/tracker_store.py), run where Rasa runs it (.venv-rasa).

Two store instances on one database play two Rasa processes (or one before and one after a
restart); Rasa's own SQLTrackerStore reads the same rows to prove the format is unchanged. A
long conversation checks that the bounded working history has the full history's state.
"""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from bot.rasa.project import PROJECT_ROOT, RASA_VENV, rasa_env, tracker_store_config

PROBE = textwrap.dedent(
    """
    import asyncio, json, sys
    from rasa.core.tracker_store import SQLTrackerStore, create_tracker_store
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered, BotUttered
    from rasa.utils.endpoints import EndpointConfig

    cfg = json.loads(sys.argv[1])
    domain = Domain.load("domain.yml")

    def store():
        c = dict(cfg)
        return create_tracker_store(EndpointConfig(url=c.pop("url", None), type=c.pop("type"), **c), domain)

    def turn(tracker, text, intent, **slots):
        tracker.update(UserUttered(text, {"name": intent, "confidence": 0.9}))
        for k, v in slots.items():
            tracker.update(SlotSet(k, v))
        tracker.update(ActionExecuted("utter_greet"))
        tracker.update(BotUttered("您好"))
        tracker.update(ActionExecuted("action_listen"))

    def texts(tracker):
        return [e.text for e in tracker.events if isinstance(e, UserUttered)]

    async def main():
        out = {}
        a, b = store(), store()
        out["type"] = type(a).__name__
        if a.engine.dialect.name == "sqlite":
            with a.engine.connect() as c:  # the app's pragmas (bot/core/db.py): WAL, synchronous=NORMAL
                out["sqlite"] = [c.exec_driver_sql("PRAGMA journal_mode").scalar(),
                                 c.exec_driver_sql("PRAGMA synchronous").scalar()]
        t = await a.get_or_create_tracker("web:s1")
        turn(t, "你好", "greet", merchant_id="898310048161234")
        await a.save(t)
        t2 = await a.retrieve("web:s1")
        out["cached_same_object"] = t2 is t
        turn(t2, "打印机不出纸", "report_fault")
        await a.save(t2)
        # another instance reads what the first wrote, continues, and the first sees that
        tb = await b.retrieve("web:s1")
        out["b_texts"] = texts(tb)
        out["b_slot"] = tb.get_slot("merchant_id")
        turn(tb, "转人工", "request_human", phone="13812345678")
        await b.save(tb)
        ta = await a.retrieve("web:s1")
        out["a_after_b"] = texts(ta)
        out["a_phone"] = ta.get_slot("phone")
        # a turn that failed half-way (mutated, never saved) is not served from the cache
        turn(ta, "没保存", "greet")
        tc = await a.retrieve("web:s1")
        out["after_unsaved"] = texts(tc)
        # a new session: retrieve serves only it, the full tracker every session
        tc.update(ActionExecuted("action_session_start"))
        tc.update(SessionStarted())
        tc.update(SlotSet("merchant_id", "898310048161234"))
        tc.update(ActionExecuted("action_listen"))
        turn(tc, "新会话", "greet")
        await a.save(tc)
        out["a_session"] = texts(await a.retrieve("web:s1"))
        out["b_session"] = texts(await b.retrieve("web:s1"))
        out["full"] = texts(await b.retrieve_full_tracker("web:s1"))
        # Rasa's own store reads the very same rows
        c = dict(cfg); c.pop("type")
        stock = SQLTrackerStore(domain=domain, host=c.pop("url", None), **c)
        s = await stock.retrieve("web:s1")
        out["stock_session"] = texts(s)
        out["stock_slot"] = s.get_slot("merchant_id")
        out["same_events"] = [e.as_dict() for e in s.events] == [e.as_dict() for e in (await b.retrieve("web:s1")).events]
        with stock.session_scope() as session:
            out["rows"] = session.query(stock.SQLEvent).filter(stock.SQLEvent.sender_id == "web:s1").count()
        out["events_total"] = len((await b.retrieve_full_tracker("web:s1")).events)
        out["unknown"] = await a.retrieve("web:nobody")

        # A long conversation: the working tracker is bounded, its state is the full one's.
        from rasa.shared.core.events import ActiveLoop, UserUtteranceReverted
        from rasa.shared.core.trackers import DialogueStateTracker
        t = await a.get_or_create_tracker("web:long")
        turn(t, "商户号 898310048161234", "inform", merchant_id="898310048161234")
        t.update(ActiveLoop("ticket_form"))
        t.update(SlotSet("requested_slot", "phone"))
        for i in range(40):
            turn(t, f"第{i}句", "inform" if i % 2 else "chitchat", fallback_count=float(i % 3))
            await a.save(t)
            t = await a.retrieve("web:long")
        t.update(UserUttered("撤回这句", {"name": "greet", "confidence": 0.9}))
        t.update(UserUtteranceReverted())  # replays the working history: the snapshot must carry the state
        await a.save(t)
        t = await a.retrieve("web:long")
        full = await b.retrieve_full_tracker("web:long")
        fresh = await store().retrieve("web:long")  # another instance reading the database
        out["long_users"] = [len([e for e in x.events if isinstance(e, UserUttered)]) for x in (t, fresh, full)]
        out["long_slots_equal"] = [x.current_slot_values() == full.current_slot_values() for x in (t, fresh)]
        out["long_loop"] = [x.active_loop_name for x in (t, fresh, full)]
        out["long_latest"] = [x.latest_message.text for x in (t, fresh, full)]
        out["long_states_equal"] = [x.past_states(domain)[-6:] == full.past_states(domain)[-6:] for x in (t, fresh)]
        with stock.session_scope() as session:
            out["long_rows"] = session.query(stock.SQLEvent).filter(stock.SQLEvent.sender_id == "web:long").count()
        out["long_events"] = len(full.events)
        print(json.dumps(out, ensure_ascii=False))

    asyncio.run(main())
    """
)


@pytest.mark.integration
def test_two_instances_share_one_history_and_rasa_reads_it_unchanged(db_url):
    cfg = tracker_store_config(db_url)
    r = subprocess.run(
        [str(RASA_VENV / "bin" / "python"), "-c", PROBE, json.dumps(cfg)],
        cwd=PROJECT_ROOT,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["type"] == "CachingSQLTrackerStore"  # not Rasa's silent in-memory fallback
    if cfg["dialect"] == "sqlite":
        assert out["sqlite"] == ["wal", 1]  # 1 = NORMAL
    assert out["cached_same_object"] is True
    assert out["b_texts"] == ["你好", "打印机不出纸"] and out["b_slot"] == "898310048161234"
    assert out["a_after_b"] == ["你好", "打印机不出纸", "转人工"] and out["a_phone"] == "13812345678"
    assert out["after_unsaved"] == ["你好", "打印机不出纸", "转人工"]
    assert out["a_session"] == out["b_session"] == out["stock_session"] == ["新会话"]
    assert out["stock_slot"] == "898310048161234"
    assert out["same_events"] is True
    assert out["full"] == ["你好", "打印机不出纸", "转人工", "新会话"]
    assert out["rows"] == out["events_total"]  # every event stored once: nothing lost, nothing doubled
    assert out["unknown"] is None
    # 41 merchant turns: the working tracker keeps 8-16 of them, the database all of them
    assert out["long_users"][2] == 42 and all(8 <= n <= 16 for n in out["long_users"][:2]), out["long_users"]
    assert out["long_slots_equal"] == [True, True]
    assert out["long_loop"] == ["ticket_form"] * 3
    assert out["long_latest"][0] == out["long_latest"][1] == out["long_latest"][2] == "第39句"
    assert out["long_states_equal"] == [True, True]  # what rules and memoization look at
    assert out["long_rows"] == out["long_events"]
