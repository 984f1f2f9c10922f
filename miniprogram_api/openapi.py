"""Build the OpenAPI 3.1 document from the endpoint registry."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from miniprogram_api.registry import OPERATIONS, Operation

_REF = "#/components/schemas/{model}"
_NO_CONTENT = 204

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
    413: "上传内容太大",
    422: "内容未通过安全检查",
    429: "操作太频繁",
    503: "依赖的服务（微信、数据库）暂时不可用",
}


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
    """The documented success answer: its schema and example, or no content for a 204."""
    success: dict[str, Any] = {"description": "成功"}
    if op.status == _NO_CONTENT:
        return success  # OpenAPI describes no body at all, not an empty one
    if op.response is not None:
        answer: dict[str, Any] = {"schema": refs[(op.response, "serialization")]}
    elif op.example is not None:
        answer = {"schema": {"type": "object" if op.answer_type == "application/json" else "string"}}
    else:  # a file: a photo, the docs page's scripts
        answer = {"schema": {"type": "string", "format": "binary"}}
    if op.example is not None:
        answer["example"] = op.example
    success["content"] = {op.answer_type: answer}
    return success


def _operation(op: Operation, refs: dict[tuple[type[BaseModel], str], Any], schemas: dict[str, Any]) -> dict[str, Any]:
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
    for status in sorted({*op.errors, 500}):
        responses[str(status)] = {
            "description": _STATUS_TEXT.get(status, "服务器出错"),
            "content": {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}},
        }
    doc["responses"] = responses
    if op.auth:
        doc["security"] = [{"bearer": []}]
    else:
        doc["security"] = []
    return doc


def build_openapi() -> dict[str, Any]:
    """The whole document; every registered endpoint appears in it."""
    refs, defs = models_json_schema(_models(), ref_template=_REF)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Error"] = _ERROR_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, refs, schemas)  # type: ignore[arg-type]
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
