"""What a FAQ search returns: the entries offered (``Hit``), the decision and its evidence.

``SearchResult`` is what ``FaqEngine.search`` gives the chat, the triage and the HTTP API;
``Ranked`` is the full scoring of one query that ``FaqEngine.rank`` gives evaluation and the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bot.faq.kb import Entry
from bot.faq.scoring import Decision


@dataclass(frozen=True)
class Hit:
    """One entry offered for a query, with its fused score."""

    entry: Entry
    score: float

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def category(self) -> str:
        return self.entry.category

    @property
    def subcategory(self) -> str | None:
        return self.entry.subcategory

    @property
    def question(self) -> str:
        return self.entry.question

    @property
    def answer(self) -> str:
        return self.entry.answer

    @property
    def escalate(self) -> str | None:
        return self.entry.escalate

    @property
    def provider_specific(self) -> bool:
        return self.entry.provider_specific


@dataclass(frozen=True)
class SearchResult:
    query: str
    decision: Decision
    results: list[Hit] = field(default_factory=list)
    # With ``closest=True``: the best entries even when the decision is none (an in-domain
    # question that no entry answers confidently gets them offered), and why it was none.
    closest: list[Hit] = field(default_factory=list)
    top_score: float | None = None
    vetoed: bool = False  # none because a known out-of-scope question is closer than any entry


@dataclass(frozen=True)
class Ranked:
    """Full scoring of one query (for evaluation and the CLI): entry indices best first."""

    entry_idx: np.ndarray
    scores: np.ndarray
    decision: Decision
    neg_gap: float | None = None  # best negative minus best entry (see ``neg_gap``); None: no negatives
