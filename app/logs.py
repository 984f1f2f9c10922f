"""Logging set-up: one line per record, with the request id when there is one."""

from __future__ import annotations

import logging

from flask import g, has_app_context


class RequestIdFilter(logging.Filter):
    """Add ``request_id`` to every record ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_app_context() else "-"
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
