"""Rasa 3.6 hot-path fixes that keep its behaviour: installed when Rasa loads bot.rasa_ext.

All were found with py-spy on the Rasa process under load (docs/benchmarks.md).

``RemoteAction._validate_action_result`` checks every action server response with
``jsonschema.validate(result, schema)``, which first validates the *schema itself*
against the JSON-Schema meta-schema (~60 ms of CPU per action call, several calls per turn).
Here the schema is checked once and one compiled validator checks every response, raising
the same ``ValidationError`` with the same message. A valid response (every one our action
server sends) is confirmed without the ``oneOf`` over Rasa's 23 event types, which tried each
event against every type: the types are told apart by a distinct ``event`` constant, so "exactly
one branch matches" is "the branch of its ``event`` value matches" (``event_branch_validator``).
Whatever that check does not confirm goes through the full validator for its usual error.

``EndpointConfig.request`` opens a new aiohttp ``ClientSession``, so a new TCP connection, for
every action call. Here each endpoint configuration keeps one session per event loop, with
the same headers, auth and timeout, no cookie jar (as a fresh session has none that matter),
and idle connections dropped after 4 s, before the app's server (uvicorn: 5 s) closes them.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def install() -> None:
    _install_compiled_validation()
    _install_pooled_sessions()
    _install_rule_key_cache()


def _install_rule_key_cache() -> None:
    """RulePolicy parses each rule's key (its states as JSON) again for every rule, every state of
    the tracker and every prediction: thousands of ``json.loads`` per turn for the same few hundred
    strings. Parsed once each here; the parsed states are only read (rule matching never writes them)."""
    import functools
    import json

    from rasa.core.policies.rule_policy import RulePolicy

    if getattr(RulePolicy, "_posbot_rule_key_cache", False):
        return
    RulePolicy._rule_key_to_state = staticmethod(functools.lru_cache(maxsize=8192)(json.loads))
    RulePolicy._posbot_rule_key_cache = True


def _install_compiled_validation() -> None:
    from jsonschema import ValidationError  # noqa: F401  (the error Rasa's callers expect)
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    if getattr(RemoteAction, "_posbot_compiled_validation", False):
        return
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    confirms = event_branch_validator(schema, validator_class)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        if confirms is not None and confirms(result):
            return True
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result
    RemoteAction._posbot_compiled_validation = True
    log.debug("action responses are validated by one compiled JSON-schema validator")


def event_branch_validator(schema: dict[str, Any], validator_class: Any):
    """``confirms(result)``: True only for results the full schema accepts (False: ask it why not).

    None when the schema's events are not a ``oneOf`` told apart by distinct ``event`` constants."""
    import copy

    try:
        items = schema["properties"]["events"]["items"]
        branches = items["oneOf"]
        consts = [b["properties"]["event"]["const"] for b in branches]
    except (KeyError, TypeError):
        return None
    if len(set(consts)) != len(consts):
        return None
    outer = copy.deepcopy(schema)
    del outer["properties"]["events"]["items"]["oneOf"]
    outer_validator = validator_class(outer)
    by_event = {const: validator_class(branch) for const, branch in zip(consts, branches)}

    def confirms(result: Any) -> bool:
        if not outer_validator.is_valid(result):
            return False
        for event in result.get("events") or []:
            branch = by_event.get(event.get("event"))
            if branch is None or not branch.is_valid(event):
                return False
        return True

    return confirms


class _Borrowed:
    """``async with`` on a kept session: enter gives it, exit leaves it open."""

    def __init__(self, session: Any) -> None:
        self._session = session

    async def __aenter__(self) -> Any:
        return self._session

    async def __aexit__(self, *exc: Any) -> None:
        return None


def _install_pooled_sessions() -> None:
    import asyncio

    import aiohttp
    from rasa.utils import endpoints

    config_class = endpoints.EndpointConfig
    if getattr(config_class, "_posbot_pooled_sessions", False):
        return

    kept: dict[tuple, Any] = {}  # (event loop, headers, auth) -> open ClientSession

    def session(self: Any) -> Any:
        loop = asyncio.get_running_loop()
        auth = (self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth else None
        key = (id(loop), tuple(sorted((self.headers or {}).items())), auth)
        client = kept.get(key)
        if client is None or client.closed or client.loop is not loop:
            client = kept[key] = aiohttp.ClientSession(
                headers=self.headers,
                auth=aiohttp.BasicAuth(*auth) if auth else None,
                timeout=aiohttp.ClientTimeout(total=endpoints.DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=4, limit=100),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return _Borrowed(client)

    config_class.session = session
    config_class._posbot_pooled_sessions = True
