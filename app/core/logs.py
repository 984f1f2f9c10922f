"""Logging set-up: one line per record, as text (a laptop) or JSON (production), each carrying
the context it was written in: the request (id, method, path, user) or the job.

The context travels in a context variable that the HTTP layer sets for each request
(``miniprogram_api/request_log.py``) and the scheduler for each firing (``jobs/scheduler.py``);
a Filter copies it onto every record. So this module, and every domain that logs, knows nothing
of Flask, and a line written deep in a use case still says which request it belongs to.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import MappingProxyType
from typing import Any, Final, Literal

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]

_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})
#: What the current request or job adds to each record (request_id, method, path, user_id, job).
_CONTEXT: ContextVar[Mapping[str, Any]] = ContextVar("linli_log_context", default=_EMPTY)
#: The fields a JSON line may carry besides time, level, logger and message.
CONTEXT_FIELDS: Final = ("request_id", "method", "path", "status", "duration_ms", "user_id", "job")

#: A mainland mobile number anywhere in a line, with or without +86 (not inside a longer run of
#: digits), masked as the API masks it: 138****5678.
_PHONE = re.compile(r"(?<![0-9])((?:\+?86)?1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")
#: A bearer token, in a header that someone logged.
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
#: Credentials in a URL's query string: the AppSecret and the login code of jscode2session, the
#: access_token of every WeChat call (urllib3 logs such URLs at DEBUG).
_QUERY_SECRET = re.compile(r"(?i)([?&](?:secret|access_token|js_code|code|session_key|token)=)[^&\s\"']+")


def redact(text: str) -> str:
    """``text`` with phone numbers masked and tokens, secrets and codes removed: no log line
    carries them, whatever a caller passed in (PIPL: least personal data; tokens are credentials)."""
    text = _QUERY_SECRET.sub(r"\1[redacted]", text)
    return _BEARER.sub(r"\1[redacted]", _PHONE.sub(r"\1****\2", text))


def current_context() -> Mapping[str, Any]:
    """The log context in force (read-only)."""
    return _CONTEXT.get()


def current_request_id() -> str:
    """The id of the request being answered, "-" outside a request (jobs, the CLI)."""
    return str(_CONTEXT.get().get("request_id", "-"))


def bind_context(**fields: Any) -> Token[Mapping[str, Any]]:
    """Add ``fields`` to the log context of this request or job, until ``reset_context``.

    A later ``bind_context`` in the same context adds to it (the user id once the token is
    checked); resetting the first token drops them all.
    """
    merged = {**_CONTEXT.get(), **{key: value for key, value in fields.items() if value is not None}}
    return _CONTEXT.set(MappingProxyType(merged))


def reset_context(token: Token[Mapping[str, Any]]) -> None:
    """Back to the context before the ``bind_context`` that gave ``token``."""
    _CONTEXT.reset(token)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """``fields`` on every record logged inside the block (a job's name, for instance)."""
    token = bind_context(**fields)
    try:
        yield
    finally:
        reset_context(token)


class ContextFilter(logging.Filter):
    """Copy the log context onto every record, and redact its message.

    Fields a record already has (``extra=``) win. The message is rendered here, once, so that
    redaction sees the arguments too; formatters then find ``args`` empty.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _CONTEXT.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        return True


class TextFormatter(logging.Formatter):
    """``time LEVEL [where] logger: message``, for a person reading a terminal. ``where`` is the
    request id, ``job:<name>`` inside a job, or ``-``; the request line's message says the rest
    (method, path, status, time, user), and the JSON format has each as a field of its own."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s [%(linli_where)s] %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        job = getattr(record, "job", None)
        record.linli_where = getattr(record, "request_id", None) or (f"job:{job}" if job else "-")
        return super().format(record)

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return redact(super().formatException(ei))


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, the
    context fields that are set (``CONTEXT_FIELDS``, and any ``extra=``), and ``exc_info`` with its
    traceback. Chinese stays readable."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            json_ensure_ascii=False,
            # Our own marker for the text format, never a field.
            reserved_attrs=[*RESERVED_ATTRS, "linli_where"],
        )

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        # A string: exc_info_as_array is left off, so the traceback is one field.
        return redact(logging.Formatter.formatException(self, ei))


def make_formatter(log_format: LogFormat) -> logging.Formatter:
    return JsonLineFormatter() if log_format == "json" else TextFormatter()


def configure_logging(level: str, log_format: LogFormat = "text") -> None:
    """Install a stderr handler on the root logger once; later calls change the level and format."""
    root = logging.getLogger()
    root.setLevel(level)
    for handler in root.handlers:
        if getattr(handler, "_linli", False):
            handler.setFormatter(make_formatter(log_format))
            return
    handler = logging.StreamHandler()
    handler.setFormatter(make_formatter(log_format))
    handler.addFilter(ContextFilter())
    handler._linli = True  # type: ignore[attr-defined] # marks our handler for idempotence
    root.addHandler(handler)
