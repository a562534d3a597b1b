"""Rasa hot-path fixes (bot/rasa_ext/speedups.py), checked in .venv-rasa where Rasa runs them."""

from __future__ import annotations

import json
import subprocess
import textwrap

from bot.rasa.project import PROJECT_ROOT, RASA_VENV, rasa_env

PROBE = textwrap.dedent(
    """
    import json
    import bot.rasa_ext  # what Rasa imports with the tracker store or the policy
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction

    out = {"installed": getattr(RemoteAction, "_posbot_compiled_validation", False)}
    good = {"events": [{"event": "slot", "name": "urgent", "value": True}],
            "responses": [{"text": "您好", "buttons": [{"title": "是", "payload": "/affirm"}]}]}
    out["good"] = RemoteAction(name="action_x", action_endpoint=None)._validate_action_result(good)
    for name, bad in {"events_not_list": {"events": 5},
                      "event_without_type": {"events": [{"name": "x"}]},
                      "responses_not_list": {"events": [], "responses": "hi"}}.items():
        try:
            RemoteAction(name="action_x", action_endpoint=None)._validate_action_result(bad)
            out[name] = "accepted"
        except ValidationError as e:
            out[name] = e.message

    # RulePolicy parses a rule key once: the same states object each time, equal to a fresh parse.
    from rasa.core.policies.rule_policy import RulePolicy
    key = json.dumps([{"user": {"intent": "greet"}}, {"prev_action": {"action_name": "utter_greet"}}])
    first, again = RulePolicy._rule_key_to_state(key), RulePolicy._rule_key_to_state(key)
    out["rule_key"] = {"cached": first is again, "equal": first == json.loads(key)}

    # The quick confirmation of a valid response agrees with the full schema, case by case.
    from jsonschema.validators import validator_for
    from bot.rasa_ext.speedups import event_branch_validator
    schema = RemoteAction.action_response_format_spec()
    full = validator_for(schema)(schema)
    confirms = event_branch_validator(schema, validator_for(schema))
    cases = {
        "slots_and_form": {"events": [{"event": "slot", "name": "a", "value": 1, "timestamp": None},
                                      {"event": "active_loop", "name": "ticket_form"},
                                      {"event": "followup", "name": "action_x"},
                                      {"event": "reset_slots"}], "responses": []},
        "bot_and_user": {"events": [{"event": "bot", "text": "您好", "data": {}},
                                    {"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet"}}}]},
        "empty": {},
        "unknown_event": {"events": [{"event": "teleport"}]},
        "slot_without_name": {"events": [{"event": "slot", "value": 1}]},
        "wrong_field_type": {"events": [{"event": "user", "text": 5}]},
        "event_not_object": {"events": ["slot"]},
        "bad_timestamp": {"events": [{"event": "slot", "name": "a", "value": 1, "timestamp": "now"}]},
        "responses_not_list": {"events": [], "responses": "hi"},
        "not_an_object": [1],
    }
    out["confirm_vs_full"] = {name: [confirms(c), full.is_valid(c)] for name, c in cases.items()}

    # Action calls reuse one connection (a new one per call before), answers unchanged.
    import asyncio, threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from rasa.utils.endpoints import EndpointConfig
    peers = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_POST(self):
            peers.append(self.client_address[1])
            body = self.rfile.read(int(self.headers["Content-Length"]))
            reply = json.dumps({"echo": json.loads(body), "token": self.path.split("token=")[-1]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = EndpointConfig(url=f"http://127.0.0.1:{server.server_port}/webhook", token="t0k")

    async def calls():
        return [await endpoint.request(json={"n": i}, method="post") for i in range(3)]

    out["replies"] = asyncio.run(calls())
    out["connections"] = len(set(peers))
    out["requests"] = len(peers)
    server.shutdown()
    print(json.dumps(out, ensure_ascii=False))
    """
)


def _probe() -> dict:
    r = subprocess.run(
        [str(RASA_VENV / "bin" / "python"), "-c", PROBE],
        cwd=PROJECT_ROOT,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_action_responses_are_still_validated():
    out = _probe()
    assert out["installed"] is True and out["good"] is True
    for name in ("events_not_list", "event_without_type", "responses_not_list"):
        assert "Failed to validate Action server response" in out[name], (name, out[name])


def test_the_quick_confirmation_accepts_exactly_what_the_full_schema_accepts():
    verdicts = _probe()["confirm_vs_full"]
    assert {name: quick for name, (quick, full) in verdicts.items() if quick != full} == {}, verdicts
    assert [name for name, (_, full) in verdicts.items() if full] == ["slots_and_form", "bot_and_user", "empty"]


def test_rule_keys_are_parsed_once():
    assert _probe()["rule_key"] == {"cached": True, "equal": True}


def test_action_calls_share_one_connection():
    out = _probe()
    assert out["replies"] == [{"echo": {"n": i}, "token": "t0k"} for i in range(3)]
    assert out["requests"] == 3 and out["connections"] == 1
