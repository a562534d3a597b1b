"""Staff insight routes: the unanswered queue and the analytics dashboard (with CSV export).

* ``GET /api/unanswered`` (``analytics:read``): unanswered questions grouped by similarity,
  most asked first (``bot.analytics.unanswered``).
* ``POST /api/unanswered/groups/{group_key}/resolve`` (``faq:write``): the group's question now
  has an answer: ``{"entry_id", "question", "resolution": "wording" | "new_entry"}``. The page
  adds the wording through the knowledge-base API first, then calls this.
* ``POST /api/unanswered/groups/{group_key}/ignore`` (``faq:write``): out of scope.
* ``GET /api/analytics?since=YYYY-MM-DD&until=YYYY-MM-DD`` (``analytics:read``): every number
  of the dashboard (``bot.analytics.queries.overview``), with the Chinese labels of its columns.
* ``GET /api/analytics/{table}?since=&until=&format=csv`` : one table (daily, entries,
  tickets, unanswered) as JSON or as CSV (UTF-8 with BOM, for Excel).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from bot.analytics.period import Period, PeriodError
from bot.analytics.queries import Overview, overview
from bot.analytics.unanswered import GroupGone, UnansweredQueue, UnknownEntry
from bot.api.auth import AnalyticsRead, FaqWrite
from bot.api.deps import ServicesDep
from bot.api.errors import ApiError
from bot.core.services import Services
from bot.faq.kb import CATEGORY_LABELS as FAQ_CATEGORY_LABELS
from bot.tickets import states

router = APIRouter(tags=["analytics"])

# Column labels of the tables: the CSV headers and the page's legends and table heads.
DAILY_COLUMNS = {
    "day": "日期",
    "conversations": "会话数",
    "questions": "问题数",
    "answered": "机器人解答",
    "answer_rate": "自助解答率",
    "suggest": "给出候选",
    "suggest_rate": "候选率",
    "none": "未找到答案",
    "none_rate": "未答率",
    "handoffs": "转人工会话",
    "handoff_rate": "转人工率",
    "up": "👍",
    "down": "👎",
    "ratings": "评分数",
    "rating_avg": "平均评分",
    "csat": "满意度（4-5分占比）",
    "first_reply_median_s": "首次人工回复中位数（秒）",
}
ENTRY_COLUMNS = {
    "entry_id": "条目编号",
    "question": "标准问题",
    "category": "类别",
    "answered": "回答次数",
    "up": "👍",
    "down": "👎",
    "ratings": "评分数",
    "rating_avg": "平均评分",
    "csat": "满意度（4-5分占比）",
}
TICKET_COLUMNS = {"category": "工单类别", "status": "状态", "count": "数量"}
UNANSWERED_COLUMNS = {
    "question": "问题",
    "count": "次数",
    "conversations": "会话数",
    "last_seen": "最近一次",
    "samples": "其他问法",
    "candidates": "最接近的条目",
}
FIRST_REPLY_LABELS = {
    "handoffs": "转人工次数",
    "replied": "已回复",
    "median_s": "中位数（秒）",
    "p90_s": "90%（秒）",
    "mean_s": "平均（秒）",
}
RATE_COLUMNS = frozenset({"answer_rate", "suggest_rate", "none_rate", "handoff_rate", "csat"})


def _queue(services: Services) -> UnansweredQueue:
    return UnansweredQueue(services.db, services.faq, services.settings)


# --- the unanswered queue ---------------------------------------------------------------------


class UnansweredOut(BaseModel):
    groups: int
    questions: int
    items: list[dict]


@router.get("/api/unanswered", response_model=UnansweredOut, summary="Unanswered questions, grouped by similarity")
def list_unanswered(
    services: ServicesDep, _caller: AnalyticsRead, limit: int = Query(50, ge=1, le=500)
) -> UnansweredOut:
    groups = _queue(services).groups()
    return UnansweredOut(
        groups=len(groups), questions=sum(g.count for g in groups), items=[g.as_dict() for g in groups[:limit]]
    )


GroupKey = Path(..., pattern=r"^g\d{1,18}$", description="The key GET /api/unanswered gave the group.")


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entry_id: str = Field(..., min_length=1, max_length=128, description="The entry that answers the group now.")
    question: str = Field(
        ..., min_length=1, max_length=500, description="The wording added (or the new entry's question)."
    )
    resolution: Literal["wording", "new_entry"] = "wording"


class ResolvedOut(BaseModel):
    group_key: str
    resolution: str
    entry_id: str | None
    questions: int = Field(..., description="How many questions left the queue.")


def _resolved(r) -> ResolvedOut:
    return ResolvedOut(group_key=r.key, resolution=r.resolution, entry_id=r.entry_id, questions=r.questions)


@router.post(
    "/api/unanswered/groups/{group_key}/resolve",
    response_model=ResolvedOut,
    responses={404: {"description": "No such group (resolved meanwhile)"}, 422: {"description": "Unknown entry"}},
)
def resolve_group(services: ServicesDep, body: ResolveIn, caller: FaqWrite, group_key: str = GroupKey) -> ResolvedOut:
    try:
        r = _queue(services).resolve(
            group_key, by=caller.actor, entry_id=body.entry_id, question=body.question, resolution=body.resolution
        )
    except UnknownEntry as exc:
        raise ApiError(422, "unknown_entry", exc.message, loc=["body", "entry_id"]) from None
    except GroupGone as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, exc.message) from None
    return _resolved(r)


@router.post(
    "/api/unanswered/groups/{group_key}/ignore",
    response_model=ResolvedOut,
    responses={404: {"description": "No such group (resolved meanwhile)"}},
)
def ignore_group(services: ServicesDep, caller: FaqWrite, group_key: str = GroupKey) -> ResolvedOut:
    try:
        return _resolved(_queue(services).ignore(group_key, by=caller.actor))
    except GroupGone as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, exc.message) from None


# --- analytics -----------------------------------------------------------------------------------


def _overview(services: Services, since: str | None, until: str | None) -> Overview:
    settings = services.settings
    tz = getattr(settings, "timezone", "Asia/Shanghai")
    try:
        period = Period.parse(
            since,
            until,
            tz,
            today=datetime.now(ZoneInfo(tz)).date(),
            max_days=getattr(settings, "analytics_max_days", 366),
        )
    except PeriodError as exc:
        raise ApiError(422, "bad_period", str(exc), loc=["query", exc.field]) from None
    return overview(
        services.db,
        period,
        engine=getattr(services, "faq", None),
        similarity=getattr(settings, "unanswered_similarity", 0.6),
        max_questions=getattr(settings, "unanswered_max_questions", 2000),
    )


Since = Query(None, max_length=20, description="First local day, YYYY-MM-DD (default: 29 days before until).")
Until = Query(None, max_length=20, description="Last local day, inclusive, YYYY-MM-DD (default: today).")


@router.get("/api/analytics", summary="Every number of the analytics dashboard for a date range")
def analytics(
    services: ServicesDep, _caller: AnalyticsRead, since: str | None = Since, until: str | None = Until
) -> dict:
    data = _overview(services, since, until).as_dict()
    data["labels"] = {
        "daily": DAILY_COLUMNS,
        "entries": ENTRY_COLUMNS,
        "tickets": TICKET_COLUMNS,
        "unanswered": UNANSWERED_COLUMNS,
        "first_reply": FIRST_REPLY_LABELS,
    }
    return data


def _rows(table: str, data: dict) -> tuple[dict, list[dict]]:
    if table == "daily":
        return DAILY_COLUMNS, data["days"]
    if table == "entries":
        return ENTRY_COLUMNS, data["entries"]
    if table == "tickets":
        return TICKET_COLUMNS, data["tickets"]
    rows = [
        g | {"samples": "；".join(g["samples"][1:]), "candidates": "；".join(c["question"] for c in g["candidates"])}
        for g in data["unanswered"]
    ]
    return UNANSWERED_COLUMNS, rows


def _cell(column: str, value, labels: dict) -> str:
    if value is None:
        return ""
    if column in RATE_COLUMNS:
        return f"{value * 100:.1f}%"
    if column == "status":
        value = labels["status"].get(value, value)
    elif column == "category" and value in labels["category"]:
        value = labels["category"][value]
    text = str(value)
    # A spreadsheet runs cells that start like a formula: merchants' words must stay words.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_labels(table: str) -> dict:
    category = states.CATEGORY_LABELS if table == "tickets" else FAQ_CATEGORY_LABELS
    return {"status": states.STATUS_LABELS, "category": category}


@router.get(
    "/api/analytics/{table}",
    summary="One analytics table as JSON or CSV",
    responses={200: {"content": {"text/csv": {}}}},
)
def analytics_table(
    services: ServicesDep,
    _caller: AnalyticsRead,
    table: Literal["daily", "entries", "tickets", "unanswered"],
    since: str | None = Since,
    until: str | None = Until,
    format: Literal["json", "csv"] = Query("json"),
):
    result = _overview(services, since, until)
    columns, rows = _rows(table, result.as_dict())
    if format == "json":
        return {
            "since": result.period.start.isoformat(),
            "until": result.period.end.isoformat(),
            "columns": columns,
            "rows": rows,
        }
    labels = _csv_labels(table)
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads UTF-8 only with a BOM
    writer = csv.writer(out)
    writer.writerow(columns.values())
    for row in rows:
        writer.writerow(_cell(c, row.get(c), labels) for c in columns)
    name = f"posbot-{table}-{result.period.start.isoformat()}-{result.period.end.isoformat()}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
