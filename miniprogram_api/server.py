"""``linli serve``: the API under gunicorn, configured from code rather than a gunicorn.conf."""

from __future__ import annotations

import datetime
import logging
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from werkzeug.serving import WSGIRequestHandler

from app.core.logs import LogFormat
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


class JsonGunicornLogger(AccessLogger):
    """gunicorn's logger for ``app.log_format = "json"``: its own lines (booting, worker timeouts,
    errors) go through Linli's handler, so that the stream stays one JSON object per line. Its
    access log is off then: Linli's request line (``linli.request``) carries the same and the
    request id, user and time besides."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in list(self.error_log.handlers):
            if getattr(handler, "_gunicorn", False):  # its stderr handler; a syslog one stays
                self.error_log.removeHandler(handler)
        self.error_log.propagate = True
        # "Error handling request /api/v1/photos/12/<token>" must not carry the token either.
        self.error_log.addFilter(_REDACT_PHOTO_LINKS)


class _RedactPhotoLinks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_photo_links(record.getMessage()), None
        return True


#: One instance, so that a configuration reload (setup again) does not add it twice.
_REDACT_PHOTO_LINKS = _RedactPhotoLinks()


class DevRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler for ``linli run``, with the same redaction as ``AccessLogger``.
    Its per-request line is left out: Linli's own (``linli.request``) says the same and more."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        del code, size

    def log(self, type: str, message: str, *args: Any) -> None:
        super().log(type, message, *(redact_photo_links(a) if isinstance(a, str) else a for a in args))


def _child_exit(server: Any, worker: Any) -> None:
    """gunicorn's hook in the master when a worker has exited (stopped, crashed, timed out).

    Its counter and histogram files stay, so that the totals keep what it counted; only the files
    of "live" gauges are removed (we keep none today; this keeps a later one honest).
    """
    del server
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call] # untyped in prometheus_client


def run_gunicorn(
    *, host: str, port: int, workers: int, threads: int, log_format: LogFormat = "text", multiprocess: bool = False
) -> None:
    """Serve until stopped; gthread workers. In text format gunicorn writes its access log to
    stderr as well (photo links redacted); in JSON format everything goes through Linli's handler.
    With ``multiprocess`` (PROMETHEUS_MULTIPROC_DIR set and prepared by the caller), each exited
    worker is marked dead for prometheus_client."""
    json_logs = log_format == "json"
    hooks: dict[str, Any] = {"child_exit": _child_exit} if multiprocess else {}
    _Gunicorn(
        {
            **hooks,
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": None if json_logs else "-",
            "logger_class": JsonGunicornLogger if json_logs else AccessLogger,
            "timeout": 30,
            "graceful_timeout": 10,
        }
    ).run()
