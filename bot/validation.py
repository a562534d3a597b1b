"""Bilingual validation errors: every pydantic error names the field, in Chinese and English.

The same translation serves in process (the chat actions show ``exc.errors()[i]["msg"]``) and
through the API (``bot.api.errors`` translates the errors FastAPI raises itself). Models deriving
from ``BilingualModel`` get it for their own errors; ``matching`` and ``bounded`` are the
reusable string checks of the input schemas (``bot.tickets.schemas``, ``bot.field.schemas``).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from bot.vocabulary import TICKET_FIELD_LABELS


def _fmt(f: str, zh: str, en: str) -> str:
    label = TICKET_FIELD_LABELS.get(f.rsplit(".", 1)[-1], "字段")
    return f"{label}（{f}）{zh} / {f} {en}"


def _expected(ctx: dict[str, Any]) -> str:
    return str(ctx.get("expected", "")).replace("'", "")


# type -> (zh, en) templates; {ctx keys} are filled from the pydantic error's ctx.
_TEMPLATES: dict[str, tuple[str, str]] = {
    "missing": ("为必填项", "is required"),
    "string_type": ("必须是字符串", "must be a string"),
    "string_too_short": ("长度至少为 {min_length}", "must have at least {min_length} characters"),
    "string_too_long": ("最多 {max_length} 个字符", "must have at most {max_length} characters"),
    "string_pattern_mismatch": ("格式不正确", "has an invalid format"),
    "enum": ("必须是以下之一：{expected}", "must be one of: {expected}"),
    "literal_error": ("必须是以下之一：{expected}", "must be one of: {expected}"),
    "int_type": ("必须是整数", "must be an integer"),
    "int_parsing": ("必须是整数", "must be an integer"),
    "int_from_float": ("必须是整数", "must be an integer"),
    "bool_type": ("必须是布尔值", "must be a boolean"),
    "bool_parsing": ("必须是布尔值", "must be a boolean"),
    "float_type": ("必须是数字", "must be a number"),
    "float_parsing": ("必须是数字", "must be a number"),
    "decimal_type": ("必须是数字", "must be a number"),
    "decimal_parsing": ("必须是数字", "must be a number"),
    "datetime_type": ("必须是 ISO 8601 日期时间", "must be an ISO 8601 datetime"),
    "datetime_parsing": ("必须是 ISO 8601 日期时间", "must be an ISO 8601 datetime"),
    "datetime_from_date_parsing": ("必须是 ISO 8601 日期时间", "must be an ISO 8601 datetime"),
    "date_type": ("必须是日期（YYYY-MM-DD）", "must be a date (YYYY-MM-DD)"),
    "date_parsing": ("必须是日期（YYYY-MM-DD）", "must be a date (YYYY-MM-DD)"),
    "date_from_datetime_parsing": ("必须是日期（YYYY-MM-DD）", "must be a date (YYYY-MM-DD)"),
    "date_from_datetime_inexact": ("必须是日期（YYYY-MM-DD）", "must be a date (YYYY-MM-DD)"),
    "greater_than": ("必须大于 {gt}", "must be greater than {gt}"),
    "greater_than_equal": ("必须大于或等于 {ge}", "must be greater than or equal to {ge}"),
    "less_than": ("必须小于 {lt}", "must be less than {lt}"),
    "less_than_equal": ("必须小于或等于 {le}", "must be less than or equal to {le}"),
    "list_type": ("必须是列表", "must be a list"),
    "too_long": ("最多 {max_length} 项", "must have at most {max_length} items"),
    "dict_type": ("必须是 JSON 对象", "must be a JSON object"),
    "model_type": ("必须是 JSON 对象", "must be a JSON object"),
    "model_attributes_type": ("必须是 JSON 对象", "must be a JSON object"),
    "extra_forbidden": ("不是可接受的字段", "is not an accepted field"),
    "uuid_type": ("必须是 UUID", "must be a UUID"),
    "uuid_parsing": ("必须是 UUID", "must be a UUID"),
}

_CJK = re.compile(r"[\u4e00-\u9fff]")


def field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    """Dotted field path of an error location, without FastAPI's body/query/header/path part."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "header", "path", "cookie"):
        source = parts.pop(0)
        if not parts or all(isinstance(p, int) for p in parts):
            return source if source == "body" else "request"
    return ".".join(str(p) for p in parts) or "body"


def bilingual_message(error: dict[str, Any]) -> str:
    """Chinese-and-English message naming the field of one pydantic error dict."""
    msg = str(error.get("msg", ""))
    if _CJK.search(msg):  # ours already (custom validators)
        return msg
    etype = str(error.get("type", ""))
    if etype == "json_invalid":
        return "请求体不是合法的 JSON / request body is not valid JSON"
    f = field_name(error.get("loc", ()))
    ctx = dict(error.get("ctx") or {})
    if "expected" in ctx:
        ctx["expected"] = _expected(ctx)
    tpl = _TEMPLATES.get(etype)
    if tpl is None:
        return _fmt(f, f"无效：{msg}", f"is invalid: {msg}")
    try:
        return _fmt(f, tpl[0].format(**ctx), tpl[1].format(**ctx))
    except (KeyError, IndexError):
        return _fmt(f, "无效", "is invalid")


def translate_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic error dicts with bilingual ``msg`` and a ``field`` key; ``input`` dropped.

    The input is dropped on purpose: it may be a megabyte of text or a secret.
    """
    out = []
    for e in errors:
        out.append(
            {
                "type": e.get("type"),
                "loc": list(e.get("loc", ())),
                "field": field_name(e.get("loc", ())),
                "msg": bilingual_message(e),
            }
        )
    return out


def field_error(field: str, zh: str, en: str) -> PydanticCustomError:
    """A validation error of ``field`` whose message is already bilingual (kept as is)."""
    return PydanticCustomError(f"{field}_invalid", _fmt(field, zh, en))


class BilingualModel(BaseModel):
    """Base whose every validation error has a bilingual message naming the field."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="wrap")
    @classmethod
    def _bilingual_errors(cls, data: Any, handler):
        try:
            model = handler(data)
        except ValidationError as exc:
            raise ValidationError.from_exception_data(
                exc.title,
                [
                    {
                        "type": PydanticCustomError(e["type"], bilingual_message(dict(e))),
                        "loc": e["loc"],
                        "input": e["input"],
                    }
                    for e in exc.errors()
                ],
            ) from None
        problems = model._cross_field_errors()
        if problems:
            # Raised here rather than in an "after" validator so the error's loc names the field.
            raise ValidationError.from_exception_data(
                cls.__name__,
                [{"type": err, "loc": (field,), "input": data} for field, err in problems],
            )
        return model

    def _cross_field_errors(self) -> list[tuple[str, PydanticCustomError]]:
        """Override for rules spanning several fields: (field to blame, error) pairs."""
        return []


def matching(field: str, regex: str, zh: str, en: str):
    """A check that the whole string matches ``regex``; the message says what is expected."""
    compiled = re.compile(regex)

    def check(v: str) -> str:
        if not compiled.fullmatch(v):
            raise field_error(field, zh, en)
        return v

    return AfterValidator(check)


def bounded(field: str, max_len: int, *, min_len: int = 1):
    """A length check: too short reads as empty, too long names the limit."""

    def check(v: str) -> str:
        if len(v) < min_len:
            raise field_error(field, "不能为空", "must not be empty")
        if len(v) > max_len:
            raise field_error(field, f"最多 {max_len} 个字符", f"must have at most {max_len} characters")
        return v

    return AfterValidator(check)
