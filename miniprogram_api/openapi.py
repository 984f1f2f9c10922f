"""Build the OpenAPI 3.1 document from the endpoint registry."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from app.core.config import LimitsSection
from miniprogram_api.registry import OPERATIONS, Limit, Operation

_REF = "#/components/schemas/{model}"

_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "snake_case, stable"},
                "message": {"type": "string", "description": "中文说明，可直接展示"},
                "details": {"type": "object"},
            },
        }
    },
}

_STATUS_TEXT = {
    400: "输入有误 (invalid_input, invalid_code …)",
    401: "未登录或登录已过期",
    403: "角色无权进行此操作",
    404: "不存在，或属于其他社区",
    409: "状态不允许 (invalid_transition) 或被他人抢先 (already_claimed)",
    410: "已过期删除 (gone)",
    413: "上传内容太大",
    422: "内容未通过安全检查",
    429: "操作太频繁 (rate_limited)，等待 Retry-After 秒后再试",
    503: "依赖的服务（微信、数据库）暂时不可用",
}


#: What each kind of limit counts per, as the 429's description says it.
_PER_TEXT = {"ip": "每个 IP 地址", "user": "每个用户", "openid": "每个微信用户（openid）"}

_RETRY_AFTER: dict[str, Any] = {
    "description": "需要等待的秒数（整数），之后可以再试；与 error.details.retry_after 相同",
    "schema": {"type": "integer", "minimum": 1},
}


def _limited(op: Operation, limits: LimitsSection | None) -> str:
    """The 429's description: which limits the endpoint counts against, with this server's values."""
    text = "操作太频繁 (rate_limited)，稍后再试：等待 Retry-After 秒"

    def one(limit: Limit) -> str:
        value = f" {limits.limit(limit.name)}" if limits is not None else ""
        return f"{_PER_TEXT[limit.per]}{value}（limits.{limit.name}）"

    if op.limits:
        text += "。限流：" + "；".join(one(limit) for limit in op.limits)
        if limits is not None and not limits.enabled:
            text += "（本服务器已关闭限流）"
    return text


def _errors(op: Operation, limits: LimitsSection | None) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    # A limited endpoint can always answer 429, whatever its declaration lists.
    for status in sorted({*op.errors, 500, *((429,) if op.limits else ())}):
        errors[str(status)] = {
            "description": _STATUS_TEXT.get(status, "服务器出错"),
            "content": {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}},
        }
        if status == 429:  # noqa: PLR2004 - the status is the name
            errors[str(status)]["description"] = _limited(op, limits)
            errors[str(status)]["headers"] = {"Retry-After": _RETRY_AFTER}
    return errors


def _models() -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    """Request bodies as they are validated, answers as they are serialised; each once.

    Only those two: a model in both modes gets two schemas named ``-Input`` and ``-Output``,
    and generated client code would carry ``OrderOutOutput`` for no reason.
    """
    keyed: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
    for op in OPERATIONS:
        if op.body is not None:
            keyed[(op.body, "validation")] = None
        if op.response is not None:
            keyed[(op.response, "serialization")] = None
    return list(keyed)


def _query_parameters(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF, mode="validation")
    for name, definition in schema.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _success(op: Operation, refs: dict[tuple[type[BaseModel], str], Any]) -> dict[str, Any]:
    """The success answer: its media type, schema and example."""
    if op.status == HTTPStatus.NO_CONTENT:
        return {"description": "成功，无内容"}  # a client generator must not expect a body
    if op.response is not None:
        answer: dict[str, Any] = {"schema": refs[(op.response, "serialization")]}
    elif op.example is not None:
        answer = {"schema": {"type": "object" if op.answer_type == "application/json" else "string"}}
    else:  # a file: a photo, the docs page's scripts
        answer = {"schema": {"type": "string", "format": "binary"}}
    if op.example is not None:
        answer["example"] = op.example
    return {"description": "成功", "content": {op.answer_type: answer}}


def _operation(
    op: Operation,
    refs: dict[tuple[type[BaseModel], str], Any],
    schemas: dict[str, Any],
    limits: LimitsSection | None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"summary": op.summary, "tags": [op.tag], "operationId": op.operation_id}
    if op.description:
        doc["description"] = op.description
    params = [
        {"name": name, "in": "path", "required": True, "schema": schema} for name, schema in op.path_params.items()
    ]
    if op.query is not None:
        params += _query_parameters(op.query, schemas)
    params += [
        {
            "name": header.name,
            "in": "header",
            "required": header.required,
            "description": header.description,
            "schema": {"type": "string", "minLength": 1, "maxLength": header.max_length},
        }
        for header in op.headers
    ]
    if params:
        doc["parameters"] = params
    if op.body is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {op.content_type: {"schema": refs[(op.body, "validation")]}},
        }
    elif op.content_type == "multipart/form-data":
        file_field = {
            "type": "object",
            "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}},
        }
        doc["requestBody"] = {"required": True, "content": {op.content_type: {"schema": file_field}}}
    responses: dict[str, Any] = {str(op.status): _success(op, refs)}
    responses.update(_errors(op, limits))
    doc["responses"] = responses
    if op.auth:
        doc["security"] = [{"bearer": []}]
    else:
        doc["security"] = []
    return doc


def build_openapi(limits: LimitsSection | None = None) -> dict[str, Any]:
    """The whole document; every registered endpoint appears in it, with ``limits``' values in
    the 429s of limited endpoints when given."""
    refs, defs = models_json_schema(_models(), ref_template=_REF)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Error"] = _ERROR_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, refs, schemas, limits)  # type: ignore[arg-type]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Linli 邻里 API",
            "version": "1",
            "description": "社区志愿服务小程序后端：居民下单、社区派单、专人接单、居民评单。",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
