"""The per-turn hook, run by Rasa in its own process instead of through the action endpoint.

``action_turn_hook`` (actions/common.py) runs inside ``action_extract_slots`` on every
merchant message (a custom slot mapping of ``urgent``): it flags anger or urgency, forgets a
question the merchant did not answer, and ends a run of fallbacks. Through the action
endpoint that is one more HTTP round trip per message, with the whole tracker and domain
serialised to JSON and parsed again in the app, for an action that reads three slots and
the latest message and never touches a service.

So Rasa imports that very action class (rasa-sdk is one of Rasa's own dependencies) and
runs it in-process, with the tracker state the endpoint would have received. Its rules stay
written once, in actions/common.py, and the action stays registered in the app, so a
Rasa without this module (or whose environment cannot import ``actions.common``) calls it
remotely as before. Everything else keeps going through the action endpoint.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

LOCAL_ACTIONS = ("action_turn_hook",)


def _load() -> dict[str, Any]:
    try:
        from actions.common import ActionTurnHook
    except Exception as e:  # noqa: BLE001 - anything the Rasa environment cannot import
        log.warning("action_turn_hook goes through the action endpoint (cannot import it here: %s)", e)
        return {}
    actions = {a.name(): a for a in (ActionTurnHook(),)}
    return {name: actions[name] for name in LOCAL_ACTIONS if name in actions}


def install() -> None:
    from rasa.core.actions.action import ActionExtractSlots, RemoteAction
    from rasa.shared.core.events import BotUttered, Event, SlotSet, deserialise_events
    from rasa.shared.core.trackers import EventVerbosity

    if getattr(ActionExtractSlots, "_posbot_local_actions", False):
        return
    actions = _load()
    if not actions:
        return
    remote = ActionExtractSlots._run_custom_action
    domains: dict[int, dict[str, Any]] = {}  # id(domain) -> domain.as_dict(), as the endpoint receives it

    async def _run_custom_action(self, custom_action, output_channel, nlg, tracker, domain) -> list[Event]:
        action = actions.get(custom_action)
        if action is None:
            return await remote(self, custom_action, output_channel, nlg, tracker, domain)
        from rasa_sdk import Tracker
        from rasa_sdk.executor import CollectingDispatcher

        try:
            domain_dict = domains.get(id(domain))
            if domain_dict is None:
                domain_dict = domains[id(domain)] = domain.as_dict()
            dispatcher = CollectingDispatcher()
            sdk_tracker = Tracker.from_dict(tracker.current_state(EventVerbosity.ALL))
            raw_events = await action.run(dispatcher, sdk_tracker, domain_dict)
            responses = await RemoteAction._utter_responses(dispatcher.messages, output_channel, nlg, tracker)
            produced = list(responses) + deserialise_events([dict(e) for e in raw_events or []])
        except Exception:  # noqa: BLE001 - the endpoint path reports its own errors
            log.exception("%s failed in-process; calling the action endpoint instead", custom_action)
            return await remote(self, custom_action, output_channel, nlg, tracker, domain)
        # the same filter Rasa applies to what a custom slot-mapping action returns
        kept = [e for e in produced if isinstance(e, (SlotSet, BotUttered))]
        for e in produced:
            if e not in kept:
                log.info("%s returned a %s event: not allowed in a slot mapping, ignored", custom_action, e.type_name)
        return kept

    ActionExtractSlots._run_custom_action = _run_custom_action
    ActionExtractSlots._posbot_local_actions = True
