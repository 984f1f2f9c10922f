"""Shared fixtures: a migrated database (SQLite, or PostgreSQL with LINLI_TEST_DATABASE_URL),
the WeChat simulator on loopback, the app and its test client, and HTTP helpers."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.community import stats_cache
from app.core.config import DEFAULT_CONFIG_PATH, Settings, load_settings
from app.core.migrate import alembic_config
from app.models import Base  # every domain's tables, for the clean-up below
from app.runtime import Runtime, build_runtime
from miniprogram_api import create_app
from tests import logscan
from tests.dbutil import drop_created_databases, fresh_database_url
from wechat_sim import SimulatorServer


def pytest_configure(config: pytest.Config) -> None:
    """Scan every application log record of the run for phone numbers and credentials (tests/logscan.py)."""
    del config
    logscan.install()


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    """Name the running test in any leak found meanwhile."""
    del location
    logscan.install().current_test = nodeid


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Leave no per-run PostgreSQL databases behind; fail the run if a log record leaked."""
    del exitstatus
    drop_created_databases()
    session.exitstatus = logscan.session_status(logscan.install().leaks, session.exitstatus)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List the leaks that failed the run."""
    leaks = logscan.install().leaks
    if leaks:
        terminalreporter.section("personal data in the logs", sep="=", red=True, bold=True)
        for line in logscan.report(leaks):
            terminalreporter.line(line)


@pytest.fixture(scope="session")
def simulator() -> Iterator[SimulatorServer]:
    """The WeChat simulator, a real HTTP server on 127.0.0.1; its state is reset per test."""
    server = SimulatorServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _reset_simulator(request: pytest.FixtureRequest) -> None:
    if "simulator" in request.fixturenames:
        request.getfixturevalue("simulator").state.reset()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database migrated to head once per run, with ``alembic upgrade head`` (not create_all)."""
    from alembic import command

    url = fresh_database_url(tmp_path_factory.mktemp("db"), "app")
    command.upgrade(alembic_config(url), "head")
    return url


def make_settings(database_url: str, api_base: str, var_dir: Path, **overrides: Any) -> Settings:
    """Settings from config.toml with the test's database, simulator and var dir; no environment."""
    data: dict[str, Any] = {
        "app": {"var_dir": str(var_dir), "log_level": "WARNING"},
        "database": {"url": database_url},
        "auth": {"secret_key": "test-signing-key"},
        # Tests log in and post orders far faster than people; the tests of tests/api/test_limits.py
        # turn the limits on for themselves (config.toml, as shipped, has them on).
        "limits": {"enabled": False},
        "wechat": {
            "api_base": api_base,
            "wecom_api_base": api_base,
            "timeout_seconds": 2,
            "miniprogram": {"secret": "test-mp-secret"},
            "official_account": {"secret": "test-oa-secret", "token": "test-oa-token"},
        },
    }
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    return load_settings(DEFAULT_CONFIG_PATH, environ={}, overrides=data)


def runtime_with(runtime: Runtime, **sections: dict[str, Any]) -> Runtime:
    """``runtime`` (same database, same WeChat) with some settings changed, e.g.
    ``runtime_with(rt, notify={"consent_from": "events"})``, for an app of its own."""
    current = runtime.settings
    changed = {name: getattr(current, name).model_copy(update=values) for name, values in sections.items()}
    return dataclasses.replace(runtime, settings=current.model_copy(update=changed))


@pytest.fixture(scope="session")
def settings(database_url: str, simulator: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(database_url, simulator.base_url, tmp_path_factory.mktemp("var"))


@pytest.fixture(scope="session")
def rt(settings: Settings) -> Iterator[Runtime]:
    runtime = build_runtime(settings)
    yield runtime
    runtime.db.dispose()


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every table after a test that used the database (tests may span threads, so no
    savepoint trick: real commits, then truncation)."""
    yield
    if "rt" not in request.fixturenames:
        return
    runtime: Runtime = request.getfixturevalue("rt")
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with runtime.db.write() as session:
        if runtime.db.is_sqlite:
            # Areas reference areas; check foreign keys at commit, when every table is empty.
            session.execute(sa.text("PRAGMA defer_foreign_keys = ON"))
            for name in tables:
                session.execute(sa.text(f'DELETE FROM "{name}"'))
        else:
            session.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    # Kept statistics are keyed by the database's URL, which PostgreSQL's tests share: the next
    # test's orders could match an emptied table's fingerprint (same count, frozen updated_at).
    stats_cache.clear()


@pytest.fixture
def app(rt: Runtime) -> Flask:
    flask_app = create_app(runtime=rt)
    flask_app.testing = True
    return flask_app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
