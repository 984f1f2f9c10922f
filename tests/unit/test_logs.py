"""Log lines (app/core/logs.py), without the app: the JSON and text formats, the context a request
or a job puts on every record, and what is never written (phone numbers, tokens)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from app.core.logs import (
    ContextFilter,
    bind_context,
    configure_logging,
    current_request_id,
    log_context,
    make_formatter,
    redact,
    reset_context,
)


@pytest.fixture
def output(request: pytest.FixtureRequest) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through Linli's filter and the format of the test's parameter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(make_formatter(getattr(request, "param", "json")))
    handler.addFilter(ContextFilter())
    logger = logging.getLogger(f"linli.test.{request.node.name}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, stream
    logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_is_one_object_with_time_level_logger_and_message(
    output: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = output
    logger.info("已派单 %s", "20261201-0004")
    [line] = _lines(stream)
    assert set(line) == {"time", "level", "logger", "message"}  # no request: no request fields
    assert line["level"] == "INFO"
    assert line["logger"] == logger.name
    assert line["message"] == "已派单 20261201-0004"  # Chinese as it is, arguments rendered
    assert line["time"].endswith("+00:00")
    assert "已派单" in stream.getvalue()  # not \\u escapes


def test_a_requests_context_is_on_every_line_until_it_is_reset(output: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = output
    token = bind_context(request_id="req-1", method="POST", path="/api/v1/orders")
    logger.info("before the token is checked")
    bind_context(user_id=42)  # the token checked: the user from now on
    logger.warning("deep in a use case", extra={"status": 201})
    assert current_request_id() == "req-1"
    reset_context(token)
    logger.info("after the request")
    first, second, after = _lines(stream)
    assert {key: first[key] for key in ("request_id", "method", "path")} == {
        "request_id": "req-1",
        "method": "POST",
        "path": "/api/v1/orders",
    }
    assert "user_id" not in first
    assert (second["user_id"], second["status"], second["request_id"]) == (42, 201, "req-1")
    assert "request_id" not in after
    assert "user_id" not in after
    assert current_request_id() == "-"


def test_a_job_names_itself_on_every_line(output: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = output
    with log_context(job="purge_uploads"):
        logger.info("purged")
    logger.info("outside")
    inside, outside = _lines(stream)
    assert inside["job"] == "purge_uploads"
    assert "job" not in outside


def test_an_exception_is_a_field_of_its_line(output: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = output
    try:
        raise RuntimeError("bound 13812345678")
    except RuntimeError:
        logger.exception("failed")
    [line] = _lines(stream)
    assert "RuntimeError: bound 138****5678" in line["exc_info"]
    assert "13812345678" not in stream.getvalue()


@pytest.mark.parametrize("output", ["text"], indirect=True)
def test_the_text_format_shows_the_request_id_or_the_job(output: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = output
    logger.info("plain")
    token = bind_context(request_id="abc123", method="GET", path="/healthz")
    logger.info("in a request")
    reset_context(token)
    with log_context(job="daily_digest"):
        logger.info("in a job")
    plain, in_request, in_job = stream.getvalue().splitlines()
    assert f"INFO [-] {logger.name}: plain" in plain
    assert f"INFO [abc123] {logger.name}: in a request" in in_request
    assert f"INFO [job:daily_digest] {logger.name}: in a job" in in_job


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("phone 13812345678 bound", "phone 138****5678 bound"),
        ("+8613912345678", "+86139****5678"),
        ("Authorization: Bearer eyJ1.abc-_/+=", "Authorization: Bearer [redacted]"),
        ("bearer tok", "bearer [redacted]"),
        (
            '"GET /sns/jscode2session?appid=wx1&secret=s3cr3t&js_code=sim%3Aamy HTTP/1.1" 200',
            '"GET /sns/jscode2session?appid=wx1&secret=[redacted]&js_code=[redacted] HTTP/1.1" 200',
        ),
        ("POST /cgi-bin/message/send?access_token=ACCESS", "POST /cgi-bin/message/send?access_token=[redacted]"),
        ("order 20261201-0004, user 12, 1796119200000 ms", "order 20261201-0004, user 12, 1796119200000 ms"),
        ("12345678901", "12345678901"),  # not a mobile number (starts 12)
    ],
)
def test_redaction(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_arguments_are_redacted_too(output: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = output
    logger.info("header %s, phone %s", "Bearer secret-token", 13812345678)
    assert "secret-token" not in stream.getvalue()
    assert "13812345678" not in stream.getvalue()


def test_configure_logging_installs_one_handler_and_switches_its_format() -> None:
    root = logging.getLogger()
    level = root.level
    try:
        configure_logging("INFO", "json")
        configure_logging("INFO", "text")
        ours = [handler for handler in root.handlers if getattr(handler, "_linli", False)]
        assert len(ours) == 1
        assert type(ours[0].formatter).__name__ == "TextFormatter"
        configure_logging("WARNING", "json")
        assert type(ours[0].formatter).__name__ == "JsonLineFormatter"
        assert root.level == logging.WARNING
    finally:
        configure_logging(logging.getLevelName(level), "text")


def test_log_format_is_text_by_default_and_only_text_or_json() -> None:
    from app.core.config import ConfigError, load_settings

    assert load_settings(environ={}).app.log_format == "text"
    assert load_settings(environ={"LINLI_APP__LOG_FORMAT": "json"}).app.log_format == "json"
    with pytest.raises(ConfigError, match=r"app\.log_format"):
        load_settings(environ={"LINLI_APP__LOG_FORMAT": "xml"})
