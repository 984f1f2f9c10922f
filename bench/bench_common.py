"""Set-up shared by the benchmark scripts: a throwaway database and hermetic settings."""

from __future__ import annotations

import multiprocessing
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app.core.config import Settings, load_settings


@contextmanager
def fresh_database(requested: str, tmp_dir: Path, label: str) -> Iterator[str]:
    """A URL for an empty database: a new SQLite file, or a new PostgreSQL database beside
    ``requested`` (created with a unique name containing ``label``, dropped when the block ends)."""
    if not requested or requested.startswith("sqlite"):
        path = tmp_dir / "bench.db"
        if requested and requested not in {"sqlite", "sqlite://"}:
            given = make_url(requested).database
            if given and Path(given).exists():
                raise SystemExit(f"refusing to reuse the existing SQLite file {given}; name a new one")
            if given:
                path = Path(given)
        yield f"sqlite:///{path}"
        return
    base = make_url(requested)
    name = f"{base.database or 'postgres'}_linli_{label}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def bench_settings(
    database_url: str, api_base: str, var_dir: Path, *, timeout_seconds: float, notify: dict[str, Any] | None = None
) -> Settings:
    """Settings from config.toml plus these values (and ``notify``'s); no LINLI_* variable of the
    caller's shell."""
    return load_settings(
        environ={},
        overrides={
            **({"notify": notify} if notify else {}),
            "app": {"var_dir": str(var_dir), "log_level": "WARNING"},
            "database": {"url": database_url},
            "auth": {"secret_key": secrets.token_urlsafe(32)},
            "redis": {"url": ""},  # WeChat tokens in process memory
            # A benchmark is one client doing what thousands would: rate limits would measure themselves.
            "limits": {"enabled": False},
            "wechat": {
                "api_base": api_base,
                "wecom_api_base": api_base,
                "timeout_seconds": timeout_seconds,
                "miniprogram": {"secret": "bench-mp-secret"},
                "official_account": {"secret": "bench-oa-secret", "token": "bench-oa-token"},
            },
        },
    )


class WeChatChild:
    """A stand-in for WeChat (the simulator or the sink) serving in a spawned child process, driven
    over a pipe. ``target(conn, *args)`` serves, sends its base URL on ``conn``, then answers
    ``(command, kwargs)`` pairs: ``fault``, ``messages``, ``cpu`` (its own CPU seconds) and
    ``stop``."""

    def __init__(self, target: Callable[..., None], *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=target, args=(child, *args), daemon=True)
        self._process.start()
        self.base_url = str(self._conn.recv())

    def _ask(self, command: str, **kwargs: Any) -> Any:
        self._conn.send((command, kwargs))
        return self._conn.recv()

    def inject_fault(self, path: str, *, delay_seconds: float, count: int) -> None:
        self._ask("fault", path=path, delay_seconds=delay_seconds, count=count)

    def messages(self) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = self._ask("messages")
        return got

    def cpu_seconds(self) -> float:
        return float(self._ask("cpu"))

    def stop(self) -> None:
        if self._process.is_alive():
            self._conn.send(("stop", {}))
            self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=10)
