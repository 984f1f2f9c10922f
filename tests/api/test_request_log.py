"""The API's log lines in the JSON format: one line per request with its id, method, path (no
query string), status, time and user; the same request id on every line logged meanwhile and in
the ``X-Request-Id`` answer header; unsafe incoming ids replaced; no phone number or token in any
line."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from gunicorn.config import Config as GunicornConfig

from app.core.logs import ContextFilter, make_formatter
from app.runtime import Runtime
from miniprogram_api.server import JsonGunicornLogger
from tests.factories import actor_of, login

HEX_ID = re.compile(r"[0-9a-f]{32}")
PHONE = "13812345678"

Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def output(app: Flask) -> Iterator[io.StringIO]:
    """Everything logged during the test, through Linli's filter and JSON format. The app is
    built first: building it sets the root level from the settings (WARNING in tests)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(make_formatter("json"))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def lines(output: io.StringIO) -> Lines:
    def parse() -> list[dict[str, Any]]:
        return [json.loads(line) for line in output.getvalue().splitlines()]  # each line is JSON

    return parse


def _request_lines(lines: Lines) -> list[dict[str, Any]]:
    return [line for line in lines() if line["logger"] == "linli.request"]


def test_each_request_writes_one_json_line_with_its_id_method_path_status_and_time(
    client: FlaskClient, lines: Lines
) -> None:
    response = client.get("/healthz")
    [line] = _request_lines(lines)
    assert line["request_id"] == response.headers["X-Request-Id"]
    assert HEX_ID.fullmatch(line["request_id"])
    assert (line["method"], line["path"], line["status"]) == ("GET", "/healthz", 200)
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert line["level"] == "INFO"
    assert "user_id" not in line  # no token, no user
    assert line["message"].startswith("GET /healthz → 200, ")


def test_an_incoming_request_id_names_every_line_of_the_request_and_is_echoed(
    app: Flask, client: FlaskClient, lines: Lines
) -> None:
    @app.get("/_deep")
    def _deep() -> str:
        logging.getLogger("app.orders.somewhere").warning("something a use case says")
        return "ok"

    response = client.get("/_deep", headers={"X-Request-Id": "mp-7f3a.1_b"})
    assert response.headers["X-Request-Id"] == "mp-7f3a.1_b"
    deep, done = [line for line in lines() if line.get("request_id") == "mp-7f3a.1_b"]
    assert deep["logger"] == "app.orders.somewhere"
    assert (deep["method"], deep["path"]) == ("GET", "/_deep")
    assert done["logger"] == "linli.request"
    # The next request is a request of its own: nothing of this one is left on its lines.
    client.get("/healthz")
    assert _request_lines(lines)[-1]["request_id"] != "mp-7f3a.1_b"


@pytest.mark.parametrize(
    "incoming",
    ["bad id", "x" * 65, "", "id\tx", "id<script>", "请求", "a/b", "id;drop", "id%0Ax"],
    ids=["space", "too-long", "empty", "tab", "markup", "chinese", "slash", "semicolon", "encoded-newline"],
)
def test_an_unsafe_incoming_request_id_is_replaced_in_the_header_and_the_log(
    client: FlaskClient, lines: Lines, incoming: str
) -> None:
    response = client.get("/healthz", headers={"X-Request-Id": incoming})
    generated = response.headers["X-Request-Id"]
    assert HEX_ID.fullmatch(generated)
    [line] = _request_lines(lines)
    assert line["request_id"] == generated
    if incoming:
        assert incoming not in json.dumps(lines(), ensure_ascii=False)


def test_the_logged_path_has_no_query_string_and_names_the_user(client: FlaskClient, rt: Runtime, lines: Lines) -> None:
    headers = login(client, "amy")
    response = client.get(f"/api/v1/orders?scope=mine&q={PHONE}&cursor=abc", headers=headers)
    line = _request_lines(lines)[-1]
    assert line["path"] == "/api/v1/orders"
    assert line["status"] == response.status_code
    assert line["user_id"] == actor_of(rt, "amy").user_id
    assert line["message"].endswith(f", user {line['user_id']}")
    everything = json.dumps(lines(), ensure_ascii=False)
    assert "scope=mine" not in everything
    assert "cursor=abc" not in everything
    assert PHONE not in everything


def test_a_photo_links_token_is_not_logged(client: FlaskClient, lines: Lines) -> None:
    client.get("/api/v1/photos/12/WzEsOCwxNzk2MTE5MjAwXQ.vMbpSecretPart")
    line = _request_lines(lines)[-1]
    assert line["path"] == "/api/v1/photos/12/[redacted]"
    assert "vMbpSecretPart" not in json.dumps(lines())


def test_no_phone_number_or_token_is_logged_in_a_login_and_a_phone_binding(client: FlaskClient, lines: Lines) -> None:
    # DEBUG on every logger, so that the HTTP client's lines (the WeChat calls) are in too.
    headers = login(client, "amy")
    token = headers["Authorization"].removeprefix("Bearer ")
    bound = client.post("/api/v1/auth/phone", json={"code": f"sim-phone:{PHONE}"}, headers=headers)
    assert bound.status_code == 200, bound.get_json()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    everything = json.dumps(lines(), ensure_ascii=False)
    assert PHONE not in everything
    assert token not in everything
    assert "test-mp-secret" not in everything  # the AppSecret in jscode2session's query string
    paths = [line["path"] for line in _request_lines(lines)]
    assert paths == ["/api/v1/auth/login", "/api/v1/auth/phone", "/api/v1/me"]


def test_gunicorn_in_json_mode_writes_through_linlis_handler_without_photo_tokens(lines: Lines) -> None:
    error_log = logging.getLogger("gunicorn.error")
    try:
        logger = JsonGunicornLogger(GunicornConfig())
        logger.error("Error handling request %s", "/api/v1/photos/3/WzMsOF0.SecretPart")
        [line] = [line for line in lines() if line["logger"] == "gunicorn.error"]
        assert line["message"] == "Error handling request /api/v1/photos/3/[redacted]"
        assert [handler for handler in error_log.handlers if getattr(handler, "_gunicorn", False)] == []
    finally:
        # gunicorn's loggers are process-wide: leave them as gunicorn's own set-up has them.
        error_log.propagate = False
        error_log.filters.clear()
