"""``linli serve``: the API under gunicorn, configured from code rather than a gunicorn.conf."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


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


def run_gunicorn(*, host: str, port: int, workers: int, threads: int) -> None:
    """Serve until stopped; gthread workers, access log to stderr."""
    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": "-",
            "timeout": 30,
            "graceful_timeout": 10,
        }
    ).run()
