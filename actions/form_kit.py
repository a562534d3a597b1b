"""What every chat form shares: the validation base for wrong answers, and ask actions made from a table.

The idea of RasaHQ financial-demo's custom forms: the forms differ in their questions and
checks, not in how they treat a merchant who answers wrongly, so that lives here once.

* ``FormValidation``: rejects the form's turn for an angry or urgent message or a button of
  an earlier question (the rules take over), and re-asks a wrong answer saying what is wrong
  (``retry``); ``miss`` counts the misses per field and hands the second one to the form's
  ``second_miss`` (the ticket form explains where to find the value, or gives back a value
  the merchant failed to change).
* ``ask_actions``: one ``action_ask_<slot>`` per row of a table of questions. After the
  validator re-asked, the ask action stays quiet (the validator's message already asked).

Both are mixins, not ``Action`` subclasses: rasa-sdk serves every ``Action`` subclass it finds
(tests/custom_actions/test_common.py checks the served names against domain.yml), so only the
concrete forms and the generated ask actions are actions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecutionRejected, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import texts
from actions.common import STALE, STEP, URGENT, new_step, step_kind, value_before_message

REASKED = "form_reasked"  # the field the validator just asked again (its ask action then stays quiet)
ATTEMPTS = "invalid_attempts"  # wrong answers so far, per field
MISSES_BEFORE_HELP = 2

Buttons = list[dict[str, str]]
# A form question: (tracker, the new step id for its buttons) -> (text, buttons).
Question = Callable[[Tracker, str], tuple[str, Buttons]]


class FormValidation:
    """Mixin of a form's ``FormValidationAction``: ``class ValidateXForm(FormValidation, FormValidationAction)``."""

    form = ""

    def name(self) -> str:
        return f"validate_{self.form}"

    def kept_when_rejected(self, slot: str, value: Any, tracker: Tracker) -> Any:
        """What an urgent message's candidate for ``slot`` may keep when the turn is rejected (None: nothing)."""
        return None

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if tracker.active_loop.get("name") == self.form and (tracker.get_slot(URGENT) or tracker.get_slot(STALE)):
            # An angry or urgent message must reach a person, and a button of an earlier
            # question is not an answer to this one: rejecting lets their rule run. The slot
            # mappings already copied the message into the asked field ("急死了" as the phone,
            # a payload as the merchant id): undo that, keeping only what the form allows.
            stale = bool(tracker.get_slot(STALE))
            restore = []
            for slot, value in tracker.slots_to_validate().items():
                kept = None if stale else self.kept_when_rejected(slot, value, tracker)
                restore.append(SlotSet(slot, kept if kept is not None else value_before_message(tracker, slot)))
            return [*restore, ActionExecutionRejected(self.form)]
        return await super().run(dispatcher, tracker, domain)  # type: ignore[misc]

    # --- wrong answers -------------------------------------------------------------------

    @staticmethod
    def retry(slot: str, problem: str, dispatcher: CollectingDispatcher, keep: Any = None) -> dict[str, Any]:
        """Say what is wrong and ask again; the slot gets ``keep`` (None: empty, so the form asks it)."""
        dispatcher.utter_message(text=texts.retry(problem))
        return {slot: keep, REASKED: slot}

    def not_a_miss(self, field: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any] | None:
        """Override: an answer that is wrong here but not a mistake (a valid value of another field)."""
        return None

    def second_miss(
        self, field: str, problem: str, dispatcher: CollectingDispatcher, tracker: Tracker, attempts: dict | None
    ) -> dict[str, Any]:
        """Override: the second wrong answer for ``field``; ``attempts`` is the count without this field."""
        dispatcher.utter_message(text=texts.retry(problem))
        return {field: None, ATTEMPTS: attempts, REASKED: field}

    def miss(self, field: str, problem: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        """A wrong answer: re-ask naming the problem; the second one for the same field goes to ``second_miss``."""
        other = self.not_a_miss(field, dispatcher, tracker)
        if other is not None:
            return other
        attempts = dict(tracker.get_slot(ATTEMPTS) or {})
        count = int(attempts.get(field, 0)) + 1
        if count >= MISSES_BEFORE_HELP:
            attempts.pop(field, None)
            return self.second_miss(field, problem, dispatcher, tracker, attempts or None)
        attempts[field] = count
        dispatcher.utter_message(text=texts.retry(problem))
        return {field: None, ATTEMPTS: attempts, REASKED: field}


# --- ask actions ---------------------------------------------------------------------------


class AskSlot:
    """Asks one form slot (a mixin: ``ask_actions`` makes the concrete actions)."""

    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    def question(self, tracker: Tracker, step: str) -> tuple[str, Buttons]:
        raise NotImplementedError

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        kind = self.slot.replace("_", "")
        if tracker.get_slot(REASKED) == self.slot:
            # The validator just said what was wrong and asked again: the buttons offered with
            # the question are still the answer (same step), nothing more to say.
            current = tracker.get_slot(STEP)
            return [SlotSet(REASKED, None), SlotSet(STEP, current if step_kind(current) == kind else None)]
        step = new_step(kind)
        text, buttons = self.question(tracker, step)
        dispatcher.utter_message(text=text, buttons=buttons)
        # Without buttons of its own, earlier questions' buttons are out of date now.
        return [SlotSet(REASKED, None), SlotSet(STEP, step if buttons else None)]


def class_name(slot: str) -> str:
    """``merchant_id`` -> ``ActionAskMerchantId``."""
    return "ActionAsk" + "".join(part.title() for part in slot.split("_"))


def ask_actions(module: str, questions: dict[str, Question]) -> list[type[Action]]:
    """One ``action_ask_<slot>`` action class per row, in the table's order, defined in ``module``."""
    return [
        type(
            class_name(slot),
            (AskSlot, Action),
            {"slot": slot, "question": staticmethod(question), "__module__": module, "__doc__": f"Asks {slot}."},
        )
        for slot, question in questions.items()
    ]
