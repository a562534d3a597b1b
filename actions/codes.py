"""Explaining a terminal response code ("返回码05", "显示A7") from the code table.

``reply_code`` is called by ``action_faq_search`` when ``bot.faq.triage`` finds a code in the
message (the ``response_code`` entity, or the same pattern on the text). Known codes get
their meaning, whose side the problem is on and numbered steps; codes the table does not
have, or text that is not a code, get an honest reply and what to do next.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import texts
from actions.common import FALLBACKS, HELPED, PENDING, PROBLEM, STEP, new_step
from actions.faq_replies import (
    CODE_ADVICE,
    CODE_ESCALATE,
    CODE_HEAD,
    CODE_MALFORMED_HEAD,
    CODE_SIDE,
    CODE_STEPS,
    CODE_SUCCESS,
    CODE_UNKNOWN_HEAD,
    CODE_UNKNOWN_STEPS,
    CODE_VARIES,
    feedback_buttons,
    ticket_or_human_buttons,
)
from bot.faq.codes import CodeMention


def numbered(steps) -> str:
    return "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))


def code_text(mention: CodeMention) -> str:
    """The explanation of one code mention (known, unknown or malformed)."""
    e = mention.entry
    if e is None:
        head = (CODE_UNKNOWN_HEAD if mention.well_formed else CODE_MALFORMED_HEAD).format(raw=mention.raw)
        return f"{head}\n{CODE_ADVICE}\n{numbered(CODE_UNKNOWN_STEPS)}"
    lines = [CODE_HEAD.format(code=e.code, meaning=e.meaning)]
    lines.append(CODE_SUCCESS if e.success else CODE_SIDE.format(side=e.side_label))
    if e.varies:
        lines.append(CODE_VARIES)
    lines.append(f"{CODE_STEPS}\n{numbered(e.steps)}")
    return "\n".join(lines)


def reply_code(
    dispatcher: CollectingDispatcher, tracker: Tracker, mention: CodeMention, text: str, *, in_form: bool
) -> list[EventType]:
    body = code_text(mention)
    events: list[EventType] = [SlotSet("response_code", mention.code or mention.raw)]
    if in_form:
        dispatcher.utter_message(text=f"{body}\n\n{texts.IN_FORM_SUFFIX}")
        return events
    events += [SlotSet("faq_id", None), SlotSet("faq_query", text), SlotSet("faq_suggestions", None)]
    e = mention.entry
    if e is not None and e.side in ("cardholder", "none"):
        # The card or the bank decides: nothing for a ticket to fix.
        step = new_step("feedback")
        dispatcher.utter_message(text=body, buttons=feedback_buttons(step))
        return events + [SlotSet(PENDING, None), SlotSet(STEP, step), SlotSet(HELPED, True), SlotSet(FALLBACKS, 0.0)]
    step = new_step("ticket_offer")
    if e is not None:
        dispatcher.utter_message(text=body)
        dispatcher.utter_message(text=CODE_ESCALATE, buttons=ticket_or_human_buttons(step, "repair"))
        events.append(SlotSet(HELPED, True))
    else:
        dispatcher.utter_message(text=body, buttons=ticket_or_human_buttons(step, "repair"))
    return events + [
        SlotSet(PENDING, "ticket_offer"),
        SlotSet(STEP, step),
        SlotSet("ticket_category", "repair"),
        SlotSet(PROBLEM, text),  # the ticket describes what the merchant saw ("显示05")
        SlotSet(FALLBACKS, 0.0),
    ]
