"""ConversationService is only the union of its parts: no method of its own, no name two parts share."""

from __future__ import annotations

from bot.conversations.service import PARTS, ConversationService
from bot.conversations.store import ConversationStore
from bot.conversations.transcript import Transcript


def _own_names(cls: type) -> set[str]:
    return {n for n in vars(cls) if not (n.startswith("__") and n.endswith("__"))}


def test_the_service_is_the_parts_and_nothing_else():
    assert ConversationService.__mro__ == (ConversationService, *PARTS, ConversationStore, object)
    assert _own_names(ConversationService) == set()
    seen: dict[str, str] = {}
    for part in PARTS:
        assert part.__bases__ == (ConversationStore,)
        for name in _own_names(part):
            assert name not in seen, f"{part.__name__}.{name} shadows {seen[name]}.{name}"
            seen[name] = part.__name__


def test_a_part_works_alone(database):
    log = Transcript(database)
    log.log_message("web:alone", "in", "你好")
    assert log.exists("web:alone")
    assert [m.text for m in log.transcript("web:alone")] == ["你好"]
