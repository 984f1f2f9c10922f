"""Every error, ours or the framework's, answered in the one error envelope (docs/api.md)."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, g, jsonify
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from app.core.errors import LinliError

log = logging.getLogger(__name__)

#: Chinese messages for the framework's own HTTP errors.
_HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式有误"),
    401: ("unauthenticated", "请先登录"),
    403: ("forbidden", "没有权限进行此操作"),
    404: ("not_found", "找不到该地址或记录"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "上传内容太大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    429: ("rate_limited", "操作太频繁，请稍后再试"),
}


def envelope(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> tuple[Response, int]:
    """The JSON error body every client can rely on."""
    return jsonify({"error": {"code": code, "message": message, "details": details or {}}}), status


def _validation_details(exc: ValidationError) -> dict[str, Any]:
    fields = []
    for item in exc.errors(include_url=False, include_input=False):
        fields.append({"field": ".".join(str(part) for part in item["loc"]), "problem": item["msg"]})
    return {"fields": fields}


def register_error_handlers(app: Flask) -> None:
    """Install the handlers; the catch-all logs a 500 with the request id."""

    @app.errorhandler(LinliError)
    def _linli(exc: LinliError) -> tuple[Response, int]:
        response, status = envelope(exc.http_status, exc.code, exc.message, exc.details)
        retry_after = exc.details.get("retry_after_seconds")
        if status == 429 and isinstance(retry_after, int) and retry_after > 0:  # noqa: PLR2004 - Too Many Requests
            # The header says it to HTTP clients and proxies; details keeps it for the mini-program.
            response.headers["Retry-After"] = str(retry_after)
        return response, status

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError) -> tuple[Response, int]:
        return envelope(400, "invalid_input", "输入有误，请检查标出的字段", _validation_details(exc))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        code, message = _HTTP_ERRORS.get(status, ("http_error", exc.name))
        return envelope(status, code, message)

    @app.errorhandler(sa.exc.DBAPIError)
    def _database(exc: sa.exc.DBAPIError) -> tuple[Response, int]:
        if not exc.connection_invalidated:
            return _unexpected(exc)
        # A pooled connection died (a database restart, an idle timeout): the pool has dropped it
        # and its like, so the next request gets a fresh one. Ask the client to try again.
        log.warning("database connection lost; answered 503: %s", exc.orig)
        response, status = envelope(503, "database_unavailable", "数据库连接中断，请稍后再试")
        response.headers["Retry-After"] = "1"
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        if app.testing and not app.config.get("LINLI_ENVELOPE_500"):
            raise exc  # tests see the real traceback (indico does the same)
        request_id = g.get("request_id", "-")
        log.exception("unhandled error, request_id=%s", request_id)
        return envelope(500, "internal_error", "服务器出错了，请稍后再试", {"request_id": request_id})
