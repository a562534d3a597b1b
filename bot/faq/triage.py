"""What to do with a merchant's question: the one decision the chat and the evaluation share.

``triage(engine, text)`` returns a ``Plan``:

* ``code``     the message quotes a terminal response code: answer from the code table
               (``bot.faq.codes``; an unknown code gets an honest reply);
* ``answer``   one entry answers it confidently;
* ``suggest``  a close call between entries: offer the top three;
* ``closest``  no entry is confident, but the message is about POS work: offer the closest
               entries (when the best one scores at least ``Thresholds.closest``);
* ``clarify``  about POS work, but nothing close enough: ask which area it is about
               (结算到账 / 手续费 / 开通激活 / 故障 / 其他), then search that area;
* ``none``     not about POS work: out of scope.

"About POS work" is ``bot.faq.lexicon.domain_signal`` (core words always; domain words unless
a known out-of-scope question vetoed the match) or an NLU intent that only POS questions
have (``POS_INTENTS``, from the chat). So an in-domain question is never given up on, while
``none`` stays for what really is outside the domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.faq.codes import CodeMention, CodeTable, canonical_code, default_codes, find_code, lookup
from bot.faq.engine import FaqEngine
from bot.faq.kb import Entry
from bot.faq.lexicon import AREAS, Brand, DomainSignal, Lexicon, default_lexicon
from bot.faq.results import Hit, SearchResult

KINDS = ("code", "answer", "suggest", "closest", "clarify", "none")
# Areas the bot offers when it asks, and the KB categories each one searches.
AREA_CATEGORIES: dict[str, tuple[str, ...]] = {
    "settlement": ("settlement",),
    "fees": ("fees",),
    "activation": ("activation",),
    "fault": ("fault",),
    "other": ("account", "general"),
}
AREA_LABELS = {"settlement": "结算到账", "fees": "手续费", "activation": "开通激活", "fault": "故障", "other": "其他"}
assert tuple(AREA_CATEGORIES) == AREAS == tuple(AREA_LABELS)
# NLU intents that only questions about POS work get (with at least this confidence), and the
# area each one points to.
POS_INTENTS = {"report_fault": "fault", "settlement_problem": "settlement", "activation_problem": "activation"}
POS_INTENT_CONFIDENCE = 0.6
# The category a code answer counts as (routing in the evaluation).
CODE_CATEGORY = "fault"
SUGGESTIONS = 3


@dataclass(frozen=True)
class Plan:
    kind: str
    hits: list[Hit] = field(default_factory=list)
    code: CodeMention | None = None
    signal: DomainSignal | None = None
    brand: Brand | None = None
    areas: tuple[str, ...] = ()  # areas hinted at (clarify starts from them)
    result: SearchResult | None = None

    @property
    def category(self) -> str | None:
        """The KB category the reply routes the question to (None: clarify / none)."""
        if self.kind == "code":
            return CODE_CATEGORY
        if self.kind in ("answer", "suggest", "closest") and self.hits:
            return self.hits[0].category
        return None

    @property
    def entry_id(self) -> str | None:
        """The entry answered directly, if any."""
        return self.hits[0].id if self.kind == "answer" and self.hits else None


def triage(
    engine: FaqEngine,
    text: str,
    *,
    intent: str | None = None,
    intent_confidence: float | None = None,
    code_value: str | None = None,
    codes: CodeTable | None = None,
    lexicon: Lexicon | None = None,
    k: int = 5,
) -> Plan:
    """Decide how to reply to ``text`` (``intent``: the NLU intent, when there is one;
    ``code_value``: a ``response_code`` entity value Rasa found; used only when the message is
    just that code, since the pattern is what defines a code mention)."""
    lexicon = lexicon or default_lexicon()
    codes = codes or default_codes()
    signal = lexicon.domain_signal(text)
    brand = lexicon.find_brand(text)
    mention = find_code(text, codes)
    if mention is None and code_value and is_bare_code(text, code_value):
        # "33" on its own: the entity is the whole message. Elsewhere a statistical extractor's
        # guess ("激活299元") is not trusted: the pattern above is the definition of a code.
        mention = lookup(code_value, codes)
    if mention is not None:
        return Plan("code", code=mention, signal=signal, brand=brand, areas=("fault",))

    result = engine.search(text, k=k, closest=True)
    areas = signal.areas
    pos_area = POS_INTENTS.get(intent or "")
    pos_intent = pos_area is not None and (intent_confidence is None or intent_confidence >= POS_INTENT_CONFIDENCE)
    if pos_area is not None and pos_intent and pos_area not in areas:
        areas = (pos_area, *areas)
    kind = plan_kind(
        result.decision,
        signal.level,
        vague=lexicon.is_vague(text),
        vetoed=result.vetoed,
        pos_intent=pos_intent,
        top_score=result.top_score,
        floor=engine.thresholds().closest,
        has_closest=bool(result.closest),
    )
    hits = {
        "answer": result.results,
        "suggest": result.results[:SUGGESTIONS],
        "closest": result.closest[:SUGGESTIONS],
    }.get(kind, [])
    return Plan(kind, list(hits), signal=signal, brand=brand, areas=areas, result=result)


def is_bare_code(text: str, value: str) -> bool:
    """The message is nothing but the code (give or take spaces and punctuation)."""
    stripped = "".join(ch for ch in text if ch.isalnum())
    return bool(stripped) and canonical_code(stripped) is not None and canonical_code(stripped) == canonical_code(value)


def plan_kind(
    decision: str,
    level: str,
    *,
    vetoed: bool,
    vague: bool = False,
    pos_intent: bool = False,
    top_score: float | None = None,
    floor: float | None = None,
    has_closest: bool = True,
) -> str:
    """The reply kind for a search decision (the evaluation replays it with fitted thresholds).

    In domain: ``core`` words always; ``domain`` words or a POS-only intent unless a known
    out-of-scope question vetoed the match. A ``vague`` message ("机器有点问题": something is
    wrong, nothing says what) is asked which area, whatever entry scored best."""
    if vague:
        return "clarify"
    if decision in ("answer", "suggest"):
        return decision
    in_domain = level == "core" or ((level == "domain" or pos_intent) and not vetoed)
    if not in_domain:
        return "none"
    if has_closest and floor is not None and top_score is not None and top_score >= floor:
        return "closest"
    return "clarify"


def search_area(engine: FaqEngine, area: str, query: str | None, k: int = SUGGESTIONS) -> tuple[str, list[Hit]]:
    """The merchant chose ``area``: ('answer', [hit]) when the question now has a confident
    answer within it, else ('suggest', hits) with its closest entries, or its first entries
    when there is no question to rank by (a vague message)."""
    cats = AREA_CATEGORIES[area]
    if query and query.strip() and not default_lexicon().is_vague(query):
        res = engine.search(query, k=k, categories=cats, closest=True)
        if res.decision == "answer" and res.results:
            return "answer", res.results[:1]
        hits = (res.results or res.closest)[:k]
        if hits:
            return "suggest", hits
    return "suggest", [hit_of(e) for e in engine.entries if e.category in cats][:k]


def hit_of(entry: Entry) -> Hit:
    return Hit(entry, 0.0)
