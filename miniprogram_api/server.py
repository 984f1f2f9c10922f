"""``linli serve``: the API under gunicorn, configured from code rather than a gunicorn.conf."""

from __future__ import annotations

import datetime
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from werkzeug.serving import WSGIRequestHandler

from miniprogram_api.uploads import redact_photo_links


class _Gunicorn(BaseApplication):  # type: ignore[misc] # gunicorn ships no type hints
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        # Each worker builds its own app, engine and pools after the fork.
        from miniprogram_api import create_app

        return create_app()


class AccessLogger(Logger):  # type: ignore[misc] # gunicorn ships no type hints
    """gunicorn's logger, with photo links' tokens taken out of the access log.

    A photo link is its own credential (``<image src>`` sends no header), so a log line holding
    one would let whoever reads the logs load that photo until the link expires. Every text atom
    is redacted, not only the request line: the path (``%(U)s``) and headers such as the
    Referer can carry a link as well.
    """

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: datetime.timedelta) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {key: redact_photo_links(value) if isinstance(value, str) else value for key, value in atoms.items()}


class DevRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler for ``linli run``, with the same redaction as ``AccessLogger``."""

    def log(self, type: str, message: str, *args: Any) -> None:
        super().log(type, message, *(redact_photo_links(a) if isinstance(a, str) else a for a in args))


def run_gunicorn(*, host: str, port: int, workers: int, threads: int) -> None:
    """Serve until stopped; gthread workers, access log to stderr (photo links redacted)."""
    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": "-",
            "logger_class": AccessLogger,
            "timeout": 30,
            "graceful_timeout": 10,
        }
    ).run()
