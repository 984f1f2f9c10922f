"""Logging set-up: one line per record, with the request id when there is one.

The request id travels in a context variable that the HTTP layer sets for each request, so this
module (and every domain that logs) knows nothing of Flask.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

#: The id of the request being answered, "-" outside a request (jobs, the CLI).
REQUEST_ID: ContextVar[str] = ContextVar("linli_request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Add ``request_id`` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def configure_logging(level: str) -> None:
    """Install a stderr handler on the root logger once; later calls only change the level."""
    root = logging.getLogger()
    root.setLevel(level)
    if any(getattr(handler, "_linli", False) for handler in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    handler.addFilter(RequestIdFilter())
    handler._linli = True  # type: ignore[attr-defined] # marks our handler for idempotence
    root.addHandler(handler)
