"""scripts/backup_check.py: pg_dump -Fc, pg_restore into a fresh database, per-table comparison.

The dump and restore need PostgreSQL (LINLI_TEST_DATABASE_URL); the URL handling, the sequence
rule and the report run everywhere.
"""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app.core.config import PROJECT_ROOT
from app.core.migrate import upgrade
from app.runtime import build_runtime
from tests.conftest import make_settings
from tests.dbutil import TEST_DATABASE_URL, fresh_database_url
from tests.factories import make_order, make_people, make_world
from wechat_sim import SimulatorServer

SCRIPT = PROJECT_ROOT / "scripts" / "backup_check.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("backup_check", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


backup_check = _load()


def test_a_url_that_is_not_postgresql_is_refused_with_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert backup_check.main(["sqlite:///var/linli.db"]) == 1
    assert "not a PostgreSQL URL: sqlite:///var/linli.db" in capsys.readouterr().err


def test_the_password_goes_to_the_environment_not_the_command_line() -> None:
    url = make_url("postgresql+psycopg://linli:s3cr%27t@db.internal:6432/linli?sslmode=require")
    conninfo, env = backup_check.libpq_arguments(url)
    assert conninfo == "dbname='linli' host='db.internal' port='6432' user='linli' sslmode='require'"
    assert env == {"PGPASSWORD": "s3cr't"}
    conninfo, env = backup_check.libpq_arguments(make_url("postgresql:///it's"))
    assert (conninfo, env) == ("dbname='it\\'s'", {})


def test_a_restored_sequence_must_hold_a_value_it_had_during_the_dump() -> None:
    before = {"public.orders_id_seq": 10, "public.users_id_seq": None, "public.gone_seq": 1}
    after = {"public.orders_id_seq": 12, "public.users_id_seq": None, "public.gone_seq": 1}
    restored = {"public.orders_id_seq": 11, "public.users_id_seq": None, "public.extra_seq": 3}
    lines = {line.name: line for line in backup_check.compare_sequences(before, after, restored)}
    assert lines["public.orders_id_seq"].ok
    assert lines["public.orders_id_seq"].source == "10..12"
    assert lines["public.users_id_seq"].ok
    assert not lines["public.gone_seq"].ok  # not restored
    assert not lines["public.extra_seq"].ok  # not in the source
    assert not backup_check.compare_sequences({"s": 10}, {"s": 10}, {"s": 9})[0].ok  # fell back: reused ids


def test_restore_names_keep_their_time_and_random_part_within_63_bytes() -> None:
    prefix = backup_check.restore_name_prefix("linli_" + "x" * 80)
    assert prefix.endswith("_restore_check_")
    assert len(prefix.encode()) + len("20261201155500_a1b2c3") == 63
    assert backup_check.restore_name_prefix("linli") == "linli_restore_check_"


def test_the_report_is_a_table_and_says_whether_all_match() -> None:
    line = backup_check.Line
    out = io.StringIO()
    assert backup_check.print_report([line("table", "public.orders", "3 ab", "3 ab", True)], out)
    assert out.getvalue().splitlines()[-1] == "all match"
    out = io.StringIO()
    lines = [line("table", "public.orders", "3 ab", "2 cd", False), line("table", "public.users", "1", "1", True)]
    assert not backup_check.print_report(lines, out)
    text = out.getvalue()
    assert "public.orders" in text
    assert "DIFFERENT" in text
    assert text.splitlines()[-1] == "1 of 2 differ"
    assert not backup_check.print_report([], io.StringIO())  # nothing compared is no proof


@pytest.fixture
def populated(tmp_path: Path, simulator: SimulatorServer) -> str:
    """A migrated PostgreSQL database with orders, people and areas in it (people log in through
    the WeChat simulator, as everywhere)."""
    url = fresh_database_url(tmp_path, "backup_src")
    settings = make_settings(url, simulator.base_url, tmp_path)
    upgrade(settings)
    rt = build_runtime(settings)
    try:
        world = make_world(rt)
        people = make_people(rt, world)
        for _ in range(3):
            make_order(rt, people, world)
    finally:
        rt.db.dispose()
    return url


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs LINLI_TEST_DATABASE_URL (PostgreSQL)")
def test_a_dump_restores_with_every_row(populated: str) -> None:
    done = subprocess.run(  # noqa: S603 - the project's own script, with our interpreter
        [sys.executable, str(SCRIPT), populated], capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "all match"
    assert any(line.startswith("table") and "public.orders " in line and line.endswith(" ok") for line in lines)
    assert any(line.startswith("sequence") and "public.orders_id_seq" in line for line in lines)
    # The database restored into is gone again.
    prefix = backup_check.restore_name_prefix(make_url(populated).database)
    engine = sa.create_engine(populated, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            names = conn.execute(sa.text("SELECT datname FROM pg_database")).scalars().all()
    finally:
        engine.dispose()
    assert [name for name in names if name.startswith(prefix)] == []


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs LINLI_TEST_DATABASE_URL (PostgreSQL)")
def test_a_changed_row_in_the_restored_copy_is_reported(populated: str, tmp_path: Path) -> None:
    target = fresh_database_url(tmp_path, "backup_dst")
    assert all(line.ok for line in backup_check.check(populated, target_url=target, jobs=1))
    source_engine = sa.create_engine(populated, poolclass=sa.NullPool)
    target_engine = sa.create_engine(target, poolclass=sa.NullPool)
    try:
        with target_engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE orders SET description = description || '.' WHERE id = (SELECT min(id) FROM orders)")
            )
        with source_engine.connect() as source, target_engine.connect() as copy:
            lines = {line.name: line for line in backup_check.compare_tables(source, copy)}
    finally:
        source_engine.dispose()
        target_engine.dispose()
    assert not lines["public.orders"].ok
    assert lines["public.orders"].source.split()[0] == lines["public.orders"].restored.split()[0]  # same count
    assert lines["public.users"].ok
    assert not backup_check.print_report(list(lines.values()), io.StringIO())
