"""ConversationService: the conversation parts on one object, nothing else.

Each idea lives in its own module and class, all on ``bot.core.db.Database`` with one transaction
per public method (``store.ConversationStore``):

* ``transcript.Transcript``: the conversation record and its lines (log_message, transcript, claim, exists);
* ``buttons.OfferedButtons``: buttons the bot offered, the only ones that come back as clicks;
* ``handoff.Handoffs``: a person taking over and handing back, the staff queue, conversation state;
* ``outgoing.OutgoingQueue``: staff replies waiting for the merchant, and their delivery;
* ``photos.Photos``: photos the merchant sends during a handoff;
* ``feedback.Feedback``: 👍/👎 on FAQ answers and satisfaction ratings.

Why one object over the parts instead of one ``Services`` field per part: the callers (the
chat layer, the custom actions, the staff API, the tests) work on "the conversation" and use
several parts at once — the chat logs a line, then checks the handoff, then offers buttons —
with one database and one clock. So ``services.conversations`` stays the single entry point
and the parts stay separate underneath. The parts share no state beyond what
``ConversationStore`` holds and no method names (tests/conversations/test_parts.py), so this
class is just their union; each part also works alone, e.g. ``Handoffs(db, settings)``.

The names callers import from here are re-exported from the modules that define them.
"""

from __future__ import annotations

from bot.conversations.buttons import BUTTON_PAYLOAD_MAX, BUTTON_TITLE_MAX, OfferedButtons
from bot.conversations.feedback import Feedback
from bot.conversations.handoff import HAND_BACK_NOTICE, Handoffs
from bot.conversations.outgoing import OutgoingQueue
from bot.conversations.photos import PhotoRefused, Photos
from bot.conversations.store import ConversationNotFound
from bot.conversations.transcript import Transcript

__all__ = [
    "BUTTON_PAYLOAD_MAX",
    "BUTTON_TITLE_MAX",
    "HAND_BACK_NOTICE",
    "PARTS",
    "ConversationNotFound",
    "ConversationService",
    "PhotoRefused",
]

PARTS = (Transcript, OfferedButtons, Handoffs, OutgoingQueue, Photos, Feedback)


class ConversationService(Transcript, OfferedButtons, Handoffs, OutgoingQueue, Photos, Feedback):
    """Every part of a conversation, sharing one database, settings and clock."""
