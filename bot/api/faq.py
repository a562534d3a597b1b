"""FAQ search over HTTP: ``GET /api/faq/search``, ``GET /api/faq/codes[/{code}]`` and ``GET /api/faq/{id}``.

Both need an API key with the ``faq:read`` scope. The engine is the process-wide
one (``bot.api.deps.FaqDep``; hot-reloading, thread-safe), so these
endpoints are plain ``def``: FastAPI runs them in its thread pool and a ~10 ms
encode never blocks the event loop.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from bot.api.auth import require_scope
from bot.api.deps import FaqDep
from bot.faq.codes import CodeMention, canonical_code, default_codes, find_codes, lookup
from bot.faq.engine import FaqEngine
from bot.faq.kb import CATEGORIES
from bot.faq.triage import CODE_CATEGORY, KINDS, triage

MAX_QUERY_CHARS = 10_000  # the engine encodes at most 256 characters; longer input is cut, not refused

router = APIRouter(prefix="/api/faq", tags=["faq"], dependencies=[Depends(require_scope("faq:read"))])


class FaqHit(BaseModel):
    id: str = Field(description="Stable entry id, e.g. fault-printer-no-receipt.")
    category: str = Field(description="settlement, fees, activation, fault, account or general.")
    subcategory: str | None = None
    question: str = Field(description="The entry's canonical question.")
    answer: str
    score: float = Field(description="Fused relevance score (higher is better; compare within one response).")
    escalate: str | None = Field(None, description="Team to hand off to if the answer does not help.")
    provider_specific: bool = Field(False, description="The answer depends on the provider (rates, times, menus).")
    match: Literal["high", "medium", "low"] | None = Field(
        None,
        description=(
            "How well it matches, for people: high = at or above the answer threshold, medium = at or above "
            "the closest (else suggest) threshold, low = below."
        ),
    )


def match_level(score: float, engine: FaqEngine) -> str:
    th = engine.thresholds("fused")
    if score >= th.answer:
        return "high"
    floor = th.closest if th.closest is not None else th.suggest
    return "medium" if score >= min(floor, th.answer) else "low"


class CodeHit(BaseModel):
    code: str = Field(description="The code as the table has it (05, A7), or as typed when it is not a code.")
    known: bool = Field(description="False: not in the code table (unknown or malformed).")
    meaning: str | None = None
    side: Literal["cardholder", "merchant", "acquirer", "none"] | None = Field(
        None, description="Whose side the problem is on: card holder/issuer, merchant/terminal, acquirer/network."
    )
    side_label: str | None = None
    steps: list[str] = Field(default_factory=list, description="What the merchant can do, in order.")
    varies: bool = Field(False, description="Acquirers use this code differently.")
    display: str | None = Field(None, description="What terminals commonly show next to the code.")


class FaqSearchResponse(BaseModel):
    query: str
    decision: Literal["answer", "suggest", "none"] = Field(
        description=(
            "What the chat does with this question. answer: reply with results[0] (or, for a quoted "
            "response code, with codes[0]); suggest: offer results (at most 3) as choices; none: no entry "
            "to offer (see kind: out of scope, or about POS work but the area must be asked first)."
        )
    )
    kind: Literal[KINDS] = Field(  # type: ignore[valid-type]
        description=(
            "The chat's plan (bot.faq.triage): code, answer, suggest, closest (no confident entry, the "
            "closest ones are offered), clarify (about POS work, the area is asked), none (out of scope)."
        )
    )
    results: list[FaqHit]
    codes: list[CodeHit] = Field(
        default_factory=list,
        description="Terminal response codes the query quotes (返回码05, 显示A7), from the code table.",
    )


def code_hit(m: CodeMention) -> CodeHit:
    e = m.entry
    if e is None:
        return CodeHit(code=m.code or m.raw, known=False)
    return CodeHit(
        code=e.code,
        known=True,
        meaning=e.meaning,
        side=e.side,
        side_label=e.side_label,
        steps=list(e.steps),
        varies=e.varies,
        display=e.display,
    )


class FaqEntry(BaseModel):
    id: str
    category: str
    subcategory: str | None = None
    question: str
    paraphrases: list[str]
    answer: str
    escalate: str | None = None
    source_file: str
    provider_specific: bool = False


@router.get(
    "/search",
    response_model=FaqSearchResponse,
    summary="Search the FAQ knowledge base",
    responses={422: {"description": "q is missing or blank, or k is outside 1..20"}},
)
def search_faq(
    engine: FaqDep,
    q: Annotated[
        str,
        Query(
            description="The merchant's question, in any wording (simplified or traditional Chinese, mixed with English).",
            max_length=MAX_QUERY_CHARS,
        ),
    ],
    k: Annotated[int, Query(ge=1, le=20, description="How many results at most (suggest returns at most 3).")] = 5,
    category: Annotated[
        Literal[CATEGORIES] | None,  # type: ignore[valid-type]
        Query(description="Only entries of this category (staff filter); decision and kind stay the chat's."),
    ] = None,
) -> FaqSearchResponse:
    if not q.strip():
        # Query(min_length=1) would let "   " through; a blank question is a client error, not "no match".
        raise RequestValidationError(
            [
                {
                    "type": "string_blank",
                    "loc": ("query", "q"),
                    "msg": "查询内容 q 不能为空 / query parameter q must not be empty or blank",
                    "input": q,
                }
            ]
        )
    # The same decision the chat makes, so what staff and the ticketing system see is what merchants get.
    plan = triage(engine, q, k=k)
    if plan.kind == "code":
        # The code table answers; the entries shown beside it are the fault entries closest to the message.
        hits, decision = engine.search(q, k=k, categories=(CODE_CATEGORY,), closest=True), "answer"
        results = hits.results or hits.closest
    else:
        results = plan.hits
        decision = {"answer": "answer", "suggest": "suggest", "closest": "suggest"}.get(plan.kind, "none")
    if category is not None:
        hits = engine.search(q, k=k, categories=(category,), closest=True)
        results = hits.results or hits.closest
    return FaqSearchResponse(
        query=q,
        decision=decision,
        kind=plan.kind,
        results=[
            FaqHit(
                id=h.id,
                category=h.category,
                subcategory=h.subcategory,
                question=h.question,
                answer=h.answer,
                score=h.score,
                escalate=h.escalate,
                provider_specific=h.provider_specific,
                match=match_level(h.score, engine),
            )
            for h in results[:k]
        ],
        codes=[code_hit(m) for m in find_codes(q, default_codes())],
    )


class CodeList(BaseModel):
    codes: list[CodeHit]


@router.get("/codes", response_model=CodeList, summary="Every terminal response code in the table")
def list_codes() -> CodeList:
    return CodeList(codes=[code_hit(lookup(c.code)) for c in default_codes()])


@router.get(
    "/codes/{code}",
    response_model=CodeHit,
    summary="One terminal response code",
    responses={404: {"description": "Not in the code table"}, 422: {"description": "Not a code at all"}},
)
def get_code(code: Annotated[str, Path(description="The code: 05, 51, A7 (any case).", max_length=20)]) -> CodeHit:
    if canonical_code(code) is None:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("path", "code"),
                    "msg": "返回码应为 1-4 位数字或字母，如 05、A7 / a code is 1-4 letters or digits, e.g. 05 or A7",
                    "input": code,
                }
            ]
        )
    m = lookup(code)
    if m.entry is None:
        raise HTTPException(
            status_code=status.HTTP_404_NOT_FOUND,
            detail=f"代码表里没有这个返回码 / no response code '{m.code}' in the table",
        )
    return code_hit(m)


@router.get(
    "/{entry_id}",
    response_model=FaqEntry,
    summary="One FAQ entry by id",
    responses={404: {"description": "No entry with this id"}},
)
def get_faq_entry(
    engine: FaqDep,
    entry_id: Annotated[str, Path(description="Entry id, e.g. fault-printer-no-receipt.", max_length=200)],
) -> FaqEntry:
    entry = engine.get(entry_id)
    if entry is None:
        raise HTTPException(
            status_code=status.HTTP_404_NOT_FOUND,
            detail=f"没有这个 FAQ 条目 / no FAQ entry with id '{entry_id}'",
        )
    return FaqEntry(
        id=entry.id,
        category=entry.category,
        subcategory=entry.subcategory,
        question=entry.question,
        paraphrases=list(entry.paraphrases),
        answer=entry.answer,
        escalate=entry.escalate,
        source_file=entry.source_file,
        provider_specific=entry.provider_specific,
    )
