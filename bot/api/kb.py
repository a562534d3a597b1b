"""Knowledge-base editing over HTTP: ``/api/faq/entries`` (the live KB in the database, bot/faq/store.py).

Reading needs ``faq:read``; every change needs ``faq:write`` (roles editor and admin) and is a
version recorded with the caller (``Caller.actor``: the staff username or ``api:<key name>``):

* ``GET    /api/faq/entries``                         list (``q``, ``category``, ``status``)
* ``POST   /api/faq/entries``                         create
* ``GET    /api/faq/entries/{id}``                    one entry with its version number
* ``PUT    /api/faq/entries/{id}``                    edit (``version``: refused with 409 if someone saved since)
* ``DELETE /api/faq/entries/{id}``                    retire: never answered again, kept with its history
* ``POST   /api/faq/entries/{id}/wordings``           add one wording ``{"text": ...}``
* ``DELETE /api/faq/entries/{id}/wordings/{n}``       remove the n-th paraphrase (1-based; ``text`` guards a stale page)
* ``GET    /api/faq/entries/{id}/versions``           every version, newest first
* ``GET    /api/faq/entries/{id}/versions/compare``   diff of two versions (``a``, ``b``)
* ``POST   /api/faq/entries/{id}/revert``             back to a version (itself a new version)
* ``GET    /api/faq/editor``                          the editor page's labels and limits

An invalid change is a 422 listing every problem the YAML loader would report (Chinese
``msg`` per item, ``message`` joining them). Each app instance serves the change once its
engine sees the KB revision move (``faq_reload_interval_s``, 2 s); the instance that took
the change reloads right after answering.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from bot.api.auth import Caller, FaqRead, FaqWrite
from bot.api.deps import FaqDep, KbStoreDep
from bot.api.errors import Responses
from bot.faq.engine import FaqEngine
from bot.faq.kb import CATEGORIES, CATEGORY_LABELS, ESCALATION_LABELS, ESCALATIONS, MIN_PARAPHRASES, SUBCATEGORY_LABELS
from bot.faq.models import ENTRY_ID_MAX
from bot.faq.versions import ACTION_LABELS, FIELD_LABELS, EntryView, VersionView

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/faq", tags=["faq editing"])

EntryId = Annotated[str, Path(description="Entry id, e.g. fault-printer-no-receipt.", max_length=ENTRY_ID_MAX)]

TEXT_MAX = 500
ANSWER_MAX = 5000
WORDINGS_MAX = 200


class EntryFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(..., max_length=20, description=f"One of {', '.join(CATEGORIES)}.")
    subcategory: str | None = Field(None, max_length=40)
    question: str = Field(..., max_length=TEXT_MAX, description="The canonical question (the first wording).")
    paraphrases: list[Annotated[str, Field(max_length=TEXT_MAX)]] = Field(
        default_factory=list,
        max_length=WORDINGS_MAX,
        description=f"Other wordings merchants use; at least {MIN_PARAPHRASES} distinct ones.",
    )
    answer: str = Field(..., max_length=ANSWER_MAX)
    escalate: str | None = Field(None, max_length=20, description=f"One of {', '.join(ESCALATIONS)}, or none.")
    provider_specific: bool = False


class EntryCreate(EntryFields):
    id: str = Field(..., max_length=ENTRY_ID_MAX, description="Lowercase letters, digits, '-' and '_'.")


class EntryUpdate(EntryFields):
    version: int | None = Field(None, description="The version the page edited; 409 when someone saved since.")


class WordingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(..., max_length=TEXT_MAX)


class RevertIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(..., ge=1, description="The version whose content the entry gets back.")
    expected_version: int | None = Field(None, description="The entry's current version as the page saw it.")


# The fields of bot.faq.versions.EntryView, under the schema name clients know (a docstring here
# would add a description to the OpenAPI schema).
class EntryOut(EntryView):
    pass


class EntryList(BaseModel):
    count: int
    items: list[EntryOut]


class VersionOut(BaseModel):
    version: int
    action: str
    action_label: str
    actor: str
    created_at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None


class VersionList(BaseModel):
    entry_id: str
    items: list[VersionOut]


class Compare(BaseModel):
    entry_id: str
    a: int
    b: int
    fields: list[dict[str, Any]] = Field(
        description="Per field: label, before, after, changed; lines / added / removed."
    )


def _out(view: EntryView) -> EntryOut:
    return EntryOut(**view.model_dump())


def _version(v: VersionView) -> VersionOut:
    return VersionOut(
        version=v.version,
        action=v.action,
        action_label=ACTION_LABELS.get(v.action, v.action),
        actor=v.actor,
        created_at=v.created_at,
        before=v.before,
        after=v.after,
        note=v.note,
    )


def _went_live(faq: FaqEngine, background: BackgroundTasks, caller: Caller, what: str, view: EntryView) -> EntryOut:
    """Log the change and let this instance's engine take it right after the response."""
    log.info("FAQ entry %s: %s by %s (version %d)", view.id, what, caller.actor, view.version)
    background.add_task(faq.check_for_changes)
    return _out(view)


_ERRORS: Responses = {
    404: {"description": "No entry (or version, or wording) with this id"},
    409: {"description": "Someone saved since (version), nothing changed, id taken, or the KB is served from files"},
    422: {"description": "The change breaks a rule of the knowledge base; every problem is listed"},
}


@router.get("/editor", responses=_ERRORS, summary="Labels and limits of the knowledge-base editor")
def editor(_caller: FaqRead) -> dict:
    return {
        "category": CATEGORY_LABELS,
        "subcategory": SUBCATEGORY_LABELS,
        "escalate": ESCALATION_LABELS,
        "field": FIELD_LABELS,
        "action": ACTION_LABELS,
        "min_paraphrases": MIN_PARAPHRASES,
        "limits": {"text": TEXT_MAX, "answer": ANSWER_MAX, "wordings": WORDINGS_MAX, "id": ENTRY_ID_MAX},
    }


@router.get(
    "/entries", response_model=EntryList, responses=_ERRORS, summary="Knowledge-base entries (live and retired)"
)
def list_entries(
    _caller: FaqRead,
    store: KbStoreDep,
    q: Annotated[str | None, Query(max_length=200, description="Words in the id, a wording or the answer.")] = None,
    category: Annotated[Literal[CATEGORIES] | None, Query()] = None,  # type: ignore[valid-type]
    status_: Annotated[Literal["live", "retired", "all"], Query(alias="status")] = "live",
) -> EntryList:
    retired = {"live": False, "retired": True, "all": None}[status_]
    items = [_out(v) for v in store.find(q=q, category=category, retired=retired)]
    return EntryList(count=len(items), items=items)


@router.post("/entries", response_model=EntryOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def create_entry(body: EntryCreate, caller: FaqWrite, store: KbStoreDep, faq: FaqDep, background: BackgroundTasks):
    view = store.create(body.model_dump(), caller.actor)
    return _went_live(faq, background, caller, "created", view)


@router.get("/entries/{entry_id}", response_model=EntryOut, responses=_ERRORS)
def get_entry(entry_id: EntryId, _caller: FaqRead, store: KbStoreDep) -> EntryOut:
    return _out(store.get(entry_id))


@router.put("/entries/{entry_id}", response_model=EntryOut, responses=_ERRORS)
def update_entry(
    entry_id: EntryId, body: EntryUpdate, caller: FaqWrite, store: KbStoreDep, faq: FaqDep, background: BackgroundTasks
):
    data = body.model_dump(exclude={"version"})
    view = store.update(entry_id, data, caller.actor, expected_version=body.version)
    return _went_live(faq, background, caller, "edited", view)


@router.delete("/entries/{entry_id}", response_model=EntryOut, responses=_ERRORS)
def retire_entry(
    entry_id: EntryId,
    caller: FaqWrite,
    store: KbStoreDep,
    faq: FaqDep,
    background: BackgroundTasks,
    version: Annotated[int | None, Query(description="The version the page saw; 409 when someone saved since.")] = None,
):
    view = store.retire(entry_id, caller.actor, expected_version=version)
    return _went_live(faq, background, caller, "retired", view)


@router.post(
    "/entries/{entry_id}/wordings", response_model=EntryOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS
)
def add_wording(
    entry_id: EntryId, body: WordingIn, caller: FaqWrite, store: KbStoreDep, faq: FaqDep, background: BackgroundTasks
):
    view = store.add_wording(entry_id, body.text, caller.actor)
    return _went_live(faq, background, caller, "wording added", view)


@router.delete("/entries/{entry_id}/wordings/{n}", response_model=EntryOut, responses=_ERRORS)
def remove_wording(
    entry_id: EntryId,
    n: Annotated[int, Path(ge=1, le=10_000, description="1-based position among the paraphrases.")],
    caller: FaqWrite,
    store: KbStoreDep,
    faq: FaqDep,
    background: BackgroundTasks,
    text: Annotated[str | None, Query(max_length=TEXT_MAX, description="The wording the page showed there.")] = None,
):
    view = store.remove_wording(entry_id, n, caller.actor, expected_text=text)
    return _went_live(faq, background, caller, "wording removed", view)


@router.get("/entries/{entry_id}/versions", response_model=VersionList, responses=_ERRORS)
def versions(entry_id: EntryId, _caller: FaqRead, store: KbStoreDep) -> VersionList:
    return VersionList(entry_id=entry_id, items=[_version(v) for v in store.versions(entry_id)])


@router.get("/entries/{entry_id}/versions/compare", response_model=Compare, responses=_ERRORS)
def compare(
    entry_id: EntryId,
    _caller: FaqRead,
    store: KbStoreDep,
    a: Annotated[int, Query(ge=1, description="The older version.")],
    b: Annotated[int, Query(ge=1, description="The newer version.")],
) -> Compare:
    return Compare(entry_id=entry_id, a=a, b=b, fields=store.compare(entry_id, a, b))


@router.post("/entries/{entry_id}/revert", response_model=EntryOut, responses=_ERRORS)
def revert(
    entry_id: EntryId, body: RevertIn, caller: FaqWrite, store: KbStoreDep, faq: FaqDep, background: BackgroundTasks
):
    view = store.revert(entry_id, body.version, caller.actor, expected_version=body.expected_version)
    return _went_live(faq, background, caller, f"reverted to version {body.version}", view)
